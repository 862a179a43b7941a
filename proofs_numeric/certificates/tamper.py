"""Deliberately wrong certificates, for the negative controls and the tests.

Each function returns a modified copy of a (valid) certificate that the checker must
reject: a sharpened, false constant with every enclosure honestly recomputed for it (the
best forgery there is), an edited enclosure, a box removed (a hole in the cover), a box
moved, a content change without a new hash, or a valid certificate relabelled to another
claim. All but the last carry a correct sha256,
so it is the mathematics, not the checksum, that rejects them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from flint import arb

from proofs_numeric.certificates.checker import (
    box_of_path,
    content_hash,
    enclose,
    exact_arb,
)
from proofs_numeric.certificates.intervals import arb_precision
from proofs_numeric.certificates.stated import STATED
from proofs_numeric.certificates.theorems import THEOREMS

Certificate = dict[str, Any]


def rehash(cert: Certificate) -> Certificate:
    cert["sha256"] = content_hash(cert)
    return cert


def _float(x: arb) -> float:
    return float(x.mid())


def with_parameters(
    cert: Mapping[str, Any], change: Callable[[dict[str, Any]], dict[str, Any]]
) -> Certificate:
    """The certificate restated with changed parameters, its enclosures recomputed for the
    new statement (negative where the new statement fails), and a correct hash."""
    out = copy.deepcopy(dict(cert))
    theorem = THEOREMS[out["theorem"]]
    out["parameters"] = change(copy.deepcopy(out["parameters"]))
    out["statement"] = theorem.statement(out["parameters"])
    constants = (
        (out["tail"] or {}).get("constants", {}) if out["tail"] else out.get("constants", {})
    )
    required = theorem.required_parts(out["parameters"])
    if len(required) == len(out["parts"]):  # the same parts, renamed (they follow the order)
        for part, (name, part_parameters) in zip(out["parts"], required.items(), strict=True):
            part["name"], part["parameters"] = name, part_parameters
    with arb_precision(out["precision_bits"]):
        for part in out["parts"]:
            if part["name"] not in required:
                continue
            prepared = theorem.prepare(out["parameters"], part["parameters"], constants)
            domain = theorem.domain(prepared)
            forms = theorem.forms(prepared)
            canonical = next(f for f in forms.values() if f.kind == "canonical")
            for b in part["boxes"]:
                box = [(exact_arb(lo), exact_arb(hi)) for lo, hi in box_of_path(domain, b["path"])]
                form = forms.get(b["form"], canonical)  # a rewrite may not exist any more
                b["form"] = form.name
                try:
                    value = enclose(theorem, prepared, form, box)
                except (ValueError, ZeroDivisionError):
                    continue
                b["enclosure"] = [_float(value.lo), _float(value.hi)]
    return rehash(out)


def edit_enclosure(cert: Mapping[str, Any]) -> Certificate:
    """Claim a larger lower bound than the box has (the first box of the first part)."""
    out = copy.deepcopy(dict(cert))
    box = out["parts"][0]["boxes"][0]
    lo, hi = box["enclosure"]
    width = (hi - lo) if hi is not None else 1.0
    box["enclosure"] = [lo + max(width, 1.0), (hi if hi is not None else lo) + 2 * max(width, 1.0)]
    return rehash(out)


def remove_box(cert: Mapping[str, Any]) -> Certificate:
    """Drop one box of the part with the most boxes: the cover has a hole."""
    out = copy.deepcopy(dict(cert))
    part = max(out["parts"], key=lambda p: len(p["boxes"]))
    part["boxes"].pop(len(part["boxes"]) // 2)
    return rehash(out)


def move_box(cert: Mapping[str, Any]) -> Certificate:
    """Keep every path but shift one stored box (it no longer is where its path says)."""
    out = copy.deepcopy(dict(cert))
    box = out["parts"][0]["boxes"][0]["box"]
    lo, hi = box[0]
    box[0] = [lo + (hi - lo) / 2, hi + (hi - lo) / 2]
    return rehash(out)


def stale_hash(cert: Mapping[str, Any]) -> Certificate:
    """Change the content (one enclosure's upper end) without recomputing the hash."""
    out = copy.deepcopy(dict(cert))
    box = out["parts"][0]["boxes"][0]
    lo, hi = box["enclosure"]
    box["enclosure"] = [lo, None if hi is None else hi * 2 + 1]
    return out


def relabel(cert: Mapping[str, Any]) -> Certificate:
    """Name another proved claim: a valid proof, of a statement that claim does not make."""
    out = copy.deepcopy(dict(cert))
    ids = sorted(STATED)
    out["claim"] = ids[(ids.index(out["claim"]) + 1) % len(ids)] if out["claim"] in ids else ids[0]
    return rehash(out)


TAMPERINGS: dict[str, Callable[[Mapping[str, Any]], Certificate]] = {
    "edited enclosure": edit_enclosure,
    "box removed (hole in the cover)": remove_box,
    "box moved off its path": move_box,
    "content changed, hash not": stale_hash,
    "relabelled to another claim": relabel,
}
