"""High-precision primitives against the torch components, and the softmax tail bound."""

from __future__ import annotations

import re

import mpmath
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from homogeneity.components import AttentionHead
from homogeneity.components import functional as F
from homogeneity.errors import HomogeneityInputError
from proofs_numeric import precision as P
from proofs_numeric.strategies import score_rows


def _t(xs) -> torch.Tensor:
    return torch.tensor(xs, dtype=torch.float64)


def softmax_tolerance(scores, keep, rho) -> float:
    """Relative agreement of float64 torch with the exact softmax: torch rounds each product
    ρ·s_j (absolute error ≤ ε·ρ·max|s|), and d log softmax_i = dx_i − Σ_j p_j dx_j moves the
    result by at most twice that, relative; exp and the sum add a few ε per position."""
    eps = torch.finfo(torch.float64).eps
    scale = max(abs(s) for s, k in zip(scores, keep, strict=True) if k)
    return 2 * eps * rho * scale + 4 * eps * len(scores) + 1e-15


@given(score_rows(max_size=7), st.floats(0.01, 50.0))
def test_softmax_matches_torch(row, rho) -> None:
    """Agreement to :func:`softmax_tolerance`. (A flat 1e-12 was refuted by the thorough
    profile: s = [10⁴, 9999], ρ = 3.4 differ by 3.3e-12.)"""
    scores, keep = row["scores"], row["keep"]
    ours = [float(v) for v in P.softmax(scores, rho, keep)]
    theirs = F.masked_softmax(_t(scores) * rho, torch.tensor(keep)).tolist()
    rel = softmax_tolerance(scores, keep, rho)
    for a, b in zip(ours, theirs, strict=True):
        assert a == pytest.approx(b, rel=rel, abs=1e-300)


def test_softmax_tolerance_is_not_vacuous() -> None:
    """Control for the tolerance above, on the case that refuted 1e-12: it is still below
    1e-10, and a softmax off by one part in 1e9 is rejected."""
    scores, keep, rho = [10000.0, 9999.0], [True, True], 3.4031888531210583
    ours = [float(v) for v in P.softmax(scores, rho)]
    rel = softmax_tolerance(scores, keep, rho)
    assert rel < 1e-10
    assert ours[1] * (1 + 1e-9) != pytest.approx(ours[1], rel=rel)


@given(score_rows(max_size=7))
def test_generalised_argmax_matches_torch_hardmax(row) -> None:
    scores, keep = row["scores"], row["keep"]
    ours = [float(v) for v in P.generalised_argmax(scores, keep)]
    theirs = F.hardmax(_t(scores), torch.tensor(keep)).tolist()
    assert ours == pytest.approx(theirs, abs=1e-15)
    assert all(ours[j] == 0 for j in range(len(keep)) if not keep[j])


@given(st.lists(st.floats(-30, 30), min_size=2, max_size=6))
def test_scalar_maps_and_norms_match_torch(xs) -> None:
    x = _t(xs)
    # torch's 0.5·z·(1 + erf(z/√2)) cancels in the negative tail (relative error ≈ eps/Φ(z)),
    # so GeLU is compared with an absolute tolerance there
    assert [float(P.gelu(v)) for v in xs] == pytest.approx(F.gelu(x).tolist(), rel=1e-12, abs=1e-15)
    assert [float(P.sigmoid(v)) for v in xs] == pytest.approx(torch.sigmoid(x).tolist(), rel=1e-12)
    assert [float(P.tanh(v)) for v in xs] == pytest.approx(
        torch.tanh(x).tolist(), rel=1e-12, abs=1e-300
    )
    assert [float(P.rms_norm(xs, 1e-6)[i]) for i in range(len(xs))] == pytest.approx(
        F.rms_norm(x, 1e-6).tolist(), rel=1e-10, abs=1e-12
    )
    if max(xs) - min(xs) > 1e-6:
        assert [float(v) for v in P.layer_norm(xs)] == pytest.approx(
            F.proof_layer_norm(x).tolist(), rel=1e-10, abs=1e-12
        )
        assert [float(v) for v in P.standard_layer_norm(xs, 1e-5)] == pytest.approx(
            F.standard_layer_norm(x, 1e-5).tolist(), rel=1e-10, abs=1e-12
        )


