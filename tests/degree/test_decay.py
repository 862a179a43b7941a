"""The decay classifier (homogeneity.decay) on synthetic curves with known laws.

Noise model: each sample is multiplied by exp(σ ξ), ξ standard normal, σ ≤ 2 %: a relative
measurement error on every point, far larger than the rounding noise of a float64 curve
above its floor. Grids: 33 geometric points (the density of the default ray grid, about
11 per decade).

Every property is paired with the negative control that must be rejected: a polynomial
curve is never called exponential, an exponential one never polynomial, a flat one never
decaying, one above the floor never exact.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from homogeneity.decay import NO_DECAY_LEVEL, classify_decay, decay_tail, refine_grid
from homogeneity.errors import HomogeneityInputError

FLOOR = 1e-13


def _noise(n: int, sigma: float, seed: int) -> np.ndarray:
    return np.exp(sigma * np.random.default_rng(seed).standard_normal(n))


def polynomial_curve(
    p: float, sigma: float = 0.0, seed: int = 0, n: int = 33, amplitude: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """e = A ρ^(−p) on ρ ∈ [1, 1000]."""
    rho = np.geomspace(1.0, 1e3, n)
    return rho, amplitude * rho**-p * _noise(n, sigma, seed)


def exponential_curve(
    d: float, m: float, sigma: float = 0.0, seed: int = 0, n: int = 33
) -> tuple[np.ndarray, np.ndarray]:
    """e = exp(−d ρ^m) on the ρ range where d ρ^m runs from 0.5 to 40 (e from 0.6 to 4e-18),
    so the decay from near its peak to below the floor is always on the grid."""
    lo, hi = (0.5 / d) ** (1 / m), (40.0 / d) ** (1 / m)
    rho = np.geomspace(lo, hi, n)
    return rho, np.exp(-d * rho**m) * _noise(n, sigma, seed)


rates = st.floats(0.5, 6.0)
exponents = st.floats(0.6, 4.0)
log_d = st.floats(-3.0, 1.0)  # d from 1e-3 to 10
sigmas = st.one_of(st.just(0.0), st.floats(0.0, 0.02))
seeds = st.integers(0, 2**32 - 1)


# -- polynomial ------------------------------------------------------------------------


@given(p=rates, sigma=sigmas, seed=seeds)
def test_polynomial_decay_recovers_rate(p, sigma, seed):
    rho, e = polynomial_curve(p, sigma, seed)
    fit = classify_decay(rho, e, FLOOR)
    assert fit.kind == "polynomial", fit
    assert fit.rate == pytest.approx(p, rel=0.05, abs=0.05)
    assert fit.n_points >= 4


@given(p=rates, sigma=sigmas, seed=seeds)
def test_polynomial_is_never_called_exponential(p, sigma, seed):
    """Negative control: however noisy (within the model), ρ^−p is not exp-type decay."""
    rho, e = polynomial_curve(p, sigma, seed)
    assert classify_decay(rho, e, FLOOR).kind != "exponential"


def test_polynomial_noiseless_is_exact_in_rate():
    for p in (0.5, 1.0, 2.0, 4.0, 6.0):
        rho, e = polynomial_curve(p)
        fit = classify_decay(rho, e, FLOOR)
        assert fit.kind == "polynomial"
        assert fit.rate == pytest.approx(p, rel=1e-9)
        assert fit.r2 == pytest.approx(1.0)


def test_polynomial_with_amplitude_far_below_one():
    """The layer-norm ε error starts tiny (ε/v ρ^-2k): the law, not the size, decides."""
    rho, e = polynomial_curve(2.0, amplitude=1e-6)
    fit = classify_decay(rho, e, FLOOR)
    assert fit.kind == "polynomial" and fit.rate == pytest.approx(2.0, rel=1e-6)


# -- exponential -----------------------------------------------------------------------


@given(ld=log_d, m=exponents, sigma=sigmas, seed=seeds)
def test_exponential_decay_recovers_exponent_and_rate(ld, m, sigma, seed):
    d = 10.0**ld
    rho, e = exponential_curve(d, m, sigma, seed)
    fit = classify_decay(rho, e, FLOOR)
    assert fit.kind == "exponential", fit
    assert fit.exponent == pytest.approx(m, rel=0.15)
    # ln e = −d ρ^m̂ + a with m̂ ≈ m: the rate compensates a misfit in m through ρ^(m−m̂)
    assert fit.rate == pytest.approx(d, rel=0.5)


@given(ld=log_d, m=exponents, sigma=sigmas, seed=seeds)
def test_exponential_is_never_called_polynomial(ld, m, sigma, seed):
    """Negative control: exp(−d ρ^m) with m ≥ 0.6 is never reported as a power law."""
    rho, e = exponential_curve(10.0**ld, m, sigma, seed)
    assert classify_decay(rho, e, FLOOR).kind != "polynomial"


def test_exponential_noiseless_is_exact_in_rate():
    for d, m in [(1e-3, 1.0), (0.1, 2.0), (1.0, 4.0), (10.0, 0.75)]:
        rho, e = exponential_curve(d, m)
        fit = classify_decay(rho, e, FLOOR)
        assert fit.kind == "exponential"
        assert fit.exponent == pytest.approx(m, rel=1e-6)
        assert fit.rate == pytest.approx(d, rel=1e-6)


def test_stretched_exponential_sits_on_the_threshold():
    """exp(−d√ρ) has m = 0.5, exactly the default exponent_threshold: the estimate m̂
    equals 0.5 up to rounding, so the default classification is a coin toss between
    exponential (m̂ on or above) and undetermined (just below: the log-log slope drifts too
    much for one power law), never polynomial. The threshold is a parameter; lowering it
    classifies m = 0.5 as exponential and still keeps every polynomial curve out."""
    rho, e = exponential_curve(1.0, 0.5)
    fit = classify_decay(rho, e, FLOOR)
    assert fit.exponent is not None and fit.exponent == pytest.approx(0.5, abs=1e-9)
    assert fit.kind in ("exponential", "undetermined")
    assert classify_decay(rho, e, FLOOR, exponent_threshold=0.4).kind == "exponential"
    rho, e = polynomial_curve(1.0)
    assert classify_decay(rho, e, FLOOR, exponent_threshold=0.4).kind == "polynomial"


def test_errors_far_below_float64_are_fine():
    """mpmath errors below 1e-308 (a saturated softmax at large ρ) still classify."""
    rho = [float(r) for r in np.geomspace(10.0, 100.0, 20)]
    e = [mpmath.exp(-(mpmath.mpf(r) ** 2)) for r in rho]  # down to exp(-1e4)
    assert float(e[-1]) == 0.0  # really below the float range
    fit = classify_decay(rho, e, floor=0.0)
    assert fit.kind == "exponential"
    assert fit.exponent == pytest.approx(2.0, rel=1e-6)
    assert fit.rate == pytest.approx(1.0, rel=1e-6)


# -- exact / none / undetermined -------------------------------------------------------


@given(level=st.floats(-20.0, math.log10(FLOOR)), seed=seeds)
def test_at_floor_everywhere_is_exact(level, seed):
    rho = np.geomspace(0.1, 1e3, 33)
    e = 10.0**level * np.random.default_rng(seed).uniform(0.0, 1.0, 33)
    assert classify_decay(rho, e, FLOOR).kind == "exact"


@given(i=st.integers(0, 32))
def test_one_point_above_floor_is_not_exact(i):
    """Negative control: a single sample above the floor rules out 'exact'."""
    rho = np.geomspace(0.1, 1e3, 33)
    e = np.full(33, FLOOR / 10)
    e[i] = 10 * FLOOR
    assert classify_decay(rho, e, FLOOR).kind != "exact"


@given(level=st.floats(-8.0, 2.0), sigma=sigmas, seed=seeds)
def test_constant_error_is_none_or_a_noise_floor(level, sigma, seed):
    """A constant error does not decay. At or above NO_DECAY_LEVEL no rounding of float32
    or float64 arithmetic explains it: none. Below, it cannot be told from a noise floor
    (float32 islands): undetermined, saying so; never exact and never a decay law."""
    rho = np.geomspace(0.1, 1e3, 33)
    e = 10.0**level * _noise(33, sigma, seed)
    fit = classify_decay(rho, e, FLOOR)
    if 10.0**level >= 1.1 * NO_DECAY_LEVEL:
        assert fit.kind == "none", fit
    elif 10.0**level <= NO_DECAY_LEVEL / 1.1:
        assert fit.kind == "undetermined" and "noise floor" in fit.detail, fit
    else:
        assert fit.kind in ("none", "undetermined"), fit


@given(p=st.floats(0.25, 3.0), seed=seeds)
def test_growing_error_is_none(p, seed):
    """The error of a wrong degree grows (or stays): never a decay law."""
    rho = np.geomspace(0.1, 1e3, 33)
    e = rho**p * _noise(33, 0.01, seed)
    assert classify_decay(rho, e, FLOOR).kind == "none"


def test_too_few_tail_points_is_undetermined_and_refine_grid_fills_the_gap():
    rho = np.geomspace(1.0, 100.0, 5)
    e = np.exp(-(rho**2))  # peak to floor between two samples
    fit = classify_decay(rho, e, FLOOR)
    assert fit.kind == "undetermined"
    extra = refine_grid(rho, e, FLOOR)
    assert extra and all(rho[0] < r < rho[-1] for r in extra)
    grid = np.array(sorted(set(rho) | set(extra)))
    assert classify_decay(grid, np.exp(-(grid**2)), FLOOR).kind == "exponential"


def test_tail_is_past_the_peak():
    """A rising transient before the decay (one layer saturating after another) is not
    part of the tail."""
    rho = np.geomspace(0.1, 1e3, 33)
    e = np.minimum(rho**3, rho**-2.0)  # rises to 1 at ρ = 1, then ρ^-2
    data = decay_tail(rho, e, FLOOR)
    assert min(data.indices) > int(np.argmax(e))
    fit = classify_decay(rho, e, FLOOR)
    assert fit.kind == "polynomial" and fit.rate == pytest.approx(2.0, rel=1e-6)


# -- bad input -------------------------------------------------------------------------


def test_nan_errors_are_refused_not_read_as_exact():
    """An overflowing function gives NaN errors; they must never count as 'at the floor'.
    (Regression: NaN used to map to log = −inf, i.e. zero error, so an all-NaN curve was
    classified 'exact'.)"""
    with pytest.raises(HomogeneityInputError, match="NaN"):
        classify_decay([1.0, 2.0, 3.0, 4.0], [math.nan] * 4)
    with pytest.raises(HomogeneityInputError, match="NaN"):
        classify_decay([1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 0.1, math.nan, 1e-3, 1e-4], FLOOR)
    with pytest.raises(HomogeneityInputError, match="NaN"):
        classify_decay([1.0, 2.0, 3.0, 4.0], [mpmath.nan] * 4)


@pytest.mark.parametrize(
    "rhos, errors, needle",
    [
        ([1.0, 2.0], [1.0, 0.1], "at least 3"),
        ([1.0, 2.0, 3.0], [1.0, 0.1], "different lengths"),
        ([1.0, 3.0, 2.0], [1.0, 0.1, 0.01], "strictly increasing"),
        ([1.0, 1.0, 2.0], [1.0, 0.1, 0.01], "strictly increasing"),
    ],
)
def test_bad_grids_are_refused(rhos, errors, needle):
    with pytest.raises(HomogeneityInputError, match=needle):
        classify_decay(rhos, errors, FLOOR)


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan])
def test_nonpositive_rho_is_refused(bad):
    with pytest.raises(HomogeneityInputError, match="rhos"):
        classify_decay([bad, 2.0, 3.0, 4.0], [1.0, 0.1, 0.01, 0.001], FLOOR)
