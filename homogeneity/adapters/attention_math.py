"""Attention computed in the working dtype, with its probabilities recorded, or its
saturated (ρ → ∞) limit: the one place where the adapters of foreign models turn scores
into attention weights.

For a score row a and the keys a query may see (``keep``),

* the **finite form** is softmax over the visible keys (masked keys get weight 0);
* the **saturated form** is the generalised argmax of SPEC D7
  (:func:`homogeneity.components.functional.hardmax`): weight 1/|M(a)| on the maximal
  visible keys, 0 elsewhere; masked keys never belong to M(a).

A row with no visible key (a padded query whose every key is masked) gets weight 0
everywhere in both forms, so its output is 0; such rows are padding and are excluded from
every average.

Masks come in two conventions; both are read here into one boolean ``keep``:

* boolean masks (``keep_is_true=True``: True = may attend, as in transformers and SDPA;
  False: True = masked, as ``torch.nn.MultiheadAttention``'s masks);
* additive float masks: an entry ``≤`` :data:`~homogeneity.constants.ADDITIVE_MASK_FLOOR`
  (−10⁴; −inf and ``finfo.min`` included) excludes the key, any other entry is a bias
  added to the score.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import torch

from homogeneity.adapters.batch import Trace
from homogeneity.components.functional import hardmax
from homogeneity.constants import ADDITIVE_MASK_FLOOR
from homogeneity.errors import HomogeneityInputError


@dataclass(frozen=True)
class CapturedAttention:
    """One attention call: probabilities (batch, heads, q, k), the visible keys (bool,
    broadcastable to them) and where it came from."""

    probabilities: torch.Tensor
    visible: torch.Tensor
    source: str


def read_mask(
    mask: torch.Tensor | None, *, keep_is_true: bool
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """(keep, bias) from one mask: ``keep`` bool (True = visible) or None, ``bias`` the
    finite additive part (zeros where the key is excluded) or None."""
    if mask is None:
        return None, None
    if mask.dtype == torch.bool:
        return (mask if keep_is_true else ~mask), None
    if mask.is_floating_point():
        keep = mask > ADDITIVE_MASK_FLOOR
        bias = torch.where(keep, mask, torch.zeros_like(mask))
        return keep, (bias if bool((bias != 0).any()) else None)
    # integer masks: transformers' 2-D attention_mask convention (1 = real token)
    keep = mask != 0
    return (keep if keep_is_true else ~keep), None


def combine_keep(*keeps: torch.Tensor | None) -> torch.Tensor | None:
    """Logical and of the given masks (None = everything visible)."""
    out = None
    for k in keeps:
        if k is not None:
            out = k if out is None else (out & k)
    return out


def causal_keep(n_queries: int, n_keys: int, device: torch.device) -> torch.Tensor:
    """(q, k) bool: query i sees keys j ≤ i + (n_keys − n_queries) (top-left aligned when
    the lengths agree, as torch's ``is_causal``)."""
    return torch.ones(n_queries, n_keys, dtype=torch.bool, device=device).tril()


@dataclass
class AttentionRecorder:
    """Computes attention weights (finite or saturated) and records every call, in order.

    ``saturated``: use the generalised argmax (D7) instead of softmax; ``tie_tol``: its
    tie tolerance. ``records`` holds one :class:`CapturedAttention` per call of the
    current forward pass.
    """

    saturated: bool = False
    tie_tol: float = 0.0
    records: list[CapturedAttention] = field(default_factory=list)
    #: set by the interception mode: a context in which torch functions run unintercepted
    quiet: Callable[[], AbstractContextManager[None]] | None = None

    def probabilities(
        self, scores: torch.Tensor, keep: torch.Tensor | None, source: str
    ) -> torch.Tensor:
        """Attention weights of ``scores`` (…, q, k) over the keys with ``keep`` True."""
        if keep is None:
            keep = torch.ones((1,) * scores.dim(), dtype=torch.bool, device=scores.device)
        keep = keep.to(scores.device)
        full = torch.broadcast_to(keep, scores.shape)
        seen = full.any(dim=-1, keepdim=True)  # rows with at least one visible key
        usable = full | ~seen  # computed on every key, zeroed afterwards
        if self.saturated:
            weights = hardmax(scores, usable, self.tie_tol)
        else:
            weights = torch.softmax(scores.masked_fill(~usable, float("-inf")), dim=-1)
        weights = torch.where(seen, weights, torch.zeros_like(weights))
        self.records.append(CapturedAttention(weights, keep, source))
        return weights

    def trace(self, hidden: Sequence[torch.Tensor], source: str) -> Trace:
        """The :class:`~homogeneity.adapters.Trace` of one forward: ``hidden`` and the
        recorded attention (probabilities and visible keys, in call order); ``source``
        says where they came from, or why none were captured."""
        return Trace(
            tuple(hidden),
            tuple(r.probabilities for r in self.records),
            tuple(r.visible for r in self.records),
            source,
        )


def grouped(key: torch.Tensor, n_query_heads: int) -> torch.Tensor:
    """Repeat key/value heads (batch, kv_heads, s, d) for grouped-query attention."""
    n_kv = key.shape[-3]
    if n_query_heads == n_kv:
        return key
    if n_query_heads % n_kv:
        raise HomogeneityInputError(
            f"{n_query_heads} query heads cannot share {n_kv} key/value heads"
        )
    return key.repeat_interleave(n_query_heads // n_kv, dim=-3)


def dot_product_attention(
    recorder: AttentionRecorder,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    *,
    scale: float,
    keep: torch.Tensor | None,
    bias: torch.Tensor | None,
    source: str,
    softcap: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(q kᵀ·scale + bias) v (or its saturated form) for (…, heads, L, d) inputs;
    with ``softcap`` c the scores are capped first, c·tanh(q kᵀ·scale / c) (Gemma-style
    models; the capped scores stay bounded, so they have no saturated form).
    Returns (output (…, heads, L, d_v), probabilities (…, heads, L, S))."""
    key = grouped(key, query.shape[-3])
    value = grouped(value, query.shape[-3])
    scores = torch.matmul(query, key.transpose(-1, -2)) * scale
    if softcap is not None:
        scores = torch.tanh(scores / softcap) * softcap
    if bias is not None:
        scores = scores + bias
    probs = recorder.probabilities(scores, keep, source)
    return torch.matmul(probs, value), probs
