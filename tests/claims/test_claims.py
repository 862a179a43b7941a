"""Every registered claim, checked through the pytest plugin.

One verdict test and one negative-control test per claim: an expected refutation (a
paper claim known to be false) passes; a changed verdict, a check that raises, or a
negative control that is not rejected fails. Refuted claims must also have a stored
counterexample that still replays, and a corrected version beside them.
"""

from __future__ import annotations

import pytest

from proofs_numeric.claim import Counterexample, registry
from proofs_numeric.profiles import get_profile
from proofs_numeric.report import verdict_label

CLAIMS = registry()
IDS = list(CLAIMS)
REFUTED = [cid for cid, c in CLAIMS.items() if c.expected == "refuted"]
VERIFIED = [cid for cid, c in CLAIMS.items() if c.expected == "verified"]


@pytest.mark.parametrize("claim_id", IDS)
def test_verdict_is_expected(claim_result, claim_id: str) -> None:
    result = claim_result(claim_id)
    assert result.error is None, result.error
    assert result.verdict.status == result.claim.expected, (
        f"{claim_id}: expected {result.claim.expected}, got {result.verdict.status}: "
        f"{result.verdict.reason or result.verdict.evidence.summary()}"
    )


@pytest.mark.parametrize("claim_id", IDS)
def test_negative_controls_are_rejected(claim_result, claim_id: str) -> None:
    result = claim_result(claim_id)
    assert result.controls, f"{claim_id} ran no negative control"
    failed = [(k.name, o.detail) for k, o in result.controls if not o.rejected]
    assert not failed, f"{claim_id}: controls not rejected: {failed}"


@pytest.mark.parametrize("claim_id", VERIFIED)
def test_verified_claim_rests_on_the_floor_of_non_vacuous_cases(
    claim_result, request: pytest.FixtureRequest, claim_id: str
) -> None:
    result = claim_result(claim_id)
    floor = get_profile(request.config.getoption("--claims-profile")).min_cases
    counted = result.verdict.evidence.non_vacuous
    assert counted is not None, f"{claim_id} does not report its non-vacuous cases"
    assert counted >= floor, f"{claim_id}: {counted} non-vacuous cases, floor {floor}"
    assert verdict_label(result) == f"verified ({counted} non-vacuous cases)"


@pytest.mark.parametrize("claim_id", REFUTED)
def test_fresh_counterexample_replays(claim_result, claim_id: str) -> None:
    result = claim_result(claim_id)
    cx = result.verdict.counterexample
    assert cx is not None
    assert result.claim.replay_counterexample(cx, cx.digits) < 0


@pytest.mark.parametrize("claim_id", REFUTED)
def test_stored_counterexample_replays(claim_id: str) -> None:
    path = Counterexample.path_for(claim_id)
    assert path.is_file(), (
        f"no stored counterexample for {claim_id}; run "
        f"`python -m proofs_numeric --claim {claim_id} --save-counterexamples`"
    )
    cx = Counterexample.load(path)
    claim = CLAIMS[claim_id]
    assert claim.replay_counterexample(cx, cx.digits) < 0
    assert claim.replay_counterexample(cx, 2 * cx.digits) < 0, "not robust to more precision"


@pytest.mark.parametrize("claim_id", REFUTED)
def test_refuted_claim_has_corrected_version(claim_id: str) -> None:
    corrected = [c for c in CLAIMS.values() if c.corrects == claim_id]
    assert corrected, f"{claim_id} is refuted but no corrected version ({claim_id}*) is registered"
    assert any(c.expected == "verified" for c in corrected)
