"""L8: tanh saturates exponentially, uniformly in c ≥ 1.

Proof of the constant d = 1: for x ≥ 0, |tanh(cx) − tanh(x)| ≤ 1 − tanh(x) =
2/(e^{2x} + 1), and 2/(e^{2x}+1) ≤ e^{−x} ⇔ 2e^{x} ≤ e^{2x} + 1 ⇔ (e^{x} − 1)² ≥ 0.
The asymptotic rate is 2 (1 − tanh x ≈ 2e^{−2x}), but no uniform bound exp(−d|x|) with
d > 1 exists: near x = 0, 1 − tanh x = 1 − x + O(x²) exceeds e^{−dx} = 1 − dx + O(x²).
The rate 2 holds with the constant 2: |tanh(cx) − tanh(x)| ≤ 2/(e^{2|x|} + 1) ≤ 2e^{−2|x|}.

The claim is proved (both bounds): its check re-verifies the certificate
``proofs_numeric/certificates/data/l8_tanh.json`` (theorem ``scalar_saturation``).
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
from proofs_numeric.precision import tanh
from proofs_numeric.search import property_control

#: what the certificate must prove: ≤ e^{−|x|} and ≤ 2e^{−2|x|}
CERTIFIED = {"phi": "tanh", "bounds": [["1", "1"], ["2", "2"]]}


def _slow_tanh(z: Any, digits: int) -> Any:
    """Negative control: tanh(z/2), half the slope."""
    return tanh(z / 2, digits)


CLAIMS = (
    Claim(
        id="L8",
        title="tanh saturates exponentially",
        statement=(
            "For all c ≥ 1 and all real x: |tanh(cx) − tanh(x)| ≤ exp(−d|x|), with "
            "the paper's exp(−Θ(|x|)) made explicit as d = 1 (the best uniform "
            "constant, although the asymptotic rate is 2); and the sharper "
            "|tanh(cx) − tanh(x)| ≤ 2·exp(−2|x|)."
        ),
        expected="proved",
        check=certified_check("l8_tanh", "L8", "scalar_saturation", CERTIFIED),
        replay=saturation_margin(tanh, 1.0),
        case_schema=CASE_SCHEMA,
        explanation=(
            "Proof: |tanh(cx) − tanh(x)| ≤ 1 − tanh|x| = 2/(e^{2|x|}+1) ≤ e^{−|x|} "
            "since (e^{|x|} − 1)² ≥ 0, and ≤ 2e^{−2|x|}. Any d > 1 fails near x = 0 "
            "as c → ∞."
        ),
        negative_controls=(
            *certificate_controls(
                "l8_tanh",
                lambda p: {**p, "bounds": [["1", "21/20"], ["2", "2"]]},
                "d = 21/20 in the bound e^{−d|x|}",
            ),
            property_control(
                "wrong bound d = 1.05",
                "d = 1.05 must be refuted (small x > 0, c → ∞)",
                lambda: saturation_search("L8", tanh, 1.05, "tanh, bound e^{−1.05|x|}"),
            ),
            property_control(
                "mutated component tanh(x/2)",
                "tanh with half the slope must violate the d = 1 bound",
                lambda: saturation_search("L8", _slow_tanh, 1.0, "tanh(·/2), bound e^{−|x|}"),
            ),
        ),
    ),
)
