"""L6: the sigmoid saturates exponentially, uniformly in c ≥ 1.

Proof of the constant d = 1: for x ≥ 0 and c ≥ 1, σ(x) ≤ σ(cx) < 1, so
|σ(cx) − σ(x)| ≤ 1 − σ(x) = 1/(1 + e^{x}) ≤ e^{−x}; x < 0 is symmetric (σ(−z) = 1 − σ(z)).
The bound e^{−d|x|} is :func:`proofs_numeric.precision.sigmoid_tail_bound` at ρ = d.
d = 1 is the largest uniform constant: as c → ∞ the difference tends to 1/(1 + e^{|x|}),
which exceeds e^{−d|x|} for any d > 1 once |x| is large.

The claim is proved: its check re-verifies the certificate
``proofs_numeric/certificates/data/l6_sigmoid.json`` (theorem ``scalar_saturation``).
"""

from __future__ import annotations

from typing import Any

from proofs_numeric.claim import Claim
from proofs_numeric.claims._certified import certificate_controls, certified_check
from proofs_numeric.claims._scalar_saturation import (
    CASE_SCHEMA,
    saturation_margin,
    saturation_search,
)
from proofs_numeric.precision import sigmoid, sigmoid_tail_bound
from proofs_numeric.search import property_control

#: what the certificate must prove: |σ(cx) − σ(x)| ≤ 1·e^{−1·|x|}
CERTIFIED = {"phi": "sigmoid", "bounds": [["1", "1"]]}


def _half_slope_sigma(z: Any, digits: int) -> Any:
    """Negative control: σ(z/2), a sigmoid with half the slope."""
    return sigmoid(z / 2, digits)


CLAIMS = (
    Claim(
        id="L6",
        title="Sigmoid saturates exponentially",
        statement=(
            "For all c ≥ 1 and all real x: |σ(cx) − σ(x)| ≤ exp(−d|x|), where the "
            "paper's exp(−Θ(|x|)) is made explicit as d = 1 (the best uniform "
            "constant)."
        ),
        expected="proved",
        check=certified_check("l6_sigmoid", "L6", "scalar_saturation", CERTIFIED),
        replay=saturation_margin(sigmoid, 1.0, sigmoid_tail_bound),
        case_schema=CASE_SCHEMA,
        explanation=(
            "Proof: for x ≥ 0, |σ(cx) − σ(x)| ≤ 1 − σ(x) = 1/(1+e^x) ≤ e^{−x}; "
            "x < 0 by symmetry. Any d > 1 fails as c → ∞ at large |x|."
        ),
        negative_controls=(
            *certificate_controls(
                "l6_sigmoid", lambda p: {**p, "bounds": [["1", "21/20"]]}, "d = 21/20"
            ),
            property_control(
                "wrong bound d = 1.05",
                "the same statement with d = 1.05 > 1 must be refuted (c → ∞, large |x|)",
                lambda: saturation_search(
                    "L6", sigmoid, 1.05, "σ, bound e^{−1.05|x|}", sigmoid_tail_bound
                ),
            ),
            property_control(
                "mutated component σ(x/2)",
                "a sigmoid with half the slope saturates at rate 1/2, so the d = 1 bound "
                "must be refuted",
                lambda: saturation_search(
                    "L6", _half_slope_sigma, 1.0, "σ(·/2), bound e^{−|x|}", sigmoid_tail_bound
                ),
            ),
        ),
    ),
)
