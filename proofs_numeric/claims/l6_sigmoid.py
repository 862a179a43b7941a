"""L6: the sigmoid saturates exponentially, uniformly in c ≥ 1.

Proof of the constant d = 1: for x ≥ 0 and c ≥ 1, σ(x) ≤ σ(cx) < 1, so
|σ(cx) − σ(x)| ≤ 1 − σ(x) = 1/(1 + e^{x}) ≤ e^{−x}; x < 0 is symmetric (σ(−z) = 1 − σ(z)).
d = 1 is the largest uniform constant: as c → ∞ the difference tends to 1/(1 + e^{|x|}),
which exceeds e^{−d|x|} for any d > 1 once |x| is large.
"""

from __future__ import annotations

import mpmath

from proofs_numeric.claim import CheckContext, Claim, Verdict
from proofs_numeric.claims._scalar_saturation import (
    CASE_SCHEMA,
    saturation_margin,
    saturation_search,
)
from proofs_numeric.precision import sigmoid
from proofs_numeric.search import check_property, property_control


def _sigma(z):
    return sigmoid(z, digits=mpmath.mp.dps)


def _half_slope_sigma(z):
    return sigmoid(z / 2, digits=mpmath.mp.dps)


def check(ctx: CheckContext) -> Verdict:
    return check_property(saturation_search("L6", _sigma, 1.0, "σ, bound e^{−|x|}"), ctx)


CLAIMS = (
    Claim(
        id="L6",
        title="Sigmoid saturates exponentially",
        statement=(
            "For all c ≥ 1 and all real x: |σ(cx) − σ(x)| ≤ exp(−d|x|), where the "
            "paper's exp(−Θ(|x|)) is made explicit as d = 1 (the best uniform "
            "constant)."
        ),
        expected="verified",
        check=check,
        replay=saturation_margin(_sigma, 1.0),
        case_schema=CASE_SCHEMA,
        explanation=(
            "Proof: for x ≥ 0, |σ(cx) − σ(x)| ≤ 1 − σ(x) = 1/(1+e^x) ≤ e^{−x}; "
            "x < 0 by symmetry. Any d > 1 fails as c → ∞ at large |x|."
        ),
        negative_controls=(
            property_control(
                "wrong bound d = 1.05",
                "the same statement with d = 1.05 > 1 must be refuted (c → ∞, large |x|)",
                lambda: saturation_search("L6", _sigma, 1.05, "σ, bound e^{−1.05|x|}"),
            ),
            property_control(
                "mutated component σ(x/2)",
                "a sigmoid with half the slope saturates at rate 1/2, so the d = 1 bound "
                "must be refuted",
                lambda: saturation_search("L6", _half_slope_sigma, 1.0, "σ(·/2), bound e^{−|x|}"),
            ),
        ),
    ),
)
