"""Claims, verdicts, counterexamples and the claim registry.

A *claim* is one statement of SPEC.md (a definition's property, a lemma, a theorem) made
checkable: its quantifiers are written out, a search tries to break it, and the search
ends in a :class:`Verdict`:

``verified``  the statement held on every case the search produced, and at least the
              profile's floor (``min_cases``) of them were non-vacuous (premise held,
              margin finite); the evidence says how many cases, how many non-vacuous,
              the worst margin seen (margin ≥ 0 means "held on this case", the smaller
              the closer to failing) and the working precision;
``refuted``   a case with margin < 0 was found, shrunk, and re-checked at a higher
              precision; it is kept as a JSON :class:`Counterexample` that replays;
``open``      the search cannot decide (the reason is given);
``proved``    a certificate covers the whole stated domain: a ball-arithmetic
              branch-and-bound proof (plus lemmas and an analytic tail) stored in
              ``proofs_numeric/certificates/data/`` and re-verified by the independent
              checker of :mod:`proofs_numeric.certificates`; the verdict carries a
              :class:`CertificateRecord` saying what it proves and what it assumes.

Where only a restriction of a statement can be proved (rows of at most 5 entries, one
fixed instance), the restriction is its own claim, whose id names its domain in brackets
(``L7*[n≤5]``, ``P4*[instance]``), and the general claim keeps its sampled verdict.

Each claim records the verdict it is *expected* to get (a paper claim that we know to be
false is expected ``refuted``; its corrected version, id + ``"*"``, is expected
``verified``). A run fails when a verdict differs from the expected one, or when a
*negative control* is not rejected: every claim carries at least one control, a
deliberately wrong variant (a wrong degree, a mutated component, a wrong bound, or for a
refuted claim a non-counterexample dressed up as one) that the checker must reject. A
checker that cannot reject its controls proves nothing.

How to add a claim
------------------
1. Create one module per SPEC id in ``proofs_numeric/claims/``, named after the id in lower
   case followed by a short name, e.g. ``claims/g1_aligned_growth.py``. The registry imports
   every module of that package by itself: adding the file is all the wiring needed.
2. In the module define ``CLAIMS = (Claim(...), ...)``: the paper's claim under its SPEC id
   and, if it is refuted, the corrected version beside it with id ``"<ID>*"`` and
   ``corrects="<ID>"``.
3. A :class:`Claim` needs ``id``, ``title``, ``statement`` (quantifiers explicit: "for all
   c ≥ 1 and every θ with ‖θ‖ ≥ ρ ..."), ``expected`` ("proved" / "verified" / "refuted" /
   "open"), ``check`` (a function ``CheckContext -> Verdict``) and ``negative_controls`` (at least
   one :class:`NegativeControl`, whose ``run(ctx)`` returns a :class:`ControlOutcome`
   with ``rejected=True`` when the checker rejected the wrong variant).
   A claim that can be refuted also gives ``replay(case, digits) -> margin`` so a stored
   counterexample can be re-evaluated at any precision, ``case_schema`` (bounds on every
   field of a case, ``proofs_numeric.case_schema``, declared next to the strategy) so
   a file's case is checked before it runs, and ``describe`` (one line about a case).
4. Most claims are "for every case in a domain, margin(case) ≥ 0". For those, build the
   check with :func:`proofs_numeric.search.check_property` (Hypothesis search driven by
   ``target()`` toward the worst margin, hand-made constructions tried first, shrinking,
   high-precision re-check) and the control with
   :func:`proofs_numeric.search.property_control` (same search on a mutated margin, must
   refute) or :func:`proofs_numeric.search.replay_control` (a stored case that is *not* a
   counterexample must be rejected by the replay, with a finite margin). Size the search
   from ``ctx.profile`` (``max_examples``, ``digits``) so ``--profile thorough`` searches
   harder. Where a case says nothing about the statement (its premise fails, the map is
   undefined) the margin returns :func:`proofs_numeric.search.vacuous`; a verified verdict
   needs ``ctx.min_cases`` non-vacuous cases (the search tops itself up to that floor). A
   refutation that rests on an argument along a ray names the ray's points
   (``PropertySearch.ray``) and replays with :func:`proofs_numeric.search.along_ray`;
   its ``case_schema`` admits the stored points with :func:`proofs_numeric.search.with_ray`.
5. A claim proved by a certificate (``expected="proved"``) takes its check and controls
   from :mod:`proofs_numeric.claims._certified`: ``certified_check(name, id, theorem,
   parameters)`` re-verifies ``proofs_numeric/certificates/data/<name>.json`` with the
   independent checker, and ``certificate_controls`` makes the forgeries it must reject.
   The certificate itself is specified in :mod:`proofs_numeric.certificates.specs` and
   built by ``python -m proofs_numeric.certificates.prover <name>``.
6. Run ``python -m proofs_numeric --claim G1``; ``pytest`` runs every registered claim and
   its controls (``tests/claims/test_claims.py``) without further wiring. A refuted claim's
   counterexample is written with ``python -m proofs_numeric --save-counterexamples``
   into ``proofs_numeric/counterexamples/<ID>.json`` and replayed by the tests.
"""