def test_layer_norm_is_sqrt_n_times_d9() -> None:
    x = [3.0, -1.0, 0.5, 2.0]
    with mpmath.workdps(60):
        a = P.standard_layer_norm(x, 0, digits=60)
        b = P.layer_norm(x, digits=60)
        for u, v in zip(a, b, strict=True):
            assert abs(u - mpmath.sqrt(4) * v) < mpmath.mpf(10) ** -55


@pytest.mark.parametrize("causal", [False, True])
def test_attention_head_matches_torch(causal: bool) -> None:
    g = torch.Generator().manual_seed(3)
    head = AttentionHead(3, 2, bias=False, dtype=torch.float64, generator=g)
    x = torch.randn(4, 3, generator=g, dtype=torch.float64)
    theirs = head(x[None], causal=causal).detach()[0]
    keep = P.attention_keep(4, causal)
    out = P.attention_head(
        x.tolist(),
        head.query.weight.tolist(),
        head.key.weight.tolist(),
        head.value.weight.tolist(),
        keep,
    )
    assert [float(v) for row in out.h for v in row] == pytest.approx(
        theirs.reshape(-1).tolist(), rel=1e-12
    )
    sat = P.attention_head(
        x.tolist(),
        head.query.weight.tolist(),
        head.key.weight.tolist(),
        head.value.weight.tolist(),
        keep,
        saturated=True,
    )
    theirs_sat = head(x[None], causal=causal, saturated=True).detach()[0]
    assert [float(v) for row in sat.h for v in row] == pytest.approx(
        theirs_sat.reshape(-1).tolist(), rel=1e-12
    )


def test_softmax_beyond_float_overflow() -> None:
    s = P.softmax([1.0, 0.0, -1.0], "1e400")
    assert s[0] == 1 or 1 - s[0] < mpmath.mpf(10) ** -40
    assert 0 < s[1] < mpmath.mpf(10) ** (-(10**399))
    assert mpmath.isfinite(mpmath.log(s[1]))


@given(score_rows(max_size=6), st.floats(-1.0, 400.0))
@settings(max_examples=25)
def test_tail_bound_is_certified(row, log10_rho) -> None:
    rho = mpmath.power(10, log10_rho)
    cert = P.certify_softmax_tail(row["scores"], rho, row["keep"])
    assert cert.holds


def test_tail_bound_rate_is_the_gap() -> None:
    a = [2.0, 1.25, 0.0, 1.25]
    gamma = P.softmax_gap(a)
    assert gamma == mpmath.mpf("0.75")
    for rho in (10, 100, 1000):
        err = P.softmax_error(a, rho)
        rate = -mpmath.log(err) / rho
        assert abs(rate - gamma) < mpmath.log(8) / rho  # constants C, 1/|V| only


def test_wrong_limit_is_not_certified() -> None:
    lo, hi = P.softmax_deviation_ratio([3.0, 3.0, 1.0], 50, [1, 0, 0])
    assert lo > 1
    assert (
        P.softmax_deviation_ratio([3.0, 3.0, 1.0], 50, P.argmax_fractions([3.0, 3.0, 1.0]))[1] <= 1
    )


def test_rho_for_bits() -> None:
    a = [1.0, 0.999, 0.5]
    rb = P.rho_for_bits(a, 53)
    assert P.softmax_error(a, rb) <= mpmath.mpf(2) ** -53
    assert P.softmax_tail_bound(a, rb * mpmath.mpf("0.99")) > mpmath.mpf(2) ** -53
    assert P.rho_for_bits([2.0, 2.0], 100) == 0


def test_deficit_difference_has_no_cancellation() -> None:
    a = [50.0, 0.0]
    d = P.softmax_difference(a, a, 2, 1, digits=30)  # at 30 digits 1 − e^{−50} rounds to 1
    with mpmath.workdps(200):
        exact = mpmath.exp(-50) / (1 + mpmath.exp(-50)) - mpmath.exp(-100) / (1 + mpmath.exp(-100))
        assert abs(d[0] - exact) < abs(exact) * mpmath.mpf(10) ** -25
        diff = P.sigmoid_difference(80, 40, digits=30)
        assert (
            abs(diff - (P.sigmoid(-40, digits=200) - P.sigmoid(-80, digits=200)))
            < abs(diff) * mpmath.mpf(10) ** -25
        )


