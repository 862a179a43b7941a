"""A ``TorchFunctionMode`` that runs a foreign model's forward the way the saturation
analyses need it, without touching the model:

* **attention capture**: ``F.multi_head_attention_forward`` (``torch.nn.MultiheadAttention``
  and the ``torch.nn`` transformer layers), ``F.scaled_dot_product_attention`` (e.g. a
  nanoGPT-style model) and a softmax over the last axis of a 4-D tensor (attention written
  by hand: scores (batch, heads, queries, keys)) are computed in the working dtype by
  :mod:`homogeneity.adapters.attention_math`, which records the probabilities, or
  replaces them by their saturated limit (the generalised argmax of SPEC D7);
* **saturated maps**: in the saturated forward the smooth activations are replaced by
  their ρ → ∞ limits, as in the package's own components: GeLU (erf or tanh form), SiLU
  and softplus → ReLU, tanh → sign, sigmoid → step (so tanh-form GeLU, x·σ(1.702x) and
  x·σ(x) written by hand become ReLU too).

Float32 islands (a ``.float()`` or ``dtype=torch.float32`` inside a float64 run) are not
handled here: every evaluation of an adapter goes through a
:class:`~homogeneity.scaling.Ray`, whose checked execution path lifts them (or keeps
them, ``low_precision='keep'``) at the dispatcher
(:class:`~homogeneity.execution.low_precision.LowPrecisionMode`) and reports them.

While the mode is active torch's fused fast paths are skipped (``torch.nn`` checks
``has_torch_function`` and falls back to the Python path), which is what makes the
attention of ``nn.TransformerEncoder`` visible; nothing global is changed.
"""

from __future__ import annotations

import inspect
import math
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from homogeneity.adapters.attention_math import (
    AttentionRecorder,
    causal_keep,
    combine_keep,
    dot_product_attention,
    read_mask,
)
from homogeneity.errors import HomogeneityInputError


def _step(z: torch.Tensor) -> torch.Tensor:
    return (z > 0).to(z.dtype) + 0.5 * (z == 0).to(z.dtype)


#: torch functions replaced by their ρ → ∞ limit in the saturated forward
SATURATED_MAPS: dict[Callable[..., Any], Callable[[torch.Tensor], torch.Tensor]] = {
    F.gelu: torch.relu,
    F.silu: torch.relu,
    F.softplus: torch.relu,
    torch.tanh: torch.sign,
    torch.Tensor.tanh: torch.sign,
    torch.sigmoid: _step,
    torch.Tensor.sigmoid: _step,
}
_SOFTMAXES = (F.softmax, torch.softmax, torch.Tensor.softmax)
_MHA_SIGNATURE = inspect.signature(F.multi_head_attention_forward)


class ForwardInterception(TorchFunctionMode):
    """The mode described in the module docstring.

    Args:
        recorder: where attention weights are computed and recorded.
        capture_attention: intercept MHA, SDPA and 4-D softmax (off for transformers
            models, whose attention goes through their own dispatch point).
        saturated: replace the activations by their limits (:data:`SATURATED_MAPS`).

    ``replaced`` counts what was changed (by op), for the report.
    """

    def __init__(
        self,
        recorder: AttentionRecorder,
        *,
        capture_attention: bool,
        saturated: bool,
    ) -> None:
        super().__init__()
        self.recorder = recorder
        self.capture_attention = capture_attention
        self.saturated = saturated
        self.replaced: Counter[str] = Counter()
        self._quiet = 0
        recorder.quiet = self.quiet

    @contextmanager
    def quiet(self) -> Iterator[None]:
        """Inside, torch functions run as they are (for the package's own attention math)."""
        self._quiet += 1
        try:
            yield
        finally:
            self._quiet -= 1

    # -- dispatch --------------------------------------------------------------------
    def __torch_function__(
        self, func: Callable[..., Any], types: Any, args: tuple = (), kwargs: dict | None = None
    ) -> Any:
        kwargs = dict(kwargs or {})
        if self._quiet:
            return func(*args, **kwargs)
        if self.capture_attention:
            if func is F.multi_head_attention_forward:
                return multi_head_attention(self.recorder, *args, **kwargs)
            if func is F.scaled_dot_product_attention:
                return scaled_dot_product_attention(self.recorder, *args, **kwargs)
            if func in _SOFTMAXES:
                probs = _attention_softmax(self.recorder, func, args, kwargs)
                if probs is not None:
                    return probs
        if self.saturated and func in SATURATED_MAPS:
            self.replaced[getattr(func, "__name__", str(func))] += 1
            return SATURATED_MAPS[func](args[0])
        return func(*args, **kwargs)

    def summary(self) -> str:
        """What the mode changed, in words (empty when nothing)."""
        if not self.replaced:
            return ""
        return "saturated maps: " + ", ".join(f"{k} ×{v}" for k, v in sorted(self.replaced.items()))


# -- the intercepted attention functions -------------------------------------------------
def _attention_softmax(
    recorder: AttentionRecorder, func: Callable[..., Any], args: tuple, kwargs: dict
) -> torch.Tensor | None:
    """Softmax over the last axis of a 4-D tensor, taken as attention scores; None when the
    call is some other softmax (then it runs unchanged)."""
    x = args[0]
    dim = args[1] if len(args) > 1 else kwargs.get("dim")
    if not (isinstance(x, torch.Tensor) and x.dim() == 4 and dim in (-1, 3)):
        return None
    dtype = kwargs.get("dtype") or next((a for a in args[2:] if isinstance(a, torch.dtype)), None)
    scores = x if dtype is None else x.to(dtype)
    keep = scores != float("-inf")
    return recorder.probabilities(scores, keep, "softmax over (batch, heads, q, k) scores")


