"""L4: the product of a ∼k_f and a ∼k_g function is ∼(k_f + k_g): refuted under D3, and
the relative-error version L4*.

Under D3 (absolute error, uniform in c ≥ 1) the lemma fails as soon as one factor has a
positive degree and the other is only approximately homogeneous: with f(θ) = w·θ (exactly
1-homogeneous) and g(θ) = σ(‖θ‖) (∼0 with d = 1),

    f(cθ)g(cθ) − c f(θ)g(θ) = c f(θ) (σ(c‖θ‖) − σ(‖θ‖)),

which grows without bound in c at every θ with f(θ) ≠ 0. (This is the D3 collapse: a ∼k
function with k > 0 must be exactly homogeneous, and fg is not.)

L4* uses the relative form D3*: if |f(cθ)/c^{k_f} − f(θ)| ≤ ε_f(θ) and likewise for g,
then writing f(cθ)/c^{k_f} = f(θ) + e_f, g(cθ)/c^{k_g} = g(θ) + e_g,

    |(fg)(cθ)/c^{k_f+k_g} − (fg)(θ)| = |f e_g + g e_f + e_f e_g|
        ≤ |f(θ)| ε_g + |g(θ)| ε_f + ε_f ε_g.

With ε = e^{−d‖θ‖} and |f|, |g| ≤ A‖θ‖^p this is ≤ e^{−d′‖θ‖} for every d′ < d and large
‖θ‖; the factors |f|, |g| cannot be dropped (negative control).
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
    SIGMOID_OF_NORM,
    THETA_1,
    THETA_1_SIGMOID,
    digits_for,
    float_point,
    probe_margin,
    radii,
    ray_fields,
    rounding_allowance,
)
from proofs_numeric.precision import working_precision
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


def paper_margin(case: Mapping[str, Any], digits: int) -> Any:
    f, g, r = case["f"], case["g"], float(case["r"])
    k = fam.degree(f) + fam.degree(g)
    work = digits_for(digits, r, case["log10_c"], k)
    with working_precision(work):
        theta = fam.point(case["direction"], r, work)
        c = scale_from_log10(case["log10_c"], work)
        ct = [c * t for t in theta]
        err = abs(
            fam.evaluate(f, ct, work) * fam.evaluate(g, ct, work)
            - mpmath.power(c, k) * fam.evaluate(f, theta, work) * fam.evaluate(g, theta, work)
        )
        return probe_margin(err, r, work)


#: A refutation of L4 is replayed at ‖θ‖ = r·(1, 2, 4), with c grown by e^{(k−1)z(θ)}.
RAY_R_FACTORS = (1.0, 2.0, 4.0)


def paper_ray(case: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Points of the ray through an L4 counterexample: ‖θ‖ = r·k and c·e^{(k−1)z(θ)}, z
    the exponent of the ∼0 factor (σ(−z) or e^{−z}), so c σ(−z) and with it the error
    c·f(θ)·(σ(c z) − σ(z)) does not shrink as ‖θ‖ grows."""
    r = float(case["r"])
    theta = float_point(case)
    z = 0.0
    for spec in (case["f"], case["g"]):
        if spec["kind"] == "sat":
            z = max(
                z,
                float(spec["b"]) * r
                + sum(float(u) * t for u, t in zip(spec["u"], theta, strict=True)),
            )
        elif spec["kind"] == "exp":
            z = max(z, float(spec["b"]) * r)
    return [
        {"r": k * r, "log10_c": float(case["log10_c"]) + (k - 1) * z / math.log(10)}
        for k in RAY_R_FACTORS
    ]


