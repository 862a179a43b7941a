"""The proof checker's cost: time per claim in the default (ci) and thorough profiles.

Each registered claim (with its negative controls) is timed once in the ci profile; the
thorough runs (marked slow, ``-m slow``) report thorough/ci time ratios measured in the
same session.
"""

from __future__ import annotations

import time

import pytest

from proofs_numeric.claim import CheckContext, registry
from proofs_numeric.profiles import PROFILES
from proofs_numeric.runner import run_claim

IDS = list(registry())
_CI_SECONDS: dict[str, float] = {}


def _timed(claim_id: str, profile: str) -> float:
    start = time.perf_counter()
    result = run_claim(registry()[claim_id], CheckContext(PROFILES[profile]))
    elapsed = time.perf_counter() - start
    assert result.ok, result.problems()
    return elapsed


@pytest.mark.parametrize("claim_id", IDS)
def test_claim_time_ci(benchmark, report_ratio, claim_id):
    seconds = benchmark.pedantic(_timed, args=(claim_id, "ci"), rounds=1, iterations=1)
    _CI_SECONDS[claim_id] = seconds
    report_ratio(
        f"claim {claim_id}: seconds (ci profile)", seconds, "-", "verdict + negative controls"
    )


@pytest.mark.slow
@pytest.mark.parametrize("claim_id", IDS)
def test_claim_time_thorough(benchmark, report_ratio, claim_id):
    base = _CI_SECONDS.get(claim_id) or _timed(claim_id, "ci")
    seconds = benchmark.pedantic(_timed, args=(claim_id, "thorough"), rounds=1, iterations=1)
    report_ratio(
        f"claim {claim_id}: thorough / ci time",
        seconds / base,
        "-",
        f"thorough {seconds:.1f} s, ci {base:.1f} s",
    )
