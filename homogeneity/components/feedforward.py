"""Feed-forward sublayer core of SPEC D12: W^f act(W^i X + b^i) + b^f.

The norm and residual of D12 (FF(X) = LN(W^f ReLU(W^i X)) + X in the paper) come from
:class:`homogeneity.components.residual.Residual`. With ReLU and no biases the core is
exactly (k+2)-homogeneous for an input of degree k.
"""

from __future__ import annotations

import torch
from torch import nn

from homogeneity import rules
from homogeneity.components.activations import make_activation
from homogeneity.components.linear import Linear
from homogeneity.rules import Degree, RuleContext


class FeedForward(nn.Module):
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
        kw = dict(dtype=dtype, device=device, generator=generator)
        self.inner = Linear(d_model, d_ff, bias, **kw)
        self.activation = make_activation(activation)
        self.outer = Linear(d_ff, d_model, bias, **kw)

    def forward(
        self,
        x: torch.Tensor,
        padding_mask: torch.Tensor | None = None,
        *,
        saturated: bool = False,
        **_: object,
    ) -> torch.Tensor:
        return self.outer(self.activation(self.inner(x), saturated=saturated))

    def degree_rule(self, d: Degree, ctx: RuleContext) -> Degree:
        out = self.inner.degree_rule(d, ctx.child("inner"))
        out = rules.module_degree(self.activation, out, ctx.child("activation"))
        out = self.outer.degree_rule(out, ctx.child("outer"))
        return ctx.record("feed-forward", d, out)
