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

from proofs_numeric.claims._certified import certified_claim

CLAIMS = (
    certified_claim(
        "D7[n≤5]",
        "Generalised argmax is the limit of softmax(ρa), rows ≤ 5: proved",
        name="d7_rows5",
        theorem="argmax_limit",
        parameters={"rows": 5, "scale": "1", "rate": "1"},
        statement_tail="; in particular lim_{ρ→∞} softmax(ρa) = argmax(a).",
        explanation=(
            "The restriction of D7 to rows of at most five entries, proved for every "
            "ρ > 0 by a certificate; D7 itself keeps its sampled verdict."
        ),
        sharpen=lambda p: {**p, "scale": "9/10"},
        sharpened="constant 0.9·max(1/|M|, (|V|−|M|)/|M|²)",
    ),
)
