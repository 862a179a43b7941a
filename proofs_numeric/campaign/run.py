"""A campaign: claims (and shards of their searches) checked through an executor.

:class:`Campaign` says *what* to check (claims, profile, how many shards per claim, the
seed); :meth:`Campaign.run` does it through any :class:`concurrent.futures.Executor`
(a spawned process pool of ``workers`` when none is given) and returns a
:class:`CampaignResult` whose ``results`` are ordinary
:class:`~proofs_numeric.runner.ClaimResult` objects in registry order, so the table, the
JSON and the claims page render them as they render a serial run.

Each claim becomes up to ``shards`` check units (one per shard) and one unit for its
negative controls (which always run whole, at the profile's full budget). The first shard
(the one that evaluates the constructions) goes first; the others are submitted when it
is in, unless it refuted the claim (a refutation needs no more evidence, and without the
constructions the other shards would search, and shrink, at length for a counterexample
that is already known). The verdicts and case counts depend only on the claims, the
profile, the shard counts and the seed, never on the executor, the number of workers or
the order in which units finish (:mod:`proofs_numeric.campaign.units` explains what makes
that so). Claims expected ``proved`` (a certificate re-check, not a search) always run
whole; a claim whose check turns out not to be splittable
(:class:`~proofs_numeric.campaign.merge.NotShardable`) is run again whole, and listed in
:attr:`CampaignResult.rerun_whole`.

The seed: with a derandomized profile (``ci``) a single-shard claim runs exactly as
``python -m proofs_numeric`` runs it, and shards draw from seed ``"0"``; with a random
profile (``thorough``) every claim's search is seeded from the campaign's seed, a fresh
one unless given, recorded in the result so that the campaign can be replayed.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass

from homogeneity.errors import HomogeneityInputError
from proofs_numeric.campaign.executors import process_pool
from proofs_numeric.campaign.merge import NotShardable, merge_shards, split_cleanly
from proofs_numeric.campaign.shard import SearchShard
from proofs_numeric.campaign.units import UnitOutcome, WorkUnit, run_unit, unit_failure
from proofs_numeric.claim import (
    Claim,
    ControlOutcome,
    Evidence,
    Verdict,
    registry,
    select_claims,
)
from proofs_numeric.profiles import Profile, get_profile
from proofs_numeric.runner import ClaimResult

Progress = Callable[[UnitOutcome], None]


@dataclass(frozen=True)
class CampaignResult:
    """What a campaign found: one :class:`ClaimResult` per claim (registry order), the
    outcome of every unit, the wall time, the seed used, and the claims that had to be
    run whole because their check could not be split."""

    results: list[ClaimResult]
    outcomes: list[UnitOutcome]
    wall_seconds: float
    seed: str
    profile: Profile
    rerun_whole: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Every verdict as expected and every negative control rejected."""
        return all(r.ok for r in self.results)

    @property
    def unit_seconds(self) -> float:
        """The units' own times added up (the work, wherever it ran)."""
        return sum(o.seconds for o in self.outcomes)

    def summary(self) -> str:
        shards = sum(o.unit.kind == "check" for o in self.outcomes)
        workers = len({o.worker for o in self.outcomes if o.worker})
        return (
            f"campaign (profile {self.profile.name}, seed {self.seed!r}): "
            f"{len(self.results)} claims in {len(self.outcomes)} units ({shards} check "
            f"shards, the rest negative controls) on {workers} worker thread(s), wall "
            f"{self.wall_seconds:.1f} s, units' own time {self.unit_seconds:.1f} s"
            + (f"; run whole: {', '.join(self.rerun_whole)}" if self.rerun_whole else "")
        )


