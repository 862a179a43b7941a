"""The primitive maps of the paper, one definition each, as plain torch functions.

These are the finite-ρ maps and their ρ→∞ limits side by side:

=====================  =====================================  ==========================
map                    finite form                            saturated form (ρ → ∞)
=====================  =====================================  ==========================
softmax over a row     exp(a_j) / Σ_k exp(a_k)                generalised argmax (D7)
sigmoid                1 / (1 + exp(−z))                      step: 1[z>0] + ½·1[z=0]
tanh                   tanh z                                 sign z
GeLU                   z Φ(z)                                 ReLU (lim GeLU(cz)/c)
layer norm, ε > 0      (x − μ)/sqrt(var + ε)                  ε → 0
=====================  =====================================  ==========================

All functions work on any floating dtype and device and on batched inputs.
"""

from __future__ import annotations

import math

import torch

from homogeneity.errors import HomogeneityInputError
from homogeneity.validation import check_mask_rows


def masked_softmax(scores: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
    """Row-wise softmax over the last dimension, with masked positions given weight 0.

    ``keep`` is boolean, broadcastable to ``scores``, True where attention is allowed.
    """
    if keep is not None:
        check_mask_rows(keep.expand_as(scores) if keep.shape != scores.shape else keep, "keep")
        scores = scores.masked_fill(~keep, float("-inf"))
    return torch.softmax(scores, dim=-1)


def hardmax(
    scores: torch.Tensor,
    keep: torch.Tensor | None = None,
    tie_tol: float = 0.0,
) -> torch.Tensor:
    """Generalised argmax (SPEC D7): uniform weight on the maximal positions of each row.

    M(a) = {j : a_j ≥ max_k a_k − tie_tol}, argmax(a)_j = 1/|M(a)| on M(a), 0 elsewhere.
    Masked positions (``keep`` False) never belong to M(a). With ``tie_tol = 0`` this is the
    exact limit lim_{c→∞} softmax(c·a); a positive ``tie_tol`` treats scores that differ by
    rounding as tied.

    A row with a visible score that is not finite (±inf from an overflow, or NaN) has no
    knowable maximiser set: its weights are NaN, so the breakdown propagates to the output
    instead of a finite but arbitrary choice among the overflowed positions.
    """
    if tie_tol < 0 or not math.isfinite(tie_tol):
        raise HomogeneityInputError(
            f"tie_tol={tie_tol!r} must be a finite number ≥ 0; pass 0.0 for exact ties"
        )
    broken = ~torch.isfinite(scores)
    if keep is not None:
        keep = keep.expand_as(scores)
        check_mask_rows(keep, "keep")
        broken = broken & keep
        scores = scores.masked_fill(~keep, float("-inf"))
    top = scores.amax(dim=-1, keepdim=True)
    in_max = scores >= top - tie_tol
    if keep is not None:
        in_max = in_max & keep
    weights = in_max.to(scores.dtype)
    weights = weights / weights.sum(dim=-1, keepdim=True)
    return weights.masked_fill(broken.any(dim=-1, keepdim=True), float("nan"))


def step(z: torch.Tensor) -> torch.Tensor:
    """lim_{c→∞} σ(cz): 1 for z > 0, 0 for z < 0, ½ at 0."""
    return (z > 0).to(z.dtype) + 0.5 * (z == 0).to(z.dtype)


def gelu(z: torch.Tensor) -> torch.Tensor:
    """Exact GeLU: z Φ(z) with Φ the standard normal CDF (erf form, as in BERT)."""
    return 0.5 * z * (1.0 + torch.erf(z / math.sqrt(2.0)))


def center(x: torch.Tensor) -> torch.Tensor:
    """x − μ(x) over the last dimension."""
    return x - x.mean(dim=-1, keepdim=True)


def proof_layer_norm(x: torch.Tensor) -> torch.Tensor:
    """The proofs' layer norm (SPEC D9): (x − μ) / ‖x − μ‖₂, no ε, no affine part.

    Exactly scale-invariant: LN(cx) = LN(x) for c > 0. Undefined (NaN) where x is constant.
    """
    centred = center(x)
    return centred / torch.linalg.vector_norm(centred, dim=-1, keepdim=True)


def standard_layer_norm(x: torch.Tensor, eps: float) -> torch.Tensor:
    """(x − μ) / sqrt(var(x) + ε), var the biased variance, as in torch and BERT."""
    centred = center(x)
    var = centred.pow(2).mean(dim=-1, keepdim=True)
    return centred / torch.sqrt(var + eps)


def rms_norm(x: torch.Tensor, eps: float) -> torch.Tensor:
    """T5's RMS norm without gain: x / sqrt(mean(x²) + ε)."""
    return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps)


def attention_keep_mask(
    n_queries: int,
    n_keys: int,
    padding_mask: torch.Tensor | None = None,
    causal: bool = False,
    device: torch.device | None = None,
) -> torch.Tensor | None:
    """Boolean mask (batch or 1, n_queries, n_keys), True where a query may attend.

    ``padding_mask`` is (batch, n_keys), True (or 1) for real tokens, False for padding.
    ``causal`` lets query i see keys j ≤ i. Returns None when nothing is masked.
    """
    causal_keep = None
    if causal:
        tri = torch.ones(n_queries, n_keys, dtype=torch.bool, device=device).tril()
        causal_keep = tri[None]
    if padding_mask is None:
        return causal_keep
    if padding_mask.dim() != 2 or padding_mask.shape[-1] != n_keys:
        raise HomogeneityInputError(
            f"padding_mask has shape {tuple(padding_mask.shape)}; expected (batch, "
            f"{n_keys}) with True for real tokens"
        )
    keep = padding_mask.bool()[:, None, :].expand(-1, n_queries, -1)
    if causal_keep is not None:
        keep = keep & causal_keep
    # name the caller's argument, not the internal mask
    check_mask_rows(keep, "padding_mask" + (" (with causal=True)" if causal else ""))
    return keep