def relative_margin(drop_factors: bool = False):
    def margin(case: Mapping[str, Any], digits: int) -> Any:
        f, g, r = case["f"], case["g"], float(case["r"])
        kf, kg = fam.degree(f), fam.degree(g)
        work = digits_for(digits, r, case["log10_c"], kf + kg)
        with working_precision(work):
            theta = fam.point(case["direction"], r, work)
            c = scale_from_log10(case["log10_c"], work)
            ct = [c * t for t in theta]
            f1, g1 = fam.evaluate(f, theta, work), fam.evaluate(g, theta, work)
            scaled = (
                fam.evaluate(f, ct, work) * fam.evaluate(g, ct, work) / mpmath.power(c, kf + kg)
            )
            lhs = abs(scaled - f1 * g1)
            ef, eg = fam.envelope(f, theta, work), fam.envelope(g, theta, work)
            bound = ef + eg if drop_factors else abs(f1) * eg + abs(g1) * ef + ef * eg
            bound += rounding_allowance(work, scaled, f1 * g1)
            return log_margin(bound, lhs, work)

    return margin


def paper_cases() -> st.SearchStrategy[dict[str, Any]]:
    member = st.one_of(fam.degree0_members(DIM), fam.polys(DIM, (1, 2)))
    return st.fixed_dictionaries(
        {
            "f": member,
            "g": member,
            "direction": unit_vectors(DIM),
            "r": radii(RHO_PROBE, 200.0),
            "log10_c": st.floats(0.0, 120.0),
        }
    )


def relative_cases() -> st.SearchStrategy[dict[str, Any]]:
    member = fam.members(DIM, degrees=(1, 2))
    return st.fixed_dictionaries(
        {
            "f": member,
            "g": member,
            "direction": unit_vectors(DIM),
            "r": radii(),
            "log10_c": log10_scales(30),
        }
    )


#: a replayed case: two family members of ℝ³ at θ = r·θ̂, c ≤ 10^150
PAPER_SCHEMA = cs.Record(
    {"f": fam.member_schema(DIM), "g": fam.member_schema(DIM), **ray_fields(DIM, 150.0)}
)
RELATIVE_SCHEMA = PAPER_SCHEMA

#: L4's conclusion holds at this point: c·θ₁(σ(c‖θ‖) − σ(‖θ‖)) ≈ 10^{−62} ≪ e^{−0.01‖θ‖}.
NON_COUNTEREXAMPLE = {
    "f": THETA_1,
    "g": SIGMOID_OF_NORM,
    "direction": [1.0, 0.0, 0.0],
    "r": 150.0,
    "log10_c": 1.0,
}
PAPER_CONSTRUCTIONS = (
    {"f": THETA_1, "g": SIGMOID_OF_NORM, "direction": [1.0, 0.0, 0.0], "r": 100.0, "log10_c": 60.0},
)
RELATIVE_CONSTRUCTIONS = (
    {"f": THETA_1, "g": SIGMOID_OF_NORM, "direction": [1.0, 0.0, 0.0], "r": 100.0, "log10_c": 60.0},
    {"f": THETA_1, "g": SIGMOID_OF_NORM, "direction": [1.0, 0.0, 0.0], "r": 20.0, "log10_c": 0.5},
    {
        "f": THETA_1_SIGMOID,
        "g": SIGMOID_OF_NORM,
        "direction": [1.0, 1.0, 0.0],
        "r": 30.0,
        "log10_c": 5.0,
    },
)


def paper_search() -> PropertySearch:
    return PropertySearch(
        claim_id="L4",
        strategy=paper_cases(),
        margin=paper_margin,
        search=(
            f"f, g from the ∼0 families and exact products of degree 1–2 in ℝ³, "
            f"‖θ‖ ∈ [{RHO_PROBE:g}, 200], c = 10^v with v ∈ [0, 120]; probe d = {D_PROBE}"
        ),
        constructions=PAPER_CONSTRUCTIONS,
        margin_label="−d‖θ‖ − ln |(fg)(cθ) − c^{k_f+k_g}(fg)(θ)|, probe d",
        describe=lambda c: (
            f"f = {c['f']}, g = {c['g']}, θ = {c['r']}·{c['direction']}, "
            f"c = 10^{c['log10_c']}: the error grows like c·f(θ)·σ(−‖θ‖) "
            f"without bound in c, at every ‖θ‖, so no (d, ρ) works"
        ),
        ray=paper_ray,
    )


