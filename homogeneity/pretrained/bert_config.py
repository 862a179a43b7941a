"""A BERT ``config.json`` → :class:`homogeneity.components.EncoderConfig`.

BERT is a post-norm encoder (D13 ``postnorm``) with standard layer norm (ε from the
config), exact erf GeLU, biases everywhere, token-type embeddings and a norm after the
embedding sum. Anything this port does not reproduce exactly (relative positions, other
activations, decoders, cross-attention) is refused, naming the field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from homogeneity.components.encoder import EncoderConfig
from homogeneity.pretrained.files import CheckpointFileError

#: fields a BERT config.json must have, with their types
REQUIRED_FIELDS: dict[str, type] = {
    "vocab_size": int,
    "hidden_size": int,
    "num_hidden_layers": int,
    "num_attention_heads": int,
    "intermediate_size": int,
    "max_position_embeddings": int,
    "type_vocab_size": int,
    "layer_norm_eps": float,
}


def read_config(path: str | Path) -> dict[str, Any]:
    """The JSON object of ``config.json`` (clear error when unreadable)."""
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except json.JSONDecodeError as exc:
        raise CheckpointFileError(
            f"config file {str(path)!r} is not valid JSON ({exc}); restore the original "
            f"config.json of the checkpoint"
        ) from exc
    if not isinstance(raw, dict):
        raise CheckpointFileError(f"config file {str(path)!r} must hold a JSON object")
    return raw


def encoder_config(raw: Mapping[str, Any], *, source: str = "config.json") -> EncoderConfig:
    """The :class:`EncoderConfig` that reproduces a BERT config exactly."""
    model_type = raw.get("model_type", "bert")
    if model_type != "bert":
        raise CheckpointFileError(
            f"{source}: model_type={model_type!r}; only 'bert' checkpoints are ported "
            f"(RoBERTa-style position offsets and other families are not reproduced)"
        )
    for name, kind in REQUIRED_FIELDS.items():
        if name not in raw:
            raise CheckpointFileError(f"{source} lacks the field {name!r}; add it")
        value = raw[name]
        ok = isinstance(value, (int, float)) if kind is float else isinstance(value, int)
        if not ok or isinstance(value, bool):
            raise CheckpointFileError(f"{source}: {name}={value!r} must be a {kind.__name__}")
    act = raw.get("hidden_act", "gelu")
    if act != "gelu":
        raise CheckpointFileError(
            f"{source}: hidden_act={act!r}; only 'gelu' (exact erf GeLU) is ported"
        )
    pos = raw.get("position_embedding_type", "absolute")
    if pos != "absolute":
        raise CheckpointFileError(
            f"{source}: position_embedding_type={pos!r}; only 'absolute' is ported"
        )
    for flag in ("is_decoder", "add_cross_attention"):
        if raw.get(flag, False):
            raise CheckpointFileError(f"{source}: {flag}=true; only encoders are ported")
    d, heads = raw["hidden_size"], raw["num_attention_heads"]
    if heads < 1 or d % heads:
        raise CheckpointFileError(
            f"{source}: hidden_size={d} is not divisible by num_attention_heads={heads}"
        )
    eps = float(raw["layer_norm_eps"])
    if not eps >= 0:
        raise CheckpointFileError(f"{source}: layer_norm_eps={eps!r} must be ≥ 0")
    return EncoderConfig(
        vocab_size=raw["vocab_size"],
        d_model=d,
        n_heads=heads,
        d_head=d // heads,
        d_ff=raw["intermediate_size"],
        n_layers=raw["num_hidden_layers"],
        max_len=raw["max_position_embeddings"],
        type_vocab_size=raw["type_vocab_size"],
        placement="postnorm",
        norm="layernorm",
        norm_eps=eps,
        bias=True,
        activation="gelu",
        embedding_norm=True,
        final_norm=False,
        causal=False,
    )
