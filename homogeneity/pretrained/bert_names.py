"""The parameter names of a BERT checkpoint and of our :class:`Encoder`, and their shapes.

=================================================  ===========================================
checkpoint (Hugging Face ``BertModel``)            ours (:class:`homogeneity.components.Encoder`)
=================================================  ===========================================
embeddings.word_embeddings.weight                  tokens.weight
embeddings.position_embeddings.weight              positions.weight
embeddings.token_type_embeddings.weight            token_types.weight
embeddings.LayerNorm.{weight,bias}                 embedding_norm.{weight,bias}
encoder.layer.i.attention.self.{query,key,value}   layers.i.attention.sublayer.{query,key,value}
encoder.layer.i.attention.output.dense             layers.i.attention.sublayer.output
encoder.layer.i.attention.output.LayerNorm         layers.i.attention.norm
encoder.layer.i.intermediate.dense                 layers.i.feedforward.sublayer.inner
encoder.layer.i.output.dense                       layers.i.feedforward.sublayer.outer
encoder.layer.i.output.LayerNorm                   layers.i.feedforward.norm
=================================================  ===========================================

A ``bert.`` prefix (task-head checkpoints) is stripped, and the old ``gamma``/``beta``
names of layer-norm parameters are read as ``weight``/``bias``. ``embeddings.position_ids``
(a buffer) and ``pooler.*`` (not part of the encoder) are ignored and reported; any other
extra name is an error.
"""

from __future__ import annotations

import re

from homogeneity.components.encoder import EncoderConfig

_LAYER_PARTS = {
    "attention.self.query": "attention.sublayer.query",
    "attention.self.key": "attention.sublayer.key",
    "attention.self.value": "attention.sublayer.value",
    "attention.output.dense": "attention.sublayer.output",
    "attention.output.LayerNorm": "attention.norm",
    "intermediate.dense": "feedforward.sublayer.inner",
    "output.dense": "feedforward.sublayer.outer",
    "output.LayerNorm": "feedforward.norm",
}
_EMBEDDING_PARTS = {
    "embeddings.word_embeddings.weight": "tokens.weight",
    "embeddings.position_embeddings.weight": "positions.weight",
    "embeddings.token_type_embeddings.weight": "token_types.weight",
    "embeddings.LayerNorm.weight": "embedding_norm.weight",
    "embeddings.LayerNorm.bias": "embedding_norm.bias",
}
_LAYER_NAME = re.compile(r"^encoder\.layer\.(\d+)\.(.+)\.(weight|bias)$")
#: checkpoint names that are not encoder parameters and are skipped on purpose
IGNORED_PATTERNS = (re.compile(r"^embeddings\.position_ids$"), re.compile(r"^pooler\."))


def normalise_checkpoint_name(name: str) -> str:
    """Strip a ``bert.`` prefix and rename ``LayerNorm.gamma/beta`` to ``weight/bias``."""
    name = name.removeprefix("bert.")
    if ".LayerNorm." in name or name.startswith("LayerNorm."):
        name = re.sub(r"\.gamma$", ".weight", name)
        name = re.sub(r"\.beta$", ".bias", name)
    return name


def is_ignored(name: str) -> bool:
    """True for checkpoint entries that are not encoder parameters (pooler, position ids)."""
    return any(p.search(normalise_checkpoint_name(name)) for p in IGNORED_PATTERNS)


def our_name(checkpoint_name: str) -> str | None:
    """Our parameter name for a checkpoint name, or None if it is not an encoder parameter."""
    name = normalise_checkpoint_name(checkpoint_name)
    if name in _EMBEDDING_PARTS:
        return _EMBEDDING_PARTS[name]
    m = _LAYER_NAME.match(name)
    if m and m.group(2) in _LAYER_PARTS:
        return f"layers.{m.group(1)}.{_LAYER_PARTS[m.group(2)]}.{m.group(3)}"
    return None


def expected_shapes(cfg: EncoderConfig) -> dict[str, tuple[int, ...]]:
    """Every parameter of ``Encoder(cfg)`` for a BERT config, with its shape.

    Computed from the config alone, so a checkpoint can be checked before anything is built.
    """
    d, ff = cfg.d_model, cfg.d_ff
    inner = cfg.n_heads * (cfg.d_head or d // cfg.n_heads)
    shapes: dict[str, tuple[int, ...]] = {"tokens.weight": (cfg.vocab_size, d)}
    if cfg.max_len:
        shapes["positions.weight"] = (cfg.max_len, d)
    if cfg.type_vocab_size:
        shapes["token_types.weight"] = (cfg.type_vocab_size, d)
    if cfg.embedding_norm:
        shapes.update({"embedding_norm.weight": (d,), "embedding_norm.bias": (d,)})
    for i in range(cfg.n_layers):
        p = f"layers.{i}"
        for proj in ("query", "key", "value"):
            shapes[f"{p}.attention.sublayer.{proj}.weight"] = (inner, d)
            shapes[f"{p}.attention.sublayer.{proj}.bias"] = (inner,)
        shapes[f"{p}.attention.sublayer.output.weight"] = (d, inner)
        shapes[f"{p}.attention.sublayer.output.bias"] = (d,)
        shapes[f"{p}.feedforward.sublayer.inner.weight"] = (ff, d)
        shapes[f"{p}.feedforward.sublayer.inner.bias"] = (ff,)
        shapes[f"{p}.feedforward.sublayer.outer.weight"] = (d, ff)
        shapes[f"{p}.feedforward.sublayer.outer.bias"] = (d,)
        for norm in ("attention.norm", "feedforward.norm"):
            shapes[f"{p}.{norm}.weight"] = (d,)
            shapes[f"{p}.{norm}.bias"] = (d,)
    return shapes
