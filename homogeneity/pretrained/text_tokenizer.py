"""Text → token ids with any checkpoint's ``tokenizer.json`` (the ``tokenizers`` library),
for the ``transformers`` families (GPT-2 byte-level BPE, BERT WordPiece, RoBERTa, T5 and
Llama SentencePiece models saved as ``tokenizer.json``).

The file's own post-processor adds the family's special tokens (``[CLS] … [SEP]``,
``<s> … </s>``, ``… </s>``, ``<s> …``); its truncation and fixed padding are switched off:
a sequence longer than the model's position table is an error, never silently cut, and a
batch is right-padded to its longest sequence with the tokenizer's pad token (or the
config's ``pad_token_id``, or 0: padded positions are masked everywhere).
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

_PAD_NAMES = ("[PAD]", "<pad>", "<|pad|>", "<|endoftext|>")


@dataclass(frozen=True)
class EncodedTexts:
    """A right-padded batch of texts, their tokens, and the special tokens that occur."""

    batch: Batch
    tokens: tuple[tuple[str, ...], ...]
    texts: tuple[str, ...]
    special: dict[str, int]


class TextTokenizer:
    """A checkpoint's ``tokenizer.json``, with length and vocabulary checks.

    ``max_len``: the model's position-table size (None: no limit, e.g. rotary or relative
    positions); ``vocab_size``: the size of its token embedding; ``pad_id``: the config's
    ``pad_token_id`` when the tokenizer names no pad token.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        vocab_size: int,
        max_len: int | None = None,
        pad_id: int | None = None,
    ) -> None:
        tok = read_tokenizer(path)
        check_vocabulary_fits(tok, path, vocab_size)
        named = [tok.token_to_id(t) for t in _PAD_NAMES]
        self.pad_id = next((i for i in named if i is not None), pad_id if pad_id is not None else 0)
        specials = {t.content: i for i, t in tok.get_added_tokens_decoder().items() if t.special}
        self._tok = tok
        self._specials = specials
        self.max_len = max_len

    def token_text(self, token_id: int) -> str:
        """The token of an id ("?" for an id outside the vocabulary)."""
        return token_text(self._tok, token_id)

    def encode(
        self, texts: Sequence[str], *, device: torch.device | str | None = None
    ) -> EncodedTexts:
        """Every text with the family's special tokens, right-padded to the longest.

        Raises :class:`HomogeneityInputError` for an empty list, a non-string, an empty
        text, or a text longer than ``max_len`` tokens.
        """
        texts = checked_texts(texts)
        encodings = self._tok.encode_batch(texts)
        for i, enc in enumerate(encodings):
            if not enc.ids:
                raise HomogeneityInputError(f"texts[{i}]={texts[i][:40]!r} gives no tokens")
            if self.max_len is not None and len(enc.ids) > self.max_len:
                raise HomogeneityInputError(
                    f"texts[{i}] is {len(enc.ids)} tokens long with its special tokens, more "
                    f"than the model's {self.max_len} positions; shorten or split that text"
                )
        ids, mask = right_padded([e.ids for e in encodings], self.pad_id)
        batch = Batch.from_ids(ids, mask)
        if device is not None:
            batch = batch.to(device)
        seen = set(ids[mask].tolist())
        special = {name: i for name, i in self._specials.items() if i in seen}
        return EncodedTexts(batch, tuple(tuple(e.tokens) for e in encodings), tuple(texts), special)
