"""L5: the layer norm (D9) of a ∼k function is ∼0: refuted, and the corrected L5*.

Counterexample (k = 0, coordinates ∼0 with d = 1): with r = ‖θ‖ and θ = (1, √(r²−1), 0),

    f(θ) = (σ(2r + θ₁), σ(2r), 1).

Every coordinate tends to 1 and f(θ) − μ(f(θ)) is of size e^{−2r}: its *direction*
∝ centred(−e^{−θ₁}, −1, 0) depends on θ₁, which is scaled by c. So LN(f(θ)) and
LN(f(cθ)) → LN(centred(0, −1, 0)) differ by ≈ 0.28 for every r: no d > 0 works. The
layer norm divides the approximation error by ‖f − μ(f)‖, which D3 does not control.

L5* (exact Lipschitz bound of the normalisation): with u = P f(θ), v = P f(cθ)/c^k (P the
centring projection, a contraction) and LN(c^k y) = LN(y),

    ‖LN(f(cθ)) − LN(f(θ))‖₂ ≤ ‖u − v‖/‖u‖ + |‖v‖ − ‖u‖|/‖u‖ ≤ 2‖ε(θ)‖₂ / ‖f(θ) − μ(f(θ))‖₂

whenever |f_i(cθ)/c^k − f_i(θ)| ≤ ε_i(θ). So LN∘f is ∼0 on every set where
‖f(θ) − μ(f(θ))‖ ≥ e^{−d′‖θ‖} with d′ < d (d the decay of ε), and undefined where f(θ)
is constant.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import mpmath
from hypothesis import strategies as st

from homogeneity.errors import HomogeneityInputError
from proofs_numeric import case_schema as cs
from proofs_numeric import families as fam
from proofs_numeric.claim import Claim
from proofs_numeric.claims._d3 import (
    D_PROBE,
    MAX_REPLAY_R,
    RHO_PROBE,
    digits_for,
    float_point,
    probe_margin,
    radii,
    ray_fields,
    rounding_allowance,
)
from proofs_numeric.precision import (
    centre,
    distance,
    layer_norm,
    norm2,
    standard_layer_norm,
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


def centred(specs: Sequence[Mapping[str, Any]], theta: Sequence[Any], digits: int) -> list[Any]:
    """f(θ) − μ(f(θ)), with the constant parts and the deviations centred separately so
    coordinates that all lie near one constant keep their relative accuracy."""
    parts = [fam.split(s, theta, digits) for s in specs]
    with working_precision(digits):
        constants = centre([p[0] for p in parts], digits)
        deviations = centre([p[1] for p in parts], digits)
        return [a + b for a, b in zip(constants, deviations, strict=True)]


def layer_norm_of(
    specs: Sequence[Mapping[str, Any]], theta: Sequence[Any], digits: int, eps: Any = 0
) -> list[Any] | None:
    """D9 of f(θ) (None where f(θ) is constant); with eps > 0 the standard layer norm.
    The norm is applied to the cancellation-free centring of :func:`centred` (centring is
    idempotent, so this is LN(f(θ)))."""
    u = centred(specs, theta, digits)
    try:
        if eps:
            return standard_layer_norm(u, eps, digits)
        return layer_norm(u, digits)
    except HomogeneityInputError:
        return None  # f(θ) is constant: LN is undefined there


def _deviation(specs, theta, c, digits: int, eps=0) -> Any:
    a = layer_norm_of(specs, theta, digits, eps)
    b = layer_norm_of(specs, [c * t for t in theta], digits, eps)
    if a is None or b is None:
        return None
    return a, b


def paper_margin(case: Mapping[str, Any], digits: int) -> Any:
    specs, r = case["f"], float(case["r"])
    work = digits_for(digits, r, case["log10_c"], fam.degree(specs[0]))
    with working_precision(work):
        theta = fam.point(case["direction"], r, work)
        pair = _deviation(specs, theta, scale_from_log10(case["log10_c"], work), work)
        if pair is None:
            return mpmath.inf  # LN undefined: outside the statement
        a, b = pair
        return probe_margin(max(abs(x - y) for x, y in zip(a, b, strict=True)), r, work)


def corrected_margin(drop_denominator: bool = False, eps: float = 0.0):
    def margin(case: Mapping[str, Any], digits: int) -> Any:
        specs, r = case["f"], float(case["r"])
        k = fam.degree(specs[0])
        work = digits_for(digits, r, case["log10_c"], k)
        with working_precision(work):
            theta = fam.point(case["direction"], r, work)
            c = scale_from_log10(case["log10_c"], work)
            pair = _deviation(specs, theta, c, work, eps)
            if pair is None:
                return mpmath.inf
            a, b = pair
            lhs = distance(a, b, work)
            eps_norm = norm2([fam.envelope(s, theta, work) for s in specs], work)
            spread = norm2(centred(specs, theta, work), work)
            bound = 2 * eps_norm if drop_denominator else 2 * eps_norm / spread
            return log_margin(bound + rounding_allowance(work, *a, *b), lhs, work)

    return margin


def _sat(a: float, b: float, u: Sequence[float], o: float = 0.0) -> dict[str, Any]:
    return {"kind": "sat", "a": a, "b": b, "u": list(u), "o": o}


def degenerate_case(r: float = 500.0, log10_c: float = 3.0) -> dict[str, Any]:
    """The counterexample family: f = (σ(2r + θ₁), σ(2r), 1) at θ = (1, √(r²−1), 0)."""
    return {
        "f": [
            _sat(1.0, 2.0, [1.0, 0.0, 0.0]),
            _sat(1.0, 2.0, [0.0, 0.0, 0.0]),
            _sat(0.0, 1.0, [0.0, 0.0, 0.0], 1.0),
        ],
        "direction": [1.0 / r, math.sqrt(1.0 - 1.0 / r**2), 0.0],
        "r": r,
        "log10_c": log10_c,
    }


#: a replayed case: 1–6 family members of ℝ³ at θ = r·θ̂, c ≤ 10^30
CASE_SCHEMA = cs.Record({"f": cs.ListOf(fam.member_schema(DIM), 1, 6), **ray_fields(DIM, 30.0)})


#: A refutation of L5 is replayed at ‖θ‖ = r·(1, 2, 4) with θ₁ fixed.
RAY_R_FACTORS = (1.0, 2.0, 4.0)


def paper_ray(case: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Points of the family through an L5 counterexample: θ₁ kept, the other coordinates
    scaled so that ‖θ‖ = r·(1, 2, 4) (the family (1, √(r²−1), 0) of the construction)."""
    r = float(case["r"])
    theta = float_point(case)
    rest = math.sqrt(max(r * r - theta[0] ** 2, 0.0))
    points = []
    for k in RAY_R_FACTORS:
        big = k * r
        scale = math.sqrt(big * big - theta[0] ** 2) / rest if rest else 0.0
        point = [theta[0]] + [v * scale for v in theta[1:]]
        points.append({"r": big, "direction": [v / big for v in point]})
    return points


