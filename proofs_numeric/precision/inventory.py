"""The inventory of high-precision primitives: every numeric map of
:mod:`proofs_numeric.precision`, where it lives and its float64 twin in torch.

``tests/proofs/test_primitives_cross.py`` checks each one against its twin on shared Hypothesis
cases (and that its table covers this whole list), so adding a primitive means adding it
here and a row there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from proofs_numeric.precision import intervals, linalg, model, norms, scalar
from proofs_numeric.precision import softmax_limits as softmax


@dataclass(frozen=True)
class Primitive:
    """One primitive: its name, the mpmath function, and where its float64 twin lives
    (``homogeneity.components`` or torch itself; a composition where torch has none)."""

    name: str
    function: Callable[..., Any]
    torch_twin: str
    group: str

    @property
    def qualified_name(self) -> str:
        return f"{self.function.__module__}.{self.function.__qualname__}"


#: a primitive's row in its group: the function and where its float64 twin lives, and
#: its name where that is not the function's
Row = tuple[Callable[..., Any], str] | tuple[Callable[..., Any], str, str]


def _group(group: str, *rows: Row) -> tuple[Primitive, ...]:
    """The primitives of one group, in the order of the rows."""
    return tuple(
        Primitive(name[0] if name else function.__name__, function, twin, group)
        for function, twin, *name in rows
    )


F = "homogeneity.components.functional"
C = "homogeneity.components"

PRIMITIVES: tuple[Primitive, ...] = (
    # scalar maps, their limits, differences and tail bounds
    *_group(
        "scalar",
        (scalar.sigmoid, "torch.sigmoid (components.Sigmoid)"),
        (scalar.tanh, "torch.tanh (components.Tanh)"),
        (scalar.gelu, f"{F}.gelu (components.GeLU)"),
        (scalar.relu, "torch.relu (components.ReLU)"),
        (scalar.step, f"{F}.step (Sigmoid, saturated)"),
        (scalar.sign, "torch.sign (Tanh, saturated)"),
        (scalar.activate, f"{C}.make_activation(name)(z, saturated)"),
        (scalar.sigmoid_difference, "torch.sigmoid(y) − torch.sigmoid(x)"),
        (scalar.tanh_difference, "torch.tanh(y) − torch.tanh(x)"),
        (scalar.sigmoid_tail_bound, "bounds |torch.sigmoid(ρz) − step(z)|"),
        (scalar.tanh_tail_bound, "bounds |torch.tanh(ρz) − sign(z)|"),
        (scalar.gelu_tail_bound, "bounds |gelu(ρz)/ρ − relu(z)|"),
    ),
    # softmax, its limit, gap and tail bounds
    *_group(
        "softmax",
        (softmax.softmax, f"{F}.masked_softmax"),
        (softmax.generalised_argmax, f"{F}.hardmax"),
        (softmax.argmax_set, f"{F}.hardmax(...) > 0"),
        (softmax.argmax_fractions, f"{F}.hardmax"),
        (softmax.softmax_deficit, f"|{F}.masked_softmax − hardmax|"),
        (softmax.softmax_difference, f"{F}.masked_softmax(ρa·a) − masked_softmax(ρb·b)"),
        (softmax.softmax_gap, "torch.topk over the visible scores"),
        (softmax.softmax_error, f"‖{F}.masked_softmax − hardmax‖"),
        (softmax.softmax_tail_bound, f"bounds ‖{F}.masked_softmax − hardmax‖"),
        (softmax.softmax_tail_lower_bound, f"bounds ‖{F}.masked_softmax − hardmax‖∞"),
        (softmax.rho_for_bits, f"‖{F}.masked_softmax(ρ_b a) − hardmax‖∞ ≤ 2^−b"),
    ),
    # interval enclosures
    *_group(
        "interval",
        (intervals.enclose_softmax_deviation, f"encloses ‖{F}.masked_softmax − L‖∞"),
        (intervals.softmax_deviation_ratio, f"encloses ‖{F}.masked_softmax − L‖∞/bound"),
        (intervals.certify_softmax_tail, f"{F}.masked_softmax error within the bounds"),
    ),
    # norms
    *_group(
        "norm",
        (norms.centre, f"{F}.center"),
        (norms.layer_norm, f"{F}.proof_layer_norm (components.ProofLayerNorm)"),
        (norms.standard_layer_norm, f"{F}.standard_layer_norm (components.LayerNorm)"),
        (norms.rms_norm, f"{F}.rms_norm (components.RMSNorm)"),
        (norms.normalise, f"{C}.make_norm(kind, d, eps=…) with gain and bias"),
    ),
    # linear algebra
    *_group(
        "linalg",
        (linalg.dot, "torch.dot"),
        (linalg.matvec, "W @ x"),
        (linalg.linear, f"{C}.Linear (x @ W.T + b)"),
        (linalg.norm2, "torch.linalg.vector_norm"),
        (linalg.frobenius_norm, "torch.linalg.matrix_norm (Frobenius)"),
        (linalg.distance, "torch.linalg.vector_norm(u − v)"),
    ),
    # the model
    *_group(
        "model",
        (model.attention_keep, f"{F}.attention_keep_mask"),
        (model.attention_head, f"{C}.AttentionHead"),
        (model.multi_head_attention, f"{C}.MultiHeadAttention"),
        (model.feed_forward, f"{C}.FeedForward"),
        (model.sublayer_with_norm, f"{C}.Residual"),
        (model.MpEncoder.run, f"{C}.Encoder", "encoder"),
        (model.classifier, f"{C}.EncoderClassifier"),
    ),
)

#: name -> primitive
BY_NAME: dict[str, Primitive] = {p.name: p for p in PRIMITIVES}
