"""P4*[instance]: the attention-head bound of P4* along the ray of one fixed instance,
proved for every ρ > 0 and c ≥ 1 by certificate.

The instance is the package's seeded single-head sublayer of the sampled P4* (seed 1,
3 tokens, d_model 3, d_head 2), with the input X a parameter, so θ = ρθ₀ scales X too.
Along the ray the scores grow like ρ⁴ and the values like ρ², so with q = e^{−ρ⁴γ₀} and
v = q^{c⁴−1} the statement becomes an inequality on (q, v) ∈ [0, 1]² per query row: the
growth of the gaps compactifies both unbounded directions. The checker recomputes the
scores and values from the stored float weights in interval arithmetic. See
:mod:`proofs_numeric.certificates.theorems.heads`.
"""

from __future__ import annotations

from proofs_numeric.claims._certified import head_instance_claim

CLAIMS = (
    head_instance_claim(
        "P4*[instance]",
        "Attention head ∼2 along the ray of one instance: proved",
        corrects="P4",
        name="p4_star_instance",
        theorem="head_ray",
        constant="4",
        sharper="1",
        explanation=(
            "P4* along the whole ray of one instance, every ρ > 0 and c ≥ 1; P4* in "
            "general keeps its sampled verdict. On this instance the constant 4 is "
            "generous: the prover closes with 11/10 in its place, not with 1."
        ),
    ),
)
