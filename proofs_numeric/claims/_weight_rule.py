"""The weight rule of D16* (a weight W ∈ θ raises the degree by one) with margins that can
fail: for the degree workstream's ``d16_degree_rules.py`` to call.

The rule as D16* states it, ‖W(cθ)f(cθ)/c^{k+1} − W f(θ)‖ ≤ ‖W‖_F ‖ε_f‖, holds by the
identity W(cθ)f(cθ)/c^{k+1} − W f(θ) = W (f(cθ)/c^k − f(θ)) (W(cθ) = cW) and two loose
steps (‖W‖₂ ≤ ‖W‖_F, the measured error ≤ its envelope ε_f): its margin is large and only
rounding could make it negative. :func:`sharp_weight_margin` tests the rule with the
sharpest constants instead:

* exact inputs (every coordinate of f exactly k-homogeneous): W(cθ)f(cθ) = c^{k+1}W f(θ)
  to the rounding of the working precision (absolute, uniform in c);
* ∼ inputs: ‖W(cθ)f(cθ)/c^{k+1} − W f(θ)‖ ≤ factor·‖W‖₂ ‖f(cθ)/c^k − f(θ)‖ with the
  operator norm and the error measured at the same c. The constant ‖W‖₂ is attained when
  the input error lies along W's top right singular vector (the constructions
  :data:`ALIGNED_CASES`), so the margin is ≈ 0 there and any factor < 1 is refuted.

Cases are those of D16's weight rule: ``{"f": [member, ...], "w": W₀ (rows × len(f)),
"direction": θ̂, "r": ‖θ‖, "log10_c": log10 c}`` with W = ‖θ‖·W₀ ∈ θ.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import mpmath
from hypothesis import strategies as st

from proofs_numeric import families as fam
from proofs_numeric.claims._d3 import (
    THETA_1,
    THETA_1_SIGMOID,
    digits_for,
    radii,
    rounding_allowance,
)
from proofs_numeric.claims._t1_bound import spectral_norm
from proofs_numeric.precision import distance, matvec, working_precision
from proofs_numeric.search import (
    PropertySearch,
    log_margin,
    property_control,
    scale_from_log10,
    vacuous,
)
from proofs_numeric.strategies import log10_scales, unit_vectors

DIM = 3


def _is_exact(specs: list[Mapping[str, Any]]) -> bool:
    return all(s["kind"] == "poly" for s in specs)


@dataclass(frozen=True)
class WeightRulePoint:
    """One case of the weight rule evaluated at the working precision: the weight W, the
    scale c, the input f at θ and at cθ, and the output y = W f at θ and at cθ
    (W(cθ) = cW)."""

    w: list[list[Any]]
    c: Any
    f1: list[Any]
    fc: list[Any]
    y1: list[Any]
    yc: list[Any]


def weight_rule_point(case: Mapping[str, Any], digits: int) -> WeightRulePoint:
    """Evaluate a weight-rule case at ``digits`` (W = ‖θ‖·W₀ ∈ θ)."""
    specs, r = case["f"], float(case["r"])
    with working_precision(digits):
        theta = fam.point(case["direction"], r, digits)
        c = scale_from_log10(case["log10_c"], digits)
        w = [[mpmath.mpf(v) * r for v in row] for row in case["w"]]
        f1 = [fam.evaluate(s, theta, digits) for s in specs]
        fc = [fam.evaluate(s, [c * t for t in theta], digits) for s in specs]
        yc = [c * v for v in matvec(w, fc, digits)]
        return WeightRulePoint(w, c, f1, fc, matvec(w, f1, digits), yc)


def sharp_weight_margin(
    factor: float = 1.0,
    degree_shift: int = 0,
    rule: Callable[[int], float] | None = None,
):
    """Margin of the weight rule with the sharpest constants (module docstring); ``factor``
    < 1 (a constant below ‖W‖₂) and ``degree_shift`` ≠ 0 are the negative controls.
    ``rule(k)`` is the output degree the rule gives an input of degree k (default k + 1;
    D16* passes the degree engine's)."""

    def margin(case: Mapping[str, Any], digits: int) -> Any:
        specs, r = case["f"], float(case["r"])
        k = fam.degree(specs[0])
        out_degree = (k + 1 if rule is None else rule(k)) + degree_shift
        work = digits_for(digits, r, case["log10_c"], out_degree)
        with working_precision(work):
            pt = weight_rule_point(case, work)
            ck = mpmath.power(pt.c, out_degree)
            if _is_exact(specs):
                err = max(abs(a - ck * b) for a, b in zip(pt.yc, pt.y1, strict=True))
                return log_margin(rounding_allowance(work, *[ck * b for b in pt.y1]), err, work)
            lhs = distance([a / ck for a in pt.yc], pt.y1, work)
            input_error = distance([a / mpmath.power(pt.c, k) for a in pt.fc], pt.f1, work)
            if input_error == 0:
                return vacuous("the input error is exactly 0 at this c: nothing to transfer")
            bound = factor * spectral_norm(pt.w, work) * input_error
            return log_margin(bound + rounding_allowance(work, *pt.y1), lhs, work)

    return margin


MemberLists = Callable[[int], st.SearchStrategy[list[dict[str, Any]]]]


def exact_members(k: int) -> st.SearchStrategy[list[dict[str, Any]]]:
    """2–3 exact products of degree k."""
    return st.lists(fam.polys(DIM, (k,)), min_size=2, max_size=3)


def mixed_members(k: int) -> st.SearchStrategy[list[dict[str, Any]]]:
    """2–3 members of degree k, each an exact product or a poly × sat."""
    return st.lists(fam.members(DIM, ("poly", "polysat"), (k,)), min_size=2, max_size=3)


def uniform_members(k: int) -> st.SearchStrategy[list[dict[str, Any]]]:
    """2–3 members of degree k, all exact products or all poly × sat."""
    return st.one_of(
        exact_members(k),
        st.lists(fam.members(DIM, ("polysat",), (k,)), min_size=2, max_size=3),
    )


def weight_cases(member_lists: MemberLists = uniform_members) -> st.SearchStrategy[dict[str, Any]]:
    """f = ``member_lists(k)`` for a common degree k ∈ {1, 2}, W₀ with 1–3 rows of len(f)
    entries in [−1, 1], ‖θ‖ ∈ [1, 200], c = 10^v, v ∈ [0, 20]."""
    members = st.sampled_from([1, 2]).flatmap(member_lists)
    return members.flatmap(
        lambda f: st.fixed_dictionaries(
            {
                "f": st.just(f),
                "w": st.lists(
                    st.lists(st.floats(-1, 1), min_size=len(f), max_size=len(f)),
                    min_size=1,
                    max_size=3,
                ),
                "direction": unit_vectors(DIM),
                "r": radii(),
                "log10_c": log10_scales(20),
            }
        )
    )


#: Only the first coordinate of f has an error and W₀ = (1, 0): W's top right singular
#: vector is that coordinate, so ‖W Δ‖ = ‖W‖₂‖Δ‖ (the constant is attained).
ALIGNED_CASES = (
    {
        "f": [THETA_1_SIGMOID, THETA_1],
        "w": [[1.0, 0.0]],
        "direction": [1.0, 0.5, 0.0],
        "r": 5.0,
        "log10_c": 2.0,
    },
    {
        "f": [THETA_1_SIGMOID, dict(THETA_1, a=0.5)],
        "w": [[0.6, 0.0], [0.8, 0.0]],
        "direction": [0.8, 0.6, 0.0],
        "r": 12.0,
        "log10_c": 0.5,
    },
)


def sharp_weight_search(
    factor: float = 1.0, degree_shift: int = 0, claim_id: str = "D16*", what: str = ""
) -> PropertySearch:
    """The search of the sharp weight rule, for D16*'s check (or a control of it)."""
    return PropertySearch(
        claim_id=claim_id,
        strategy=weight_cases(),
        margin=sharp_weight_margin(factor, degree_shift),
        search=(
            "rule 'weight' with the sharpest constants: exact inputs to rounding, ∼ inputs "
            "against ‖W‖₂ × the measured input error; f of 2–3 members of degree 1–2 in ℝ³, "
            "‖θ‖ ∈ [1, 200], c = 10^v, v ∈ [0, 20]" + (f"; {what}" if what else "")
        ),
        constructions=ALIGNED_CASES,
        examples_scale=0.5,
        margin_label=(
            "ln(rounding) − ln|W(cθ)f(cθ) − c^{k+1}Wf(θ)| (exact f); "
            "ln(‖W‖₂‖Δ_f‖ + rounding) − ln‖Δ_{Wf}‖ (∼ f)"
        ),
        describe=lambda c: f"f = {c['f']}, W₀ = {c['w']}, ‖θ‖ = {c['r']}, c = 10^{c['log10_c']}",
    )


def sharp_weight_controls(claim_id: str = "D16*") -> tuple[Any, ...]:
    """Negative controls of the sharp weight rule: a constant 1% below ‖W‖₂ and the wrong
    degree k (no shift by the weight) must both be refuted."""
    return (
        property_control(
            "weight rule: constant 0.99‖W‖₂",
            "the operator norm is attained on the aligned constructions: a smaller constant "
            "must be refuted",
            lambda: sharp_weight_search(0.99, claim_id=claim_id, what="constant 0.99‖W‖₂"),
        ),
        property_control(
            "weight rule: degree k instead of k + 1",
            "a weight raises the degree: degree k must be refuted",
            lambda: sharp_weight_search(degree_shift=-1, claim_id=claim_id, what="degree k"),
        ),
    )
