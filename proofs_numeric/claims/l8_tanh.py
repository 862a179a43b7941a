"""L8: tanh saturates exponentially, uniformly in c ≥ 1.

Proof of the constant d = 1: for x ≥ 0, |tanh(cx) − tanh(x)| ≤ 1 − tanh(x) =
2/(e^{2x} + 1), and 2/(e^{2x}+1) ≤ e^{−x} ⇔ 2e^{x} ≤ e^{2x} + 1 ⇔ (e^{x} − 1)² ≥ 0.
The asymptotic rate is 2 (1 − tanh x ≈ 2e^{−2x}), but no uniform bound exp(−d|x|) with
d > 1 exists: near x = 0, 1 − tanh x = 1 − x + O(x²) exceeds e^{−dx} = 1 − dx + O(x²).
"""

from __future__ import annotations

import mpmath

from proofs_numeric.claim import CheckContext, Claim, Verdict
from proofs_numeric.claims._scalar_saturation import (
    CASE_SCHEMA,
    saturation_margin,
    saturation_search,
)
from proofs_numeric.search import check_property, property_control


def _tanh(z):
    return mpmath.tanh(z)


def _slow_tanh(z):
    return mpmath.tanh(z / 2)


def check(ctx: CheckContext) -> Verdict:
    return check_property(saturation_search("L8", _tanh, 1.0, "tanh, bound e^{−|x|}"), ctx)


CLAIMS = (
    Claim(
        id="L8",
        title="tanh saturates exponentially",
        statement=(
            "For all c ≥ 1 and all real x: |tanh(cx) − tanh(x)| ≤ exp(−d|x|), with "
            "the paper's exp(−Θ(|x|)) made explicit as d = 1 (the best uniform "
            "constant, although the asymptotic rate is 2)."
        ),
        expected="verified",
        check=check,
        replay=saturation_margin(_tanh, 1.0),
        case_schema=CASE_SCHEMA,
        explanation=(
            "Proof: |tanh(cx) − tanh(x)| ≤ 1 − tanh|x| = 2/(e^{2|x|}+1) ≤ e^{−|x|} "
            "since (e^{|x|} − 1)² ≥ 0. Any d > 1 fails near x = 0 as c → ∞."
        ),
        negative_controls=(
            property_control(
                "wrong bound d = 1.05",
                "d = 1.05 must be refuted (small x > 0, c → ∞)",
                lambda: saturation_search("L8", _tanh, 1.05, "tanh, bound e^{−1.05|x|}"),
            ),
            property_control(
                "mutated component tanh(x/2)",
                "tanh with half the slope must violate the d = 1 bound",
                lambda: saturation_search("L8", _slow_tanh, 1.0, "tanh(·/2), bound e^{−|x|}"),
            ),
        ),
    ),
)
