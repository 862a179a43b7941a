"""EU~*[instance]: the approximate Euler identity of EU~* along the ray of one fixed
instance, proved for every ρ > 0 by certificate.

Same instance as P4*[instance]. With H(cθ) = c² softmax(c⁴S)V on the ray,
(θ·∇H)_i − 2H_i = 4 Σ_j p_j (S_j − S̄) V_j, and with q = e^{−ρ⁴γ₀} ∈ [0, 1] the statement
per query row is an inequality in q alone, proved with φ(γ) ≥ γe^{−γ} everywhere and
φ = e^{−1} where γ ≤ 1. See :mod:`proofs_numeric.certificates.theorems.heads`.
"""

from __future__ import annotations

from proofs_numeric.claims._certified import head_instance_claim

CLAIMS = (
    head_instance_claim(
        "EU~*[instance]",
        "Approximate Euler identity of the head along one ray: proved",
        corrects="EU~",
        name="eu_star_instance",
        theorem="head_euler_ray",
        constant="12",
        sharper="4",
        explanation=(
            "EU~* along the whole ray of one instance, every ρ > 0; EU~* in general keeps "
            "its sampled verdict. On this instance the prover closes with the constant "
            "9/2 in place of 12, not with 4."
        ),
    ),
)