from __future__ import annotations

import importlib
import json
import math
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from homogeneity.errors import HomogeneityInputError
from proofs_numeric.case_schema import Schema
from proofs_numeric.profiles import PROFILES, Profile, selected_profile
from proofs_numeric.profiles import get_profile as get_profile
from proofs_numeric.storage import keep_hypothesis_files_out_of_cwd

if TYPE_CHECKING:
    from proofs_numeric.campaign.shard import SearchShard

# every claim search starts from this module: point Hypothesis's files away from the
# user's working directory before it first touches its storage
keep_hypothesis_files_out_of_cwd()

Status = Literal["proved", "verified", "refuted", "open"]
STATUSES: tuple[str, ...] = ("proved", "verified", "refuted", "open")

#: Where replayable counterexamples live (one JSON file per refuted claim).
COUNTEREXAMPLE_DIR = Path(__file__).resolve().parent / "counterexamples"
#: The largest counterexample file that is read (stored ones are a few kilobytes).
MAX_COUNTEREXAMPLE_BYTES = 256 * 1024
#: The keys of a counterexample file.
COUNTEREXAMPLE_KEYS = ("claim_id", "case", "margin", "digits", "description")


def base_id(claim_id: str) -> str:
    """The claim a restricted claim restricts: ``"L7*[n≤5]"`` → ``"L7*"`` (others unchanged)."""
    return claim_id.split("[", 1)[0]


def file_stem(claim_id: str) -> str:
    """A portable file name for a claim id: ``P4*`` → ``P4_star``, ``P1/P2`` → ``P1_P2``,
    ``L7*[n≤5]`` → ``L7_star_n_le_5``, ``EU~*[instance]`` → ``EU~_star_instance``."""
    out = claim_id.replace("*", "_star").replace("/", "_").replace("≤", "_le_")
    out = out.replace("[", "_").replace("]", "")
    return "_".join(part for part in out.split("_") if part) if "_" in out else out


# Search profiles (Profile, PROFILES, get_profile) are defined in proofs_numeric.profiles
# and re-exported here, where claims have always found them.


