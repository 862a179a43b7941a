"""Parameterised linear parts: linear map, embedding lookup, classifier head."""

from __future__ import annotations

import math

import torch
from torch import nn

from homogeneity import rules
from homogeneity.components.init import normal_
from homogeneity.errors import HomogeneityInputError
from homogeneity.rules import Degree, RuleContext


class Linear(nn.Module):
    """y = x Wᵀ + b. Degree: k → k+1 from W; a scaled bias adds a degree-1 term (D16)."""

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
        y = x @ self.weight.T
        return y + self.bias if self.bias is not None else y

    def degree_rule(self, d: Degree, ctx: RuleContext) -> Degree:
        out = rules.scale_by_parameter(d, ctx.scaled("weight"))
        if self.bias is not None:
            out = rules.add(out, rules.parameter_degree(ctx.scaled("bias")), "bias sum")
        return ctx.record("linear" + (" + bias" if self.bias is not None else ""), d, out)


class Embedding(nn.Module):
    """Lookup E[ids] into a parameter matrix: degree 1 in E whatever the ids (T1)."""

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
        return self.weight[ids]

    def degree_rule(self, d: Degree, ctx: RuleContext) -> Degree:
        return ctx.record("embedding lookup", d, rules.parameter_degree(ctx.scaled("weight")))


class ClassifierHead(nn.Module):
    """Pool the sequence (first token or masked mean) then a linear map to class scores.

    Pooling is linear and parameter-free, so the degree is that of the linear map (C1).
    """

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
        if self.pooling == "first":
            pooled = h[..., 0, :]
        elif padding_mask is None:
            pooled = h.mean(dim=-2)
        else:
            w = padding_mask.to(h.dtype)[..., None]
            pooled = (h * w).sum(dim=-2) / w.sum(dim=-2)
        return self.proj(pooled)

    def degree_rule(self, d: Degree, ctx: RuleContext) -> Degree:
        return self.proj.degree_rule(d, ctx.child("proj"))
