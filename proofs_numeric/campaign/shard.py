"""One shard of a claim's property searches: which part of the search it runs, and a
ledger of the searches that honoured it.

A claim's check runs one or more property searches (:func:`proofs_numeric.search.
check_property`). Split into ``count`` shards, shard ``index`` of a search

* evaluates the hand-made constructions only if it is the first shard (``index == 0``),
  so that each is counted once;
* gets the share ``⌊N/count⌋`` (plus one for the first ``N mod count`` shards) of every
  budget ``N`` the profile sets: the Hypothesis examples of a search
  (:meth:`~proofs_numeric.claim.CheckContext.examples`) and the floor of non-vacuous
  cases (:attr:`~proofs_numeric.claim.CheckContext.min_cases`); the shares sum to ``N``;
* draws its Hypothesis examples from its own seed, derived from the campaign's seed, the
  claim, the shard and the round (:meth:`SearchShard.random`), so the shards try
  different cases and the same shard tries the same cases in every process.

The outcomes of the shards merge into one verdict (:mod:`proofs_numeric.campaign.merge`).
A search that honours its shard writes one line into :attr:`SearchShard.ledger`: its
claim id, the number of cases it evaluated, and a digest of each of those cases (and of
the non-vacuous ones among them). So the merge can tell a check that was split from one
that ignored the shard (a certificate, an exhaustive enumeration) and must be run whole,
and it counts a case that two shards both drew once: seeds differ, but Hypothesis tries
the simplest examples of a strategy first in every run, and a small discrete domain
repeats. Because such repeats count once, a shard of two or more aims a little above its
share of the floor of non-vacuous cases (:meth:`SearchShard.floor_share`).

This module imports nothing of the package: :mod:`proofs_numeric.claim` refers to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from random import Random

from homogeneity.errors import HomogeneityInputError

#: how far above its share of the floor of non-vacuous cases a shard of two or more aims
#: (at least one case more), so that cases two shards both drew, which count once, rarely
#: take the merged count below the floor (if they do, the claim is open and says so). In
#: the thorough campaign (two shards of 500) the shards of D8 shared 10 % of their cases
#: and those of P1∞ 7 %, and a 2 % surplus left both open; continuous domains share none.
FLOOR_SURPLUS = 0.15


@dataclass(frozen=True)
class LedgerEntry:
    """One property search that ran as a shard: its claim id, the number of distinct cases
    it evaluated, the digests of those cases (:func:`proofs_numeric.search.case_digest`)
    and of the non-vacuous ones among them."""

    claim_id: str
    cases: int
    case_digests: frozenset[str]
    non_vacuous_digests: frozenset[str]

    def __post_init__(self) -> None:
        if len(self.case_digests) != self.cases:
            raise ValueError(
                f"ledger entry of {self.claim_id}: {self.cases} cases but "
                f"{len(self.case_digests)} case digests"
            )
        if not self.non_vacuous_digests <= self.case_digests:
            raise ValueError(f"ledger entry of {self.claim_id}: non-vacuous digests of no case")


@dataclass(frozen=True)
class SearchShard:
    """Shard ``index`` (0-based) of ``count`` of the searches of claim ``claim_id``.

    ``seed`` is the campaign's seed (text): the Hypothesis seed of a shard's search is a
    function of ``(seed, claim_id, index, count, round)`` only (:meth:`random`).
    ``ledger`` collects a :class:`LedgerEntry` per search that ran as this shard; it is
    filled in the process that runs the shard and travels back with the outcome.
    """

    claim_id: str
    index: int
    count: int
    seed: str = "0"
    ledger: list[LedgerEntry] = field(default_factory=list, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise HomogeneityInputError(
                f"shard index={self.index}, count={self.count}: need count ≥ 1 and "
                f"0 ≤ index < count"
            )

    @property
    def first(self) -> bool:
        """The shard that evaluates the constructions."""
        return self.index == 0

    @property
    def label(self) -> str:
        return f"shard {self.index + 1}/{self.count}"

    def share(self, total: int) -> int:
        """This shard's part of a budget of ``total``: the shares of all shards sum to
        ``total`` and differ by at most one; never below 1 (a search needs an example)."""
        base, extra = divmod(int(total), self.count)
        return max(1, base + (1 if self.index < extra else 0))

    def floor_share(self, floor: int) -> int:
        """What this shard aims for of a floor of ``floor`` non-vacuous cases: its
        :meth:`share`, and with two or more shards :data:`FLOOR_SURPLUS` more (at least
        one), since a case two shards both drew counts once in the merge."""
        share = self.share(floor)
        if self.count == 1:
            return share
        return share + max(1, math.ceil(FLOOR_SURPLUS * share))

    def random(self, round_: int = 0) -> Random:
        """The seeded generator for round ``round_`` of this shard's search (``str``
        seeds hash with SHA-512 in :class:`random.Random`, so this is the same generator
        in every process, whatever ``PYTHONHASHSEED`` is)."""
        return Random(f"{self.seed}/{self.claim_id}/{self.index}/{self.count}/{round_}")

    def record(
        self, claim_id: str, case_digests: frozenset[str], non_vacuous_digests: frozenset[str]
    ) -> None:
        """Note that a search of ``claim_id`` ran as this shard and evaluated the cases of
        ``case_digests``, the non-vacuous ones those of ``non_vacuous_digests``."""
        self.ledger.append(
            LedgerEntry(claim_id, len(case_digests), case_digests, non_vacuous_digests)
        )