def test_precision_is_explicit_and_restored() -> None:
    """digits=None means DEFAULT_DIGITS whatever the ambient mpmath precision; the global
    precision is restored on return."""
    before = mpmath.mp.dps
    v50 = P.sigmoid(1, digits=50)
    with mpmath.workdps(120):
        ambient = P.sigmoid(1)
        v120 = P.sigmoid(1, digits=120)
        assert mpmath.mp.dps == 120
        assert ambient == v50  # not raised by the enclosing workdps
        assert abs(v120 - v50) < mpmath.mpf(10) ** -48 and v120 != v50
    assert mpmath.mp.dps == before
    assert P.resolve_digits(None) == P.DEFAULT_DIGITS == 50


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda: P.softmax([], 1), "a"),
        (lambda: P.softmax([1.0, 2.0], 1, [False, False]), "keep"),
        (lambda: P.softmax([1.0, 2.0], 0), "rho"),
        (lambda: P.softmax([1.0, float("nan")], 1), "a[1]"),
        (lambda: P.softmax([1.0, 2.0], 1, [True]), "keep"),
        (lambda: P.layer_norm([2.0, 2.0]), "constant"),
        (lambda: P.rho_for_bits([1.0, 0.0], -1), "bits"),
        (lambda: P.sigmoid(1, digits=2), "digits"),
    ],
)
def test_bad_input_names_the_argument(call, argument: str) -> None:
    with pytest.raises(HomogeneityInputError, match=re.escape(argument)):
        call()


def test_guard_digits_is_the_one_rule() -> None:
    assert P.guard_digits(50) == 50 + P.GUARD_DIGITS
    assert P.guard_digits(50, P.exp_loss(230.2585092994046), 3.5) == 50 + 100 + 4 + P.GUARD_DIGITS
    assert P.magnitude_loss("1e400") == pytest.approx(400)
    assert P.magnitude_loss(0.5) == 0
    with pytest.raises(HomogeneityInputError, match="loss"):
        P.guard_digits(50, -1.0)


def test_global_precisions_are_set_and_restored_in_one_place() -> None:
    iv_before = mpmath.iv.prec
    with P.interval_precision(80) as iv:
        assert iv.dps == 80
        third = iv.mpf(1) / 3
    assert mpmath.iv.prec == iv_before
    assert third.delta < mpmath.mpf(10) ** -75
    flint = pytest.importorskip("flint")
    arb_before = flint.ctx.prec
    with P.arb_precision(60) as ctx:
        assert ctx.dps == 60
    assert flint.ctx.prec == arb_before
    with pytest.raises(ZeroDivisionError), P.interval_precision(30):
        raise ZeroDivisionError
    assert mpmath.iv.prec == iv_before


def test_the_tail_bounds_hold_and_are_attained() -> None:
    """|σ(ρz) − step(z)| = σ(−ρ|z|) ≤ e^{−ρ|z|}, |tanh(ρz) − sign(z)| ≤ 2e^{−2ρ|z|},
    |GeLU(ρz)/ρ − ReLU(z)| ≤ |z|e^{−ρ²z²/2}/2, each within a factor → 1 (or 2 for GeLU at
    small ρ|z|) of the truth; a bound tighter by a factor 2 fails (control)."""
    with mpmath.workdps(60):
        for z, rho in (("0.5", 40), ("-1.5", 20)):
            err = abs(P.sigmoid(mpmath.mpf(rho) * mpmath.mpf(z), 60) - P.step(z, 60))
            bound = P.sigmoid_tail_bound(z, rho, 60)
            assert err <= bound and bound / err < 1 + mpmath.mpf(10) ** -8
            assert not err <= bound / 2
            err = abs(P.tanh(mpmath.mpf(rho) * mpmath.mpf(z), 60) - P.sign(z, 60))
            bound = P.tanh_tail_bound(z, rho, 60)
            assert err <= bound and bound / err < 1 + mpmath.mpf(10) ** -8
        z, rho = mpmath.mpf("0.01"), mpmath.mpf("0.001")
        err = abs(P.gelu(rho * z, 60) / rho - P.relu(z, 60))
        assert err <= P.gelu_tail_bound(z, rho, 60) < err * (1 + mpmath.mpf(10) ** -4)