@dataclass(frozen=True)
class CheckContext:
    """What a claim's check receives: the search profile (and nothing global).

    ``CheckContext()`` uses the ``ci`` profile; ``CheckContext.selected()`` the one that
    ``$HYPOTHESIS_PROFILE`` names. ``shard`` (set by a campaign,
    :mod:`proofs_numeric.campaign`) makes every property search run one shard of itself:
    its share of the budgets below, its own seed, the constructions only in the first."""

    profile: Profile = PROFILES["ci"]
    shard: SearchShard | None = None

    @classmethod
    def selected(cls) -> CheckContext:
        """The context of the profile selected by ``$HYPOTHESIS_PROFILE``."""
        return cls(selected_profile())

    @property
    def digits(self) -> int:
        return self.profile.digits

    @property
    def recheck_digits(self) -> int:
        return self.profile.recheck_digits

    @property
    def min_cases(self) -> int:
        """The floor of non-vacuous cases (what a shard aims for of it when sharded:
        :meth:`~proofs_numeric.campaign.shard.SearchShard.floor_share`)."""
        floor = self.profile.min_cases
        return floor if self.shard is None else self.shard.floor_share(floor)

    def examples(self, scale: float = 1.0, minimum: int = 5) -> int:
        """A per-search example budget: ``scale`` × the profile's ``max_examples`` (a
        shard's share of it when sharded)."""
        total = max(minimum, int(round(self.profile.max_examples * scale)))
        return total if self.shard is None else self.shard.share(total)


# -- verdicts ---------------------------------------------------------------------------


def _finite_or_none(x: Any) -> float | None:
    if x is None:
        return None
    value = float(x)
    if math.isnan(value):
        return None
    return value


@dataclass(frozen=True)
class Evidence:
    """What a verdict rests on.

    ``cases``: cases evaluated; ``non_vacuous``: how many of them tested something (the
    premise held and the margin was finite; None where the check does not sample
    cases); ``worst_margin``: the smallest margin seen on a non-vacuous case (≥ 0 held,
    < 0 violated) in the unit ``margin``; ``precision``: e.g. "mpmath 50 digits";
    ``search``: what was searched; ``notes``: anything else a reader needs.
    """

    cases: int
    worst_margin: float | None
    precision: str
    search: str
    margin: str = "margin ≥ 0 ⇔ the statement held on the case"
    notes: str = ""
    worst_margin_text: str = ""
    non_vacuous: int | None = None

    def summary(self) -> str:
        if self.worst_margin_text:
            worst = self.worst_margin_text
        else:
            worst = "n/a" if self.worst_margin is None else f"{self.worst_margin:.3g}"
        counted = "" if self.non_vacuous is None else f" ({self.non_vacuous} non-vacuous)"
        return f"{self.cases} cases{counted}, worst margin {worst}, {self.precision}"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["worst_margin"] = _finite_or_none(self.worst_margin)
        return out


