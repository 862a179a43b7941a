"""The search counts non-vacuous cases, holds verified verdicts to the profile's floor,
replays refutations along their rays, and the reports show the counts.

A case is non-vacuous when its premise held and its margin was finite (or negative: a
violation). A verified verdict rests on at least ``min_cases`` of them; with fewer it is
``open`` and says so.
"""

from __future__ import annotations

import json
from dataclasses import replace

import mpmath
import pytest
from hypothesis import strategies as st

from proofs_numeric import report
from proofs_numeric.claim import CheckContext, Claim
from proofs_numeric.profiles import PROFILES
from proofs_numeric.runner import run_claim
from proofs_numeric.search import (
    RAY_KEY,
    PropertySearch,
    Vacuous,
    along_ray,
    check_property,
    classify,
    geometric_ray,
    is_non_vacuous,
    replay_control,
    vacuous,
)
from tests.helpers.toy_search import NOOP, toy_search

CI = CheckContext()


def _search(margin, strategy=None, constructions=(), ray=None) -> PropertySearch:
    """The toy search at a tenth of the profile's examples."""
    return toy_search(margin, strategy, constructions, examples_scale=0.1, ray=ray)


def test_classify_tells_vacuous_held_violated_and_undefined() -> None:
    assert classify(vacuous("premise fails"))[0] == "vacuous"
    assert classify(mpmath.inf) == ("vacuous", classify(float("inf"))[1])
    assert classify(mpmath.mpf(0))[0] == "held"
    assert classify(-mpmath.inf)[0] == "violated"
    assert classify(mpmath.mpf("-1e-400"))[0] == "violated"
    assert classify(mpmath.mpf("1e400"))[0] == "held"  # beyond float64, still finite
    assert classify(mpmath.nan)[0] == "undefined"
    assert classify(float("nan"))[0] == "undefined"
    assert is_non_vacuous(2.0) and is_non_vacuous(-1.0) and not is_non_vacuous(mpmath.inf)
    assert float(Vacuous("x")) != float(Vacuous("x"))  # NaN: never read as a violation


def test_vacuous_cases_do_not_count_and_the_floor_tops_the_search_up() -> None:
    # half the cases are outside the premise: the search must still reach the floor
    def margin(case, digits):
        return vacuous("x < 0") if case["x"] < 0 else mpmath.mpf(1) + case["x"]

    verdict = check_property(_search(margin), CI)
    assert verdict.status == "verified", verdict.reason
    ev = verdict.evidence
    assert ev.non_vacuous is not None and ev.non_vacuous >= CI.min_cases
    assert ev.cases > ev.non_vacuous  # the vacuous ones were tried and not counted
    assert "x < 0" in ev.search
    assert f"({ev.non_vacuous} non-vacuous)" in ev.summary()


def test_a_search_with_too_few_non_vacuous_cases_is_open() -> None:
    everything_vacuous = check_property(_search(lambda c, d: vacuous("never applies")), CI)
    assert everything_vacuous.status == "open"
    assert "non-vacuous" in everything_vacuous.reason and "floor" in everything_vacuous.reason
    infinite = check_property(_search(lambda c, d: mpmath.inf), CI)
    assert infinite.status == "open" and infinite.evidence.non_vacuous == 0
    # a strategy with only 3 distinct cases cannot reach a floor of 20
    tiny = _search(lambda c, d: mpmath.mpf(1), st.sampled_from([{"x": 0}, {"x": 1}, {"x": 2}]))
    verdict = check_property(tiny, CI)
    assert verdict.status == "open" and verdict.evidence.non_vacuous == 3


def test_the_floor_is_the_profiles() -> None:
    low = CheckContext(replace(PROFILES["ci"], min_cases=3))
    tiny = _search(lambda c, d: mpmath.mpf(1), st.sampled_from([{"x": 0}, {"x": 1}, {"x": 2}]))
    assert check_property(tiny, low).status == "verified"
    assert PROFILES["ci"].min_cases == 20 and PROFILES["thorough"].min_cases == 1000


