"""L7*[n≤5]: the gap bound of L7* for rows of at most five entries, proved by certificate.

L7* (sampled) states |softmax(cx)_i − softmax(x)_i| ≤ max(1/|M|, (|V|−|M|)/|M|²)·e^{−γ(x)}
for rows of any length. For rows of at most five entries (masked positions included) it
is proved: after the reduction to the visible entries, shifted so that the maximum is 0,
the row is (0^m, −γ − t_1, …, −γ − t_k) with m + k ≤ 5, and the statement becomes a
polynomial inequality in q = e^{−γ}, s = 1/c, w_j = e^{−t_j} ∈ [0, 1] and the derived
v = q^{c−1}, W_j = w_j^c, checked by branch-and-bound on [0, 1]^{k+1} for each (m, k).
The bound is attained as γ → ∞ (q = 0); there the certificate uses an exact factorisation
of the margin (checked by the checker by polynomial arithmetic). See
:mod:`proofs_numeric.certificates.theorems.softmax`.
"""

from __future__ import annotations

from proofs_numeric.claims._certified import certified_claim

CLAIMS = (
    certified_claim(
        "L7*[n≤5]",
        "Softmax gap bound, rows of at most 5 entries: proved",
        corrects="L7",
        name="l7_star_rows5",
        theorem="softmax_gap",
        parameters={"rows": 5, "scale": "1", "rate": "1"},
        explanation=(
            "The restriction of L7* to rows of at most five entries, proved by a "
            "certificate; L7* itself (rows of any length) keeps its sampled verdict."
        ),
        sharpen=lambda p: {**p, "rate": "21/20"},
        sharpened="rate 1.05: exp(−1.05·γ)",
    ),
)
