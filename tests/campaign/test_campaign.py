"""Campaigns: claims and shards of their searches through any executor.

A shard of a search runs its share of the budget with its own seed (constructions in the
first shard only); the shards merge into one verdict with the combined evidence; the
verdicts and case counts of a campaign do not depend on the executor (thread pool,
spawned process pool, local Dask cluster); an executor that fails gives an error, never a
verdict.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import Executor, Future

import mpmath
import pytest
from hypothesis import strategies as st

from homogeneity.errors import HomogeneityInputError
from proofs_numeric.campaign import (
    Campaign,
    InlineExecutor,
    NotShardable,
    SearchShard,
    UnitOutcome,
    WorkUnit,
    merge_shards,
    open_executor,
    run_unit,
)
from proofs_numeric.campaign.__main__ import main
from proofs_numeric.campaign.wire import from_wire, to_wire
from proofs_numeric.claim import CheckContext, Counterexample, Evidence, Verdict
from proofs_numeric.profiles import PROFILES
from proofs_numeric.search import PropertySearch, check_property

CI = PROFILES["ci"]


def _toy(margin, constructions=()) -> PropertySearch:
    return PropertySearch(
        "TOY",
        st.fixed_dictionaries({"x": st.integers(0, 1000)}),
        margin,
        "toy",
        constructions,
    )


# -- shards -----------------------------------------------------------------------------


def test_shard_shares_add_up_to_the_budget_and_seeds_are_fixed() -> None:
    shards = [SearchShard("X", i, 4) for i in range(4)]
    for total in (7, 30, 1000):
        shares = [s.share(total) for s in shards]
        assert sum(shares) == total and max(shares) - min(shares) <= 1
    assert [s.share(2) for s in shards] == [1, 1, 1, 1]  # a search needs an example
    a, b = SearchShard("X", 1, 4, "s"), SearchShard("X", 1, 4, "s")
    assert a.random(0).random() == b.random(0).random()
    assert SearchShard("X", 2, 4, "s").random(0).random() != a.random(0).random()
    assert SearchShard("X", 1, 4, "t").random(0).random() != a.random(0).random()
    for index, count in ((4, 4), (-1, 2), (0, 0)):
        with pytest.raises(HomogeneityInputError, match="shard index"):
            SearchShard("X", index, count)


def test_a_sharded_context_shares_the_profile_budgets() -> None:
    whole = CheckContext(CI)
    parts = [CheckContext(CI, shard=SearchShard("X", i, 3)) for i in range(3)]
    assert sum(p.examples() for p in parts) == whole.examples() == CI.max_examples
    # each shard aims 15 % (at least one case) above its share of the floor: a case that
    # two shards both drew counts once in the merge
    assert whole.min_cases == CI.min_cases
    assert sum(p.min_cases for p in parts) == CI.min_cases + 5
    assert sum(p.examples(0.5) for p in parts) == whole.examples(0.5)


def test_shards_try_different_cases_and_constructions_once() -> None:
    seen: list[list[int]] = []

    def margin(case, digits):
        seen[-1].append(case["x"])
        return mpmath.mpf(1)

    verdicts = []
    for index in range(3):
        seen.append([])
        shard = SearchShard("TOY", index, 3, "seed")
        verdicts.append(check_property(_toy(margin, ({"x": -1},)), CheckContext(CI, shard)))
        assert shard.ledger and shard.ledger[0].cases == verdicts[-1].evidence.cases
    assert [-1 in s for s in seen] == [True, False, False]
    assert seen[1] != seen[2]
    assert sum(v.evidence.cases for v in verdicts) <= CI.max_examples + 1
    # the same shard draws the same cases again
    first = list(seen[1])
    seen.append([])
    check_property(_toy(margin, ({"x": -1},)), CheckContext(CI, SearchShard("TOY", 1, 3, "seed")))
    assert seen[-1] == first


def test_a_violation_found_by_a_later_shard_refutes_after_the_recheck() -> None:
    """No construction fails; only the search finds the violation (x ≥ 500)."""
    search = _toy(lambda c, d: mpmath.mpf(499 - c["x"]), ({"x": 0},))
    shard = SearchShard("TOY", 1, 2, "seed")
    verdict = check_property(search, CheckContext(CI, shard))
    assert verdict.status == "refuted" and verdict.counterexample is not None
    assert verdict.counterexample.digits == CI.recheck_digits
    assert verdict.counterexample.case["x"] >= 500


def _outcome(
    index: int, count: int, verdict: Verdict, ledger_cases=None, digests=None
) -> UnitOutcome:
    """Shard ``index`` of ``count`` with ``verdict``; its ledger names ``digests`` (by
    default as many distinct cases as the evidence counts, all non-vacuous)."""
    shard = SearchShard("TOY", index, count, "s")
    cases = verdict.evidence.cases if ledger_cases is None else ledger_cases
    named = frozenset(f"{index}/{i}" for i in range(cases)) if digests is None else digests
    shard.record("TOY", named, named)
    return UnitOutcome(WorkUnit("TOY", CI, "check", shard), verdict, ledger=tuple(shard.ledger))


def _verified(cases: int, worst: float) -> Verdict:
    return Verdict(
        "verified", Evidence(cases, worst, "mpmath", "toy", worst_margin_text=f"{worst}")
    )


def test_merge_adds_the_evidence_and_any_refuting_shard_refutes() -> None:
    cx = Counterexample("TOY", {"x": 600}, -3.0, CI.recheck_digits)
    refuted = Verdict("refuted", Evidence(40, -3.0, "mpmath", "toy"), cx)
    parts = [_outcome(0, 3, _verified(12, 0.5)), _outcome(1, 3, refuted)]
    parts.append(_outcome(2, 3, _verified(11, 0.2)))
    merged = merge_shards(list(reversed(parts)), CI)  # the order they finished in is irrelevant
    assert merged.status == "refuted" and merged.counterexample == cx
    assert merged.evidence.cases == 63 and merged.evidence.worst_margin == -3.0
    # negative control: the same shards without the refuting one verify, worst margin 0.2
    held = merge_shards([parts[0], _outcome(1, 3, _verified(40, 0.9)), parts[2]], CI)
    assert held.status == "verified" and held.counterexample is None
    assert held.evidence.cases == 63 and held.evidence.worst_margin == 0.2


def test_merge_keeps_an_open_shard_open_and_refuses_a_check_that_ignored_its_shard() -> None:
    opened = Verdict("open", Evidence(9, 0.1, "mpmath", "toy"), reason="precision artefact")
    merged = merge_shards([_outcome(0, 2, _verified(20, 1.0)), _outcome(1, 2, opened)], CI)
    assert merged.status == "open" and "shard 2/2" in merged.reason
    with pytest.raises(NotShardable):  # evidence counts cases no sharded search made
        merge_shards([_outcome(0, 2, _verified(20, 1.0), ledger_cases=5)], CI)
    no_ledger = UnitOutcome(WorkUnit("TOY", CI, "check", SearchShard("TOY", 0, 2)), _verified(3, 1))
    with pytest.raises(NotShardable):
        merge_shards([no_ledger], CI)


def _verified_nv(cases: int) -> Verdict:
    return Verdict("verified", Evidence(cases, 1.0, "mpmath", "toy", non_vacuous=cases))


def test_merge_counts_a_case_two_shards_drew_once() -> None:
    """20 + 20 cases of which 3 were drawn by both shards: 37 distinct; with a floor of 38
    the merge is open, with the floor of ci (20) verified."""
    first = frozenset(f"c{i}" for i in range(20))
    second = frozenset(f"c{i}" for i in range(17, 37))
    parts = [
        _outcome(0, 2, _verified_nv(20), digests=first),
        _outcome(1, 2, _verified_nv(20), digests=second),
    ]
    merged = merge_shards(parts, CI)
    assert merged.status == "verified"
    assert merged.evidence.cases == 37 and merged.evidence.non_vacuous == 37
    assert "3 case(s) drawn by more than one shard counted once" in merged.evidence.search
    strict = dataclasses.replace(CI, min_cases=38)
    short = merge_shards(parts, strict)
    assert short.status == "open" and "only 37 distinct non-vacuous" in short.reason
    # negative control: disjoint shards reach the same floor of 38
    apart = [
        parts[0],
        _outcome(1, 2, _verified_nv(20), digests=frozenset(f"d{i}" for i in range(20))),
    ]
    assert merge_shards(apart, strict).status == "verified"


def test_a_shard_aims_above_its_share_of_the_floor() -> None:
    assert SearchShard("TOY", 0, 1).floor_share(1000) == 1000
    assert SearchShard("TOY", 0, 2).floor_share(1000) == 575
    assert SearchShard("TOY", 1, 3).floor_share(20) == 9  # share 7, ⌈1.05⌉ more
    assert CheckContext(CI, SearchShard("TOY", 0, 2)).min_cases == 12


def test_shards_of_a_real_search_drawing_the_same_cases_count_them_once() -> None:
    """A search over a domain of 30 values, split in two shards: the merged count is the
    number of distinct values the two shards tried together, never their sum when they
    overlap."""
    search = _toy(lambda c, d: mpmath.mpf(1), ())
    search = dataclasses.replace(search, strategy=st.fixed_dictionaries({"x": st.integers(0, 29)}))
    outcomes = []
    for index in range(2):
        shard = SearchShard("TOY", index, 2, "seed")
        verdict = check_property(search, CheckContext(CI, shard))
        outcomes.append(
            UnitOutcome(WorkUnit("TOY", CI, "check", shard), verdict, ledger=tuple(shard.ledger))
        )
    union = set().union(*(e.case_digests for o in outcomes for e in o.ledger))
    merged = merge_shards(outcomes, CI)
    assert merged.evidence.cases == len(union) <= 30
    drawn = [o.verdict.evidence.cases for o in outcomes if o.verdict is not None]
    assert sum(drawn) > len(union)  # they did overlap


# -- campaigns --------------------------------------------------------------------------


def _table(result) -> list[tuple]:
    return [
        (
            r.claim.id,
            r.verdict.status,
            r.verdict.evidence.cases,
            r.verdict.evidence.worst_margin_text,
            tuple(o.rejected for _, o in r.controls),
            r.error,
        )
        for r in result.results
    ]


def test_a_sharded_campaign_merges_its_shards() -> None:
    campaign = Campaign(["L2", "D3"], shards={"L2": 3})
    result = campaign.run(InlineExecutor())
    assert result.ok, [p for r in result.results for p in r.problems()]
    l2_shards = [o for o in result.outcomes if o.unit.claim_id == "L2" and o.unit.kind == "check"]
    shard_verdicts = [o.verdict for o in l2_shards if o.verdict is not None]
    assert len(l2_shards) == len(shard_verdicts) == 3
    l2 = next(r for r in result.results if r.claim.id == "L2")
    assert l2.verdict.evidence.cases == sum(v.evidence.cases for v in shard_verdicts)
    assert "3 shard(s)" in l2.verdict.evidence.search
    # a single-shard claim in the ci profile runs exactly as the serial runner runs it
    d3_units = [u for u in campaign.units() if u.claim_id == "D3"]
    assert [(u.kind, u.shard) for u in d3_units] == [("check", None), ("controls", None)]


def test_proved_claims_run_whole_and_unsplittable_checks_are_rerun_whole(monkeypatch) -> None:
    campaign = Campaign(["G2*[a≤100]"], shards=4)
    assert [u.shard for u in campaign.units() if u.kind == "check"] == [None]
    # force a split of a check that ignores its shard (a certificate): it is run again whole
    monkeypatch.setattr(Campaign, "shard_count", lambda self, claim: 2)
    result = campaign.run(InlineExecutor())
    assert result.rerun_whole == ("G2*[a≤100]",)
    assert [r.verdict.status for r in result.results] == ["proved"] and result.ok


class _BrokenExecutor(Executor):
    """Every submitted unit fails in the executor itself (as a dead worker would)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        future.set_exception(RuntimeError("worker died"))
        return future