def test_the_thorough_profile_tries_a_thousand_non_vacuous_cases() -> None:
    def margin(case, digits):
        return vacuous("x < 0") if case["x"] < 0 else mpmath.mpf(1) + case["x"]

    verdict = check_property(_search(margin), CheckContext(PROFILES["thorough"]))
    assert verdict.status == "verified", verdict.reason
    assert verdict.evidence.non_vacuous is not None and verdict.evidence.non_vacuous >= 1000


def test_a_nan_margin_makes_the_verdict_open() -> None:
    def margin(case, digits):
        return mpmath.nan if case["x"] > 5 else mpmath.mpf(1)

    verdict = check_property(_search(margin, constructions=[{"x": 6.0}]), CI)
    assert verdict.status == "open" and "NaN" in verdict.reason


def test_replay_control_rejects_only_a_finite_non_negative_replay() -> None:
    assert replay_control("r", "", {"x": 1.0}, lambda c, d: 1).run(CI).rejected
    # a replay that measures nothing would pass any implementation: not a rejection
    assert not replay_control("r", "", {"x": 1.0}, lambda c, d: mpmath.inf).run(CI).rejected
    outcome = replay_control("r", "", {"x": 1.0}, lambda c, d: vacuous("c = 1")).run(CI)
    assert not outcome.rejected and "measured nothing" in outcome.detail


def test_along_ray_takes_the_largest_margin_over_the_points() -> None:
    def margin(case, digits):
        return mpmath.mpf(case["rho"]) - 10

    ray = along_ray(margin)
    assert ray({"rho": 1.0}, 30) == -9  # a single point: the margin itself
    assert ray({"rho": 1.0, RAY_KEY: [{"rho": 1.0}, {"rho": 4.0}]}, 30) == -6
    assert ray({"rho": 1.0, RAY_KEY: [{"rho": 1.0}, {"rho": 40.0}]}, 30) == 30
    assert isinstance(ray({"rho": 1.0, RAY_KEY: [{"rho": -1.0}]}, 30), (int, mpmath.mpf))
    points = geometric_ray({"rho": 2.0, "log10_c": 1.0}, {"rho": (1, 4)}, {"log10_c": (0, 3)})
    assert points == [
        {"rho": 2.0, "log10_c": 1.0},
        {"rho": 2.0, "log10_c": 4.0},
        {"rho": 8.0, "log10_c": 1.0},
        {"rho": 8.0, "log10_c": 4.0},
    ]

    def gated(case, digits):
        return vacuous("outside") if case["rho"] > 5 else mpmath.mpf(-1)

    assert isinstance(along_ray(gated)({"rho": 1, RAY_KEY: [{"rho": 1}, {"rho": 9}]}, 30), Vacuous)


def test_a_refutation_along_a_ray_stores_and_replays_every_point() -> None:
    # violated for every rho ≥ 1 (the margin does not recover as rho grows)
    def margin(case, digits):
        return -mpmath.mpf(case["rho"])

    strategy = st.fixed_dictionaries({"rho": st.floats(1, 2)})
    ray = lambda case: geometric_ray(case, {"rho": (1, 10, 100)})  # noqa: E731
    verdict = check_property(_search(margin, strategy, ray=ray), CI)
    assert verdict.status == "refuted"
    cx = verdict.counterexample
    assert cx is not None
    assert len(cx.case[RAY_KEY]) == 3 and "3 points along the ray" in cx.description
    assert along_ray(margin)(cx.case, 50) < 0
    # a violation that recovers along the ray is not a refutation of a ray statement
    recovering = _search(lambda c, d: mpmath.mpf(c["rho"]) - 3, strategy, ray=ray)
    verdict = check_property(recovering, CI)
    assert verdict.status == "open" and "ray" in verdict.reason


def _claim(check) -> Claim:
    return Claim("X9", "toy", "for every x ≥ 0: 1 + x > 0", "verified", check, (NOOP,))


