"""Statistics of attention maps: visible keys, row entropy, agreement of argmax choices.

**Argmax agreement** (one definition for every analysis): a row of attention weights a
agrees with a reference row r when its largest weight lies on a key of r's support,
r_j ≥ max_k r_k · (1 − :data:`~homogeneity.constants.SUPPORT_RTOL`). For a reference from
the exact saturated forward (a generalised argmax, SPEC D7) this is exactly "on one of the
maximal keys" (every nonzero weight is 1/|M|); for a finite-ρ reference it is "on its
largest key", up to rounding.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from homogeneity.adapters import Batch
from homogeneity.constants import SUPPORT_RTOL


def visible_keys(batch: Batch, causal: bool = False) -> torch.Tensor:
    """(batch, q, k) bool: key k is visible to query q (a real token; k ≤ q if causal)."""
    n = batch.shape[1]
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


def on_reference_support(attention: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """(…, q) bool: the row's largest weight lies on the reference row's support (module
    docstring)."""
    top = attention.argmax(dim=-1, keepdim=True)
    picked = torch.gather(reference, -1, top).squeeze(-1)
    return picked >= reference.amax(dim=-1) * (1 - SUPPORT_RTOL)


def argmax_agreement_counts(
    attentions: Sequence[torch.Tensor], reference: Sequence[torch.Tensor], query_mask: torch.Tensor
) -> list[tuple[int, int]]:
    """Per layer, (agreeing rows, rows) over the (head, real query) rows."""
    out = []
    for a, r in zip(attentions, reference, strict=True):
        hit = on_reference_support(a, r)
        rows = query_mask[:, None, :].expand_as(hit)
        out.append((int(hit[rows].sum()), int(rows.sum())))
    return out


def argmax_on_support(
    attentions: Sequence[torch.Tensor], reference: Sequence[torch.Tensor], query_mask: torch.Tensor
) -> list[float]:
    """Per layer, the fraction of (head, real query) rows whose largest weight lies on the
    reference's support (the argmax agreement of the module docstring)."""
    return [hit / n for hit, n in argmax_agreement_counts(attentions, reference, query_mask)]


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
