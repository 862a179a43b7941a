"""Statistics of attention maps: visible keys, row entropy, agreement of argmax choices."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from homogeneity.adapters import Batch


def visible_keys(batch: Batch, causal: bool = False) -> torch.Tensor:
    """(batch, q, k) bool: key k is visible to query q (a real token; k ≤ q if causal)."""
    n = batch.ids.shape[1]
    keep = batch.padding_mask[:, None, :].expand(-1, n, -1)
    if causal:
        keep = keep & torch.ones(n, n, dtype=torch.bool, device=keep.device).tril()
    return keep


def attention_entropy(attn: torch.Tensor) -> torch.Tensor:
    """Entropy −Σ_k p_k ln p_k of every attention row (nats), with 0 ln 0 = 0.

    ``attn``: (..., q, k) probabilities; returns (..., q). A one-hot row has entropy 0, a
    uniform row over n positions ln n.
    """
    logs = torch.where(
        attn > 0, torch.log(attn.clamp_min(torch.finfo(attn.dtype).tiny)), torch.zeros_like(attn)
    )
    return -(attn * logs).sum(dim=-1)


def argmax_on_support(
    attentions: Sequence[torch.Tensor], reference: Sequence[torch.Tensor], query_mask: torch.Tensor
) -> list[float]:
    """Per layer, the fraction of (head, real query) rows whose largest weight lies on a
    key where the reference row is maximal (its hardmax support)."""
    out = []
    for a, r in zip(attentions, reference, strict=True):
        top = a.argmax(dim=-1, keepdim=True)
        hit = torch.gather(r, -1, top).squeeze(-1) >= r.amax(dim=-1) * (1 - 1e-12)
        rows = query_mask[:, None, :].expand_as(hit)
        out.append(float(hit[rows].double().mean()))
    return out


def mean_entropy_per_layer(
    attentions: Sequence[torch.Tensor], query_mask: torch.Tensor
) -> list[float]:
    """Mean attention entropy per layer over heads and real queries."""
    out = []
    for attn in attentions:
        h = attention_entropy(attn)  # (B, H, Q)
        m = query_mask[:, None, :].expand_as(h)
        out.append(float(h[m].mean()))
    return out
