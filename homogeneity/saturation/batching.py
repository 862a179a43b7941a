"""Evaluating many batches: length buckets, token-weighted means, per-layer cosines."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from homogeneity.adapters import Batch
from homogeneity.errors import HomogeneityInputError
from homogeneity.saturation.level import mean_token_cosine


def length_buckets(batch: Batch, batch_size: int = 16) -> list[tuple[torch.Tensor, Batch]]:
    """Split ``batch`` into sub-batches of similar length (sorted by length, each trimmed
    to its longest sequence), so little compute goes to padding. Returns (rows, sub-batch)
    pairs; ``rows`` index the original batch."""
    if batch_size < 1:
        raise HomogeneityInputError(f"batch_size={batch_size} must be ≥ 1")
    order = torch.argsort(batch.lengths.cpu(), stable=True)
    return [
        (order[i : i + batch_size], batch.select(order[i : i + batch_size]))
        for i in range(0, len(order), batch_size)
    ]


class TokenMean:
    """Running token-weighted means per layer, across batches."""

    def __init__(self) -> None:
        self.sums: list[float] = []
        self.count = 0

    def add(self, values: Sequence[float], n: int) -> None:
        if not self.sums:
            self.sums = [0.0] * len(values)
        self.sums = [s + v * n for s, v in zip(self.sums, values, strict=True)]
        self.count += n

    def means(self) -> tuple[float, ...]:
        return tuple(s / self.count for s in self.sums)


def layer_cosines(
    a: list[torch.Tensor], b: list[torch.Tensor], mask: torch.Tensor, where: str
) -> list[float]:
    return [
        mean_token_cosine(x, y, mask, where=f"{where}, layer {layer}")
        for layer, (x, y) in enumerate(zip(a, b, strict=True))
    ]
