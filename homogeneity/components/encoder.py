"""A transformer encoder of any depth, built from the parts in this package.

    E = tok[ids] (+ pos[0..n) + type[type_ids]) (then an optional embedding norm)
    for each layer:  X ← Residual(MultiHeadAttention)(X);  X ← Residual(FeedForward)(X)
    optional final norm

:class:`EncoderConfig` covers the paper's bias-free "pre-norm" encoder of T1 (norm
``proof``, placement ``paper-prenorm``, ``bias=False``), BERT (``postnorm``,
``layernorm`` with ε, GeLU, biases, token-type embeddings and an embedding norm) and the
common Pre-LN stacks.

``saturated=True`` replaces every softmax by the generalised argmax, GeLU by ReLU, and ε
by 0 in the norms. That is exactly lim_{c→∞} f(x; cθ)/c for the bias-free paper-prenorm
encoder with the D9 norm (all pre-activations of saturating maps are homogeneous of
positive degree). With biases, ε, post-norm or Pre-LN the ray still has a limit direction
but it is in general a different function (lower-degree terms can break ties, and the
dominant term of a residual sum changes): there ``saturated=True`` is the "hardmax at θ"
proxy, and finite-ρ evaluation (:class:`homogeneity.scaling.Ray`) is the ground truth.

The D9 norm is undefined (NaN) on a constant row, e.g. a feed-forward branch whose ReLUs
are all inactive for a token; the checks report non-finite outputs instead of using them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import cast

import torch
from torch import nn

from homogeneity.components.attention import MultiHeadAttention
from homogeneity.components.context import ContextModule, ForwardContext
from homogeneity.components.feedforward import FeedForward
from homogeneity.components.init import ParameterFactory, example_ids
from homogeneity.components.linear import ClassifierHead, Embedding
from homogeneity.components.norms import NORMS, make_norm
from homogeneity.components.residual import PLACEMENTS, Residual
from homogeneity.constants import NormKind, Placement
from homogeneity.errors import HomogeneityInputError
from homogeneity.validation import check_sequence_not_empty


@dataclass(frozen=True)
class EncoderConfig:
    """Everything that fixes an encoder's architecture."""

    vocab_size: int = 32
    d_model: int = 16
    n_heads: int = 2
    d_head: int | None = None
    d_ff: int = 32
    n_layers: int = 2
    max_len: int = 64  # 0: no position embedding
    type_vocab_size: int = 0  # 0: no token-type embedding
    placement: str = Placement.PAPER_PRENORM
    norm: str = NormKind.PROOF
    norm_eps: float | None = None
    bias: bool = False
    activation: str = "relu"
    embedding_norm: bool = False
    final_norm: bool = False
    causal: bool = False

    def __post_init__(self) -> None:
        for name in ("vocab_size", "d_model", "n_heads", "d_ff"):
            if getattr(self, name) < 1:
                raise HomogeneityInputError(f"{name}={getattr(self, name)} must be ≥ 1")
        if self.n_layers < 0 or self.max_len < 0 or self.type_vocab_size < 0:
            raise HomogeneityInputError("n_layers, max_len and type_vocab_size must be ≥ 0")
        if self.placement not in PLACEMENTS:
            raise HomogeneityInputError(
                f"placement={self.placement!r} is unknown; pick one of {PLACEMENTS}"
            )
        if self.norm not in NORMS:
            raise HomogeneityInputError(f"norm={self.norm!r} is unknown; pick one of {NORMS}")
        if self.d_head is None and self.d_model % self.n_heads:
            raise HomogeneityInputError(
                f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}; "
                f"pass d_head explicitly"
            )

    def to_dict(self) -> dict:
        return asdict(self)


def _configured_norm(cfg: EncoderConfig, factory: ParameterFactory) -> nn.Module:
    """A norm of the configured kind over d_model, with the configured ε and bias."""
    return make_norm(cfg.norm, cfg.d_model, eps=cfg.norm_eps, bias=cfg.bias, **factory)


