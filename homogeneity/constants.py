"""Named constants and enums shared by the whole package (no dependencies).

Every number that the package uses in more than one place, or that comes from the paper,
is defined here once:

* the residual placements (SPEC D13) and the norms (D9 and its real-world variants) as
  string enums: ``Placement.PAPER_PRENORM == "paper-prenorm"``, so plain strings keep
  working everywhere a placement or norm is accepted;
* the ε defaults of the norms;
* the paper's ρ of the saturation level (D14) and the ρ that stands in for ∞;
* the ρ grids of the decay sweep and of the convergence diagnostics;
* the thresholds of the head analysis (D8) and of degree agreement;
* the private seeds of evaluation batches and probes (so no module reads the global RNG).
"""

from __future__ import annotations

from enum import StrEnum


class Placement(StrEnum):
    """The residual placements of SPEC D13."""

    #: X + N(F(X)): the paper's "pre-norm" (D11, D12, T1)
    PAPER_PRENORM = "paper-prenorm"
    #: N(X + F(X)): the original Transformer, BERT
    POSTNORM = "postnorm"
    #: X + F(N(X)): what most codebases call Pre-LN (GPT-2, T5, Llama)
    PRE_LN = "pre-ln"


class NormKind(StrEnum):
    """The layer norms: D9 of the proofs and the two used in practice."""

    #: (x − μ)/‖x − μ‖₂, no ε (SPEC D9)
    PROOF = "proof"
    #: (x − μ)/sqrt(var + ε) (torch, BERT)
    LAYERNORM = "layernorm"
    #: x/sqrt(mean(x²) + ε) (T5, Llama)
    RMSNORM = "rmsnorm"


#: the placements, in the order the package reports them
PLACEMENTS: tuple[str, ...] = tuple(p.value for p in Placement)
#: the norm kinds, in the order the package reports them
NORMS: tuple[str, ...] = tuple(n.value for n in NormKind)

#: ε of each norm when none is given (torch's LayerNorm, T5's RMS norm; D9 has none)
NORM_EPS: dict[str, float] = {
    NormKind.PROOF: 0.0,
    NormKind.LAYERNORM: 1e-5,
    NormKind.RMSNORM: 1e-6,
}

#: ρ of the paper's saturation level (SPEC D14): cos(f(x; θ), f(x; 1000·θ))
PAPER_RHO = 1000.0
#: ρ at which the exact saturated forward stands in for its own ρ → ∞ limit
LIMIT_RHO = 1e8

#: the decay sweep along the ray: 49 points from 0.1 to 1e5, geometric (12 per decade)
RAY_RHOS: tuple[float, ...] = tuple(10.0 ** (-1 + 6 * i / 48) for i in range(49))
#: the convergence diagnostics: 1 to 1e4, three points per decade
CONVERGENCE_RHOS: tuple[float, ...] = tuple(float(10 ** (k / 3)) for k in range(13))

#: D8's proxy: a key counts as attended when its weight exceeds this
ATTENDED_THRESHOLD = 1e-5
#: E5's sequence length (the paper's saturated PTB LM); a causal mean head there sees
#: (n + 1)/2 = 42 keys per query on average (SPEC D8)
PAPER_E5_SEQ_LEN = 83
#: the saturation level (D14) from which a trained model's heads count as those of a
#: saturated LM in E5
SATURATED_LEVEL = 0.95
#: an attention row is unresolved (not yet one-hot) while its largest weight is below this
RESOLVED_WEIGHT = 1.0 - ATTENDED_THRESHOLD
#: argmax agreement: a row's largest weight lies on a key whose reference weight is at
#: least max·(1 − this) (exactly the support of a generalised-argmax reference, D7)
SUPPORT_RTOL = 1e-12
#: an additive attention-mask entry at or below this excludes its key (−inf, finfo.min
#: and the −10⁴ of older BERT code); entries above it are biases added to the score
ADDITIVE_MASK_FLOOR = -1e4

#: a measured degree agrees with a predicted one within this absolute difference
DEGREE_TOLERANCE = 0.05
#: a measured polynomial order agrees with a predicted one within this relative difference
ORDER_RELATIVE_TOLERANCE = 0.15

#: seed of the fixed evaluation windows of a training run
EVAL_SEED = 12345
#: seed of the probe batch on which D14 is tracked during training
PROBE_SEED = 999


class LowPrecision(StrEnum):
    """What a check does with ops that compute below its working dtype (a float32 cast
    inside a float64 run)."""

    #: compute them in the working dtype: the check measures the model's mathematics
    LIFT = "lift"
    #: run them as written and report the noise floor their rounding causes
    KEEP = "keep"


#: the low-precision policies, in the order the package reports them
LOW_PRECISION_POLICIES: tuple[str, ...] = tuple(p.value for p in LowPrecision)
#: an additive term whose entries are 0 or at most this (or −∞) is an attention mask, not a
#: degree-0 term: float32's finfo.min is −3.4e38, float16's −6.6e4 is not a mask here
#: (c²·scores outgrow it along the ray)
MASK_FLOOR = -1e30
#: seed of the small example inputs the degree engine builds for the package's components
EXAMPLE_SEED = 2024