def test_an_executor_failure_is_an_error_not_a_verdict() -> None:
    result = Campaign(["L2"]).run(_BrokenExecutor())
    (l2,) = result.results
    assert l2.error is not None and "worker died" in l2.error
    assert l2.verdict.status == "open" and not l2.ok and not result.ok
    assert all(not o.rejected for _, o in l2.controls)


def test_results_do_not_depend_on_the_executor() -> None:
    """The same ci campaign (a refuted claim, sharded and unsharded claims, a proved one)
    through a thread pool, a spawned process pool and a local Dask cluster."""
    pytest.importorskip("distributed")
    campaign = Campaign(["L7", "D3"], shards={"L7": 2, "D3": 2})
    tables = {}
    for kind in ("thread", "process", "dask"):
        with open_executor(kind, workers=2) as executor:
            tables[kind] = _table(campaign.run(executor))
    assert tables["thread"] == tables["process"] == tables["dask"], tables
    statuses = {row[0]: row[1] for row in tables["thread"]}
    assert statuses == {"D3": "verified", "L7": "refuted", "L7*": "verified", "L7*[n≤5]": "proved"}


def test_a_refuting_first_shard_ends_the_claim_and_the_others_follow_the_first() -> None:
    result = Campaign(["L7"], shards=3).run(InlineExecutor())
    checks: dict[str, list[int | None]] = {r.claim.id: [] for r in result.results}
    for o in result.outcomes:
        if o.unit.kind == "check":
            checks[o.unit.claim_id].append(None if o.unit.shard is None else o.unit.shard.index)
    assert checks["L7"] == [0]  # refuted by a construction: shards 2 and 3 never ran
    assert checks["L7*"] == [0, 1, 2]
    assert checks["L7*[n≤5]"] == [None]  # proved: whole
    l7 = result.results[0]
    assert l7.verdict.status == "refuted" and "were not run" in l7.verdict.evidence.search


