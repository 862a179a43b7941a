"""Arbitrary-precision (mpmath) primitives: one definition of each map of the paper, their
exact ρ → ∞ limits with tail bounds, interval enclosures, and the transformer built from
them.

=====================  ===================================================================
module                 what it holds
=====================  ===================================================================
``context``            the digits rule (every function takes ``digits``; None = 50), the
                       guard-digit rule :func:`guard_digits`, and the context managers
                       that set a library's global precision (mpmath, ``mpmath.iv``, arb)
``convert``            user input → mpf with errors that name the argument
``scalar``             σ, tanh, GeLU, ReLU, step, sign, their differences and tail bounds
``softmax_limits``     softmax, the generalised argmax (D7), gap, deficits, tail bounds
``intervals``          ``mpmath.iv`` enclosures and the per-instance tail certificate
``norms``              D9, the standard layer norm with ε, the RMS norm
``linalg``             dot, W x, x Wᵀ + b, ‖·‖₂, ‖·‖_F
``model``              attention head (D10), multi-head sublayer, feed-forward, residual
                       placements (D13), the encoder of any EncoderConfig, the classifier
``torch_weights``      weights of a torch module → :class:`Weights` (imports torch)
``inventory``          the list of primitives and their float64 twins (cross-tested)
=====================  ===================================================================

Scales ρ may be any positive number, including ρ = 10^400 where float64 overflows. The
softmax tail bound (SPEC D7) and its proof are in :mod:`proofs_numeric.precision.softmax_limits`;
the saturation bounds of σ, tanh and GeLU in :mod:`proofs_numeric.precision.scalar`.
Importing this package does not import torch.
"""

from proofs_numeric.precision.context import (
    DEFAULT_DIGITS,
    GUARD_DIGITS,
    arb_precision,
    exp_loss,
    guard_digits,
    interval_precision,
    magnitude_loss,
    resolve_digits,
    working_precision,
)
from proofs_numeric.precision.convert import (
    Matrix,
    Real,
    Row,
    positive_scale,
    to_matrix,
    to_mpf,
    to_row,
)
from proofs_numeric.precision.intervals import (
    TailCertificate,
    certify_softmax_tail,
    enclose_softmax_deviation,
    interval_digits,
    softmax_deviation_ratio,
)
from proofs_numeric.precision.linalg import distance, dot, frobenius_norm, linear, matvec, norm2
from proofs_numeric.precision.model import (
    AttentionTrace,
    EncoderSpec,
    HeadOutput,
    MpEncoder,
    Weights,
    attention_head,
    attention_keep,
    classifier,
    feed_forward,
    multi_head_attention,
    parameter_norm,
    sublayer_with_norm,
)
from proofs_numeric.precision.norms import (
    centre,
    layer_norm,
    normalise,
    normalise_rows,
    rms_norm,
    standard_layer_norm,
)
from proofs_numeric.precision.scalar import (
    ACTIVATIONS,
    activate,
    activate_rows,
    gelu,
    gelu_tail_bound,
    relu,
    sigmoid,
    sigmoid_difference,
    sigmoid_tail_bound,
    sign,
    step,
    tanh,
    tanh_difference,
    tanh_tail_bound,
)
from proofs_numeric.precision.softmax_limits import (
    argmax_fractions,
    argmax_set,
    generalised_argmax,
    rho_for_bits,
    softmax,
    softmax_deficit,
    softmax_difference,
    softmax_error,
    softmax_gap,
    softmax_tail_bound,
    softmax_tail_lower_bound,
    visible_positions,
)

__all__ = [
    "ACTIVATIONS",
    "DEFAULT_DIGITS",
    "GUARD_DIGITS",
    "AttentionTrace",
    "EncoderSpec",
    "HeadOutput",
    "Matrix",
    "MpEncoder",
    "Real",
    "Row",
    "TailCertificate",
    "Weights",
    "activate",
    "activate_rows",
    "arb_precision",
    "argmax_fractions",
    "argmax_set",
    "attention_head",
    "attention_keep",
    "centre",
    "certify_softmax_tail",
    "classifier",
    "distance",
    "dot",
    "enclose_softmax_deviation",
    "exp_loss",
    "feed_forward",
    "frobenius_norm",
    "gelu",
    "gelu_tail_bound",
    "generalised_argmax",
    "guard_digits",
    "interval_digits",
    "interval_precision",
    "layer_norm",
    "linear",
    "magnitude_loss",
    "matvec",
    "multi_head_attention",
    "norm2",
    "normalise",
    "normalise_rows",
    "parameter_norm",
    "positive_scale",
    "relu",
    "resolve_digits",
    "rho_for_bits",
    "rms_norm",
    "sigmoid",
    "sigmoid_difference",
    "sigmoid_tail_bound",
    "sign",
    "softmax",
    "softmax_deficit",
    "softmax_deviation_ratio",
    "softmax_difference",
    "softmax_error",
    "softmax_gap",
    "softmax_tail_bound",
    "softmax_tail_lower_bound",
    "standard_layer_norm",
    "step",
    "sublayer_with_norm",
    "tanh",
    "tanh_difference",
    "tanh_tail_bound",
    "to_matrix",
    "to_mpf",
    "to_row",
    "visible_positions",
    "working_precision",
]