def test_reports_show_the_non_vacuous_count_and_why_a_verdict_is_open() -> None:
    ok = run_claim(
        _claim(lambda ctx: check_property(_search(lambda c, d: 1 + abs(c["x"])), ctx)), CI
    )
    n = ok.verdict.evidence.non_vacuous
    assert report.verdict_label(ok) == f"verified ({n} non-vacuous cases)"
    table = " ".join(report.text_table([ok], width=200).split())
    assert f"verified ({n} non-vacuous" in table
    payload = json.loads(report.to_json([ok], "ci"))
    assert payload["claims"][0]["label"] == f"verified ({n} non-vacuous cases)"
    assert payload["claims"][0]["verdict"]["evidence"]["non_vacuous"] == n
    page = report.markdown_page([ok], "ci")
    assert f"verified ({n} non-vacuous cases)" in page
    never = run_claim(_claim(lambda ctx: check_property(_search(lambda c, d: mpmath.inf), ctx)), CI)
    label = report.verdict_label(never)
    assert label.startswith("open (only 0 of") and label.endswith("(expected verified)")
    assert "open (only 0 of" in report.markdown_page([never], "ci")


@pytest.mark.parametrize("status", ["proved", "refuted"])
def test_other_statuses_keep_their_plain_label(claim_result, status: str) -> None:
    result = claim_result("L6" if status == "proved" else "L7")
    assert report.verdict_label(result) == status


# -- sharded searches: each shard counts, the merge adds, the floor applies to the sum -----


def _sharded(margin, count: int, strategy=None):
    from proofs_numeric.campaign.shard import SearchShard
    from proofs_numeric.campaign.units import UnitOutcome, WorkUnit

    outcomes = []
    for index in range(count):
        shard = SearchShard("TOY", index, count, seed="t")
        verdict = check_property(_search(margin, strategy), CheckContext(PROFILES["ci"], shard))
        unit = WorkUnit("TOY", PROFILES["ci"], shard=shard)
        outcomes.append(UnitOutcome(unit, verdict, ledger=tuple(shard.ledger)))
    return outcomes


def test_shards_count_their_own_cases_and_the_merge_adds_them() -> None:
    from proofs_numeric.campaign.merge import merge_shards

    outcomes = _sharded(lambda case, digits: 1.0, 2)
    counts = [o.verdict.evidence.non_vacuous for o in outcomes]
    assert all(c >= PROFILES["ci"].min_cases // 2 for c in counts)
    merged = merge_shards(outcomes, PROFILES["ci"])
    assert merged.status == "verified"
    # the merge counts distinct cases: a case both shards drew (Hypothesis tries the
    # simplest examples first in every run) counts once
    distinct = set().union(*(e.non_vacuous_digests for o in outcomes for e in o.ledger))
    assert merged.evidence.non_vacuous == len(distinct) >= PROFILES["ci"].min_cases
    assert len(distinct) <= sum(counts)


def test_the_floor_applies_to_the_merged_count_not_to_each_shard() -> None:
    from proofs_numeric.campaign.merge import merge_shards

    three = st.fixed_dictionaries({"x": st.integers(0, 2)})  # 3 distinct cases in all
    outcomes = _sharded(lambda case, digits: 1.0, 2, three)
    # a shard short of its share of the floor defers to the merge instead of being open
    assert [o.verdict.status for o in outcomes] == ["verified", "verified"]
    assert all(o.verdict.evidence.non_vacuous == 3 for o in outcomes)
    merged = merge_shards(outcomes, PROFILES["ci"])
    assert merged.status == "open" and "below the floor" in merged.reason
    # the two shards drew the same 3 cases: 3 distinct, not 6
    assert merged.evidence.non_vacuous == 3 < PROFILES["ci"].min_cases
    # unsharded, the same search is open below the floor
    whole = check_property(_search(lambda case, digits: 1.0, three), CI)
    assert whole.status == "open" and whole.evidence.non_vacuous == 3
