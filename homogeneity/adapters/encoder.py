"""The adapter of the package's own :class:`~homogeneity.components.Encoder` (and of every
checkpoint ported by :mod:`homogeneity.pretrained`, e.g. MiniLM)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from homogeneity.adapters.base import ModelAdapter
from homogeneity.adapters.batch import Batch, Trace
from homogeneity.components.encoder import Encoder, EncoderOutput
from homogeneity.errors import HomogeneityInputError
from homogeneity.scaling import Patterns, select_parameter_names


class _TracedEncoder(nn.Module):
    """Calls :meth:`Encoder.run` with ``collect=True`` so a functional call sees every layer."""

    def __init__(self, encoder: Encoder) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(
        self,
        ids: torch.Tensor,
        padding_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        *,
        saturated: bool = False,
        tie_tol: float = 0.0,
    ) -> EncoderOutput:
        return self.encoder.run(
            ids,
            padding_mask,
            token_type_ids=token_type_ids,
            saturated=saturated,
            tie_tol=tie_tol,
            collect=True,
        )


class EncoderAdapter(ModelAdapter):
    """Adapter for :class:`homogeneity.components.Encoder` (also every ported checkpoint).

    ``parameters``: glob patterns over the *encoder's* parameter names
    (``tokens.weight``, ``layers.0.attention.sublayer.query.weight``, ...); None scales all
    of them. The hidden states are ``EncoderOutput.hidden_states`` (embedding output, then
    every layer); a final norm, if configured, is appended as one more "layer".
    """

    supports_saturated = True

    def __init__(self, encoder: Encoder, parameters: Patterns = None) -> None:
        if not isinstance(encoder, Encoder):
            raise HomogeneityInputError(
                f"encoder must be a homogeneity.components.Encoder, got "
                f"{type(encoder).__name__}; for other modules use FunctionAdapter"
            )
        self.encoder = encoder
        self.module = _TracedEncoder(encoder)
        self.causal = encoder.config.causal
        names = [n for n, _ in encoder.named_parameters()]
        if parameters is None:
            self.scaled_parameters = None
        else:
            own = select_parameter_names(names, parameters)  # validates against own names
            self.scaled_parameters = [f"encoder.{n}" for n in own]

    def arguments(
        self, batch: Batch, saturated: bool = False, tie_tol: float = 0.0
    ) -> tuple[tuple, dict[str, Any]]:
        if batch.ids is None:
            raise HomogeneityInputError(
                "the Encoder takes token ids: build the batch with Batch.from_ids(ids, mask)"
            )
        types = batch.token_type_ids
        return (batch.ids, batch.padding_mask, types), {"saturated": saturated, "tie_tol": tie_tol}

    def trace(self, output: EncoderOutput) -> Trace:
        hidden = list(output.hidden_states)
        if self.encoder.final_norm is not None:
            hidden.append(output.last)
        return Trace(tuple(hidden), tuple(output.attentions))

    def scaled_names(self) -> list[str]:
        return [n.removeprefix("encoder.") for n in self.module_scaled_names()]

    def describe(self) -> dict[str, str]:
        n = self.encoder.config.n_layers
        return {
            "adapter": "EncoderAdapter",
            "attention": "the components' own attention (probabilities returned by the forward)",
            "hidden_states": f"embedding output + {n} layer outputs"
            + (" + final norm" if self.encoder.final_norm is not None else ""),
            "masks": "padding mask of the batch" + (", causal" if self.causal else ""),
            "saturated": "the components' saturated forward (hardmax, ReLU, ε = 0)",
        }