def _vectors(min_r: float) -> st.SearchStrategy[dict[str, Any]]:
    zero = st.lists(fam.degree0_members(DIM), min_size=2, max_size=4)
    hom = st.sampled_from([1, 2]).flatmap(
        lambda k: st.lists(
            fam.members(DIM, ("poly", "polysat"), (k,)),
            min_size=2,
            max_size=4,
        )
    )
    return st.fixed_dictionaries(
        {
            "f": st.one_of(zero, hom),
            "direction": unit_vectors(DIM),
            "r": radii(min_r, 200.0),
            "log10_c": log10_scales(30),
        }
    )


def paper_vectors() -> st.SearchStrategy[dict[str, Any]]:
    zero = st.lists(fam.degree0_members(DIM), min_size=2, max_size=4)
    hom = st.sampled_from([1, 2]).flatmap(
        lambda k: st.lists(fam.polys(DIM, (k,)), min_size=2, max_size=4)
    )
    return st.fixed_dictionaries(
        {
            "f": st.one_of(zero, hom),
            "direction": unit_vectors(DIM),
            "r": radii(RHO_PROBE, 600.0),
            "log10_c": log10_scales(30),
        }
    )


CORRECTED_CONSTRUCTIONS = (
    degenerate_case(),
    degenerate_case(20.0, 1.0),
    {
        "f": [
            {"kind": "poly", "a": 1.0, "ws": [[1.0, 0.0, 0.0]]},
            {"kind": "poly", "a": 1.0, "ws": [[1.0, 1e-9, 0.0]]},
        ],
        "direction": [1.0, 1.0, 1.0],
        "r": 10.0,
        "log10_c": 5.0,
    },
)


def paper_search() -> PropertySearch:
    return PropertySearch(
        claim_id="L5",
        strategy=paper_vectors(),
        margin=paper_margin,
        search=(
            f"vectors of 2–4 ∼0 family members or exact products of a common degree, "
            f"‖θ‖ ∈ [{RHO_PROBE:g}, 600]; probe d = {D_PROBE}"
        ),
        constructions=(degenerate_case(),),
        margin_label="−d‖θ‖ − ln max_i |LN(f(cθ))_i − LN(f(θ))_i|, probe d",
        describe=lambda c: (
            "f = (σ(2r+θ₁), σ(2r), 1) at θ = (1, √(r²−1), 0), r = "
            f"{c['r']}, c = 10^{c['log10_c']}: the deviation stays ≈ 0.28 for "
            f"every r, so no (d, ρ) works"
        ),
        ray=paper_ray,
    )


