"""D3: for k > 0, approximate homogeneity (as defined) is exact homogeneity.

Theorem. If |f(cθ) − c^k f(θ)| ≤ e^{−d‖θ‖} for all c ≥ 1 and ‖θ‖ ≥ ρ, with k > 0, then
f(cθ) = c^k f(θ) for all c ≥ 1, ‖θ‖ ≥ ρ.

Proof. Divide by c^k: |f(cθ)/c^k − f(θ)| ≤ e^{−d‖θ‖}/c^k → 0, so f(θ) = lim_c f(cθ)/c^k
=: s(θ) on ‖θ‖ ≥ ρ, and s is exactly k-homogeneous by construction.

So D3's absolute, c-uniform bound makes "∼k" with k > 0 mean "exactly k-homogeneous
outside a ball": every transformer claim that asserts ∼k, k ≥ 1, for a map containing
a softmax, sigmoid or GeLU (which are never exactly saturated) is false as literally
stated, and must be read with the relative error |f(cθ)/c^k − f(θ)| ≤ e^{−d‖θ‖} (D3*),
which is what the corrected claims (L4*, P4*, P5*, T1*, …) use. For k = 0 nothing
collapses: σ(‖θ‖) is ∼0 without being constant along rays (negative control).

Check: for approximately-but-not-exactly homogeneous functions f = p·(a σ(z) + o) (p an
exact product of degree k), at each θ where f(θ) ≠ s(θ), search c = 2, 4, 16, 256, …
for a scale where |f(cθ) − c^k f(θ)| ≥ 1 > e^{−d‖θ‖} (for every d > 0): the margin is
ln of the largest error found.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mpmath
from hypothesis import strategies as st

from proofs_numeric import case_schema as cs
from proofs_numeric import families as fam
from proofs_numeric.claim import Claim
from proofs_numeric.claims._d3 import (
    SIGMOID_OF_NORM,
    THETA_1_SIGMOID,
    digits_for,
    radii,
    ray_fields,
)
from proofs_numeric.precision import working_precision
from proofs_numeric.search import PropertySearch, check_property, property_control
from proofs_numeric.strategies import unit_vectors

DIM = 3
MAX_DOUBLINGS = 12  # c up to 2^(2^11): the error reaches 1 once c^k ≳ e^{z(θ)}


def collapse_margin(case: Mapping[str, Any], digits: int) -> Any:
    """ln max_c |f(cθ) − c^k f(θ)| over c = 2^(2^j); ≥ 0 ⇔ D3 fails at θ for every d."""
    f, r = case["f"], float(case["r"])
    k = fam.degree(f)
    work = digits_for(digits, r, 0.0, k)
    with working_precision(work):
        theta = fam.point(case["direction"], r, work)
        if fam.envelope(f, theta, work) == 0 or fam.scaled_error(f, theta, 2, k, digits=work) == 0:
            return mpmath.inf  # exactly homogeneous at θ: nothing to show
        best = -mpmath.inf
        for j in range(MAX_DOUBLINGS):
            c = mpmath.power(2, mpmath.power(2, j))
            err = fam.scaled_error(f, theta, c, k, digits=work)
            if err > 0:
                best = max(best, mpmath.log(err))
            if best >= 0:
                break
        return best


def cases(degrees: tuple[int, ...]) -> st.SearchStrategy[dict[str, Any]]:
    if degrees == (0,):
        member = fam.sats(DIM)
    else:
        member = fam.members(DIM, ("polysat",), degrees)
    return st.fixed_dictionaries(
        {"f": member, "direction": unit_vectors(DIM), "r": radii(1.0, 100.0)}
    )


#: a replayed case: f = poly·sat (or sat) in ℝ³ at θ = r·θ̂
CASE_SCHEMA = cs.Record({"f": fam.member_schema(DIM, ("sat", "polysat")), **ray_fields(DIM, None)})

CONSTRUCTIONS = (
    {"f": THETA_1_SIGMOID, "direction": [1.0, 0.0, 0.0], "r": 100.0},
    {"f": THETA_1_SIGMOID, "direction": [1.0, 1.0, 0.0], "r": 1.0},
)


def search(degrees: tuple[int, ...] = (1, 2), what: str = "") -> PropertySearch:
    return PropertySearch(
        claim_id="D3",
        strategy=cases(degrees),
        margin=collapse_margin,
        search=(
            f"f = p·(a σ(b‖θ‖ + u·θ) + o), p an exact product of degree "
            f"{'/'.join(map(str, degrees))} in ℝ³, ‖θ‖ ∈ [1, 100]; c = 2^(2^j), "
            f"j < {MAX_DOUBLINGS}" + (f"; {what}" if what else "")
        ),
        constructions=CONSTRUCTIONS
        if degrees != (0,)
        else ({"f": SIGMOID_OF_NORM, "direction": [1.0, 0.0, 0.0], "r": 10.0},),
        margin_label="ln max_c |f(cθ) − c^k f(θ)| (≥ 0: D3 fails at θ for every d > 0)",
        describe=lambda c: f"f = {c['f']}, θ = {c['r']}·{c['direction']}",
    )


CLAIMS = (
    Claim(
        id="D3",
        title="Approximate homogeneity with k > 0 collapses to exact homogeneity",
        statement=(
            "For every f and k > 0: if there are d > 0 and ρ with |f(cθ) − c^k f(θ)| "
            "≤ e^{−d‖θ‖} for all c ≥ 1 and ‖θ‖ ≥ ρ (D3), then f(cθ) = c^k f(θ) for all "
            "c ≥ 1 and ‖θ‖ ≥ ρ. Checked in contrapositive form: wherever f(θ) ≠ "
            "lim_c f(cθ)/c^k, some c ≥ 1 gives |f(cθ) − c^k f(θ)| ≥ 1."
        ),
        expected="verified",
        check=lambda ctx: check_property(search(), ctx),
        replay=collapse_margin,
        case_schema=CASE_SCHEMA,
        describe=search().describe,
        explanation=(
            "Consequence: D3 as written cannot express 'approximately 1-homogeneous' "
            "for maps containing softmax, σ or GeLU; the corrected claims use the "
            "relative form |f(cθ)/c^k − f(θ)| ≤ e^{−d‖θ‖} (D3*)."
        ),
        negative_controls=(
            property_control(
                "wrong degree: the collapse for k = 0",
                "σ(b‖θ‖ + u·θ) is ∼0 but not constant along rays: for k = 0 the "
                "error stays below |a| ≤ 1 and the check must refute the collapse",
                lambda: search((0,), "k = 0"),
            ),
        ),
    ),
)
