"""P1*[instance]: the saturation rate of P1* on one fixed instance, proved by certificate.

The instance θ′ = (w, u₁, u₂, u₃), w = (1, 0), u = (1, 1), (0, 1), (0, −1), has scores
S′ = (1, 0, 0): a unique maximiser (γ = 1) and a tie behind it, so the bound
(n − 1)e^{−(c²γ − 2Δ)} of P1* is attained as c → ∞ with E = 0. For every c ≥ 1, every
E ≤ 1/8 and every perturbation with block norms ≤ E, the certificate proves the bound;
by Cauchy–Schwarz and the monotonicity of softmax in its scores the deviation is largest
at a corner of the box of perturbed scores, which reduces the statement to the two
variables s = 1/c and E. See :mod:`proofs_numeric.certificates.theorems.saturation`.
"""

from __future__ import annotations

from proofs_numeric.certificates.specs import P1_INSTANCE
from proofs_numeric.claims._certified import certified_claim

CLAIMS = (
    certified_claim(
        "P1*[instance]",
        "Saturation under perturbed norm growth, one instance: proved",
        corrects="P1/P2",
        name="p1_star_instance",
        theorem="perturbed_saturation",
        parameters=dict(P1_INSTANCE),
        explanation=(
            "P1* on one instance where its bound is tight, proved for every c ≥ 1 and "
            "E ≤ 1/8; P1* in general keeps its sampled verdict."
        ),
        sharpen=lambda p: {**p, "factor": "9/10"},
        sharpened="bound 0.9·(n − 1)e^{−(c²γ − 2Δ)}",
    ),
)