def corrected_search(
    drop_denominator: bool = False, eps: float = 0.0, what: str = ""
) -> PropertySearch:
    return PropertySearch(
        claim_id="L5*",
        strategy=_vectors(1.0),
        margin=corrected_margin(drop_denominator, eps),
        search=(
            "vectors of 2–4 members of a common degree (∼0 families; exact products and "
            "poly × sat of degree 1–2), ‖θ‖ ∈ [1, 200], c = 10^v, v ∈ [0, 30]; "
            "degenerate constructions with ‖f − μ(f)‖ ≈ e^{−2‖θ‖}" + (f"; {what}" if what else "")
        ),
        constructions=CORRECTED_CONSTRUCTIONS,
        margin_label="ln(2‖ε‖/‖f − μ(f)‖ + rounding allowance) − ln ‖LN(f(cθ)) − LN(f(θ))‖",
        describe=lambda c: f"f = {c['f']}, ‖θ‖ = {c['r']}, c = 10^{c['log10_c']}",
    )


CLAIMS = (
    Claim(
        id="L5",
        title="Layer norm of a ∼k function is ∼0",
        statement=(
            "If every coordinate of f: θ ↦ ℝⁿ satisfies D3 with degree k, then there "
            "are d > 0 and ρ such that for all c ≥ 1, ‖θ‖ ≥ ρ and every i: "
            "|LN(f(cθ))_i − LN(f(θ))_i| ≤ e^{−d‖θ‖} (LN of D9)."
        ),
        expected="refuted",
        check=lambda ctx: check_property(paper_search(), ctx),
        replay=along_ray(paper_margin),
        case_schema=with_ray(CASE_SCHEMA, r=cs.Real(1e-6, 4 * MAX_REPLAY_R)),
        describe=paper_search().describe,
        explanation=(
            "f = (σ(2r+θ₁), σ(2r), 1): ∼0 coordinates whose spread ‖f − μ(f)‖ ≈ "
            "e^{−2r} is as small as their approximation error, so the direction "
            "LN(f) moves by ≈ 0.28 between θ and cθ at every r."
        ),
        negative_controls=(
            replay_control(
                "a non-counterexample is not replayed as one",
                "an exactly homogeneous f: LN∘f is exactly scale-invariant and "
                "the replay must find the bound holds",
                {
                    "f": [
                        {"kind": "poly", "a": 1.0, "ws": [[1.0, 0.0, 0.0]]},
                        {"kind": "poly", "a": -1.0, "ws": [[0.0, 1.0, 0.0]]},
                    ],
                    "direction": [1.0, 2.0, 0.0],
                    "r": 150.0,
                    "log10_c": 10.0,
                },
                paper_margin,
            ),
        ),
    ),
    Claim(
        id="L5*",
        title="Layer norm: error divided by the spread of f",
        corrects="L5",
        statement=(
            "If |f_i(cθ)/c^k − f_i(θ)| ≤ ε_i(θ) for all c ≥ 1 and every i, then for "
            "all c ≥ 1 and every θ with f(θ) not constant: ‖LN(f(cθ)) − LN(f(θ))‖₂ ≤ "
            "2‖ε(θ)‖₂/‖f(θ) − μ(f(θ))‖₂. Hence LN∘f is ∼0 on every set where "
            "‖f(θ) − μ(f(θ))‖ ≥ e^{−d′‖θ‖}, d′ < d."
        ),
        expected="verified",
        check=lambda ctx: check_property(corrected_search(), ctx),
        replay=corrected_margin(),
        case_schema=CASE_SCHEMA,
        describe=corrected_search().describe,
        negative_controls=(
            property_control(
                "wrong bound 2‖ε‖ (spread dropped)",
                "the paper's form, without the division by ‖f − μ(f)‖, must be "
                "refuted on the degenerate family",
                lambda: corrected_search(True, 0.0, "bound 2‖ε‖"),
            ),
            property_control(
                "mutated component: LayerNorm with ε = 1e−3",
                "the standard layer norm with ε is not scale-invariant: exactly "
                "homogeneous f must violate the bound",
                lambda: corrected_search(False, 1e-3, "LN with ε = 1e−3"),
            ),
        ),
    ),
)
