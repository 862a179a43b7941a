"""Text → token ids with a checkpoint's own ``tokenizer.json`` (the ``tokenizers`` library).

The file's own truncation and fixed padding (all-MiniLM-L6-v2 ships ``max_length`` 128
and padding to 128) are switched off: a sequence longer than the model's position table
is an error, never silently cut, and a batch is right-padded only to its longest
sequence. Every sequence is ``[CLS] text [SEP]``, segment 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from homogeneity.adapters import Batch
from homogeneity.errors import HomogeneityInputError
from homogeneity.pretrained.encoding import (
    check_vocabulary_fits,
    checked_texts,
    read_tokenizer,
    right_padded,
    token_text,
)
from homogeneity.pretrained.files import CheckpointFileError


@dataclass(frozen=True)
class SpecialTokens:
    """Ids of the special tokens the analyses need."""

    cls: int
    sep: int
    pad: int


@dataclass(frozen=True)
class Tokenized:
    """A batch of texts: ids and masks, the word pieces, and the special-token ids."""

    batch: Batch
    tokens: tuple[tuple[str, ...], ...]
    texts: tuple[str, ...]
    special: SpecialTokens


class WordPieceTokenizer:
    """BERT tokenisation from a ``tokenizer.json`` file, with length checks.

    ``max_len`` is the model's position-table size; ``vocab_size`` the size of its token
    embedding (every id the tokenizer can produce must fit in it).
    """

    def __init__(self, path: str | Path, *, max_len: int, vocab_size: int) -> None:
        tok = read_tokenizer(path)
        ids = {}
        for role, token in (("cls", "[CLS]"), ("sep", "[SEP]"), ("pad", "[PAD]")):
            tid = tok.token_to_id(token)
            if tid is None:
                raise CheckpointFileError(
                    f"tokenizer file {str(path)!r} has no {token} token; it is not a BERT "
                    f"WordPiece tokenizer"
                )
            ids[role] = tid
        check_vocabulary_fits(tok, path, vocab_size)
        self._tok = tok
        self.max_len = max_len
        self.special = SpecialTokens(**ids)

    def token_text(self, token_id: int) -> str:
        """The word piece of an id ("?" for an id outside the vocabulary)."""
        return token_text(self._tok, token_id)

    def encode(
        self, texts: Sequence[str], *, device: torch.device | str | None = None
    ) -> Tokenized:
        """``[CLS] text [SEP]`` for every text, right-padded with [PAD] to the longest.

        Raises :class:`HomogeneityInputError` for an empty list, a non-string, an empty
        (or whitespace-only) text, or a text longer than ``max_len`` tokens.
        """
        texts = checked_texts(texts)
        encodings = self._tok.encode_batch(texts)
        for i, enc in enumerate(encodings):
            if len(enc.ids) <= 2:
                raise HomogeneityInputError(
                    f"texts[{i}]={texts[i][:40]!r} gives no word pieces; remove it"
                )
            if len(enc.ids) > self.max_len:
                raise HomogeneityInputError(
                    f"texts[{i}] is {len(enc.ids)} tokens long with [CLS] and [SEP], more "
                    f"than the model's max_len={self.max_len}; shorten or split that text"
                )
        ids, mask = right_padded([e.ids for e in encodings], self.special.pad)
        batch = Batch(ids, mask, torch.zeros_like(ids))
        if device is not None:
            batch = batch.to(device)
        tokens = tuple(tuple(e.tokens) for e in encodings)
        return Tokenized(batch, tokens, tuple(texts), self.special)