def test_results_travel_as_text() -> None:
    (result,) = Campaign(["L7"], controls=True).run(InlineExecutor()).results[:1]
    back = from_wire(to_wire(result))
    assert back.claim is result.claim and back.verdict == result.verdict
    assert [(k.name, o) for k, o in back.controls] == [(k.name, o) for k, o in result.controls]
    import base64
    import pickle

    with pytest.raises(HomogeneityInputError, match="not a ResultRecord"):
        from_wire(base64.b64encode(pickle.dumps({"claim_id": "L7"})).decode())


def test_run_unit_reports_the_ledger_of_its_shard() -> None:
    unit = WorkUnit("L2", CI, "check", SearchShard("L2", 1, 2, "0"))
    outcome = run_unit(unit)
    assert outcome.verdict is not None and outcome.verdict.status == "verified"
    assert sum(e.cases for e in outcome.ledger) == outcome.verdict.evidence.cases
    assert unit.shard is not None and unit.shard.ledger == []  # the caller's unit untouched


def test_command_line(capsys) -> None:
    assert main(["--claim", "L2", "--executor", "serial", "--shards", "2", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "L2" in out and "all verdicts as expected" in out
    assert main(["--claim", "NOPE", "--executor", "serial"]) == 2
    assert "not registered" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--shards", "0"])


def test_bad_campaigns_are_input_errors() -> None:
    with pytest.raises(HomogeneityInputError, match="shards"):
        Campaign(["L2"], shards={"NOPE": 2}).units()
    with pytest.raises(HomogeneityInputError, match="executor"):
        with open_executor("gpu"):
            pass
    with pytest.raises(HomogeneityInputError, match="workers"):
        with open_executor("thread", workers=0):
            pass
    assert dataclasses.is_dataclass(Campaign())
