"""Merge the outcomes of a claim's shards into one verdict with the combined evidence.

The shards of a claim ran the same property searches on disjoint parts of the budget
with different seeds (:mod:`proofs_numeric.campaign.shard`); each shard's verdict was
reached the usual way (a failing case re-checked at the profile's higher precision before
it counts as a counterexample). Their verdict is

``refuted``   if any shard refuted the claim: the counterexample of the first such shard
              (in shard order, so the choice does not depend on which finished first; a
              campaign does not even run the other shards when the first refutes);
``open``      else, if any shard was open (its reason, naming the shard, is kept);
``verified``  else, if the non-vacuous cases of all shards together reach the profile's
              floor (where the checks count them); otherwise ``open``.

The evidence counts the distinct cases (and non-vacuous cases) of all shards: the
``i``-th search of one shard is the ``i``-th of every other (the same check code runs in
each), and a case that two shards both drew counts once (the ledgers name every case by
a digest). It keeps the smallest of their worst margins (for a refutation: the re-checked
margin of its counterexample).

A check can be split only if every one of its shards ran its searches as shards and its
evidence counts exactly the cases of those searches (the shard's ledger says so); a check
that ignored its shard (a certificate, an enumeration, a search of its own) is reported
as :class:`NotShardable`, and the campaign runs it whole instead.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from proofs_numeric.campaign.units import UnitOutcome
from proofs_numeric.claim import Evidence, Verdict
from proofs_numeric.profiles import Profile


class NotShardable(Exception):
    """The claim's check did not (only) run shardable property searches."""


def split_cleanly(outcome: UnitOutcome) -> bool:
    """Whether a shard's check ran only searches that honoured the shard: its ledger is
    not empty and counts every case (and every non-vacuous case) of its evidence (a
    proved verdict never does)."""
    verdict = outcome.verdict
    if verdict is None or verdict.status == "proved" or not outcome.ledger:
        return False
    evidence = verdict.evidence
    non_vacuous = sum(len(entry.non_vacuous_digests) for entry in outcome.ledger)
    return evidence.cases == sum(entry.cases for entry in outcome.ledger) and (
        evidence.non_vacuous is None or evidence.non_vacuous == non_vacuous
    )


def _margin_key(evidence: Evidence) -> float:
    m = evidence.worst_margin
    return math.inf if m is None or math.isnan(m) else m


def distinct_counts(outcomes: Sequence[UnitOutcome]) -> tuple[int, int]:
    """The distinct cases and distinct non-vacuous cases of the shards' ledgers together:
    per search (the ``i``-th entry of every ledger, which must name the same claim), the
    size of the union of the shards' case digests."""
    searches: dict[int, tuple[str, set[str], set[str]]] = {}
    for outcome in outcomes:
        for i, entry in enumerate(outcome.ledger):
            claim_id, cases, non_vacuous = searches.setdefault(i, (entry.claim_id, set(), set()))
            if claim_id != entry.claim_id:
                raise NotShardable(
                    f"{outcome.unit.claim_id}: search {i + 1} is of {entry.claim_id} in one "
                    f"shard and of {claim_id} in another; the shards ran different searches"
                )
            cases |= entry.case_digests
            non_vacuous |= entry.non_vacuous_digests
    return (
        sum(len(cases) for _, cases, _ in searches.values()),
        sum(len(non_vacuous) for _, _, non_vacuous in searches.values()),
    )


def merge_shards(outcomes: Sequence[UnitOutcome], profile: Profile) -> Verdict:
    """One verdict from the check outcomes of all shards of one claim (any order).

    Raises :class:`NotShardable` when the check cannot be split (see the module
    docstring); an outcome with an error must be handled by the caller first."""
    ordered = sorted(outcomes, key=lambda o: o.unit.shard.index if o.unit.shard else 0)
    if any(o.error is not None or o.verdict is None for o in ordered):
        raise ValueError("merge_shards takes outcomes without errors")
    if not all(split_cleanly(o) for o in ordered):
        raise NotShardable(ordered[0].unit.claim_id)
    verdicts = [o.verdict for o in ordered if o.verdict is not None]
    evidences = [v.evidence for v in verdicts]
    count = len(ordered)
    seed = ordered[0].unit.shard.seed if ordered[0].unit.shard else "-"
    first = evidences[0]
    worst = min(evidences, key=_margin_key)
    cases, non_vacuous = distinct_counts(ordered)
    repeats = sum(e.cases for e in evidences) - cases
    search = (
        f"{first.search}; split into {count} shard(s) of this search (seed {seed!r}; "
        f"constructions in the first, the examples shared out; {repeats} case(s) drawn "
        f"by more than one shard counted once)"
    )

    def combined(worst_of: Evidence) -> Evidence:
        return dataclasses.replace(
            first,
            cases=cases,
            worst_margin=worst_of.worst_margin,
            worst_margin_text=worst_of.worst_margin_text,
            precision=worst_of.precision,
            search=search,
            non_vacuous=non_vacuous,
        )

    for verdict in verdicts:
        if verdict.status == "refuted":
            return Verdict("refuted", combined(verdict.evidence), verdict.counterexample)
    for outcome, verdict in zip(ordered, verdicts, strict=True):
        if verdict.status == "open":
            label = outcome.unit.shard.label if outcome.unit.shard else "the check"
            return Verdict("open", combined(worst), reason=f"{label}: {verdict.reason}")
    evidence = combined(worst)
    if non_vacuous < profile.min_cases:
        return Verdict(
            "open",
            evidence,
            reason=(
                f"only {non_vacuous} distinct non-vacuous cases over {count} shards, below "
                f"the floor of {profile.min_cases} (profile {profile.name})"
            ),
        )
    return Verdict("verified", evidence)
