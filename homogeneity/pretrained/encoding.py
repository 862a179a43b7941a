"""What both tokenizers of the package share: reading a ``tokenizer.json`` (with its own
truncation and fixed padding switched off) and checking that it fits the weights,
checking the texts a user passes, and right-padding the encodings of a batch to its
longest sequence."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from tokenizers import Tokenizer

from homogeneity.errors import HomogeneityInputError
from homogeneity.pretrained.files import CheckpointFileError


def read_tokenizer(path: str | Path) -> Tokenizer:
    """The ``tokenizers`` object of the file at ``path``, with the file's truncation and
    fixed padding switched off (a text longer than the model's positions must be an
    error, never silently cut; a batch is padded only to its longest sequence). Raises
    :class:`CheckpointFileError` when the file cannot be read."""
    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as exc:  # the library raises a bare Exception on bad files
        raise CheckpointFileError(
            f"tokenizer file {str(path)!r} cannot be read ({exc}); restore the "
            f"checkpoint's original tokenizer.json"
        ) from exc
    tok.no_truncation()
    tok.no_padding()
    return tok


def check_vocabulary_fits(tok: Tokenizer, path: str | Path, vocab_size: int) -> None:
    """Raises :class:`CheckpointFileError` when the tokenizer read from ``path`` can produce
    an id outside a token embedding of ``vocab_size`` rows (added tokens included)."""
    if tok.get_vocab_size(with_added_tokens=True) > vocab_size:
        raise CheckpointFileError(
            f"tokenizer file {str(path)!r} has {tok.get_vocab_size()} tokens but the "
            f"config's vocab_size is {vocab_size}: the tokenizer does not belong to "
            f"these weights"
        )


def token_text(tok: Tokenizer, token_id: int) -> str:
    """The token of an id ("?" for an id outside the vocabulary)."""
    text = tok.id_to_token(int(token_id))
    return "?" if text is None else text


def checked_texts(texts: str | Sequence[str]) -> list[str]:
    """``texts`` as a list (a lone string is one text). Raises
    :class:`HomogeneityInputError` for an empty list, a non-string, or an empty (or
    whitespace-only) text, naming its index."""
    items = [texts] if isinstance(texts, str) else list(texts)
    if not items:
        raise HomogeneityInputError("texts is empty; pass at least one sentence")
    for i, t in enumerate(items):
        if not isinstance(t, str):
            raise HomogeneityInputError(
                f"texts[{i}] is a {type(t).__name__}, not a string; pass plain text"
            )
        if not t.strip():
            raise HomogeneityInputError(
                f"texts[{i}] is empty (or only whitespace); remove it or give it words"
            )
    return items


def right_padded(ids: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids, mask), both (batch, longest): every sequence from position 0, the rest
    ``pad_id`` with mask False."""
    n = max(len(seq) for seq in ids)
    out = torch.full((len(ids), n), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), n), dtype=torch.bool)
    for i, seq in enumerate(ids):
        out[i, : len(seq)] = torch.tensor(list(seq), dtype=torch.long)
        mask[i, : len(seq)] = True
    return out, mask
