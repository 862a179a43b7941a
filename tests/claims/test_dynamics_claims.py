"""Specific facts behind the dynamics claims G1, G2, A1, WD (their full searches and
negative controls run in tests/claims/test_claims.py through the registry)."""

import math

import mpmath
import pytest

from homogeneity.dynamics import predictions as P
from proofs_numeric.claim import Counterexample, registry
from proofs_numeric.claims import g1_aligned_growth as G1
from proofs_numeric.claims import g2_misaligned_growth as G2


def test_registered_with_the_expected_verdicts():
    reg = registry()
    expected = {
        "G1": "verified",
        "G2": "refuted",
        "G2*": "verified",
        "A1": "refuted",
        "A1*": "verified",
        "WD": "refuted",
        "WD*": "verified",
    }
    for cid, status in expected.items():
        assert reg[cid].expected == status, cid
    assert reg["G2*"].corrects == "G2" and reg["A1*"].corrects == "A1"
    assert reg["WD*"].corrects == "WD"


def test_g2_counterexample_is_the_exponent_one_eighth():
    cx = Counterexample.load(Counterexample.path_for("G2"))
    assert cx.case["kappa"] == 0.5
    with mpmath.workdps(60):
        p = G2.local_exponent(mpmath.mpf(10) ** 12, mpmath.mpf(0.25), 60)
    assert float(p) == pytest.approx(1 / 8, abs=1e-10)
    assert P.g2_with_a1_exponent(0.5) == 1 / 8


@pytest.mark.parametrize("kappa,c", [(1.0, 1.0), (0.5, 2.0), (2.0, 0.5)])
def test_g2_sqrt_whenever_kappa_c_is_one(kappa, c):
    with mpmath.workdps(40):
        margin = G2.sqrt_margin({"kappa": kappa * c, "log10_T": 9.0}, 40)
    assert margin > G2.EXPONENT_TOL - 1e-6


def test_g1_bounds_are_tight_and_orthogonal_steps_break_them():
    case = {"kappa": 1.0, "log10_c": 0.0, "schedule": "inverse-sqrt", "steps": 2000}
    with mpmath.workdps(30):
        held = G1.margin_for(1.0)(case, 30)
        broken = G1.margin_for(0.0)(case, 30)
        growth = G1.log_growth(case, 30)
    assert 0 <= held < 5  # the gap is (κ²/2)·Σ1/t ≈ ln(2000)/2, well under 5
    assert broken < -50  # orthogonal steps: ln ratio ≈ ½ ln T, not 2√T ≈ 89
    assert float(growth) == pytest.approx(2 * math.sqrt(2000) - 0.5 * math.log(2000), abs=2)


def test_wd_threshold_numbers_in_the_statement():
    assert P.adamw_critical_weight_decay(1e-3, 0.02) == pytest.approx(1.25)
    assert P.adamw_relaxation_steps(1e-3, 0.01) == pytest.approx(50_000)
