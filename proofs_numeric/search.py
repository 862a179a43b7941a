"""Searching for counterexamples to "for every case, margin(case) ≥ 0" claims.

A :class:`PropertySearch` bundles a Hypothesis strategy of JSON-serialisable cases, a
margin function (≥ 0 where the claim holds on the case) evaluated at a given mpmath
precision, and hand-made constructions that are always tried first (the cases a
mathematician would try: ties, near-ties, zero, huge norms).

*Vacuous cases.* A case tests the statement only if its premise holds and the margin
measured something. A margin function returns :func:`vacuous` (a :class:`Vacuous`
marker with the reason) for a case outside the statement (the premise fails, the map is
undefined there); a margin of +∞ (the bounded quantity was exactly 0, nothing was
measured) counts as vacuous too. Only the other cases, finite margins and violations,
are *non-vacuous*; a NaN margin makes the verdict ``open`` (the check could not evaluate
the case, which could hide a violation).

:func:`check_property` turns a search into a :class:`~proofs_numeric.claim.Verdict`:

1. evaluate every construction;
2. run ``hypothesis.find`` for a case with margin < 0, with ``target(-margin)`` steering
   generation toward the worst case; Hypothesis shrinks what it finds. The example
   budget is at least the profile's floor ``min_cases`` of non-vacuous cases, and the
   search is topped up (with fresh seeds) while fewer distinct non-vacuous cases than
   the floor have been tried;
3. re-evaluate the smallest failing case at ``profile.recheck_digits``; only a case whose
   margin stays negative there is a counterexample (else the verdict is ``open``: a
   precision artefact is not a refutation). Where the refutation rests on an argument
   along a ray (the violation persists as ‖θ‖ and c grow), the search names the points
   of that ray (``PropertySearch.ray``): the counterexample stores them under
   ``"ray"`` and its margin is the largest margin over them (:func:`along_ray`), so a
   replay re-checks every point;
4. a search that found no violation is ``verified`` only if at least ``min_cases`` of
   its cases were non-vacuous; otherwise it is ``open`` and says how many were. A
   campaign's shard (``ctx.shard``) tops itself up to its share of the floor, draws
   every round from its own seed and reports its count; the floor itself is applied to
   the count of all shards together (:func:`proofs_numeric.campaign.merge.merge_shards`).

:func:`property_control` and :func:`replay_control` build the negative controls.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from random import Random
from typing import Any, Literal

import mpmath
from hypothesis import HealthCheck, find, settings
from hypothesis.errors import NoSuchExample, Unsatisfiable
from hypothesis.strategies import SearchStrategy

from proofs_numeric import case_schema as cs
from proofs_numeric.claim import (
    CheckContext,
    ControlOutcome,
    Counterexample,
    Evidence,
    NegativeControl,
    Verdict,
)
from proofs_numeric.precision import working_precision
from proofs_numeric.strategies import toward

Case = dict[str, Any]
MarginFn = Callable[[Mapping[str, Any], int], Any]
RayFn = Callable[[Mapping[str, Any]], Sequence[Mapping[str, Any]]]

#: The key under which a counterexample stores the points of its ray.
RAY_KEY = "ray"
#: The most points a replayed ray may list.
MAX_RAY_POINTS = 32
#: At most this many top-up rounds run to reach the floor of non-vacuous cases.
MAX_TOP_UP_ROUNDS = 4

Kind = Literal["vacuous", "held", "violated", "undefined"]


@dataclass(frozen=True)
class Vacuous:
    """What a margin function returns for a case on which the statement says nothing
    (its premise fails, or the map it bounds is undefined there); ``reason`` says which.

    It is not a number: ``float(Vacuous(...))`` is NaN, so a replay of a vacuous case
    never reads as a counterexample."""

    reason: str

    def __float__(self) -> float:
        return float("nan")


def vacuous(reason: str) -> Vacuous:
    """The marker of a vacuous case: ``return vacuous("premise fails on the grid")``."""
    return Vacuous(reason)


#: The reason recorded for a margin of +∞.
INFINITE_MARGIN = "margin +∞ (the bounded quantity was exactly 0: nothing was measured)"


def classify(margin: Any) -> tuple[Kind, str]:
    """(kind, reason) of a margin: ``vacuous`` (a :class:`Vacuous`, or +∞), ``undefined``
    (NaN or not a number), ``violated`` (< 0, −∞ included) or ``held`` (finite, ≥ 0)."""
    if isinstance(margin, Vacuous):
        return "vacuous", margin.reason
    if isinstance(margin, mpmath.mpf):  # may lie beyond the float64 range: no float()
        if mpmath.isnan(margin):
            return "undefined", "margin NaN"
        if margin == mpmath.inf:
            return "vacuous", INFINITE_MARGIN
        return ("violated", "") if margin < 0 else ("held", "")
    try:
        x = float(margin)
    except (TypeError, ValueError, OverflowError):
        return "undefined", f"margin {margin!r} is not a real number"
    if math.isnan(x):
        return "undefined", "margin NaN"
    if x == math.inf:
        return "vacuous", INFINITE_MARGIN
    return ("violated", "") if x < 0 else ("held", "")


def is_non_vacuous(margin: Any) -> bool:
    """True when the margin tested something: finite, or a violation."""
    return classify(margin)[0] in ("held", "violated")


def along_ray(margin: MarginFn) -> MarginFn:
    """The margin of a case, or of a case with a ``"ray"`` list of points (each a dict of
    the fields that change along the ray, e.g. ``{"rho": 8.0, "log10_c": 6.0}``): then
    the largest margin over the points, so it is < 0 iff the statement is violated at
    every point, and vacuous if any point is."""

    def wrapped(case: Mapping[str, Any], digits: int) -> Any:
        points = case.get(RAY_KEY)
        if not points:
            return margin(case, digits)
        base = {k: v for k, v in case.items() if k != RAY_KEY}
        worst: Any = None
        for point in points:
            m = margin({**base, **point}, digits)
            kind, reason = classify(m)
            if kind in ("vacuous", "undefined"):
                return vacuous(f"ray point {dict(point)}: {reason}")
            worst = m if worst is None or m > worst else worst
        return worst

    wrapped.__doc__ = margin.__doc__
    return wrapped


def with_ray(schema: cs.Schema, **wider: cs.Schema) -> cs.Schema:
    """``schema`` of a replayed case, also admitting the ``"ray"`` list a refutation along
    a ray stores (:func:`along_ray`): 1 to :data:`MAX_RAY_POINTS` points, each a subset of
    the fields of ``schema`` with their bounds, except the fields named in ``wider``,
    whose bounds along the ray are those given (a ray walks out of the search's domain:
    ρ·16, ‖θ‖·4). ``schema`` is a :class:`~proofs_numeric.case_schema.Record` or a
    :class:`~proofs_numeric.case_schema.Where` around one."""
    if isinstance(schema, cs.Where) and isinstance(schema.inner, cs.Record):
        return cs.Where(with_ray(schema.inner, **wider), schema.test, schema.what)
    if not isinstance(schema, cs.Record):
        raise TypeError(f"with_ray takes a Record (or a Where around one), not {schema!r}")
    points = {**schema.fields, **schema.optional, **wider}
    ray = cs.ListOf(cs.Record({}, optional=points), 1, MAX_RAY_POINTS)
    return cs.Record(schema.fields, optional={**schema.optional, RAY_KEY: ray})


def geometric_ray(
    case: Mapping[str, Any],
    field_factors: Mapping[str, Sequence[float]],
    additive: Mapping[str, Sequence[float]] | None = None,
) -> list[dict[str, Any]]:
    """Points along a ray through ``case``: every combination of ``case[f]·factor`` for
    the fields of ``field_factors`` and ``case[f] + step`` for those of ``additive``
    (e.g. ``{"rho": (1, 4, 16)}`` and ``{"log10_c": (0, 3)}``)."""
    points: list[dict[str, Any]] = [{}]
    for name, factors in field_factors.items():
        points = [{**p, name: float(case[name]) * f} for p in points for f in factors]
    for name, steps in (additive or {}).items():
        points = [{**p, name: float(case[name]) + s} for p in points for s in steps]
    return points


@dataclass(frozen=True)
class PropertySearch:
    """A "for all cases, margin ≥ 0" statement and how to search it.

    Attributes:
        claim_id: the claim this search checks (stamped on counterexamples).
        strategy: Hypothesis strategy of cases (JSON-serialisable dicts).
        margin: ``margin(case, digits)``; ≥ 0 iff the statement holds on the case,
            computed at ``digits`` (plus the guard digits the margin itself adds);
            :func:`vacuous` where the case says nothing about the statement.
        constructions: hand-made cases evaluated before the random search.
        search: one line saying what is searched (goes into the evidence).
        margin_label: the unit of the margin (e.g. "log(bound/error)").
        precision: how the margin is computed ("mpmath", "mpmath.iv", "float64 + mpmath").
        examples_scale: fraction of the profile's ``max_examples`` this search uses
            (the budget is never below the profile's floor of non-vacuous cases).
        describe: turns a failing case into one line for the counterexample record.
        ray: for a refutation that rests on an argument along a ray, the points of that
            ray through a failing case (see :func:`geometric_ray`); the counterexample
            then holds them all and replays at each.
    """

    claim_id: str
    strategy: SearchStrategy[Case]
    margin: MarginFn
    search: str
    constructions: Sequence[Case] = field(default_factory=tuple)
    margin_label: str = "margin ≥ 0 ⇔ the statement held on the case"
    precision: str = "mpmath"
    examples_scale: float = 1.0
    describe: Callable[[Mapping[str, Any]], str] = lambda case: ""
    ray: RayFn | None = None


@dataclass
class SearchOutcome:
    """Raw result of a search (before the re-check).

    ``cases`` distinct cases evaluated, ``non_vacuous`` of them tested something,
    ``vacuous`` counts the reasons of the others; ``case_digests`` and
    ``non_vacuous_digests`` name those cases (:func:`case_digest`), for a campaign's
    merge of shards to count a case once."""

    cases: int
    worst_margin: Any
    worst_case: Case | None
    failing_case: Case | None
    unsatisfiable: bool = False
    non_vacuous: int = 0
    vacuous: Counter[str] = field(default_factory=Counter)
    undefined_case: Case | None = None
    rounds: int = 0
    case_digests: set[str] = field(default_factory=set)
    non_vacuous_digests: set[str] = field(default_factory=set)


def evaluate_margin(margin: MarginFn, case: Mapping[str, Any], digits: int) -> Any:
    """``margin(case, digits)`` evaluated at ``digits`` decimal digits (precision restored)."""
    with working_precision(digits):
        return margin(case, digits)


def _key(case: Mapping[str, Any]) -> str:
    return json.dumps(case, sort_keys=True, default=repr)


def case_digest(key: str) -> str:
    """A short, process-independent digest of a case's canonical text (its sorted JSON):
    what a shard's ledger keeps of a case, to recognise it in another shard."""
    return hashlib.blake2b(key.encode("utf-8"), digest_size=12).hexdigest()


def example_budget(search: PropertySearch, ctx: CheckContext) -> int:
    """The first round's Hypothesis budget: the profile's examples × ``examples_scale``,
    and never fewer than the floor of non-vacuous cases."""
    return max(ctx.examples(search.examples_scale), ctx.min_cases)


def run_search(search: PropertySearch, ctx: CheckContext) -> SearchOutcome:
    """Constructions first, then a targeted Hypothesis search for margin < 0, topped up
    until ``ctx.min_cases`` distinct non-vacuous cases were tried (or a case failed)."""
    digits = ctx.digits
    state = SearchOutcome(0, None, None, None)
    seen: dict[str, Any] = {}

    def record(case: Mapping[str, Any]) -> tuple[Kind, Any]:
        key = _key(case)
        if key in seen:
            m = seen[key]
            return classify(m)[0], m
        m = evaluate_margin(search.margin, case, digits)
        seen[key] = m
        state.cases += 1
        digest = case_digest(key)
        state.case_digests.add(digest)
        kind, reason = classify(m)
        if kind == "vacuous":
            state.vacuous[reason] += 1
        elif kind == "undefined":
            state.undefined_case = dict(case)
        else:
            state.non_vacuous += 1
            state.non_vacuous_digests.add(digest)
            if state.worst_margin is None or m < state.worst_margin:
                state.worst_margin, state.worst_case = m, dict(case)
        return kind, m

    # a campaign's shard (ctx.shard): constructions in its first shard only, own seeds
    shard = ctx.shard
    for case in search.constructions if shard is None or shard.first else ():
        kind, _ = record(case)
        if kind == "violated":
            state.failing_case = dict(case)
            return state
        if kind == "undefined":
            return state

    def stop(case: Case) -> bool:
        kind, m = record(case)
        if kind in ("held", "violated"):
            toward(m)
        return kind in ("violated", "undefined")

    budget = example_budget(search, ctx)
    for round_ in range(MAX_TOP_UP_ROUNDS + 1):
        state.rounds = round_ + 1
        before_cases, before_counted = state.cases, state.non_vacuous
        hypothesis_settings = settings(
            max_examples=budget,
            database=None,
            deadline=None,
            derandomize=ctx.profile.derandomize,
            suppress_health_check=list(HealthCheck),
        )
        # round 0 is the profile's own search; top-ups draw fresh (seeded in ci) cases;
        # a shard seeds every round of its own
        if shard is not None:
            rng: Random | None = shard.random(round_)
        else:
            rng = Random(round_) if round_ and ctx.profile.derandomize else None
        try:
            found = dict(find(search.strategy, stop, settings=hypothesis_settings, random=rng))
        except NoSuchExample:
            pass
        except Unsatisfiable:
            state.unsatisfiable = True
            break
        else:
            m = seen[_key(found)] if _key(found) in seen else record(found)[1]
            if classify(m)[0] == "undefined":
                state.undefined_case = found
            else:
                state.failing_case = found
            break
        short = ctx.min_cases - state.non_vacuous
        tried, counted = state.cases - before_cases, state.non_vacuous - before_counted
        if short <= 0 or counted == 0:
            break
        budget = math.ceil(1.2 * short * max(tried, 1) / counted) + 1
    return state


def _vacuous_text(outcome: SearchOutcome, limit: int = 3) -> str:
    if not outcome.vacuous:
        return "none vacuous"
    parts = [f"{n}× {reason}" for reason, n in outcome.vacuous.most_common(limit)]
    rest = sum(outcome.vacuous.values()) - sum(n for _, n in outcome.vacuous.most_common(limit))
    return "vacuous: " + "; ".join(parts) + (f"; {rest} other" if rest else "")


def check_property(search: PropertySearch, ctx: CheckContext, notes: str = "") -> Verdict:
    """Search, shrink, re-check at high precision, and return the verdict."""
    outcome = run_search(search, ctx)
    if ctx.shard is not None:
        ctx.shard.record(
            search.claim_id,
            frozenset(outcome.case_digests),
            frozenset(outcome.non_vacuous_digests),
        )
    n_constructions = len(search.constructions)
    what = (
        f"{search.search}; {n_constructions} constructed case(s) + Hypothesis "
        f"(≥{example_budget(search, ctx)} examples in {outcome.rounds} round(s), "
        f"target → worst margin); {_vacuous_text(outcome)}"
    )

    def evidence(worst: Any, precision: str | None = None) -> Evidence:
        return Evidence(
            outcome.cases,
            _float(worst),
            precision or f"{search.precision}, {ctx.digits} digits",
            what,
            search.margin_label,
            notes,
            margin_text(worst),
            outcome.non_vacuous,
        )

    if outcome.undefined_case is not None:
        return Verdict(
            "open",
            evidence(outcome.worst_margin),
            reason=(
                "the margin was undefined (NaN) on a case, which could hide a violation: "
                f"{_short(outcome.undefined_case)}"
            ),
        )
    if outcome.failing_case is None and outcome.unsatisfiable:
        return Verdict(
            "open",
            evidence(outcome.worst_margin),
            reason=(
                "the search could not generate enough valid cases (Hypothesis: Unsatisfiable); "
                "nothing is verified"
            ),
        )
    if outcome.failing_case is None:
        # a shard's floor is applied to the shards' merged count (campaign.merge), not here:
        # one shard short of its share may be made up by another
        if ctx.shard is None and outcome.non_vacuous < ctx.min_cases:
            return Verdict(
                "open",
                evidence(outcome.worst_margin),
                reason=(
                    f"only {outcome.non_vacuous} of {outcome.cases} cases were non-vacuous, "
                    f"below the floor of {ctx.min_cases} (profile {ctx.profile.name}); "
                    f"{_vacuous_text(outcome)}"
                ),
            )
        return Verdict("verified", evidence(outcome.worst_margin))
    case = outcome.failing_case
    confirmed = evaluate_margin(search.margin, case, ctx.recheck_digits)
    if classify(confirmed)[0] == "violated":
        rechecked = (
            f"{search.precision}, searched at {ctx.digits} digits, "
            f"re-checked at {ctx.recheck_digits}"
        )
        description = search.describe(case)
        if search.ray is not None:
            ray_case = {**case, RAY_KEY: [dict(p) for p in search.ray(case)]}
            along = evaluate_margin(along_ray(search.margin), ray_case, ctx.recheck_digits)
            if classify(along)[0] != "violated":
                return Verdict(
                    "open",
                    evidence(confirmed, rechecked),
                    reason=(
                        f"violated at {_short(case)} but not at every point of its ray "
                        f"(largest margin along it: {margin_text(along)}); the refutation "
                        f"needs the ray"
                    ),
                )
            case, confirmed = ray_case, along
            description += (
                f" [replayed at {len(ray_case[RAY_KEY])} points along the ray, every "
                f"margin ≤ {margin_text(along)}]"
            )
        cx = Counterexample(
            search.claim_id, case, _float(confirmed), ctx.recheck_digits, description
        )
        return Verdict("refuted", evidence(confirmed, rechecked), cx)
    return Verdict(
        "open",
        evidence(outcome.worst_margin),
        reason=(
            f"a case failed at {ctx.digits} digits but held at {ctx.recheck_digits} "
            f"(margin {margin_text(confirmed)}); raise the precision: {case}"
        ),
    )


def property_control(
    name: str, description: str, make_search: Callable[[], PropertySearch]
) -> NegativeControl:
    """A control that runs the same search on a mutated statement; rejected iff refuted."""

    def run(ctx: CheckContext) -> ControlOutcome:
        verdict = check_property(make_search(), ctx)
        detail = f"mutated claim {verdict.status}" + (
            f" (margin {verdict.counterexample.margin:.3g} on "
            f"{_short(verdict.counterexample.case)})"
            if verdict.counterexample
            else f": {verdict.evidence.summary()}"
        )
        return ControlOutcome(verdict.status == "refuted", detail)

    return NegativeControl(name, description, run)


def replay_control(
    name: str, description: str, case: Mapping[str, Any], margin: MarginFn
) -> NegativeControl:
    """A control for refuted claims: ``case`` is NOT a counterexample (the statement holds
    on it) and the replay must say so with a finite margin ≥ 0. A replay that calls every
    case a violation fails this control, and so does a case on which the replay measures
    nothing (a vacuous case or a margin of +∞ would pass any implementation)."""

    def run(ctx: CheckContext) -> ControlOutcome:
        m = evaluate_margin(margin, case, ctx.recheck_digits)
        kind, reason = classify(m)
        if kind == "vacuous" or kind == "undefined":
            return ControlOutcome(
                False, f"the replay measured nothing ({reason}) on {_short(case)}"
            )
        return ControlOutcome(kind == "held", f"replay margin {margin_text(m)} on {_short(case)}")

    return NegativeControl(name, description, run)


def margin_text(x: Any) -> str:
    """A margin printed with 3 significant digits, exact beyond the float64 range."""
    if x is None:
        return "n/a"
    if isinstance(x, Vacuous):
        return f"vacuous ({x.reason})"
    if isinstance(x, mpmath.mpf) or isinstance(x, mpmath.ctx_mp_python.mpf):
        return mpmath.nstr(x, 3)
    return f"{float(x):.3g}"


def _float(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError, OverflowError):
        return float("nan")


def _short(case: Mapping[str, Any], limit: int = 160) -> str:
    text = repr(dict(case))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def log_margin(bound: Any, error: Any, digits: int | None = None) -> Any:
    """ln(bound/error) at ``digits``: ≥ 0 iff error ≤ bound (+inf if error = 0, −inf if
    only the bound is 0). A natural unit for exponentially small quantities; the quotient
    is rounded monotonically, so bound ≥ error always gives a margin ≥ 0."""
    if error < 0 or bound < 0:
        raise ValueError("log_margin takes non-negative bound and error")
    if error == 0:
        return mpmath.inf
    if bound == 0:
        return -mpmath.inf
    with working_precision(digits):
        return mpmath.log(mpmath.mpf(bound) / mpmath.mpf(error))


def scale_from_log10(log10_c: Any, digits: int | None = None) -> Any:
    """c = 10^log10_c as an mpf at ``digits`` (works far beyond float64)."""
    with working_precision(digits):
        return mpmath.power(10, mpmath.mpf(log10_c))
