"""Any ``transformers`` checkpoint folder (GPT-2, BERT, RoBERTa, T5, Llama, …) for the
saturation analyses: ``config.json``, ``model.safetensors`` (no pickle) and
``tokenizer.json``, read from disk only (nothing is downloaded).

The random-init copy is built by the family's own initialisation, ``AutoModel.from_config``,
drawn under a seed with the global RNG saved and restored (``torch.random.fork_rng``), so
it is reproducible and leaves the caller's random state alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from homogeneity.adapters import HuggingFaceAdapter
from homogeneity.errors import HomogeneityInputError
from homogeneity.pretrained.files import CheckpointFileError, CheckpointFiles
from homogeneity.pretrained.text_tokenizer import TextTokenizer

#: the families the tests build a checkpoint folder of and run end to end
TESTED_FAMILIES = ("gpt2", "bert", "roberta", "t5", "llama")


def _transformers() -> Any:
    try:
        import transformers
    except ModuleNotFoundError as exc:  # pragma: no cover - transformers is a test dependency
        raise HomogeneityInputError(
            "reading a transformers checkpoint needs the 'transformers' package; install "
            "the package's 'hf' extra"
        ) from exc
    return transformers


def read_raw_config(path: Path) -> dict[str, Any]:
    """config.json as a dict, with a clear error for a missing or broken file."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointFileError(f"config file {str(path)!r} cannot be read: {exc}") from exc
    if not isinstance(raw, dict) or "model_type" not in raw:
        raise CheckpointFileError(
            f"config file {str(path)!r} has no model_type; it is not a transformers config"
        )
    return raw


def _max_positions(config: Any) -> int | None:
    for key in ("n_positions", "max_position_embeddings"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            offset = 2 if getattr(config, "model_type", "") == "roberta" else 0
            return value - offset
    return None  # relative (T5) or rotary positions with no table


@dataclass
class TransformersCheckpoint:
    """A loaded checkpoint: the model (eval mode), its config, its tokenizer, its files."""

    model: nn.Module
    files: CheckpointFiles
    raw_config: dict[str, Any]
    tokenizer: TextTokenizer

    @property
    def family(self) -> str:
        return str(self.raw_config.get("model_type", "?"))

    def adapter(self) -> HuggingFaceAdapter:
        return HuggingFaceAdapter(self.model)

    def random_init(self, seed: int, *, dtype: torch.dtype | None = None) -> nn.Module:
        """A copy of the architecture with the family's own initialisation, under ``seed``."""
        transformers = _transformers()
        config = self.model.config
        device = next(self.model.parameters()).device
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = transformers.AutoModel.from_config(config)
        if dtype is not None:
            model = model.to(dtype)
        return model.to(device).eval()

    def random_init_description(self, seed: int) -> str:
        return (
            f"{type(self.model).__name__} built from config.json by AutoModel.from_config "
            f"(the family's own _init_weights), torch.manual_seed({seed}) inside "
            f"torch.random.fork_rng"
        )


def load_transformers_checkpoint(
    folder: str | Path, *, device: torch.device | str | None = None
) -> TransformersCheckpoint:
    """Load a checkpoint folder with ``transformers`` (safetensors only, local files only)."""
    files = CheckpointFiles.in_folder(folder)
    raw = read_raw_config(files.config)
    transformers = _transformers()
    bars = transformers.utils.logging
    quiet = not bars.is_progress_bar_enabled()
    bars.disable_progress_bar()  # no loading bar on stderr; restored below
    try:
        model = transformers.AutoModel.from_pretrained(
            str(files.folder), local_files_only=True, use_safetensors=True
        )
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise CheckpointFileError(
            f"transformers cannot load {str(files.folder)!r} as a {raw['model_type']!r} "
            f"model: {' '.join(str(exc).split())[:300]}"
        ) from exc
    finally:
        if not quiet:
            bars.enable_progress_bar()
    model = model.to(device).eval() if device is not None else model.eval()
    config = model.config
    vocab = int(getattr(config, "vocab_size", 0) or 0)
    tokenizer = TextTokenizer(
        files.tokenizer,
        vocab_size=vocab,
        max_len=_max_positions(config),
        pad_id=getattr(config, "pad_token_id", None),
    )
    return TransformersCheckpoint(model, files, raw, tokenizer)
