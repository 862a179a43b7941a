"""G2*[a≤100]: part (ii) of G2*, the local growth exponent, proved for every real T ≥ 1.

G2* (ii) states that the local exponent p_T of ‖θ_T‖/‖θ_0‖ = [Γ(T+1+a)/(Γ(1+a)Γ(T+1))]^{1/2}
(a = κ²c²) satisfies |p_T − a/2| ≤ a(a+1)/T; G2* samples it at T = 10^6 … 10^14. Here it is
proved for all 0 < a ≤ 100 (κc ≤ 10) and every real T ≥ 1: by the fundamental theorem of
calculus it follows from |ψ(2T+1+b) − ψ(T+1+b) − ln 2| ≤ K(2b+1)/T (K ≤ 2 ln 2), which a
certificate proves on T ∈ [1, 8] with arb's digamma and on T ≥ 8 with Stirling's series
and Binet's bound on its remainder. Part (i) (Pythagoras) stays with G2*. See
:mod:`proofs_numeric.certificates.theorems.growth`.
"""

from __future__ import annotations

from proofs_numeric.claims._certified import certified_claim

CLAIMS = (
    certified_claim(
        "G2*[a≤100]",
        "Misaligned growth exponent κ²c²/2 for κc ≤ 10, every real T ≥ 1: proved",
        corrects="G2",
        name="g2_star_exponent",
        theorem="growth_exponent",
        parameters={"a_max": "100", "factor": "1"},
        explanation=(
            "Part (ii) of G2* for κc ≤ 10 and every real T ≥ 1, proved by a certificate "
            "(the sampled G2* tests it at T ≥ 10^6)."
        ),
        sharpen=lambda p: {**p, "factor": "1/10"},
        sharpened="bound a(a+1)/(10T)",
    ),
)