@dataclass(frozen=True)
class Campaign:
    """Claims to check through an executor.

    Attributes:
        claims: claim ids (``None``: every registered claim; ``"P4"`` also selects
            ``P4*``, as on the command line).
        profile: ``"ci"``, ``"thorough"`` or a :class:`Profile`.
        shards: shards per claim: one number for every claim, or ``{claim id: n}``
            (claims not named get one); claims expected ``proved`` always get one.
        seed: the seed of the shards' searches (``None``: ``"0"`` for a derandomized
            profile, else a fresh one, see :attr:`CampaignResult.seed`).
        controls: also run every claim's negative controls (a run without them cannot
            pass as a check).
    """

    claims: Sequence[str] | None = None
    profile: str | Profile = "ci"
    shards: int | Mapping[str, int] = 1
    seed: str | None = None
    controls: bool = True

    def selected(self) -> list[Claim]:
        return select_claims(list(self.claims) if self.claims is not None else None)

    def shard_count(self, claim: Claim) -> int:
        """How many shards ``claim``'s check is split into."""
        n = self.shards.get(claim.id, 1) if isinstance(self.shards, Mapping) else self.shards
        if not isinstance(n, int) or n < 1:
            raise HomogeneityInputError(f"shards={n!r} for claim {claim.id} must be an int ≥ 1")
        return 1 if claim.expected == "proved" else n

    def resolved_seed(self) -> str:
        if self.seed is not None:
            return str(self.seed)
        return "0" if get_profile(self.profile).derandomize else secrets.token_hex(4)

    def units(self, seed: str | None = None) -> list[WorkUnit]:
        """The units a campaign starts with, claim by claim: the first shard of its check
        (the whole check if it has one shard), then its controls. The other shards follow
        once the first is in (:meth:`follow_ups`)."""
        profile = get_profile(self.profile)
        seed = self.resolved_seed() if seed is None else seed
        if isinstance(self.shards, Mapping):
            unknown = sorted(set(self.shards) - set(registry()))
            if unknown:
                raise HomogeneityInputError(f"shards names unregistered claims {unknown}")
        out = []
        for claim in self.selected():
            n = self.shard_count(claim)
            seeded = n > 1 or not profile.derandomize
            shard = SearchShard(claim.id, 0, n, seed) if seeded else None
            out.append(WorkUnit(claim.id, profile, "check", shard))
            if self.controls:
                out.append(WorkUnit(claim.id, profile, "controls"))
        return out

    @staticmethod
    def follow_ups(outcome: UnitOutcome) -> list[WorkUnit]:
        """The units that follow a finished one: after the first of ``n`` shards, the
        other ``n − 1``, unless the first refuted the claim (a refutation needs no more
        evidence, and the first shard is the one with the constructions) or raised; the
        whole check instead if the first shard shows that the check cannot be split.
        What follows depends only on the first shard's outcome, never on timing."""
        unit, shard = outcome.unit, outcome.unit.shard
        if unit.kind != "check" or shard is None or shard.index != 0 or shard.count == 1:
            return []
        if outcome.error is not None or outcome.verdict is None:
            return []
        if outcome.verdict.status == "refuted":
            return []
        if not split_cleanly(outcome):
            return [WorkUnit(unit.claim_id, unit.profile, "check", None)]
        return [
            WorkUnit(unit.claim_id, unit.profile, "check", dataclasses.replace(shard, index=i))
            for i in range(1, shard.count)
        ]

    def run(
        self, executor: Executor | None = None, workers: int = 2, progress: Progress | None = None
    ) -> CampaignResult:
        """Run every unit through ``executor`` (default: a spawned process pool of
        ``workers``, shut down afterwards) and merge the outcomes claim by claim."""
        if executor is None:
            with process_pool(workers) as pool:
                return self.run(pool, progress=progress)
        profile = get_profile(self.profile)
        seed = self.resolved_seed()
        start = time.perf_counter()
        outcomes = _execute(executor, self.units(seed), self.follow_ups, progress)
        by_claim = _group(outcomes)
        claims = self.selected()
        merged: dict[str, tuple[Verdict, str | None]] = {}
        late: list[str] = []
        for claim in claims:
            try:
                merged[claim.id] = _merge_check(by_claim[claim.id]["check"], profile)
            except NotShardable:  # a later shard ignored its shard: the whole check again
                late.append(claim.id)
        if late:
            again = [WorkUnit(cid, profile, "check", None) for cid in late]
            more = _execute(executor, again, self.follow_ups, progress)
            outcomes += more
            for outcome in more:
                by_claim[outcome.unit.claim_id]["check"].append(outcome)
                merged[outcome.unit.claim_id] = _merge_check([outcome], profile)
        whole = tuple(
            claim.id
            for claim in claims
            if any(
                o.unit.shard is None and self.shard_count(claim) > 1
                for o in by_claim[claim.id]["check"]
            )
        )
        results = [_claim_result(claim, merged[claim.id], by_claim[claim.id]) for claim in claims]
        return CampaignResult(results, outcomes, time.perf_counter() - start, seed, profile, whole)