def scaled_dot_product_attention(
    recorder: AttentionRecorder,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attn_mask: torch.Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> torch.Tensor:
    """``F.scaled_dot_product_attention`` in the working dtype (math form), recorded."""
    if dropout_p:
        raise HomogeneityInputError(
            f"scaled_dot_product_attention was called with dropout_p={dropout_p}: the model "
            f"is in training mode; call model.eval() first"
        )
    keep, bias = read_mask(attn_mask, keep_is_true=True)
    if is_causal:
        keep = combine_keep(keep, causal_keep(query.shape[-2], key.shape[-2], query.device))
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    out, _ = dot_product_attention(
        recorder,
        query,
        key,
        value,
        scale=scale,
        keep=keep,
        bias=bias,
        source="F.scaled_dot_product_attention",
    )
    return out


def multi_head_attention(recorder: AttentionRecorder, *args: Any, **kwargs: Any) -> tuple:
    """``F.multi_head_attention_forward`` in the working dtype, recorded.

    Same arguments and return value as torch's: (output, weights or None), with the
    weights averaged over heads when ``average_attn_weights``.
    """
    a = _MHA_SIGNATURE.bind(*args, **kwargs)
    a.apply_defaults()
    p = a.arguments
    if p["training"] and p["dropout_p"]:
        raise HomogeneityInputError(
            "nn.MultiheadAttention is in training mode with dropout; call model.eval() first"
        )
    if p["static_k"] is not None or p["static_v"] is not None:
        raise HomogeneityInputError(
            "multi_head_attention_forward with static_k/static_v is not supported by the "
            "saturation adapters"
        )
    query, key, value = p["query"], p["key"], p["value"]
    batched = query.dim() == 3
    kpm = p["key_padding_mask"]
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        kpm = None if kpm is None else kpm.unsqueeze(0)
    n_q, n_batch, embed = query.shape
    heads = p["num_heads"]
    d = embed // heads
    if p["use_separate_proj_weight"]:
        w_q, w_k, w_v = p["q_proj_weight"], p["k_proj_weight"], p["v_proj_weight"]
    else:
        w_q, w_k, w_v = p["in_proj_weight"].chunk(3)
    b = p["in_proj_bias"]
    b_q, b_k, b_v = (None, None, None) if b is None else b.chunk(3)
    q, k, v = F.linear(query, w_q, b_q), F.linear(key, w_k, b_k), F.linear(value, w_v, b_v)

    def heads_first(t: torch.Tensor) -> torch.Tensor:  # (len, N, E) -> (N, H, len, d)
        return t.reshape(t.shape[0], n_batch, heads, d).permute(1, 2, 0, 3)

    q, k, v = heads_first(q), heads_first(k), heads_first(v)
    keep_pad, bias_pad = read_mask(kpm, keep_is_true=False)  # (N, S)
    keep_att, bias_att = read_mask(p["attn_mask"], keep_is_true=False)  # (L, S) or (N·H, L, S)
    n_k = k.shape[2]
    if keep_att is None and p["is_causal"]:
        keep_att = causal_keep(n_q, n_k, query.device)
    extra = 0
    if p["bias_k"] is not None:
        k = torch.cat([k, p["bias_k"].reshape(1, heads, 1, d).expand(n_batch, -1, -1, -1)], 2)
        v = torch.cat([v, p["bias_v"].reshape(1, heads, 1, d).expand(n_batch, -1, -1, -1)], 2)
        extra += 1
    if p["add_zero_attn"]:
        k = torch.cat([k, k.new_zeros(n_batch, heads, 1, d)], 2)
        v = torch.cat([v, v.new_zeros(n_batch, heads, 1, d)], 2)
        extra += 1

    def to_4d(t: torch.Tensor | None, padding: bool, fill: Any) -> torch.Tensor | None:
        if t is None:
            return None
        if padding:
            t = t[:, None, None, :]
        elif t.dim() == 2:
            t = t[None, None]
        else:
            t = t.reshape(n_batch, heads, n_q, n_k)
        if extra:
            t = F.pad(t, (0, extra), value=fill)
        return t

    keep = combine_keep(to_4d(keep_pad, True, True), to_4d(keep_att, False, True))
    bias_parts = [to_4d(bias_pad, True, 0.0), to_4d(bias_att, False, 0.0)]
    bias = None
    for part in bias_parts:
        if part is not None:
            bias = part if bias is None else bias + part
    out, probs = dot_product_attention(
        recorder,
        q,
        k,
        v,
        scale=1.0 / math.sqrt(d),
        keep=keep,
        bias=bias,
        source="F.multi_head_attention_forward",
    )
    out = out.permute(2, 0, 1, 3).reshape(n_q, n_batch, embed)
    out = F.linear(out, p["out_proj_weight"], p["out_proj_bias"])
    weights = None
    if p["need_weights"]:
        weights = probs.mean(dim=1) if p["average_attn_weights"] else probs
    if not batched:
        out = out.squeeze(1)
        weights = None if weights is None else weights.squeeze(0)
    return out, weights