@dataclass(frozen=True)
class Counterexample:
    """A case that violates a claim, replayable from JSON.

    ``case`` is a JSON object that the claim's ``replay(case, digits)`` turns back into a
    margin; ``margin`` is the value at ``digits`` decimal digits (< 0: violated).
    """

    claim_id: str
    case: dict[str, Any]
    margin: float
    digits: int
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "claim_id": self.claim_id,
            "case": self.case,
            "margin": _finite_or_none(self.margin),
            "digits": self.digits,
            "description": self.description,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Any) -> Counterexample:
        """A counterexample from its JSON object, every field checked for its type (the
        case itself is checked against the claim's ``case_schema`` when it is replayed)."""
        fix = (
            "write it with Counterexample.to_json() or "
            "`python -m proofs_numeric --save-counterexamples`"
        )
        if not isinstance(data, Mapping):
            raise HomogeneityInputError(
                f"a counterexample is a JSON object, not {type(data).__name__}; {fix}"
            )
        missing = sorted({"claim_id", "case", "margin", "digits"} - set(data))
        if missing:
            raise HomogeneityInputError(f"counterexample is missing {missing}; {fix}")
        unknown = sorted(set(data) - set(COUNTEREXAMPLE_KEYS))
        if unknown:
            raise HomogeneityInputError(
                f"counterexample has unexpected key(s) {unknown}; the keys are "
                f"{list(COUNTEREXAMPLE_KEYS)}"
            )
        claim_id, case, margin, digits = (data[k] for k in ("claim_id", "case", "margin", "digits"))
        description = data.get("description", "")
        if not isinstance(claim_id, str) or not claim_id or len(claim_id) > 32:
            raise HomogeneityInputError(
                f"claim_id = {claim_id!r} must be a claim id such as 'L7' (a short string)"
            )
        if not isinstance(case, dict):
            raise HomogeneityInputError(
                f"case = {type(case).__name__} must be a JSON object (the claim's case)"
            )
        if margin is not None and (
            isinstance(margin, bool)
            or not isinstance(margin, (int, float))
            or not math.isfinite(margin)
        ):
            raise HomogeneityInputError(f"margin = {margin!r} must be a finite number or null")
        if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= 100_000:
            raise HomogeneityInputError(f"digits = {digits!r} must be an integer in [1, 100000]")
        if not isinstance(description, str):
            raise HomogeneityInputError(f"description = {description!r} must be a string")
        return cls(
            claim_id,
            dict(case),
            float("nan") if margin is None else float(margin),
            digits,
            description,
        )

    @classmethod
    def from_json(cls, text: str) -> Counterexample:
        """Parse a counterexample file's text; malformed JSON, NaN or Infinity literals and
        over-deep nesting are input errors (one line that says where)."""
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
        except json.JSONDecodeError as exc:
            raise HomogeneityInputError(
                f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
                f"a counterexample file is written by "
                f"`python -m proofs_numeric --save-counterexamples`"
            ) from None
        except RecursionError:
            raise HomogeneityInputError(
                "the JSON is nested too deeply to be a counterexample"
            ) from None
        except ValueError as exc:  # e.g. an integer literal with too many digits
            raise HomogeneityInputError(f"not a usable JSON value: {exc}") from None
        return cls.from_dict(data)

    @staticmethod
    def path_for(claim_id: str, directory: Path | None = None) -> Path:
        return (directory or COUNTEREXAMPLE_DIR) / f"{file_stem(claim_id)}.json"

    def save(self, directory: Path | None = None) -> Path:
        path = self.path_for(self.claim_id, directory)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json() + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Counterexample:
        """Read a counterexample file: at most :data:`MAX_COUNTEREXAMPLE_BYTES` of UTF-8
        JSON (a larger, binary or malformed file is an input error naming the path)."""
        p = Path(path)
        if not p.is_file():
            raise HomogeneityInputError(
                f"path={str(path)!r} is not a file; pass a JSON file written by "
                f"`python -m proofs_numeric --save-counterexamples`"
            )
        with p.open("rb") as handle:
            raw = handle.read(MAX_COUNTEREXAMPLE_BYTES + 1)
        if len(raw) > MAX_COUNTEREXAMPLE_BYTES:
            raise HomogeneityInputError(
                f"{p} is larger than {MAX_COUNTEREXAMPLE_BYTES} bytes; a counterexample file "
                f"is a few kilobytes of JSON"
            )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise HomogeneityInputError(
                f"{p} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                f"a counterexample file is JSON"
            ) from None
        try:
            return cls.from_json(text)
        except HomogeneityInputError as exc:
            raise HomogeneityInputError(f"{p}: {exc}") from None


def _refuse_constant(name: str) -> Any:
    raise HomogeneityInputError(
        f"the JSON holds {name}, which is not a number; a stored margin is a finite number or null"
    )


@dataclass(frozen=True)
class CertificateRecord:
    """What a ``proved`` verdict rests on: a certificate the independent checker verified.

    ``path`` is the certificate file (relative to the repository where possible),
    ``statement`` what it proves (as the checker's theorem renders it), ``assumptions``
    the lemmas of the reduction and the tail lemma it instantiates (besides the
    correctness of the interval library and of the checker), ``checker`` the checker's
    one-line report and ``command`` how to re-check it by hand.
    """

    path: str
    sha256: str
    theorem: str
    statement: str
    assumptions: tuple[str, ...]
    tail: str
    parts: int
    boxes: int
    precision_bits: int
    checker: str
    command: str

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["assumptions"] = list(self.assumptions)
        return out


