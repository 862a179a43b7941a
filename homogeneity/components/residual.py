"""The three residual placements of SPEC D13, around any sublayer F and norm N.

=================  ===================  ================================================
placement          map                  name elsewhere
=================  ===================  ================================================
``paper-prenorm``  X + N(F(X))          the paper's "pre-norm" (D11, D12, T1)
``postnorm``       N(X + F(X))          original Transformer, BERT
``pre-ln``         X + F(N(X))          what most codebases call Pre-LN (GPT-2, T5)
=================  ===================  ================================================

Degrees follow by composition (:mod:`homogeneity.degree_engine`): for X of degree 1,
``paper-prenorm`` with a gained norm gives 1 + 1 → 1, while ``postnorm`` adds X (degree 1)
to F(X) (degree ≥ 2) before normalising, and ``pre-ln`` adds X to a term of degree ≥ 2:
neither is homogeneous.
"""

from __future__ import annotations

import torch
from torch import nn

from homogeneity.components.context import ContextModule, ForwardContext
from homogeneity.constants import PLACEMENTS, Placement
from homogeneity.errors import HomogeneityInputError


class Residual(ContextModule):
    """A sublayer F and a norm N in one of the placements of D13.

    F and N are called with the parts of the forward call they declare in
    ``uses_context`` (see :class:`~homogeneity.components.context.ForwardContext`).
    """

    def __init__(self, sublayer: nn.Module, norm: nn.Module, placement: str) -> None:
        super().__init__()
        if placement not in PLACEMENTS:
            raise HomogeneityInputError(
                f"placement={placement!r} is unknown; pick one of {PLACEMENTS}"
            )
        self.placement = placement
        self.sublayer = sublayer
        self.norm = norm

    def forward_in(self, x: torch.Tensor, ctx: ForwardContext) -> torch.Tensor:
        # x: (B, T, d_model) -> (B, T, d_model)
        if self.placement == Placement.PAPER_PRENORM:
            return x + ctx.run(self.norm, ctx.run(self.sublayer, x))
        if self.placement == Placement.POSTNORM:
            return ctx.run(self.norm, x + ctx.run(self.sublayer, x))
        return x + ctx.run(self.sublayer, ctx.run(self.norm, x))

    def example_inputs(self) -> tuple:
        """The sublayer's example inputs (see :func:`homogeneity.degree_engine.example_inputs`)."""
        from homogeneity.degree_engine.examples import example_inputs

        return example_inputs(self.sublayer)