class EncoderLayer(ContextModule):
    """Attention sublayer then feed-forward sublayer, each in the configured placement."""

    def __init__(
        self,
        cfg: EncoderConfig,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        kw = ParameterFactory(dtype=dtype, device=device, generator=generator)
        self.attention = Residual(
            MultiHeadAttention(cfg.d_model, cfg.n_heads, cfg.d_head, cfg.bias, **kw),
            _configured_norm(cfg, kw),
            cfg.placement,
        )
        self.feedforward = Residual(
            FeedForward(cfg.d_model, cfg.d_ff, cfg.activation, cfg.bias, **kw),
            _configured_norm(cfg, kw),
            cfg.placement,
        )

    def forward_in(self, x: torch.Tensor, ctx: ForwardContext) -> torch.Tensor:
        # x: (B, T, d_model) -> (B, T, d_model)
        x = ctx.run(self.attention, x)
        return ctx.run(self.feedforward, x)

    def example_inputs(self) -> tuple[torch.Tensor]:
        """A small batch x (2, 4, d_model)."""
        return cast(FeedForward, self.feedforward.sublayer).example_inputs()


@dataclass
class EncoderOutput:
    """hidden_states[0] is the embedding output, hidden_states[i] the output of layer i
    (before the final norm; ``last`` has it applied). attentions[i]: (batch, heads, q, k)."""

    last: torch.Tensor
    hidden_states: list[torch.Tensor] = field(default_factory=list)
    attentions: list[torch.Tensor] = field(default_factory=list)


class Encoder(nn.Module):
    """Token ids (batch, seq) → hidden states (batch, seq, d_model)."""

    def __init__(
        self,
        cfg: EncoderConfig,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.config = cfg
        kw = ParameterFactory(dtype=dtype, device=device, generator=generator)
        self.tokens = Embedding(cfg.vocab_size, cfg.d_model, **kw)
        self.positions = Embedding(cfg.max_len, cfg.d_model, **kw) if cfg.max_len else None
        self.token_types = (
            Embedding(cfg.type_vocab_size, cfg.d_model, **kw) if cfg.type_vocab_size else None
        )
        self.embedding_norm = _configured_norm(cfg, kw) if cfg.embedding_norm else None
        self.layers = nn.ModuleList(EncoderLayer(cfg, **kw) for _ in range(cfg.n_layers))
        self.final_norm = _configured_norm(cfg, kw) if cfg.final_norm else None

    def embed(
        self, ids: torch.Tensor, token_type_ids: torch.Tensor | None = None, saturated: bool = False
    ) -> torch.Tensor:
        check_sequence_not_empty(ids, "ids", seq_dim=-1)
        x = self.tokens(ids)  # (B, T) -> (B, T, d_model)
        if self.positions is not None:
            n = ids.shape[-1]
            if n > self.config.max_len:
                raise HomogeneityInputError(
                    f"ids has length {n} > max_len={self.config.max_len}; truncate the "
                    f"sequence or build the encoder with a larger max_len"
                )
            x = x + self.positions.weight[:n]  # (T, d_model), broadcast over B
        if self.token_types is not None:
            types = torch.zeros_like(ids) if token_type_ids is None else token_type_ids
            x = x + self.token_types(types)
        if self.embedding_norm is not None:
            x = self.embedding_norm(x, saturated=saturated)
        return x

    def run(
        self,
        ids: torch.Tensor,
        padding_mask: torch.Tensor | None = None,
        *,
        token_type_ids: torch.Tensor | None = None,
        saturated: bool = False,
        tie_tol: float = 0.0,
        collect: bool = False,
    ) -> EncoderOutput:
        """Forward pass; with ``collect`` also every layer's hidden state and attention.

        ids: (B, T) token ids; padding_mask: (B, T), True for real tokens. The saturated
        form (argmax attention, ReLU for GeLU, ε = 0) is the same loop with one switch.
        """
        attentions: list[torch.Tensor] | None = [] if collect else None
        ctx = ForwardContext(padding_mask, self.config.causal, saturated, tie_tol, attentions)
        x = self.embed(ids, token_type_ids, saturated)  # (B, T, d_model)
        hidden = [x]
        for layer in self.layers:
            x = ctx.run(layer, x)  # (B, T, d_model)
            if collect:
                hidden.append(x)
        if self.final_norm is not None:
            x = ctx.run(self.final_norm, x)
        return EncoderOutput(x, hidden if collect else [], attentions or [])

    def forward(
        self,
        ids: torch.Tensor,
        padding_mask: torch.Tensor | None = None,
        *,
        token_type_ids: torch.Tensor | None = None,
        saturated: bool = False,
        tie_tol: float = 0.0,
    ) -> torch.Tensor:
        return self.run(
            ids, padding_mask, token_type_ids=token_type_ids, saturated=saturated, tie_tol=tie_tol
        ).last

    def example_inputs(self) -> tuple[torch.Tensor]:
        """Token ids (2, T), T = min(6, max_len) (6 without a position embedding)."""
        n = min(6, self.config.max_len) if self.config.max_len else 6
        return (example_ids(self.config.vocab_size, n, like=self.tokens.weight),)


class EncoderClassifier(nn.Module):
    """Encoder followed by :class:`ClassifierHead` (SPEC C1: a ∼1 encoder gives ∼2)."""

    def __init__(
        self,
        cfg: EncoderConfig,
        n_classes: int,
        pooling: str = "first",
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        kw = ParameterFactory(dtype=dtype, device=device, generator=generator)
        self.encoder = Encoder(cfg, **kw)
        self.head = ClassifierHead(cfg.d_model, n_classes, cfg.bias, pooling, **kw)

    def forward(
        self,
        ids: torch.Tensor,
        padding_mask: torch.Tensor | None = None,
        *,
        saturated: bool = False,
        tie_tol: float = 0.0,
    ) -> torch.Tensor:
        h = self.encoder(ids, padding_mask, saturated=saturated, tie_tol=tie_tol)  # (B, T, d)
        return self.head(h, padding_mask)  # (B, n_classes)

    def example_inputs(self) -> tuple[torch.Tensor]:
        """The encoder's example token ids."""
        return self.encoder.example_inputs()