@dataclass(frozen=True)
class Verdict:
    """The outcome of a claim's check."""

    status: Status
    evidence: Evidence
    counterexample: Counterexample | None = None
    reason: str = ""
    certificate: CertificateRecord | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise HomogeneityInputError(f"status={self.status!r} must be one of {STATUSES}")
        if (self.status == "refuted") != (self.counterexample is not None):
            raise HomogeneityInputError(
                "a refuted verdict needs a counterexample, and only a refuted one has one"
            )
        if (self.status == "proved") != (self.certificate is not None):
            raise HomogeneityInputError(
                "a proved verdict needs a verified certificate, and only a proved one has one"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "evidence": self.evidence.to_dict(),
            "counterexample": None
            if self.counterexample is None
            else self.counterexample.to_dict(),
            "reason": self.reason,
            "certificate": None if self.certificate is None else self.certificate.to_dict(),
        }


@dataclass(frozen=True)
class ControlOutcome:
    """Result of a negative control: ``rejected`` is True when the checker rejected the
    deliberately wrong variant (which is what must happen)."""

    rejected: bool
    detail: str


@dataclass(frozen=True)
class NegativeControl:
    """A deliberately wrong variant of a claim that the checker must reject.

    ``run(ctx)`` applies the claim's own checking machinery to the variant and reports
    whether it was rejected.
    """

    name: str
    description: str
    run: Callable[[CheckContext], ControlOutcome]


# -- claims -----------------------------------------------------------------------------

Replay = Callable[[Mapping[str, Any], int], Any]


@dataclass(frozen=True)
class Claim:
    """One checkable statement.

    Attributes:
        id: the SPEC id ("L7"); a corrected version is "<ID>*" with ``corrects`` set.
        title: a few words.
        statement: the statement with every quantifier explicit.
        expected: the verdict the package expects (a change fails the run).
        check: runs the search and returns the verdict.
        negative_controls: wrong variants the checker must reject (at least one).
        replay: margin of a stored case at a given precision (needed if refutable).
        corrects: for a corrected claim, the id of the claim it corrects.
        explanation: what the paper says / what changed, for the docs.
        case_schema: bounds on a replayed case (``proofs_numeric.case_schema``),
            checked before any computation; a claim with ``replay`` needs one for its
            stored counterexamples to be replayed from a file.
        describe: one line about a case (the counterexample's description); the replay
            prints it for the case actually replayed.
    """

    id: str
    title: str
    statement: str
    expected: Status
    check: Callable[[CheckContext], Verdict]
    negative_controls: tuple[NegativeControl, ...]
    replay: Replay | None = None
    corrects: str | None = None
    explanation: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
    case_schema: Schema | None = None
    describe: Callable[[Mapping[str, Any]], str] | None = None

    def __post_init__(self) -> None:
        if not self.id or any(ch.isspace() for ch in self.id):
            raise HomogeneityInputError(f"id={self.id!r} must be a SPEC id such as 'L7' or 'P4*'")
        if self.expected not in STATUSES:
            raise HomogeneityInputError(
                f"expected={self.expected!r} for claim {self.id} must be one of {STATUSES}"
            )
        if not self.negative_controls:
            raise HomogeneityInputError(
                f"claim {self.id} has no negative control; add at least one NegativeControl "
                f"(a wrong degree, a mutated component or a wrong bound the checker must reject)"
            )
        if self.id.endswith("*") and self.corrects is None:
            raise HomogeneityInputError(
                f"claim {self.id} looks like a corrected version; set corrects={self.id[:-1]!r}"
            )

    @property
    def spec_id(self) -> str:
        """The SPEC id this claim belongs to (the corrected version shares it)."""
        return self.corrects or self.id

    def replay_counterexample(self, counterexample: Counterexample, digits: int) -> float:
        """Re-evaluate a stored counterexample's margin at ``digits`` decimal digits."""
        if self.replay is None:
            raise HomogeneityInputError(
                f"claim {self.id} has no replay function; it cannot replay counterexamples"
            )
        if counterexample.claim_id != self.id:
            raise HomogeneityInputError(
                f"counterexample is for claim {counterexample.claim_id!r}, not {self.id!r}; "
                f"replay it with that claim"
            )
        if self.case_schema is not None:
            self.case_schema.check(counterexample.case, "case")
        return float(self.replay(counterexample.case, digits))


