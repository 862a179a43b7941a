"""What both tokenizers of the package share: checking the texts a user passes, and
right-padding the encodings of a batch to its longest sequence."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from homogeneity.errors import HomogeneityInputError


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
