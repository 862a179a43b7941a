"""The prover: branch-and-bound that writes the certificates the checker re-verifies.

For each part of a theorem (see :mod:`proofs_numeric.certificates.theorems`) it starts
from the part's compact domain and, box by box, evaluates the canonical margin with the
checker's interval arithmetic; a box whose lower end is ≥ 0 is kept, any other box is
bisected. Near a point where the claimed bound is attained (``Theorem.touching``) no
amount of bisection closes a box, so there, once the box is small along the touching
axes, the prover uses the theorem's rewrite (an exact identity the checker verifies) or
relaxation (a lemma). A box that cannot be closed within ``max_depth`` bisections or
``max_boxes`` boxes stops the proof with :class:`ProofFailed`, naming the box and, if the
margin is negative at its midpoint, the point where the statement is false.

The prover uses the checker's arithmetic and maps (it imports the checker; the checker
never imports the prover). What it adds is the search: which boxes, which forms, which
tail constants.

    python -m proofs_numeric.certificates.prover            # rebuild every certificate
    python -m proofs_numeric.certificates.prover L6 L8      # rebuild some
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flint import arb, fmpq

from proofs_numeric.certificates.checker import (
    FORMAT,
    box_of_path,
    content_hash,
    enclose,
    exact_arb,
    flint_version,
)
from proofs_numeric.certificates.intervals import arb_precision
from proofs_numeric.certificates.theorems import THEOREMS
from proofs_numeric.certificates.theorems.base import Form, Prepared, Theorem, at_point

DATA_DIR = Path(__file__).resolve().parent / "data"
#: relative widening of stored enclosures, so a later arb with slightly different
#: rounding still recomputes inside them (lower ends at exactly 0 stay 0)
WIDEN = 2.0**-30


class ProofFailed(Exception):
    """The prover could not build a certificate (the message says where and why)."""


@dataclass(frozen=True)
class Spec:
    """What one certificate file proves and how hard the prover may try."""

    name: str
    claim: str
    theorem: str
    parameters: Mapping[str, Any]
    constants: Mapping[str, Any] = field(default_factory=dict)
    precision_bits: int = 128
    max_depth: int = 40
    max_boxes: int = 100_000
    touch_denominator: int = 8


def _float_down(x: arb) -> float:
    f = float(x.mid())
    if arb(f) > x:
        f = math.nextafter(f, -math.inf)
    return f


def _float_up(x: arb) -> float | None:
    f = float(x.mid())
    if math.isinf(f):
        return None
    if arb(f) < x:
        f = math.nextafter(f, math.inf)
    return None if math.isinf(f) else f


def _stored_enclosure(lo: arb, hi: arb) -> list[float | None]:
    low = lo if lo == 0 else lo - abs(lo) * arb(WIDEN)
    high = hi + abs(hi) * arb(WIDEN)
    low_f = _float_down(low.lower())
    if lo >= 0 and low_f < 0:
        low_f = 0.0
    return [low_f, _float_up(high.upper())]


def _relative_widths(box: Sequence[tuple[fmpq, fmpq]], domain: Sequence[tuple[fmpq, fmpq]]):
    return [(hi - lo) / (dhi - dlo) for (lo, hi), (dlo, dhi) in zip(box, domain, strict=True)]


def _candidate_forms(
    theorem: Theorem,
    prepared: Prepared,
    forms: Mapping[str, Form],
    box: list[tuple[arb, arb]],
    widths: list[fmpq],
    touch_denominator: int,
) -> list[Form]:
    out = [f for f in forms.values() if f.kind == "canonical"]
    out += [
        f for f in forms.values() if f.kind == "relaxation" and (f.valid is None or f.valid(box))
    ]
    axes = theorem.touching(prepared, box)
    if axes is not None and all(widths[a] <= fmpq(1, touch_denominator) for a in axes):
        out += [f for f in forms.values() if f.kind == "rewrite"]
    return out


def _split_axis(
    theorem: Theorem, prepared: Prepared, box: list[tuple[arb, arb]], widths: list[fmpq]
) -> int:
    axes = theorem.touching(prepared, box)
    if axes:
        return max(axes, key=lambda a: widths[a])
    return max(range(len(widths)), key=lambda a: widths[a])


def prove_part(
    theorem: Theorem, prepared: Prepared, spec: Spec, progress: Callable[[int], None] | None = None
) -> list[dict[str, Any]]:
    """Branch-and-bound over the part's domain; returns the box records (sorted by path)."""
    domain = theorem.domain(prepared)
    forms = theorem.forms(prepared)
    leaves: list[dict[str, Any]] = []
    stack = [""]
    visited = 0
    while stack:
        path = stack.pop()
        visited += 1
        exact_box = box_of_path(domain, path)
        box = [(exact_arb(lo), exact_arb(hi)) for lo, hi in exact_box]
        widths = _relative_widths(exact_box, domain)
        closed = None
        for form in _candidate_forms(theorem, prepared, forms, box, widths, spec.touch_denominator):
            try:
                value = enclose(theorem, prepared, form, box)
            except (ValueError, ZeroDivisionError):
                continue
            if value.lo >= 0:
                closed = (form, value)
                break
        if closed is not None:
            form, value = closed
            leaves.append(
                {
                    "path": path,
                    "box": [[float(lo), float(hi)] for lo, hi in exact_box],
                    "form": form.name,
                    "enclosure": _stored_enclosure(value.lo, value.hi),
                }
            )
            if progress is not None and len(leaves) % 1000 == 0:
                progress(len(leaves))
            continue
        if len(path) >= spec.max_depth or visited > spec.max_boxes:
            raise ProofFailed(_failure(theorem, prepared, forms, exact_box, spec))
        axis = _split_axis(theorem, prepared, box, widths)
        stack.append(path + chr(ord("a") + 2 * axis + 1))
        stack.append(path + chr(ord("a") + 2 * axis))
    leaves.sort(key=lambda r: r["path"])
    return leaves


