"""The package's own encoders in BERT's layout, for the tests and benchmarks that need a
model with every departure from homogeneity at once.

BERT's layout (:func:`bert_style_config`): post-norm residuals, a layer norm with ε =
1e-12 and a bias, biases everywhere, GeLU, two token types and a layer norm on the
embeddings. Only the sizes vary; :func:`bert_style_encoder` builds one in float64 (by
default) from a seeded generator.
"""

from __future__ import annotations

import torch

from homogeneity.components import Encoder, EncoderConfig

#: the sizes of :func:`bert_style_encoder` unless a test says otherwise
SMALL_SIZES = {"vocab_size": 40, "d_model": 16, "n_heads": 2, "d_ff": 32, "max_len": 16}


def bert_style_config(
    *, vocab_size: int, d_model: int, n_heads: int, d_ff: int, n_layers: int, max_len: int
) -> EncoderConfig:
    """An :class:`EncoderConfig` of the given sizes in BERT's layout."""
    return EncoderConfig(
        vocab_size=vocab_size,
        d_model=d_model,
        n_heads=n_heads,
        d_ff=d_ff,
        n_layers=n_layers,
        max_len=max_len,
        type_vocab_size=2,
        placement="postnorm",
        norm="layernorm",
        norm_eps=1e-12,
        bias=True,
        activation="gelu",
        embedding_norm=True,
    )


def bert_style_encoder(
    seed: int = 0, *, n_layers: int, dtype: torch.dtype = torch.float64, **sizes: int
) -> Encoder:
    """A small encoder in BERT's layout, initialised from ``Generator().manual_seed(seed)``;
    ``sizes`` override the defaults (40 tokens, width 16, 2 heads, FF 32, 16 positions)."""
    cfg = bert_style_config(n_layers=n_layers, **{**SMALL_SIZES, **sizes})
    return Encoder(cfg, dtype=dtype, generator=torch.Generator().manual_seed(seed))
