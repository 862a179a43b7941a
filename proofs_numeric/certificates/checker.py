"""The independent certificate checker.

It imports only the interval library (python-flint) and the modules of this package's
``certificates`` checker (:mod:`.intervals`, :mod:`.theorems`, :mod:`.stated`): not the
claim registry,
the claims, the search, the mpmath primitives or the prover. The maps it needs are a
second, deliberately separate implementation.

A certificate is a JSON file::

    {
      "format": "proofs_numeric-certificate/1",
      "claim": "L6",                      the claim id it backs
      "theorem": "scalar_saturation",     the statement family (see theorems/)
      "parameters": {...},                the statement's parameters
      "statement": "...",                 the statement, as the theorem renders it
      "assumptions": [...],               the lemmas of the reduction, verbatim
      "tail": {"lemma": "...", "constants": {...}} or null,
      "precision_bits": 128,
      "parts": [{"name", "parameters", "variables", "domain",
                 "boxes": [{"path", "box", "form", "enclosure": [lo, hi]}]}],
      "summary": {...}, "built": {...},   informative only
      "sha256": "..."                     of everything else (canonical JSON)
    }

What the checker verifies, and in this order (it stops at the first failure):

1. the format, and the sha256 of the canonical JSON of everything but ``sha256`` (an
   integrity check against edits and stale files, not a signature: anyone can recompute
   it, so nothing below relies on it);
2. the theorem is known, the parameters have exactly its keys; the statement and the
   assumptions are exactly what the theorem renders for these parameters (so the file says
   truthfully what it proves and assumes);
3. the tail constants instantiate the tail lemma (e.g. d ≤ k and K e^{−(k−d)X} ≤ A);
4. the parts are exactly the ones the theorem requires for these parameters;
5. per part, the domain is the theorem's and the box paths are the leaves of one binary
   bisection tree of it (so the boxes partition the domain: no hole, no overlap); each
   stored box equals the box its path names;
6. every rewrite form used is the canonical polynomial, checked by exact polynomial
   arithmetic; every relaxation is used only on boxes where it is valid;
7. per box, the enclosure of the chosen form recomputed at ``precision_bits`` lies inside
   the stored one, and the stored lower end is ≥ 0;
8. the claim the file names is recorded in :mod:`.stated` with exactly this theorem and
   these parameters (so "claim L6 proved" cannot be printed for a weaker statement that
   verifies). This comes last on purpose: a forgery of a claim with a false, sharper
   constant is then refuted by the mathematics (steps 3–7), not by its label.

A path is a string; its i-th character is ``chr(ord("a") + 2·axis + half)``: bisect the
current box along ``axis`` and keep the lower (half 0) or upper (half 1) half.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flint
from flint import arb, fmpq, fmpq_mpoly_ctx

from proofs_numeric.certificates.intervals import Interval, arb_precision
from proofs_numeric.certificates.stated import check_claim
from proofs_numeric.certificates.theorems import THEOREMS
from proofs_numeric.certificates.theorems.base import (
    Box,
    CertificateRejected,
    Form,
    Prepared,
    Theorem,
    canonical_json,
)

FORMAT = "proofs_numeric-certificate/1"
REQUIRED_KEYS = (
    "format",
    "claim",
    "theorem",
    "parameters",
    "statement",
    "assumptions",
    "tail",
    "precision_bits",
    "parts",
    "sha256",
)
MIN_BITS, MAX_BITS = 64, 4096


@dataclass(frozen=True)
class CheckReport:
    """What the checker established about one certificate."""

    claim: str
    theorem: str
    statement: str
    assumptions: tuple[str, ...]
    tail: str
    parts: int
    boxes: int
    min_lower: float
    precision_bits: int
    sha256: str
    seconds: float

    def line(self, name: str) -> str:
        return (
            f"OK   {name}: claim {self.claim} proved ({self.theorem}; "
            f"{_count(self.parts, 'part')}, {_count(self.boxes, 'box')}, "
            f"smallest lower bound {self.min_lower:.3g}, "
            f"{self.precision_bits}-bit arb; sha256 {self.sha256[:12]}…) in {self.seconds:.2f} s"
        )

    def details(self) -> list[str]:
        """What was proved and on what it rests, one item a line (for ``--verbose``)."""
        lines = [f"statement: {self.statement}"]
        lines += [f"assumes: {a}" for a in self.assumptions]
        if self.tail:
            lines.append(f"tail: {self.tail}")
        return lines


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}{'es' if noun.endswith('x') else 's'}"


# -- hashing and rational endpoints ------------------------------------------------------


def canonical_bytes(certificate: Mapping[str, Any]) -> bytes:
    """The canonical JSON of the certificate without its ``sha256`` (what the hash covers)."""
    return canonical_json({k: v for k, v in certificate.items() if k != "sha256"})


def content_hash(certificate: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(certificate)).hexdigest()


def to_rational(x: Any, what: str) -> fmpq:
    """A JSON number as an exact rational (floats are exact binary64 values)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise CertificateRejected(f"{what}={x!r} is not a number")
    if isinstance(x, float):
        if not math.isfinite(x):
            raise CertificateRejected(f"{what}={x!r} is not finite")
        num, den = x.as_integer_ratio()
        return fmpq(num, den)
    return fmpq(x)


