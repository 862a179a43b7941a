"""An adapter for any module, from two functions written by the user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from homogeneity.adapters.base import ModelAdapter
from homogeneity.adapters.batch import Batch, Trace
from homogeneity.errors import HomogeneityInputError
from homogeneity.scaling import Patterns


class FunctionAdapter(ModelAdapter):
    """Adapter for any module, from two functions.

    ``arguments(batch) -> (args, kwargs)`` builds the call; ``trace(output) -> Trace``
    reads hidden states and attentions off the output. Example for ``transformers``'
    ``BertModel``::

        FunctionAdapter(
            bert,
            arguments=lambda b: ((), dict(input_ids=b.ids, attention_mask=b.padding_mask.long(),
                                         output_hidden_states=True, output_attentions=True)),
            trace=lambda out: Trace(tuple(out.hidden_states), tuple(out.attentions)))

    No exact saturated forward is assumed (``supports_saturated`` False). For
    ``transformers`` models, ``torch.nn`` transformers and modules calling
    ``F.scaled_dot_product_attention``, :func:`homogeneity.adapters.adapter_for` gives an
    adapter that needs no functions and captures the attention itself.
    """

    def __init__(
        self,
        module: nn.Module,
        arguments: Callable[[Batch], tuple[tuple, dict]],
        trace: Callable[[Any], Trace],
        parameters: Patterns = None,
        causal: bool = False,
    ) -> None:
        if not isinstance(module, nn.Module):
            raise HomogeneityInputError(
                f"module must be a torch.nn.Module, got {type(module).__name__}"
            )
        self.module = module
        self.causal = causal
        self.scaled_parameters = parameters
        self._arguments = arguments
        self._trace = trace
        self.scaled_names()  # validate the patterns now

    def arguments(
        self, batch: Batch, saturated: bool = False, tie_tol: float = 0.0
    ) -> tuple[tuple, dict[str, Any]]:
        args, kwargs = self._arguments(batch)
        return tuple(args), dict(kwargs)

    def trace(self, output: Any) -> Trace:
        out = self._trace(output)
        if not isinstance(out, Trace):
            raise HomogeneityInputError(
                f"trace function returned {type(out).__name__}; it must return "
                f"homogeneity.adapters.Trace(hidden_states=..., attentions=...)"
            )
        return out

    def describe(self) -> dict[str, str]:
        return {
            "adapter": "FunctionAdapter",
            "attention": "what the user's trace function returns",
            "hidden_states": "what the user's trace function returns",
            "masks": "padding mask of the batch" + (", causal" if self.causal else ""),
        }