# -- the registry -----------------------------------------------------------------------


def _claim_modules(package: str) -> list[str]:
    pkg = importlib.import_module(package)
    return sorted(
        f"{package}.{m.name}"
        for m in pkgutil.iter_modules(pkg.__path__)
        if not m.name.startswith("_")
    )


def _sort_key(claim_id: str) -> tuple[int, str, int, bool, str]:
    base = base_id(claim_id).rstrip("*")
    order = {"D": 0, "P": 1, "L": 2, "T": 3, "C": 4, "E": 5, "G": 6, "A": 7, "W": 8}
    head = base.split("/")[0]  # "P1/P2" sorts as P1
    letters = "".join(ch for ch in head if not ch.isdigit())
    digits = "".join(ch for ch in head if ch.isdigit())
    return (
        order.get(letters[:1], 9),
        letters,
        int(digits) if digits else 0,
        base_id(claim_id).endswith("*"),
        claim_id,
    )


def discover_claims(package: str = "proofs_numeric.claims") -> dict[str, Claim]:
    """Import every module of ``package`` and collect their ``CLAIMS`` tuples.

    Raises if a module has no ``CLAIMS``, holds something that is not a Claim, or two
    claims share an id. The result is ordered by SPEC id (D, P, L, T, C, EU, then others).
    """
    found: dict[str, Claim] = {}
    for name in _claim_modules(package):
        module = importlib.import_module(name)
        claims = getattr(module, "CLAIMS", None)
        if claims is None:
            raise HomogeneityInputError(
                f"claim module {name} defines no CLAIMS; add `CLAIMS = (Claim(...),)`"
            )
        for claim in claims:
            if not isinstance(claim, Claim):
                raise HomogeneityInputError(
                    f"{name}.CLAIMS holds {type(claim).__name__}; it must hold Claim objects"
                )
            if claim.id in found:
                raise HomogeneityInputError(
                    f"claim id {claim.id!r} is registered twice "
                    f"(again in {name}); ids must be unique"
                )
            found[claim.id] = claim
    for claim in found.values():
        if claim.corrects is not None and claim.corrects not in found:
            raise HomogeneityInputError(
                f"claim {claim.id} corrects {claim.corrects!r}, which is not registered"
            )
    return {cid: found[cid] for cid in sorted(found, key=_sort_key)}


@lru_cache(maxsize=1)
def registry() -> Mapping[str, Claim]:
    """All registered claims, by id (built once from ``proofs_numeric.claims``)."""
    return discover_claims()


def select_claims(ids: Sequence[str] | None = None) -> list[Claim]:
    """The registered claims with the given ids (all when None), in registry order.

    Selecting a paper claim's id also selects its corrected version ("P4" → P4, P4*), and
    selecting a claim selects its restrictions ("L7*" → L7*, L7*[n≤5]).
    """
    reg = registry()
    if not ids:
        return list(reg.values())
    unknown = [i for i in ids if i not in reg]
    if unknown:
        raise HomogeneityInputError(f"claim={unknown} not registered; known ids: {', '.join(reg)}")
    wanted = set(ids)
    return [
        c for c in reg.values() if c.id in wanted or c.corrects in wanted or base_id(c.id) in wanted
    ]
