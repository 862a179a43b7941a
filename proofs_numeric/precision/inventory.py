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


def _p(function: Callable[..., Any], twin: str, group: str) -> Primitive:
    return Primitive(function.__name__, function, twin, group)


F = "homogeneity.components.functional"
C = "homogeneity.components"

PRIMITIVES: tuple[Primitive, ...] = (
    # scalar maps, their limits, differences and tail bounds
    _p(scalar.sigmoid, "torch.sigmoid (components.Sigmoid)", "scalar"),
    _p(scalar.tanh, "torch.tanh (components.Tanh)", "scalar"),
    _p(scalar.gelu, f"{F}.gelu (components.GeLU)", "scalar"),
    _p(scalar.relu, "torch.relu (components.ReLU)", "scalar"),
    _p(scalar.step, f"{F}.step (Sigmoid, saturated)", "scalar"),
    _p(scalar.sign, "torch.sign (Tanh, saturated)", "scalar"),
    _p(scalar.activate, f"{C}.make_activation(name)(z, saturated)", "scalar"),
    _p(scalar.sigmoid_difference, "torch.sigmoid(y) − torch.sigmoid(x)", "scalar"),
    _p(scalar.tanh_difference, "torch.tanh(y) − torch.tanh(x)", "scalar"),
    _p(scalar.sigmoid_tail_bound, "bounds |torch.sigmoid(ρz) − step(z)|", "scalar"),
    _p(scalar.tanh_tail_bound, "bounds |torch.tanh(ρz) − sign(z)|", "scalar"),
    _p(scalar.gelu_tail_bound, "bounds |gelu(ρz)/ρ − relu(z)|", "scalar"),
    # softmax, its limit, gap and tail bounds
    _p(softmax.softmax, f"{F}.masked_softmax", "softmax"),
    _p(softmax.generalised_argmax, f"{F}.hardmax", "softmax"),
    _p(softmax.argmax_set, f"{F}.hardmax(...) > 0", "softmax"),
    _p(softmax.argmax_fractions, f"{F}.hardmax", "softmax"),
    _p(softmax.softmax_deficit, f"|{F}.masked_softmax − hardmax|", "softmax"),
    _p(softmax.softmax_difference, f"{F}.masked_softmax(ρa·a) − masked_softmax(ρb·b)", "softmax"),
    _p(softmax.softmax_gap, "torch.topk over the visible scores", "softmax"),
    _p(softmax.softmax_error, f"‖{F}.masked_softmax − hardmax‖", "softmax"),
    _p(softmax.softmax_tail_bound, f"bounds ‖{F}.masked_softmax − hardmax‖", "softmax"),
    _p(softmax.softmax_tail_lower_bound, f"bounds ‖{F}.masked_softmax − hardmax‖∞", "softmax"),
    _p(softmax.rho_for_bits, f"‖{F}.masked_softmax(ρ_b a) − hardmax‖∞ ≤ 2^−b", "softmax"),
    # interval enclosures
    _p(intervals.enclose_softmax_deviation, f"encloses ‖{F}.masked_softmax − L‖∞", "interval"),
    _p(intervals.softmax_deviation_ratio, f"encloses ‖{F}.masked_softmax − L‖∞/bound", "interval"),
    _p(intervals.certify_softmax_tail, f"{F}.masked_softmax error within the bounds", "interval"),
    # norms
    _p(norms.centre, f"{F}.center", "norm"),
    _p(norms.layer_norm, f"{F}.proof_layer_norm (components.ProofLayerNorm)", "norm"),
    _p(norms.standard_layer_norm, f"{F}.standard_layer_norm (components.LayerNorm)", "norm"),
    _p(norms.rms_norm, f"{F}.rms_norm (components.RMSNorm)", "norm"),
    _p(norms.normalise, f"{C}.make_norm(kind, d, eps=…) with gain and bias", "norm"),
    # linear algebra
    _p(linalg.dot, "torch.dot", "linalg"),
    _p(linalg.matvec, "W @ x", "linalg"),
    _p(linalg.linear, f"{C}.Linear (x @ W.T + b)", "linalg"),
    _p(linalg.norm2, "torch.linalg.vector_norm", "linalg"),
    _p(linalg.frobenius_norm, "torch.linalg.matrix_norm (Frobenius)", "linalg"),
    _p(linalg.distance, "torch.linalg.vector_norm(u − v)", "linalg"),
    # the model
    _p(model.attention_keep, f"{F}.attention_keep_mask", "model"),
    _p(model.attention_head, f"{C}.AttentionHead", "model"),
    _p(model.multi_head_attention, f"{C}.MultiHeadAttention", "model"),
    _p(model.feed_forward, f"{C}.FeedForward", "model"),
    _p(model.sublayer_with_norm, f"{C}.Residual", "model"),
    Primitive("encoder", model.MpEncoder.run, f"{C}.Encoder", "model"),
    _p(model.classifier, f"{C}.EncoderClassifier", "model"),
)

#: name -> primitive
BY_NAME: dict[str, Primitive] = {p.name: p for p in PRIMITIVES}