def relative_search(drop_factors: bool = False) -> PropertySearch:
    return PropertySearch(
        claim_id="L4*",
        strategy=relative_cases(),
        margin=relative_margin(drop_factors),
        search=(
            "f, g from all families (incl. products poly × sat of positive degree) in "
            "ℝ³, ‖θ‖ ∈ [1, 200], c = 10^v, v ∈ [0, 30]"
            + ("; bound without |f|, |g|" if drop_factors else "")
        ),
        constructions=RELATIVE_CONSTRUCTIONS,
        margin_label=(
            "ln(|f|ε_g + |g|ε_f + ε_f ε_g + rounding allowance) − ln |(fg)(cθ)/c^k − (fg)(θ)|"
        ),
        describe=lambda c: f"f = {c['f']}, g = {c['g']}, ‖θ‖ = {c['r']}, c = 10^{c['log10_c']}",
    )


CLAIMS = (
    Claim(
        id="L4",
        title="Product of ∼k_f and ∼k_g is ∼(k_f + k_g)",
        statement=(
            "If f satisfies D3 with degree k_f and g with degree k_g, then there are "
            "d > 0 and ρ with |(fg)(cθ) − c^{k_f+k_g}(fg)(θ)| ≤ e^{−d‖θ‖} for all "
            "c ≥ 1 and ‖θ‖ ≥ ρ."
        ),
        expected="refuted",
        check=lambda ctx: check_property(paper_search(), ctx),
        replay=along_ray(paper_margin),
        case_schema=with_ray(
            PAPER_SCHEMA, r=cs.Real(1e-6, 4 * MAX_REPLAY_R), log10_c=cs.Real(0.0, 400.0)
        ),
        describe=paper_search().describe,
        explanation=(
            "f = w·θ (exact, k = 1) times g = σ(‖θ‖) (∼0): the error is "
            "c·f(θ)(σ(c‖θ‖) − σ(‖θ‖)), unbounded in c. Under D3 a positive degree "
            "forces exact homogeneity (claim D3), which fg lacks."
        ),
        negative_controls=(
            replay_control(
                "a non-counterexample is not replayed as one",
                "θ₁·σ(‖θ‖) at ‖θ‖ = 150 and c = 10: the error c·θ₁·(σ(c‖θ‖) − σ(‖θ‖)) "
                "≈ 10^{−62} is far below e^{−0.01‖θ‖} (a finite margin): the replay must "
                "find the bound holds there",
                NON_COUNTEREXAMPLE,
                paper_margin,
            ),
        ),
    ),
    Claim(
        id="L4*",
        title="Product rule in the relative form (D3*)",
        corrects="L4",
        statement=(
            "If |f(cθ)/c^{k_f} − f(θ)| ≤ ε_f(θ) and |g(cθ)/c^{k_g} − g(θ)| ≤ ε_g(θ) "
            "for all c ≥ 1, then for all c ≥ 1: |(fg)(cθ)/c^{k_f+k_g} − (fg)(θ)| ≤ "
            "|f(θ)|ε_g(θ) + |g(θ)|ε_f(θ) + ε_f(θ)ε_g(θ). With ε = e^{−d‖θ‖} and "
            "polynomially bounded f, g, fg is ∼(k_f+k_g) in the relative sense with "
            "any d′ < d."
        ),
        expected="verified",
        check=lambda ctx: check_property(relative_search(), ctx),
        replay=relative_margin(),
        case_schema=RELATIVE_SCHEMA,
        describe=relative_search().describe,
        negative_controls=(
            property_control(
                "wrong bound ε_f + ε_g",
                "dropping the factors |f(θ)|, |g(θ)| must be refuted",
                lambda: relative_search(drop_factors=True),
            ),
        ),
    ),
)
