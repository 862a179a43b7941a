"""Parameterised linear parts: linear map, embedding lookup, classifier head.

Degrees (what :mod:`homogeneity.degree_engine` derives from these forwards): a linear map
adds one to its input's degree (D16); a bias is a degree-1 term of its own, so the map is
homogeneous only for a degree-0 input; an embedding lookup has degree 1 in its matrix
whatever the ids (T1); pooling is linear and parameter-free (C1).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from homogeneity.components.init import example_batch, example_ids, normal_
from homogeneity.errors import HomogeneityInputError


class Linear(nn.Module):
    """y = x Wᵀ + b."""

    def __init__(
        self,
        d_in: int,
        d_out: int,
        bias: bool = True,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(d_out, d_in, dtype=dtype, device=device))
        self.bias = nn.Parameter(torch.empty(d_out, dtype=dtype, device=device)) if bias else None
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """W ~ N(0, 1/d_in); b ~ N(0, 0.1²) (non-zero, so biases really break homogeneity)."""
        with torch.no_grad():
            d_in = self.weight.shape[1]
            normal_(self.weight, 0.0, 1.0 / math.sqrt(d_in), generator)
            if self.bias is not None:
                normal_(self.bias, 0.0, 0.1, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x @ self.weight.T  # (..., d_in) -> (..., d_out)
        return y + self.bias if self.bias is not None else y

    def example_inputs(self) -> tuple[torch.Tensor]:
        """A small batch x (2, 4, d_in) to run the map once on."""
        return example_batch(self.weight)


class Embedding(nn.Module):
    """Lookup E[ids] into a parameter matrix."""

    def __init__(
        self,
        n_embeddings: int,
        d: int,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_embeddings, d, dtype=dtype, device=device))
        with torch.no_grad():
            normal_(self.weight, 0.0, 1.0, generator)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if ids.dtype.is_floating_point or ids.dtype == torch.bool:
            raise HomogeneityInputError(
                f"ids must be an integer tensor of token indices, got dtype {ids.dtype}; "
                f"convert with ids.long()"
            )
        n = self.weight.shape[0]
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= n):
            raise HomogeneityInputError(
                f"ids must lie in [0, {n}); got range [{int(ids.min())}, {int(ids.max())}]"
            )
        return self.weight[ids]  # (B, T) -> (B, T, d)

    def example_inputs(self) -> tuple[torch.Tensor]:
        """Token ids (2, 4)."""
        return (example_ids(self.weight.shape[0], 4, like=self.weight),)


class ClassifierHead(nn.Module):
    """Pool the sequence (first token or masked mean) then a linear map to class scores."""

    def __init__(
        self,
        d_model: int,
        n_classes: int,
        bias: bool = True,
        pooling: str = "first",
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if pooling not in ("first", "mean"):
            raise HomogeneityInputError(f"pooling={pooling!r} must be 'first' or 'mean'")
        self.pooling = pooling
        self.proj = Linear(
            d_model, n_classes, bias, dtype=dtype, device=device, generator=generator
        )

    def forward(self, h: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        # h: (B, T, d_model); padding_mask: (B, T), True for real tokens
        if self.pooling == "first":
            pooled = h[..., 0, :]
        elif padding_mask is None:
            pooled = h.mean(dim=-2)
        else:
            w = padding_mask.to(h.dtype)[..., None]
            pooled = (h * w).sum(dim=-2) / w.sum(dim=-2)
        return self.proj(pooled)  # (B, d_model) -> (B, n_classes)

    def example_inputs(self) -> tuple[torch.Tensor]:
        """Hidden states h (2, 4, d_model)."""
        return example_batch(self.proj.weight)