def run_campaign(
    claims: Sequence[str] | None = None,
    profile: str | Profile = "ci",
    *,
    shards: int | Mapping[str, int] = 1,
    executor: Executor | None = None,
    workers: int = 2,
    seed: str | None = None,
    controls: bool = True,
    progress: Progress | None = None,
) -> CampaignResult:
    """``Campaign(claims, profile, shards, seed, controls).run(executor, workers)``."""
    campaign = Campaign(claims, profile, shards, seed, controls)
    return campaign.run(executor, workers=workers, progress=progress)


def _execute(
    executor: Executor,
    units: Sequence[WorkUnit],
    follow_ups: Callable[[UnitOutcome], list[WorkUnit]],
    progress: Progress | None,
) -> list[UnitOutcome]:
    """Run ``units`` and, as each finishes, the units that follow it; the outcomes in the
    order the units were planned (not the order they finished in)."""
    order: dict[WorkUnit, int] = {}
    pending: dict[Future, WorkUnit] = {}

    def submit(unit: WorkUnit) -> None:
        order.setdefault(unit, len(order))
        pending[executor.submit(run_unit, unit)] = unit

    for unit in units:
        submit(unit)
    outcomes = []
    while pending:
        done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
        for future in done:
            unit = pending.pop(future)
            try:
                outcome = future.result()
            except Exception as exc:  # the executor failed, not the claim: an error
                outcome = unit_failure(unit, exc)
            outcomes.append(outcome)
            if progress is not None:
                progress(outcome)
            for follow in follow_ups(outcome):
                submit(follow)
    return sorted(outcomes, key=lambda o: order[o.unit])


def _group(outcomes: Sequence[UnitOutcome]) -> dict[str, dict[str, list[UnitOutcome]]]:
    out: dict[str, dict[str, list[UnitOutcome]]] = {}
    for o in outcomes:
        out.setdefault(o.unit.claim_id, {"check": [], "controls": []})[o.unit.kind].append(o)
    return out


def _merge_check(checks: Sequence[UnitOutcome], profile: Profile) -> tuple[Verdict, str | None]:
    """(verdict, error) of a claim from its check units (a whole run, when there is one
    beside shards, supersedes them: it was run because they could not be merged)."""
    whole = [o for o in checks if o.unit.shard is None]
    ordered = whole[-1:] or sorted(checks, key=lambda o: o.unit.shard.index if o.unit.shard else 0)
    for outcome in ordered:
        if outcome.error is not None or outcome.verdict is None:
            label = outcome.unit.label
            verdict = Verdict(
                "open",
                Evidence(0, None, "n/a", f"{label} raised"),
                reason=f"{label} raised an exception (a bug, not a verdict)",
            )
            return verdict, outcome.error or f"{label} returned no verdict"
    first = ordered[0]
    if len(ordered) == 1 and first.verdict is not None:
        shard = first.unit.shard
        if shard is None or shard.count == 1:
            return first.verdict, None
        if first.verdict.status == "refuted":
            note = (
                f"; {shard.label} (the one with the constructions) refuted the claim, the "
                f"other {shard.count - 1} shard(s) were not run"
            )
            evidence = dataclasses.replace(
                first.verdict.evidence, search=first.verdict.evidence.search + note
            )
            return dataclasses.replace(first.verdict, evidence=evidence), None
    return merge_shards(ordered, profile), None


def _claim_result(
    claim: Claim, check: tuple[Verdict, str | None], units: Mapping[str, list[UnitOutcome]]
) -> ClaimResult:
    verdict, error = check
    controls: list = []
    for outcome in units["controls"]:
        if outcome.error is not None or len(outcome.controls) != len(claim.negative_controls):
            why = (outcome.error or "wrong number of control outcomes").strip().splitlines()[-1]
            controls = [
                (k, ControlOutcome(False, f"the controls did not run: {why}"))
                for k in claim.negative_controls
            ]
        else:
            controls = list(zip(claim.negative_controls, outcome.controls, strict=True))
    seconds = sum(o.seconds for kind in units.values() for o in kind)
    return ClaimResult(claim, verdict, controls, seconds, error)
