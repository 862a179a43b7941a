"""Feed-forward sublayer core of SPEC D12: W^f act(W^i X + b^i) + b^f.

The norm and residual of D12 (FF(X) = LN(W^f ReLU(W^i X)) + X in the paper) come from
:class:`homogeneity.components.residual.Residual`. With ReLU and no biases the core is
exactly (k+2)-homogeneous for an input of degree k (what
:mod:`homogeneity.degree_engine` derives from the forward); the saturated form only
replaces the activation by its own (GeLU → ReLU, σ → step, tanh → sign).
"""

from __future__ import annotations

import torch
from torch import nn

from homogeneity.components.activations import make_activation
from homogeneity.components.init import ParameterFactory, example_batch
from homogeneity.components.linear import Linear


class FeedForward(nn.Module):
    uses_context = ("saturated",)

    def __init__(
        self,
        d_model: int,
        d_ff: int,
        activation: str = "relu",
        bias: bool = False,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        kw = ParameterFactory(dtype=dtype, device=device, generator=generator)
        self.inner = Linear(d_model, d_ff, bias, **kw)
        self.activation = make_activation(activation)
        self.outer = Linear(d_ff, d_model, bias, **kw)

    def forward(self, x: torch.Tensor, saturated: bool = False) -> torch.Tensor:
        h = self.activation(self.inner(x), saturated=saturated)  # (B, T, d_ff)
        return self.outer(h)  # (B, T, d_model)

    def example_inputs(self) -> tuple[torch.Tensor]:
        """A small batch x (2, 4, d_model)."""
        return example_batch(self.inner.weight)
