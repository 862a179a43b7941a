"""P3: σ∘f, tanh∘f and softmax∘f are ∼0 when f is ∼k (refuted for k > 0), and P3*.

Counterexample: f(θ) = θ₁ − θ₂ is exactly 1-homogeneous, hence ∼1. At θ = (t + 1, t, 0),
σ(f(cθ)) − σ(f(θ)) = σ(c) − σ(1) → 0.27 as c → ∞, for every t, while ‖θ‖ → ∞. The same
holds for tanh (→ 0.24) and for softmax(θ₁, θ₂) (the same as σ(θ₁ − θ₂)). L6–L8 bound
the error by exp(−|f(θ)|) (or the gap of f(θ)), and |f(θ)| need not grow with ‖θ‖.
(For k = 0 the claim holds: the maps are Lipschitz.)

P3* (exactly homogeneous f of degree k > 0, substituting x = f(θ) and c^k ≥ 1 into
L6, L8 and L7*): for all c ≥ 1 and θ,

    |σ(f(cθ)) − σ(f(θ))| ≤ e^{−|f(θ)|},   |tanh(f(cθ)) − tanh(f(θ))| ≤ e^{−|f(θ)|},
    |softmax(f(cθ))_i − softmax(f(θ))_i| ≤ C(f(θ)) e^{−γ(f(θ))}.

Since |f(θ)| = ‖θ‖^k |f(θ̂)|, the composition is ∼0 uniformly on every cone of directions
with |f(θ̂)| ≥ m > 0 (gap γ(f(θ̂)) ≥ m for softmax), with rate m‖θ‖^k, and on no larger set.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import mpmath
from hypothesis import strategies as st

from proofs_numeric import case_schema as cs
from proofs_numeric import families as fam
from proofs_numeric.claim import Claim
from proofs_numeric.claims._d3 import (
    D_PROBE,
    MAX_REPLAY_R,
    RHO_PROBE,
    THETA_1,
    float_point,
    probe_margin,
    radii,
    ray_fields,
    rounding_allowance,
)
from proofs_numeric.precision import (
    guard_digits,
    sigmoid_difference,
    softmax_difference,
    softmax_tail_bound,
    tanh_difference,
    working_precision,
)
from proofs_numeric.search import (
    PropertySearch,
    along_ray,
    check_property,
    log_margin,
    property_control,
    replay_control,
    scale_from_log10,
    with_ray,
)
from proofs_numeric.strategies import log10_scales, unit_vectors

DIM = 3
MAPS = ("sigmoid", "tanh", "softmax")


def _difference(name: str, fc: list[Any], f1: list[Any], digits: int) -> Any:
    """max_i |φ(f(cθ))_i − φ(f(θ))_i|, computed without cancellation."""
    if name == "sigmoid":
        return abs(sigmoid_difference(fc[0], f1[0], digits))
    if name == "tanh":
        return abs(tanh_difference(fc[0], f1[0], digits))
    return max(abs(v) for v in softmax_difference(fc, f1, digits=digits))


def _deviation(case: Mapping[str, Any], theta, c, digits: int) -> tuple[Any, list[Any]]:
    specs = case["f"]
    f1 = [fam.evaluate(s, theta, digits) for s in specs]
    fc = [fam.evaluate(s, [c * t for t in theta], digits) for s in specs]
    return _difference(case["map"], fc, f1, digits), f1


def _digits(digits: int, case: Mapping[str, Any]) -> int:
    """Values of size c^k keep their absolute accuracy: k·log10 c more digits."""
    k = max(fam.degree(s) for s in case["f"])
    return guard_digits(digits, k * float(case["log10_c"]))


def paper_margin(case: Mapping[str, Any], digits: int) -> Any:
    work = _digits(digits, case)
    with working_precision(work):
        theta = fam.point(case["direction"], case["r"], work)
        err, _ = _deviation(case, theta, scale_from_log10(case["log10_c"], work), work)
        return probe_margin(err, float(case["r"]), work)


def corrected_margin(paper_bound: bool = False):
    def margin(case: Mapping[str, Any], digits: int) -> Any:
        work = _digits(digits, case)
        with working_precision(work):
            theta = fam.point(case["direction"], case["r"], work)
            err, f1 = _deviation(case, theta, scale_from_log10(case["log10_c"], work), work)
            if paper_bound:
                bound = mpmath.exp(-D_PROBE * mpmath.mpf(case["r"]))
            elif case["map"] == "softmax":
                bound = softmax_tail_bound(f1, 1, digits=work)
            else:
                bound = mpmath.exp(-abs(f1[0]))
            return log_margin(bound + rounding_allowance(work, 1), err, work)

    return margin


def cases(
    min_r: float, max_r: float, approximate: bool = False
) -> st.SearchStrategy[dict[str, Any]]:
    """Maps of exact products (or, with ``approximate``, of poly × sat members)."""

    def member(k: int) -> st.SearchStrategy[dict[str, Any]]:
        return fam.members(DIM, ("polysat",) if approximate else ("poly",), (k,))

    def build(name: str) -> st.SearchStrategy[dict[str, Any]]:
        n = st.just(1) if name != "softmax" else st.integers(2, 4)
        k = st.sampled_from([1, 2, 3])
        specs = st.tuples(n, k).flatmap(
            lambda nk: st.lists(member(nk[1]), min_size=nk[0], max_size=nk[0])
        )
        return st.fixed_dictionaries(
            {
                "map": st.just(name),
                "f": specs,
                "direction": unit_vectors(DIM),
                "r": radii(min_r, max_r),
                "log10_c": log10_scales(12),
            }
        )

    return st.sampled_from(MAPS).flatmap(build)


#: a replayed case: σ, tanh or softmax of 1–6 family members of ℝ³ at θ = r·θ̂, c ≤ 10^30
CASE_SCHEMA = cs.Record(
    {
        "map": cs.Choice(MAPS),
        "f": cs.ListOf(fam.member_schema(DIM), 1, 6),
        **ray_fields(DIM, 30.0),
    }
)

_DIFF = {"kind": "poly", "a": 1.0, "ws": [[1.0, -1.0, 0.0]]}
_X2 = {"kind": "poly", "a": 1.0, "ws": [[0.0, 1.0, 0.0]]}


def _shifted(name: str, t: float, log10_c: float = 6.0) -> dict[str, Any]:
    f = [THETA_1, _X2] if name == "softmax" else [_DIFF]
    return {
        "map": name,
        "f": f,
        "direction": [t + 1.0, t, 0.0],
        "r": ((t + 1.0) ** 2 + t**2) ** 0.5,
        "log10_c": log10_c,
    }


PAPER_CONSTRUCTIONS = tuple(_shifted(m, 500.0) for m in MAPS)
CORRECTED_CONSTRUCTIONS = (
    PAPER_CONSTRUCTIONS
    + tuple(_shifted(m, 3.0, 1.0) for m in MAPS)
    + (
        {
            "map": "softmax",
            "f": [THETA_1, _X2, THETA_1],
            "direction": [1.0, 0.5, 0.0],
            "r": 8.0,
            "log10_c": 3.0,
        },
        {"map": "sigmoid", "f": [_DIFF], "direction": [0.5, 1.0, 0.0], "r": 2.0, "log10_c": 0.0},
    )
)


#: A refutation of P3 is replayed at θ + t·v, t = ‖θ‖·(0, 1, 3), v ⊥ every linear form.
RAY_STEPS = (0.0, 1.0, 3.0)


def level_direction(case: Mapping[str, Any]) -> list[float] | None:
    """A unit v orthogonal to every linear form w of every product in f (so f(θ + tv) =
    f(θ) for all t), or None if they span ℝ³."""
    ws = [list(map(float, w)) for s in case["f"] for w in s.get("ws", [])]
    basis: list[list[float]] = []
    for w in ws:
        for b in basis:
            dot = sum(x * y for x, y in zip(w, b, strict=True))
            w = [x - dot * y for x, y in zip(w, b, strict=True)]
        n = math.sqrt(sum(x * x for x in w))
        if n > 1e-12:
            basis.append([x / n for x in w])
    best, best_norm = None, 1e-9
    for k in range(DIM):
        v = [1.0 if j == k else 0.0 for j in range(DIM)]
        for b in basis:
            dot = sum(x * y for x, y in zip(v, b, strict=True))
            v = [x - dot * y for x, y in zip(v, b, strict=True)]
        n = math.sqrt(sum(x * x for x in v))
        if n > best_norm:
            best, best_norm = [x / n for x in v], n
    return best


def paper_ray(case: Mapping[str, Any]) -> list[dict[str, Any]]:
    """θ + t·v for t = ‖θ‖·RAY_STEPS with v of :func:`level_direction`: f, hence the
    deviation, is the same at every point while ‖θ‖ grows."""
    v = level_direction(case)
    if v is None:
        return []
    r = float(case["r"])
    theta = float_point(case)
    points = []
    for step in RAY_STEPS:
        p = [x + step * r * y for x, y in zip(theta, v, strict=True)]
        points.append({"direction": p, "r": math.sqrt(sum(x * x for x in p))})
    return points


def paper_search() -> PropertySearch:
    return PropertySearch(
        claim_id="P3",
        strategy=cases(RHO_PROBE, 300.0),
        margin=paper_margin,
        search=(
            f"σ, tanh, softmax of exact products of degree 1–3 in θ ∈ ℝ³, ‖θ‖ ∈ "
            f"[{RHO_PROBE:g}, 300], c = 10^v; probe d = {D_PROBE}"
        ),
        constructions=PAPER_CONSTRUCTIONS,
        margin_label="−d‖θ‖ − ln max_i |φ(f(cθ))_i − φ(f(θ))_i|, probe d",
        describe=lambda c: (
            f"{c['map']} of f = {c['f']} at θ = {c['direction']}, c = "
            f"10^{c['log10_c']}: f(θ) = 1 along θ = (t+1, t, 0) for every t, so "
            f"the deviation stays ≈ σ(∞) − σ(1) while ‖θ‖ → ∞"
        ),
        ray=paper_ray,
    )


#: f = θ₁·(σ(0.01‖θ‖) − 3/4) at θ = (100, 0, 0): f(θ) ≈ −1.9 but f(cθ)/c → +25, so σ∘f
#: jumps from 0.13 to 1 while e^{−|f(θ)|} ≈ 0.15 (an approximately homogeneous f).
APPROXIMATE_CONSTRUCTION = {
    "map": "sigmoid",
    "f": [
        {
            "kind": "polysat",
            "poly": THETA_1,
            "sat": {"kind": "sat", "a": 1.0, "b": 1.01, "u": [-1.0, 0.0, 0.0], "o": -0.75},
        }
    ],
    "direction": [1.0, 0.0, 0.0],
    "r": 100.0,
    "log10_c": 6.0,
}


def corrected_search(
    paper_bound: bool = False, approximate: bool = False, what: str = ""
) -> PropertySearch:
    constructions = CORRECTED_CONSTRUCTIONS + ((APPROXIMATE_CONSTRUCTION,) if approximate else ())
    return PropertySearch(
        claim_id="P3*",
        strategy=cases(1.0, 60.0, approximate),
        margin=corrected_margin(paper_bound),
        search=(
            "σ, tanh, softmax of exactly homogeneous products of degree 1–3 in θ ∈ ℝ³, "
            "‖θ‖ ∈ [1, 60], c = 10^v, v ∈ [0, 12]" + (f"; {what}" if what else "")
        ),
        constructions=constructions,
        margin_label="ln(e^{−|f(θ)|} or C e^{−γ(f(θ))}) − ln |φ(f(cθ)) − φ(f(θ))|",
        describe=lambda c: f"{c['map']}, f = {c['f']}, θ = {c['r']}·{c['direction']}",
    )


CLAIMS = (
    Claim(
        id="P3",
        title="Saturating maps of a ∼k function are ∼0",
        statement=(
            "If f satisfies D3 with degree k (here: k ≥ 1), then σ∘f, tanh∘f and "
            "softmax∘f satisfy D3 with degree 0: there are d > 0 and ρ with "
            "|φ(f(cθ)) − φ(f(θ))| ≤ e^{−d‖θ‖} for all c ≥ 1 and ‖θ‖ ≥ ρ."
        ),
        expected="refuted",
        check=lambda ctx: check_property(paper_search(), ctx),
        replay=along_ray(paper_margin),
        case_schema=with_ray(CASE_SCHEMA, r=cs.Real(1e-6, 4 * MAX_REPLAY_R)),
        describe=paper_search().describe,
        explanation=(
            "f = θ₁ − θ₂ is exactly 1-homogeneous but f(θ) = 1 on the whole line "
            "θ = (t+1, t, 0): the saturation error σ(c) − σ(1) does not shrink as "
            "‖θ‖ → ∞. The rate is governed by |f(θ)|, not ‖θ‖ (P3*)."
        ),
        negative_controls=(
            replay_control(
                "a non-counterexample is not replayed as one",
                "σ(θ₁) at θ = (150, 0, 0): |f(θ)| = ‖θ‖, the bound holds",
                {
                    "map": "sigmoid",
                    "f": [THETA_1],
                    "direction": [1.0, 0.0, 0.0],
                    "r": 150.0,
                    "log10_c": 6.0,
                },
                paper_margin,
            ),
        ),
    ),
    Claim(
        id="P3*",
        title="Saturating maps of exactly homogeneous f: rate |f(θ)|",
        corrects="P3",
        statement=(
            "For every f exactly k-homogeneous in θ with k ≥ 1, all c ≥ 1 and all θ: "
            "|σ(f(cθ)) − σ(f(θ))| ≤ e^{−|f(θ)|}, |tanh(f(cθ)) − tanh(f(θ))| ≤ "
            "e^{−|f(θ)|}, and |softmax(f(cθ))_i − softmax(f(θ))_i| ≤ C(f(θ))"
            "e^{−γ(f(θ))}. Hence these maps are ∼0 uniformly on each cone "
            "{θ : |f(θ/‖θ‖)| ≥ m} (gap ≥ m for softmax), with rate m‖θ‖^k."
        ),
        expected="verified",
        check=lambda ctx: check_property(corrected_search(), ctx),
        replay=corrected_margin(),
        case_schema=CASE_SCHEMA,
        describe=corrected_search().describe,
        negative_controls=(
            property_control(
                "wrong bound e^{−0.01‖θ‖} (the paper's form)",
                "a bound in ‖θ‖ instead of |f(θ)| must be refuted",
                lambda: corrected_search(True, False, "bound e^{−0.01‖θ‖}"),
            ),
            property_control(
                "mutated component: f only approximately homogeneous",
                "for f = poly × (a σ(z) + o) the sign of f(θ) can differ from "
                "that of its limit direction, so the bound in |f(θ)| must fail",
                lambda: corrected_search(False, True, "f = poly × sat"),
            ),
        ),
    ),
)
