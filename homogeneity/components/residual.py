"""The three residual placements of SPEC D13, around any sublayer F and norm N.

=================  ===================  ================================================
placement          map                  name elsewhere
=================  ===================  ================================================
``paper-prenorm``  X + N(F(X))          the paper's "pre-norm" (D11, D12, T1)
``postnorm``       N(X + F(X))          original Transformer, BERT
``pre-ln``         X + F(N(X))          what most codebases call Pre-LN (GPT-2, T5)
=================  ===================  ================================================

Degree rules follow by composition: for X of degree 1, ``paper-prenorm`` with a gained
norm gives 1 + 1 → 1, while ``postnorm`` adds X (degree 1) to F(X) (degree ≥ 2) before
normalising, and ``pre-ln`` adds X to a term of degree ≥ 2: neither is homogeneous.
"""

from __future__ import annotations

import torch
from torch import nn

from homogeneity import rules
from homogeneity.constants import PLACEMENTS, Placement
from homogeneity.errors import HomogeneityInputError
from homogeneity.rules import Degree, RuleContext


class Residual(nn.Module):
    def __init__(self, sublayer: nn.Module, norm: nn.Module, placement: str) -> None:
        super().__init__()
        if placement not in PLACEMENTS:
            raise HomogeneityInputError(
                f"placement={placement!r} is unknown; pick one of {PLACEMENTS}"
            )
        self.placement = placement
        self.sublayer = sublayer
        self.norm = norm

    def forward(
        self,
        x: torch.Tensor,
        padding_mask: torch.Tensor | None = None,
        *,
        saturated: bool = False,
        **kw: object,
    ) -> torch.Tensor:
        def branch(z: torch.Tensor) -> torch.Tensor:
            return self.sublayer(z, padding_mask, saturated=saturated, **kw)

        def norm(z: torch.Tensor) -> torch.Tensor:
            return self.norm(z, saturated=saturated)

        if self.placement == Placement.PAPER_PRENORM:
            return x + norm(branch(x))
        if self.placement == Placement.POSTNORM:
            return norm(x + branch(x))
        return x + branch(norm(x))

    def degree_rule(self, d: Degree, ctx: RuleContext) -> Degree:
        sub, nrm = ctx.child("sublayer"), ctx.child("norm")
        if self.placement == Placement.PAPER_PRENORM:
            out = rules.add(
                d, self.norm.degree_rule(self.sublayer.degree_rule(d, sub), nrm), "residual sum"
            )
        elif self.placement == Placement.POSTNORM:
            out = self.norm.degree_rule(
                rules.add(d, self.sublayer.degree_rule(d, sub), "residual sum"), nrm
            )
        else:
            out = rules.add(
                d, self.sublayer.degree_rule(self.norm.degree_rule(d, nrm), sub), "residual sum"
            )
        return ctx.record(f"residual ({self.placement})", d, out)
