"""Softmax attention: one head (SPEC D10) and the multi-head map W·[H₁;…;H_h] (D11).

    Q = X W^qᵀ (+b^q),  K = X W^kᵀ (+b^k),  V = X W^vᵀ (+b^v)
    A = softmax(Q Kᵀ / √d_k)   row-wise over the visible keys
    H = A V

Saturated (ρ→∞) form: A = argmax(Q Kᵀ) with the generalised argmax of D7 (ties share the
weight, masked keys never win). The 1/√d_k factor and ρ do not change the argmax.

Degree (what :mod:`homogeneity.degree_engine` derives from the forward): with X of degree
k, Q, K, V have degree k+1 (k if their weight is not scaled); the scores have degree
2(k+1); softmax of a positive-degree input is ∼0; so H = A V is ∼(k+1). For the paper's
P4 (X ∼1) this is ∼2, not ∼1: the value map adds a degree.
"""

from __future__ import annotations

import math

import torch

from homogeneity.components import functional as F
from homogeneity.components.context import ContextModule, ForwardContext
from homogeneity.components.init import ParameterFactory, example_batch
from homogeneity.components.linear import Linear
from homogeneity.validation import check_sequence_not_empty


def attend(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    keep: torch.Tensor | None,
    saturated: bool = False,
    tie_tol: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention over the last two dims; returns (A V, A).

    q: (..., T_q, d_k), k: (..., T_k, d_k), v: (..., T_k, d_v); keep broadcasts to
    (..., T_q, T_k), True where a query may attend.
    """
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])  # (..., T_q, T_k)
    if saturated:
        weights = F.hardmax(scores, keep, tie_tol)  # the ρ→∞ form: argmax (D7)
    else:
        weights = F.masked_softmax(scores, keep)
    return weights @ v, weights  # (..., T_q, d_v), (..., T_q, T_k)


def self_attention(
    x: torch.Tensor, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, ctx: ForwardContext
) -> torch.Tensor:
    """Attend from the queries to the keys of the same sequence ``x`` (batch, seq, d).

    Builds the padding/causal mask of ``ctx`` from ``x``'s length (broadcast over a heads
    dimension when ``q`` has one), attends (saturated and with the tie tolerance as ``ctx``
    says), and appends the weights to ``ctx.attention_sink`` if it is a list.
    """
    check_sequence_not_empty(x, "x")
    n = x.shape[-2]
    keep = F.attention_keep_mask(n, n, ctx.padding_mask, ctx.causal, x.device)
    if keep is not None and q.dim() > x.dim():
        keep = keep.unsqueeze(-3)  # broadcast over heads
    h, weights = attend(q, k, v, keep, ctx.saturated, ctx.tie_tol)
    if ctx.attention_sink is not None:
        ctx.attention_sink.append(weights.detach())
    return h


class AttentionHead(ContextModule):
    """One head of SPEC D10: H = softmax(Q Kᵀ/√d_k) V."""

    def __init__(
        self,
        d_model: int,
        d_head: int,
        bias: bool = False,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        kw = ParameterFactory(dtype=dtype, device=device, generator=generator)
        self.query = Linear(d_model, d_head, bias, **kw)
        self.key = Linear(d_model, d_head, bias, **kw)
        self.value = Linear(d_model, d_head, bias, **kw)

    def forward_in(self, x: torch.Tensor, ctx: ForwardContext) -> torch.Tensor:
        # x: (B, T, d_model) -> q, k, v: (B, T, d_head) -> H: (B, T, d_head)
        q, k, v = self.query(x), self.key(x), self.value(x)
        return self_attention(x, q, k, v, ctx)

    def example_inputs(self) -> tuple[torch.Tensor]:
        """A small batch x (2, 4, d_model)."""
        return example_batch(self.query.weight)


class MultiHeadAttention(ContextModule):
    """W^o [H₁; …; H_h]: the heads of D10 side by side, then an output projection.

    The heads are computed batched: query/key/value are single Linear maps to h·d_head
    features, reshaped to (batch, heads, seq, d_head). The norm and residual of D11 belong
    to :class:`homogeneity.components.residual.Residual`.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_head: int | None = None,
        bias: bool = False,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        d_head = d_model // n_heads if d_head is None else d_head
        self.n_heads, self.d_head = n_heads, d_head
        kw = ParameterFactory(dtype=dtype, device=device, generator=generator)
        self.query = Linear(d_model, n_heads * d_head, bias, **kw)
        self.key = Linear(d_model, n_heads * d_head, bias, **kw)
        self.value = Linear(d_model, n_heads * d_head, bias, **kw)
        self.output = Linear(n_heads * d_head, d_model, bias, **kw)

    def _split(self, t: torch.Tensor) -> torch.Tensor:
        # (B, T, n_heads·d_head) -> (B, n_heads, T, d_head)
        return t.unflatten(-1, (self.n_heads, self.d_head)).transpose(-2, -3)

    def forward_in(self, x: torch.Tensor, ctx: ForwardContext) -> torch.Tensor:
        # x: (B, T, d_model) -> q, k, v: (B, n_heads, T, d_head)
        q, k, v = (self._split(m(x)) for m in (self.query, self.key, self.value))
        h = self_attention(x, q, k, v, ctx)
        # heads side by side: (B, n_heads, T, d_head) -> (B, T, n_heads·d_head) -> (B, T, d_model)
        return self.output(h.transpose(-2, -3).flatten(-2))

    def example_inputs(self) -> tuple[torch.Tensor]:
        """A small batch x (2, 4, d_model)."""
        return example_batch(self.query.weight)
