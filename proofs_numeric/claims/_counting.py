"""A saturated two-layer encoder, built by hand from the package's attention heads, that
recognises aⁿbⁿ (n ≥ 1) among the non-empty strings over {a, b} (S2).

Residual stream (d = 7), one row per token:

=====  ===========  ======================================================================
dim    name         written by
=====  ===========  ======================================================================
0, 1   is_a, is_b   the embedding (one-hot symbol)
2      one          the embedding (constant 1)
3      seen_b       head 1, causal argmax head: query ``one``, key and value ``is_b``.
                    Saturated, it attends the b's of the prefix if there are any (value
                    1) and otherwise ties over the whole prefix (value 0): seen_b_i =
                    1[some b at a position ≤ i], exactly
4      disorder     feed-forward: |seen_b − is_b| = ReLU(seen_b − is_b) + ReLU(is_b −
                    seen_b): 1 exactly at an a that follows a b
5, 6   balance,     head 2, a mean head (W^q = W^k = 0, so every visible score ties):
       mixed        (1/n) Σ_j (is_a − is_b)_j = (#a − #b)/n and (1/n) Σ_j disorder_j
=====  ===========  ======================================================================

Read-out at the first position: score = τ − |balance| − mixed with τ = 1/24. A string
is in aⁿbⁿ iff it is in a*b* (mixed = 0) and #a = #b (balance = 0). Otherwise
|balance| ≥ 1/n or mixed ≥ 1/n, so with n ≤ 12 the exact score is τ for members and at
most −τ for the others: ``score·(±1)/τ`` ≥ 1 on every string is the decision margin.

Both heads are :class:`homogeneity.components.AttentionHead` modules, run with
``saturated=True`` (the generalised argmax of D7) and the package's masks (padding on the
right, causal for head 1). With the softmax instead (``saturated=False``) seen_b is a
fraction strictly below 1 and members are rejected: the recogniser needs saturation.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction

import torch
from torch import nn

from homogeneity.components import AttentionHead
from proofs_numeric.claims._exact_heads import package_head

D_MODEL = 7
IS_A, IS_B, ONE, SEEN_B, DISORDER, BALANCE, MIXED = range(D_MODEL)
SYMBOLS = "ab"
MAX_LENGTH = 12
#: the acceptance threshold: half the smallest |balance| + mixed of a non-member (1/12)
TAU = Fraction(1, 24)


def _unit(*dims: int, scale: float = 1.0) -> list[float]:
    row = [0.0] * D_MODEL
    for d in dims:
        row[d] = scale
    return row


#: the value row of the counting head that marks a with +1 and b with −1
BALANCE_VALUE = tuple(a - b for a, b in zip(_unit(IS_A), _unit(IS_B), strict=True))


@dataclass(frozen=True)
class RecogniserWeights:
    """What the negative controls vary: the counting head's value row, and whether the
    heads are saturated (the generalised argmax) or softmax heads at ρ = 1."""

    balance_value: tuple[float, ...] = BALANCE_VALUE
    saturated: bool = True


class AnBnRecogniser(nn.Module):
    """Token ids (batch, seq) over {0: a, 1: b, 2: pad} and a right-padding mask → the
    decision score τ − |balance| − mixed at the first position (float64, no parameters to
    train)."""

    def __init__(self, weights: RecogniserWeights = RecogniserWeights()) -> None:
        super().__init__()
        self.saturated = weights.saturated
        table = torch.zeros(3, D_MODEL, dtype=torch.float64)
        table[0, IS_A] = table[0, ONE] = 1.0
        table[1, IS_B] = table[1, ONE] = 1.0  # the pad token (2) embeds to 0: it is masked
        self.register_buffer("embedding", table)
        self.embedding: torch.Tensor
        self.seen_b: AttentionHead = package_head([_unit(ONE)], [_unit(IS_B)], [_unit(IS_B)])
        zero = [[0.0] * D_MODEL, [0.0] * D_MODEL]
        self.counts: AttentionHead = package_head(
            zero, zero, [list(weights.balance_value), _unit(DISORDER)]
        )
        self.tau = float(TAU)

    def stream(self, ids: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        """The residual stream (batch, seq, 7) after both layers."""
        x = self.embedding[ids]
        kw = dict(saturated=self.saturated)
        with torch.no_grad():
            seen = self.seen_b(x, padding, causal=True, **kw)[..., 0]
            x = x.clone()
            x[..., SEEN_B] = seen
            gap = x[..., SEEN_B] - x[..., IS_B]
            x[..., DISORDER] = torch.relu(gap) + torch.relu(-gap)
            counts = self.counts(x, padding, causal=False, **kw)
            x[..., BALANCE] = counts[..., 0]
            x[..., MIXED] = counts[..., 1]
        return x

    def forward(self, ids: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        first = self.stream(ids, padding)[:, 0]
        return self.tau - first[:, BALANCE].abs() - first[:, MIXED]


def is_anbn(word: str) -> bool:
    """The language: aⁿbⁿ with n ≥ 1."""
    n = len(word) // 2
    return len(word) % 2 == 0 and n >= 1 and word == "a" * n + "b" * n


def words(length: int) -> list[str]:
    """Every string over {a, b} of the given length, in lexicographic order."""
    return ["".join(w) for w in itertools.product(SYMBOLS, repeat=length)]


def encode(batch: list[str], width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids, padding mask), right-padded with the pad token 2 to ``width`` positions."""
    ids = torch.full((len(batch), width), 2, dtype=torch.long)
    for r, word in enumerate(batch):
        ids[r, : len(word)] = torch.tensor([SYMBOLS.index(ch) for ch in word])
    return ids, ids != 2


def decision_margins(model: AnBnRecogniser, batch: list[str], width: int) -> list[float]:
    """score/τ for members and −score/τ for the others: ≥ 0 iff decided correctly."""
    ids, padding = encode(batch, width)
    scores = model(ids, padding)
    signs = torch.tensor([1.0 if is_anbn(w) else -1.0 for w in batch], dtype=torch.float64)
    margins = signs * scores / model.tau
    return [float(m) if torch.isfinite(m) else -1.0 for m in margins]
