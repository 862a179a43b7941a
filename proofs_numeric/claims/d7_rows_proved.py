"""D7[n≤5]: the quantitative limit softmax(ρa) → argmax(a) for rows of at most five
entries, proved by certificate.

D7 (sampled) checks max_j |softmax(ρa)_j − argmax(a)_j| ≤ max(1/|M|, (|V|−|M|)/|M|²)·e^{−ργ}
case by case; for rows of at most five entries it is proved for every ρ > 0: with
Q = e^{−ργ} and W_j = e^{−ρt_j} in [0, 1], the deviations are rational in (Q, W) and the
bound becomes a polynomial inequality. Its margin is 0 in the limit Q → 0 (the bound is
attained); the identity 1/m − 1/(m + S) = S/(m(m + S)) makes the margin exact there, so the
interval evaluation at the corner is exactly 0 rather than below it. See
:mod:`proofs_numeric.certificates.theorems.softmax`.
"""

from __future__ import annotations

from proofs_numeric.certificates.checker import THEOREMS
from proofs_numeric.claim import Claim
from proofs_numeric.claims._certified import certificate_controls, certified_check

NAME, THEOREM = "d7_rows5", "argmax_limit"
CERTIFIED = {"rows": 5, "scale": "1", "rate": "1"}

CLAIMS = (
    Claim(
        id="D7[n≤5]",
        title="Generalised argmax is the limit of softmax(ρa), rows ≤ 5: proved",
        statement=THEOREMS[THEOREM].statement(CERTIFIED)
        + "; in particular lim_{ρ→∞} softmax(ρa) = argmax(a).",
        expected="proved",
        check=certified_check(NAME, "D7[n≤5]", THEOREM, CERTIFIED),
        explanation=(
            "The restriction of D7 to rows of at most five entries, proved for every "
            "ρ > 0 by a certificate; D7 itself keeps its sampled verdict."
        ),
        negative_controls=certificate_controls(
            NAME, lambda p: {**p, "scale": "9/10"}, "constant 0.9·max(1/|M|, (|V|−|M|)/|M|²)"
        ),
    ),
)