def _failure(
    theorem: Theorem,
    prepared: Prepared,
    forms: Mapping[str, Form],
    exact_box: list[tuple[fmpq, fmpq]],
    spec: Spec,
) -> str:
    mid = [(lo + hi) / 2 for lo, hi in exact_box]
    where = ", ".join(f"{n} = {float(v):.6g}" for n, v in zip(prepared.variables, mid, strict=True))
    canonical = next(f for f in forms.values() if f.kind == "canonical")
    try:
        value = enclose(theorem, prepared, canonical, at_point([arb(v) for v in mid]))
        if value.hi < 0:
            return (
                f"the margin is {value.hi.str(5)} < 0 at {where}: the statement is false there "
                f"(no certificate can exist)"
            )
        detail = f"margin at the midpoint ∈ [{value.lo.str(5)}, {value.hi.str(5)}]"
    except (ValueError, ZeroDivisionError) as exc:
        detail = f"the margin cannot be evaluated at the midpoint ({exc})"
    return (
        f"could not close the box {[[float(a), float(b)] for a, b in exact_box]} within "
        f"{spec.max_depth} bisections / {spec.max_boxes} boxes; {detail} ({where})"
    )


def build(spec: Spec, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Prove ``spec`` and return the certificate (a JSON-ready dict with its sha256)."""
    theorem = THEOREMS[spec.theorem]
    start = time.perf_counter()
    parts: list[dict[str, Any]] = []
    by_form: dict[str, int] = {}
    with arb_precision(spec.precision_bits):
        try:
            theorem.check_constants(spec.parameters, spec.constants)
        except Exception as exc:
            raise ProofFailed(f"{spec.name}: {exc}") from None
        for part_name, part_parameters in theorem.required_parts(spec.parameters).items():
            prepared = theorem.prepare(spec.parameters, part_parameters, spec.constants)
            try:
                boxes = prove_part(theorem, prepared, spec)
            except ProofFailed as exc:
                raise ProofFailed(f"{spec.name}, part {part_name}: {exc}") from None
            for b in boxes:
                by_form[b["form"]] = by_form.get(b["form"], 0) + 1
            parts.append(
                {
                    "name": part_name,
                    "parameters": part_parameters,
                    "variables": list(prepared.variables),
                    "domain": [[float(lo), float(hi)] for lo, hi in theorem.domain(prepared)],
                    "boxes": boxes,
                }
            )
            if progress is not None:
                progress(f"{spec.name}: part {part_name}: {len(boxes)} boxes")
    lows = [b["enclosure"][0] for p in parts for b in p["boxes"]]
    certificate: dict[str, Any] = {
        "format": FORMAT,
        "claim": spec.claim,
        "theorem": theorem.name,
        "parameters": dict(spec.parameters),
        "statement": theorem.statement(spec.parameters),
        "assumptions": list(theorem.lemmas) + ([theorem.tail_lemma] if theorem.tail_lemma else []),
        "tail": (
            {"lemma": theorem.tail_lemma, "constants": dict(spec.constants)}
            if theorem.tail_lemma
            else None
        ),
        "precision_bits": spec.precision_bits,
        "parts": parts,
        "summary": {
            "boxes": sum(len(p["boxes"]) for p in parts),
            "boxes_by_form": dict(sorted(by_form.items())),
            "smallest_stored_lower_bound": min(lows),
        },
        "built": {
            "by": "python -m proofs_numeric.certificates.prover",
            "python_flint": flint_version(),
            "seconds": round(time.perf_counter() - start, 2),
        },
    }
    if not theorem.tail_lemma and spec.constants:
        certificate["constants"] = dict(spec.constants)
    certificate["sha256"] = content_hash(certificate)
    return certificate


def dumps(certificate: Mapping[str, Any]) -> str:
    """JSON with one line per box (the hash covers the parsed content, not the layout)."""

    def compact(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))

    lines = ["{"]
    keys = list(certificate)
    for i, key in enumerate(keys):
        end = "," if i < len(keys) - 1 else ""
        value = certificate[key]
        if key != "parts":
            text = json.dumps(value, indent=1, ensure_ascii=False).replace("\n", "\n ")
            lines.append(f" {json.dumps(key)}: {text}{end}")
            continue
        lines.append(' "parts": [')
        for j, part in enumerate(value):
            lines.append("  {")
            fields = [k for k in part if k != "boxes"]
            for k in fields:
                lines.append(f"   {json.dumps(k)}: {compact(part[k])},")
            lines.append('   "boxes": [')
            boxes = part["boxes"]
            for b_index, box in enumerate(boxes):
                sep = "," if b_index < len(boxes) - 1 else ""
                lines.append(f"    {compact(box)}{sep}")
            lines.append("   ]")
            lines.append("  }" + ("," if j < len(value) - 1 else ""))
        lines.append(" ]" + end)
    lines.append("}")
    return "\n".join(lines) + "\n"


def write(certificate: Mapping[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = dumps(certificate)
    if json.loads(text) != json.loads(json.dumps(certificate)):
        raise AssertionError("the certificate's layout changed its content")
    path.write_text(text, encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    from proofs_numeric.certificates.specs import SPECS  # the package's instances (torch)

    parser = argparse.ArgumentParser(
        prog="python -m proofs_numeric.certificates.prover",
        description="Build (prove) the certificates and write them as JSON.",
    )
    parser.add_argument("names", nargs="*", help="certificate names (default: all)")
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="output directory")
    args = parser.parse_args(argv)
    specs = SPECS()
    unknown = [n for n in args.names if n not in specs]
    if unknown:
        parser.error(f"unknown certificate(s) {unknown}; known: {', '.join(specs)}")
    total = time.perf_counter()
    for name in args.names or list(specs):
        start = time.perf_counter()
        try:
            cert = build(specs[name], progress=print)
        except ProofFailed as exc:
            print(f"FAILED {name}: {exc}")
            return 1
        path = write(cert, args.out / f"{name}.json")
        print(
            f"wrote {path} ({cert['summary']['boxes']} boxes) in "
            f"{time.perf_counter() - start:.1f} s"
        )
    print(f"built in {time.perf_counter() - total:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