def exact_arb(x: fmpq) -> arb:
    value = arb(x)
    if not value.is_exact():
        raise CertificateRejected(f"box coordinate {x} is not a dyadic rational")
    return value


# -- the cover -----------------------------------------------------------------------------


def decode_path(path: Any, dims: int) -> list[tuple[int, int]]:
    if not isinstance(path, str):
        raise CertificateRejected(f"box path {path!r} is not a string")
    steps = []
    for ch in path:
        code = ord(ch) - ord("a")
        if not 0 <= code < 2 * dims:
            raise CertificateRejected(f"box path {path!r}: {ch!r} names no axis of {dims}")
        steps.append((code // 2, code % 2))
    return steps


def check_partition(paths: Sequence[str], dims: int) -> None:
    """The paths must be the leaves of one bisection tree: each internal node splits one
    axis into its two halves, and every leaf is present exactly once. Then the boxes they
    name partition the domain (up to shared faces)."""
    if not paths:
        raise CertificateRejected("the part has no boxes: its domain is not covered")
    if len(set(paths)) != len(paths):
        raise CertificateRejected("a box appears twice")
    for p in paths:
        decode_path(p, dims)
    stack: list[tuple[str, list[str]]] = [("", list(paths))]
    while stack:
        prefix, group = stack.pop()
        if prefix in group:
            if len(group) > 1:
                raise CertificateRejected(
                    f"box {prefix!r} overlaps the boxes below it ({len(group) - 1} of them)"
                )
            continue
        depth = len(prefix)
        children: dict[str, list[str]] = {}
        for p in group:
            children.setdefault(p[depth], []).append(p)
        axes = {(ord(ch) - ord("a")) // 2 for ch in children}
        if len(axes) != 1:
            raise CertificateRejected(f"the boxes below {prefix!r} split different axes")
        axis = axes.pop()
        for half in (0, 1):
            ch = chr(ord("a") + 2 * axis + half)
            if ch not in children:
                raise CertificateRejected(
                    f"hole in the cover: the half {prefix + ch!r} of box {prefix!r} has no box"
                )
            stack.append((prefix + ch, children[ch]))


def box_of_path(domain: Sequence[tuple[fmpq, fmpq]], path: str) -> list[tuple[fmpq, fmpq]]:
    box = [tuple(side) for side in domain]
    for axis, half in decode_path(path, len(domain)):
        lo, hi = box[axis]
        mid = (lo + hi) / 2
        box[axis] = (lo, mid) if half == 0 else (mid, hi)
    return [(lo, hi) for lo, hi in box]


# -- evaluating a box ------------------------------------------------------------------------


def enclose(theorem: Theorem, prepared: Prepared, form: Form, box: Box) -> Interval:
    """The enclosure [min lo, min hi] of the minimum of the form's margins on the box."""
    vals = theorem.derived(prepared, box)
    margins = [Interval.of(m) for m in form.margins(vals, prepared.consts)]
    result = margins[0]
    for m in margins[1:]:
        result = result.minimum(m)
    return result


def check_rewrite(theorem: Theorem, prepared: Prepared, form_name: str) -> None:
    """A rewrite must equal the canonical form as a polynomial in the derived quantities
    (exact arithmetic over ℚ with flint's multivariate polynomials)."""
    forms = theorem.forms(prepared)
    names = sorted(_derived_names(theorem, prepared))
    ctx = fmpq_mpoly_ctx.get(tuple(names), "lex")
    gens = dict(zip(names, ctx.gens(), strict=True))
    consts = prepared.consts
    if any(isinstance(v, Interval) for v in consts.values()):
        raise CertificateRejected(
            f"form {form_name!r} is a rewrite, but its part has non-rational constants"
        )
    left = forms[form_name].margins(gens, consts)
    right = forms["canonical"].margins(gens, consts)
    if len(left) != len(right) or any(a != b for a, b in zip(left, right, strict=True)):
        raise CertificateRejected(
            f"form {form_name!r} is not the canonical margin: the polynomial identity fails"
        )


def _derived_names(theorem: Theorem, prepared: Prepared) -> set[str]:
    domain = theorem.domain(prepared)
    box = [(exact_arb(lo), exact_arb(hi)) for lo, hi in domain]
    return set(theorem.derived(prepared, box))


def _check_part(
    theorem: Theorem,
    parameters: Mapping[str, Any],
    part: Mapping[str, Any],
    required: Mapping[str, Any],
    constants: Mapping[str, Any],
) -> tuple[int, arb]:
    name = part.get("name")
    if part.get("parameters") != required:
        raise CertificateRejected(
            f"part {name!r}: parameters {part.get('parameters')} ≠ {required}"
        )
    prepared = theorem.prepare(parameters, required, constants)
    domain = theorem.domain(prepared)
    if list(part.get("variables", [])) != list(prepared.variables):
        raise CertificateRejected(f"part {name!r}: variables must be {list(prepared.variables)}")
    stored_domain = part.get("domain")
    if not isinstance(stored_domain, list) or len(stored_domain) != len(domain):
        raise CertificateRejected(f"part {name!r}: the domain must have {len(domain)} sides")
    for (lo, hi), side in zip(domain, stored_domain, strict=True):
        if [to_rational(side[0], "domain"), to_rational(side[1], "domain")] != [lo, hi]:
            raise CertificateRejected(
                f"part {name!r}: domain {stored_domain} is not the theorem's "
                f"{[[float(a), float(b)] for a, b in domain]}"
            )
    boxes = part.get("boxes")
    if not isinstance(boxes, list):
        raise CertificateRejected(f"part {name!r}: boxes must be a list")
    check_partition([b.get("path") for b in boxes], len(domain))
    forms = theorem.forms(prepared)
    for form_name in {b.get("form") for b in boxes}:
        if form_name not in forms:
            raise CertificateRejected(f"part {name!r}: unknown form {form_name!r}")
        if forms[form_name].kind == "rewrite":
            check_rewrite(theorem, prepared, form_name)
    smallest = None
    for b in boxes:
        exact_box = box_of_path(domain, b["path"])
        stored_box = b.get("box")
        if not isinstance(stored_box, list) or [
            [to_rational(s[0], "box"), to_rational(s[1], "box")] for s in stored_box
        ] != [[lo, hi] for lo, hi in exact_box]:
            raise CertificateRejected(f"part {name!r}: box {b['path']!r} is not where its path is")
        box = [(exact_arb(lo), exact_arb(hi)) for lo, hi in exact_box]
        form = forms[b["form"]]
        if form.valid is not None and not form.valid(box):
            raise CertificateRejected(
                f"part {name!r}: form {form.name!r} is not valid on box {b['path']!r}"
            )
        try:
            value = enclose(theorem, prepared, form, box)
        except (ValueError, ZeroDivisionError) as exc:
            raise CertificateRejected(f"part {name!r}, box {b['path']!r}: {exc}") from None
        enc = b.get("enclosure")
        if not (isinstance(enc, list) and len(enc) == 2):
            raise CertificateRejected(f"part {name!r}, box {b['path']!r}: no enclosure")
        stored_lo = arb(to_rational(enc[0], "enclosure"))
        if not stored_lo >= 0:
            raise CertificateRejected(
                f"part {name!r}, box {b['path']!r}: stored lower bound {enc[0]} is negative"
            )
        if not value.lo >= stored_lo or (
            enc[1] is not None and not value.hi <= arb(to_rational(enc[1], "enclosure"))
        ):
            raise CertificateRejected(
                f"part {name!r}, box {b['path']!r}: the recomputed enclosure {value!r} is not "
                f"inside the stored [{enc[0]}, {enc[1]}]"
            )
        smallest = value.lo if smallest is None or value.lo < smallest else smallest
    assert smallest is not None
    return len(boxes), smallest


def verify(certificate: Mapping[str, Any]) -> CheckReport:
    """Check one certificate (a parsed JSON object); raise CertificateRejected if it fails
    (a malformed file, whatever is wrong with it, is rejected, never accepted)."""
    try:
        return _verify(certificate)
    except CertificateRejected:
        raise
    except (
        KeyError,
        TypeError,
        AttributeError,
        ValueError,
        IndexError,
        ZeroDivisionError,
        OverflowError,
        RecursionError,
    ) as exc:
        raise CertificateRejected(f"malformed certificate: {type(exc).__name__}: {exc}") from None


def _verify(certificate: Mapping[str, Any]) -> CheckReport:
    start = time.perf_counter()
    if not isinstance(certificate, Mapping):
        raise CertificateRejected("a certificate is a JSON object")
    missing = [k for k in REQUIRED_KEYS if k not in certificate]
    if missing:
        raise CertificateRejected(f"missing keys {missing}")
    if certificate["format"] != FORMAT:
        raise CertificateRejected(f"format {certificate['format']!r} is not {FORMAT!r}")
    digest = content_hash(certificate)
    if certificate["sha256"] != digest:
        raise CertificateRejected("wrong sha256: the content was changed after it was hashed")
    theorem = THEOREMS.get(certificate["theorem"])
    if theorem is None:
        raise CertificateRejected(f"unknown theorem {certificate['theorem']!r}")
    parameters = certificate["parameters"]
    if not isinstance(parameters, Mapping) or set(parameters) != theorem.parameter_keys:
        raise CertificateRejected(
            f"the parameters of {theorem.name} have exactly the keys "
            f"{sorted(theorem.parameter_keys)}"
        )
    if certificate["statement"] != theorem.statement(parameters):
        raise CertificateRejected("the statement is not what the theorem states for its parameters")
    expected_assumptions = list(theorem.lemmas) + (
        [theorem.tail_lemma] if theorem.tail_lemma else []
    )
    if list(certificate["assumptions"]) != expected_assumptions:
        raise CertificateRejected("the assumptions are not the theorem's lemmas")
    bits = certificate["precision_bits"]
    if not (isinstance(bits, int) and MIN_BITS <= bits <= MAX_BITS):
        raise CertificateRejected(
            f"precision_bits={bits!r} must be an int in [{MIN_BITS}, {MAX_BITS}]"
        )
    tail = certificate["tail"]
    with arb_precision(bits):
        if theorem.tail_lemma is None:
            if tail is not None:
                raise CertificateRejected(f"theorem {theorem.name} has no tail lemma")
            constants: Mapping[str, Any] = certificate.get("constants", {}) or {}
        else:
            if not isinstance(tail, Mapping) or tail.get("lemma") != theorem.tail_lemma:
                raise CertificateRejected("the tail does not name the theorem's tail lemma")
            constants = tail.get("constants", {})
        tail_text = theorem.check_constants(parameters, constants)
        required = theorem.required_parts(parameters)
        parts = certificate["parts"]
        names = [p.get("name") for p in parts] if isinstance(parts, list) else None
        if names is None or sorted(map(str, names)) != sorted(required):
            raise CertificateRejected(f"parts {names} are not the required {sorted(required)}")
        n_boxes, smallest = 0, None
        for part in parts:
            n, low = _check_part(theorem, parameters, part, required[part["name"]], constants)
            n_boxes += n
            smallest = low if smallest is None or low < smallest else smallest
    check_claim(certificate["claim"], theorem.name, parameters)
    return CheckReport(
        claim=str(certificate["claim"]),
        theorem=theorem.name,
        statement=str(certificate["statement"]),
        assumptions=tuple(certificate["assumptions"]),
        tail=tail_text,
        parts=len(parts),
        boxes=n_boxes,
        min_lower=float(smallest.mid()) if smallest is not None else math.inf,
        precision_bits=bits,
        sha256=digest,
        seconds=time.perf_counter() - start,
    )


def load(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise CertificateRejected(f"cannot read {p}: {exc}") from None
    if not isinstance(data, dict):
        raise CertificateRejected(f"{p} holds no JSON object")
    return data


def verify_file(path: str | Path) -> CheckReport:
    return verify(load(path))


def flint_version() -> str:
    return str(flint.__version__)
