"""A small causal transformer language model built from :mod:`homogeneity.components`.

    logits = W_out · Encoder_causal(ids)        (W_out: a Linear map d_model → vocab)

The encoder is :class:`homogeneity.components.Encoder` with ``causal=True``, in any of the
three residual placements of D13. With the paper's setting (``norm="proof"``,
``bias=False``, placement ``paper-prenorm``) the encoder is ∼1 in its parameters (T1) and
the logits ∼2 (C1), as :func:`homogeneity.predict_degree` derives from the forward (on
:meth:`CausalLM.example_inputs` when no inputs are given).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from homogeneity.components import Encoder, EncoderConfig, Linear
from homogeneity.components.init import ParameterFactory
from homogeneity.components.residual import PLACEMENTS
from homogeneity.errors import HomogeneityInputError


@dataclass(frozen=True)
class LMConfig:
    """Architecture of the small LM. ``final_norm=None`` means: a final norm for ``pre-ln``
    (whose residual stream is otherwise never normalised), none for the other two."""

    vocab_size: int
    d_model: int = 64
    n_heads: int = 4
    d_ff: int = 128
    n_layers: int = 2
    max_len: int = 64
    placement: str = "paper-prenorm"
    norm: str = "layernorm"
    bias: bool = True
    activation: str = "relu"
    final_norm: bool | None = None

    def __post_init__(self) -> None:
        if self.placement not in PLACEMENTS:
            raise HomogeneityInputError(
                f"placement={self.placement!r} is unknown; pick one of {PLACEMENTS}"
            )
        if self.vocab_size < 2:
            raise HomogeneityInputError(f"vocab_size={self.vocab_size} must be ≥ 2")

    def encoder_config(self) -> EncoderConfig:
        final = self.placement == "pre-ln" if self.final_norm is None else self.final_norm
        return EncoderConfig(
            vocab_size=self.vocab_size,
            d_model=self.d_model,
            n_heads=self.n_heads,
            d_ff=self.d_ff,
            n_layers=self.n_layers,
            max_len=self.max_len,
            placement=self.placement,
            norm=self.norm,
            bias=self.bias,
            activation=self.activation,
            final_norm=final,
            causal=True,
        )

    def to_dict(self) -> dict:
        return asdict(self)


class CausalLM(nn.Module):
    """ids (batch, seq) → next-token logits (batch, seq, vocab).

    ``forward(ids, layers=True)`` returns the list [h_1, …, h_L, logits] (each layer's
    output, then the logits), which is what the saturation level is measured on per layer.
    """

    def __init__(
        self,
        cfg: LMConfig,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.config = cfg
        kw = ParameterFactory(dtype=dtype, device=device, generator=generator)
        self.encoder = Encoder(cfg.encoder_config(), **kw)
        self.head = Linear(cfg.d_model, cfg.vocab_size, cfg.bias, **kw)

    def forward(self, ids: torch.Tensor, layers: bool = False) -> torch.Tensor | list[torch.Tensor]:
        if not layers:
            return self.head(self.encoder(ids))
        out = self.encoder.run(ids, collect=True)
        return out.hidden_states[1:] + [self.head(out.last)]

    def example_inputs(self) -> tuple[torch.Tensor]:
        """The encoder's example token ids (2, T)."""
        return self.encoder.example_inputs()


def lm_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy."""
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def parameter_groups(model: CausalLM) -> dict[str, list[str]]:
    """The groups the experiments track (glob patterns over parameter names).

    ``all``; ``encoder-no-emb``: the non-scalar encoder parameters without embeddings, the
    set whose norm E1 reports for T5 (matrices and vectors of every block); ``embeddings``;
    ``head``; and ``layer.i`` for every block.
    """
    names = [n for n, _ in model.named_parameters()]
    groups: dict[str, list[str]] = {"all": ["*"], "encoder-no-emb": ["encoder.layers.*"]}
    if any(n.startswith("encoder.final_norm.") for n in names):
        groups["encoder-no-emb"].append("encoder.final_norm.*")
    groups["embeddings"] = [
        p for p in ("encoder.tokens.weight", "encoder.positions.weight") if p in names
    ]
    groups["head"] = ["head.*"]
    for i in range(model.config.n_layers):
        groups[f"layer.{i}"] = [f"encoder.layers.{i}.*"]
    return groups
