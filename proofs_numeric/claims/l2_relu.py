"""L2: ReLU preserves approximate homogeneity.

Proof (with the same constants): ReLU is 1-Lipschitz and positively 1-homogeneous, so
|ReLU(f(cθ)) − c^k ReLU(f(θ))| = |ReLU(f(cθ)) − ReLU(c^k f(θ))| ≤ |f(cθ) − c^k f(θ)|.
The same argument gives the relative form (D3*). The check instantiates f with the
families of :mod:`proofs_numeric.families` that satisfy D3 with known (d, ρ).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import mpmath
from hypothesis import strategies as st

from proofs_numeric import case_schema as cs
from proofs_numeric import families as fam
from proofs_numeric.claim import CheckContext, Claim, Verdict
from proofs_numeric.claims._d3 import (
    d3_constants,
    digits_for,
    radii,
    ray_fields,
    rounding_allowance,
)
from proofs_numeric.precision import relu, working_precision
from proofs_numeric.search import (
    PropertySearch,
    check_property,
    log_margin,
    property_control,
    scale_from_log10,
)
from proofs_numeric.strategies import log10_scales, unit_vectors

DIM = 3


def shifted_relu(z: Any, digits: int) -> Any:
    """Negative control: 1-Lipschitz but not positively homogeneous."""
    return relu(z - 1, digits)


def margin_for(
    phi: Callable[[Any, int], Any], degree_shift: float = 0
) -> Callable[[Mapping[str, Any], int], Any]:
    def margin(case: Mapping[str, Any], digits: int) -> Any:
        f = case["f"]
        d, rho = d3_constants(f)
        r = max(float(case["r"]), rho)
        k = fam.degree(f) + degree_shift
        work = digits_for(digits, r, case["log10_c"], k)
        with working_precision(work):
            theta = fam.point(case["direction"], r, work)
            c = scale_from_log10(case["log10_c"], work)
            fc, f1 = fam.evaluate(f, [c * t for t in theta], work), fam.evaluate(f, theta, work)
            lhs, rhs = phi(fc, work), mpmath.power(c, k) * phi(f1, work)
            # where D3 is tight (f = a e^{−d‖θ‖}) the margin is ≈ e^{−d(c−1)‖θ‖}, below
            # any working precision: the rounding of the difference is allowed for
            bound = mpmath.exp(-mpmath.mpf(d) * r) + rounding_allowance(work, lhs, rhs)
            return log_margin(bound, abs(lhs - rhs), work)

    return margin


def cases() -> st.SearchStrategy[dict[str, Any]]:
    f = st.one_of(fam.degree0_members(DIM), fam.polys(DIM, (1, 2, 3)))
    return st.fixed_dictionaries(
        {"f": f, "direction": unit_vectors(DIM), "r": radii(), "log10_c": log10_scales(30)}
    )


#: a replayed case: a family member of ℝ³ at θ = r·θ̂, c ≤ 10^30
CASE_SCHEMA = cs.Record({"f": fam.member_schema(DIM), **ray_fields(DIM, 30.0)})

CONSTRUCTIONS = (
    {
        "f": {"kind": "sat", "a": 1.0, "b": 1.0, "u": [0.0, 0.0, 0.0], "o": -0.75},
        "direction": [1.0, 0.0, 0.0],
        "r": 1.0,
        "log10_c": 3.0,
    },
    {
        "f": {"kind": "poly", "a": 1.0, "ws": [[1.0, 0.0, 0.0]]},
        "direction": [1.0, 1.0, 0.0],
        "r": 50.0,
        "log10_c": 2.0,
    },
    {
        "f": {"kind": "poly", "a": -1.0, "ws": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]},
        "direction": [1.0, 1.0, 0.0],
        "r": 10.0,
        "log10_c": 1.0,
    },
)


def search(
    phi: Callable[[Any, int], Any] = relu, degree_shift: float = 0, what: str = "ReLU"
) -> PropertySearch:
    return PropertySearch(
        claim_id="L2",
        strategy=cases(),
        margin=margin_for(phi, degree_shift),
        search=(
            "f from the ∼0 families (a σ(b‖θ‖+u·θ)+o, a e^{−b‖θ‖}) and exactly "
            f"homogeneous products of degree 1–3 in θ ∈ ℝ³, ‖θ‖ ∈ [1, 200], c = 10^v, "
            f"v ∈ [0, 30]; map: {what}"
        ),
        constructions=CONSTRUCTIONS,
        margin_label=("ln(e^{−d‖θ‖} + rounding) − ln |φ(f(cθ)) − c^k φ(f(θ))| with f's own (d, ρ)"),
        describe=lambda c: f"f = {c['f']}, θ = {c['r']}·{c['direction']}, c = 10^{c['log10_c']}",
    )


def check(ctx: CheckContext) -> Verdict:
    return check_property(search(), ctx)


CLAIMS = (
    Claim(
        id="L2",
        title="ReLU of a ∼k function is ∼k",
        statement=(
            "For every f with |f(cθ) − c^k f(θ)| ≤ e^{−d‖θ‖} for all c ≥ 1 and "
            "‖θ‖ ≥ ρ (D3), the same inequality holds for ReLU∘f with the same d and ρ."
        ),
        expected="verified",
        check=check,
        replay=margin_for(relu),
        case_schema=CASE_SCHEMA,
        describe=search().describe,
        explanation="ReLU is 1-Lipschitz and positively homogeneous; constants are kept.",
        negative_controls=(
            property_control(
                "mutated component ReLU(z − 1)",
                "1-Lipschitz but not homogeneous: must fail on homogeneous f",
                lambda: search(shifted_relu, 0, "ReLU(z − 1)"),
            ),
            property_control(
                "wrong degree k + 1",
                "ReLU∘f is not ∼(k+1): must be refuted",
                lambda: search(relu, 1, "ReLU, claimed degree k + 1"),
            ),
        ),
    ),
)
