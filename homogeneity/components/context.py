"""What the sublayers of one forward pass share, in one small object.

A transformer's sublayers need different parts of the same call: attention needs the
padding mask, causality and (for the saturated form) the tie tolerance and where to put
its weights; a feed-forward block or a norm only needs the switch to the saturated (ρ→∞)
form. Each component says which fields it takes in ``uses_context``, and
:meth:`ForwardContext.run` calls it with exactly those, as keyword arguments, so no flag
is threaded through ``**kwargs``. A component that takes them all (attention, a residual
sublayer, an encoder layer) is a :class:`ContextModule`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

#: every field of the context, for components that pass the whole call on
ALL_FIELDS = ("padding_mask", "causal", "saturated", "tie_tol", "attention_sink")


@dataclass(frozen=True)
class ForwardContext:
    """One forward call's settings.

    ``padding_mask`` (batch, seq) is True for real tokens; ``causal`` lets query i see
    keys j ≤ i; ``saturated`` selects the ρ→∞ form (argmax attention, step/sign/ReLU
    activations, ε = 0 in the norms); ``tie_tol`` is the argmax tie tolerance;
    ``attention_sink``, if a list, receives every attention's weights
    (batch, heads, queries, keys).
    """

    padding_mask: torch.Tensor | None = None
    causal: bool = False
    saturated: bool = False
    tie_tol: float = 0.0
    attention_sink: list[torch.Tensor] | None = None

    def run(self, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """``module(x, **fields)`` with the fields ``module.uses_context`` names (none for
        a module that does not declare any, e.g. a plain torch layer)."""
        fields = getattr(module, "uses_context", ())
        return module(x, **{name: getattr(self, name) for name in fields})


class ContextModule(nn.Module):
    """A component that takes every field of the forward context.

    ``forward(x, padding_mask, *, causal, saturated, tie_tol, attention_sink)`` gathers
    them into one :class:`ForwardContext` and calls :meth:`forward_in`, the component's map
    of ``x`` (batch, seq, d) in that context.
    """

    uses_context = ALL_FIELDS

    def forward(
        self,
        x: torch.Tensor,
        padding_mask: torch.Tensor | None = None,
        *,
        causal: bool = False,
        saturated: bool = False,
        tie_tol: float = 0.0,
        attention_sink: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        ctx = ForwardContext(padding_mask, causal, saturated, tie_tol, attention_sink)
        return self.forward_in(x, ctx)

    def forward_in(self, x: torch.Tensor, ctx: ForwardContext) -> torch.Tensor:
        raise NotImplementedError
