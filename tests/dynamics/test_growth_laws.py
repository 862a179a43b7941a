"""Growth-law fits: recover known laws from noisy synthetic curves, refuse to choose when
the data cannot tell the laws apart, and give honest confidence intervals."""

import math

import numpy as np
import pytest

from homogeneity.dynamics.growth_laws import (
    LAW_NAMES,
    fit_law,
    fit_power_law,
    lag1_autocorrelation,
    lr_integral_at,
    select_growth_law,
)
from homogeneity.errors import HomogeneityInputError

T = np.linspace(0, 10_000, 200)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def noisy(y, rel, seed):
    return y * (1 + rel * np.random.default_rng(seed).standard_normal(y.shape))


CURVES = {
    "t": 3 + 0.01 * T,
    "sqrt(t)": 3 + 0.5 * np.sqrt(T),
    "t^(1/4)": 3 + 2 * T**0.25,
    "saturating-exp": 10 - 7 * np.exp(-T / 2000),
    "(log t)^(1/L)": 1 + 2 * np.log1p(T) ** 0.5,
}


@pytest.mark.parametrize("law", sorted(CURVES))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recovers_the_generating_law(law, seed):
    sel = select_growth_law(T, noisy(CURVES[law], 0.01, seed))
    assert sel.verdict == "selected", str(sel)
    assert sel.best.name == law
    assert sel.best.r2 > 0.98


def test_recovers_exp_integral_law_with_schedule():
    lrs = 0.05 / np.sqrt(np.arange(1, 4002))
    steps = np.arange(0, 4000, 20)
    integral = lr_integral_at(steps, lrs)
    y = noisy(2.0 * np.exp(0.8 * integral), 0.005, 3)
    sel = select_growth_law(steps, y, lr_integral=integral)
    assert sel.best.name == "exp(∫η)" and sel.verdict == "selected", str(sel)
    assert abs(sel.best.params["b"] - 0.8) < 0.05


@pytest.mark.parametrize("seed", range(5))
def test_short_window_is_indistinguishable(seed):
    """Over t in [1000, 1100] the curvature of 0.5·√t departs from a chord by 0.005, a
    quarter of the noise: √t, t and t^(1/4) cannot be told apart, so no law is chosen."""
    t = np.linspace(1000, 1100, 50)
    y = 3 + 0.5 * np.sqrt(t) + 0.02 * np.random.default_rng(seed).standard_normal(50)
    sel = select_growth_law(t, y)
    assert sel.verdict == "indistinguishable", str(sel)
    assert {"sqrt(t)", "t", "t^(1/4)"} <= set(sel.contenders)


def test_pure_noise_is_no_fit():
    y = 5 + 0.1 * np.random.default_rng(1).standard_normal(T.size)
    sel = select_growth_law(T, y)
    assert sel.verdict == "no-fit", str(sel)


def test_autocorrelated_deviations_lower_the_evidence():
    """A smooth wiggle (not iid noise) must not make a marginal difference look decisive."""
    t = np.linspace(0, 2000, 400)
    wiggle = 0.4 * np.sin(t / 150.0)
    y = 3 + 0.5 * np.sqrt(t) + wiggle
    corrected = select_growth_law(t, y)
    naive = select_growth_law(t, y, correct_autocorrelation=False)
    assert corrected.lag1 > 0.9
    assert corrected.n_eff < 0.1 * naive.n_eff
    assert abs(corrected.delta(corrected.fits[1].name)) < abs(naive.delta(naive.fits[1].name))


def test_lag1_autocorrelation_of_white_and_smooth_series():
    rng = np.random.default_rng(0)
    assert abs(lag1_autocorrelation(rng.standard_normal(5000))) < 0.05
    assert lag1_autocorrelation(np.sin(np.linspace(0, 3, 500))) > 0.99


@pytest.mark.parametrize(
    "form,curve,p",
    [
        ("affine", lambda t: np.sqrt(4 + 0.3 * t), 0.5),
        ("affine", lambda t: (16 + 0.5 * t) ** 0.25, 0.25),
        ("offset", lambda t: 3 + 0.5 * np.sqrt(t), 0.5),
        ("offset", lambda t: 3 + 2 * t**0.25, 0.25),
    ],
)
def test_free_exponent_exact_curves(form, curve, p):
    fit = fit_power_law(T, curve(T), form=form)
    assert abs(fit.exponent - p) < 1e-4
    assert fit.ci_high - fit.ci_low < 1e-3  # noiseless: the interval collapses onto p


def test_free_exponent_interval_coverage():
    """The 95% profile interval covers the true exponent in most noisy replicates."""
    covered = 0
    reps = 40
    for seed in range(reps):
        y = noisy(np.sqrt(4 + 0.3 * T), 0.01, 100 + seed)
        covered += fit_power_law(T, y).contains(0.5)
    assert covered >= 0.85 * reps, covered


def test_free_exponent_interval_widens_with_noise():
    w = []
    for rel in (0.002, 0.02):
        fit = fit_power_law(T, noisy(np.sqrt(4 + 0.3 * T), rel, 5))
        w.append(fit.ci_high - fit.ci_low)
    assert w[1] > 3 * w[0]


def test_nested_saturating_exp_does_not_block_a_line():
    sel = select_growth_law(T, noisy(CURVES["t"], 0.01, 7))
    assert sel.best.name == "t" and sel.verdict == "selected"
    sat = next(f for f in sel.fits if f.name == "saturating-exp")
    assert sat.params["tau"] > T[-1]  # it can only mimic a line by saturating far away


def test_literal_exp_minus_t_is_constant():
    """What the docs say: the literal a + b·exp(−t) is a constant past a few steps; our
    family has τ = 1 as a special case only."""
    fit = fit_law("saturating-exp", T, CURVES["saturating-exp"])
    assert abs(fit.params["tau"] - 2000) / 2000 < 1e-3


def test_to_dict_is_json_serialisable():
    import json

    sel = select_growth_law(T, noisy(CURVES["sqrt(t)"], 0.01, 0))
    text = json.dumps(sel.to_dict())
    assert "sqrt(t)" in text and "affine" in text


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(t=[0, 1, 2], y=[1, 2, 3]), "at least 5"),
        (dict(t=[0, 1, 2, 3, 4], y=[1, 2, 3, 4]), "different lengths"),
        (dict(t=[0, 2, 1, 3, 4], y=[1, 2, 3, 4, 5]), "strictly increasing"),
        (dict(t=[0, 1, 2, 3, 4], y=[1, 2, math.nan, 4, 5]), "NaN"),
        (dict(t=[0, 1, 2, 3, 4], y=[2, 2, 2, 2, 2]), "constant"),
    ],
)
def test_bad_curves_are_refused(kwargs, match):
    with pytest.raises(HomogeneityInputError, match=match):
        select_growth_law(**kwargs)


def test_bad_options_are_refused():
    with pytest.raises(HomogeneityInputError, match="criterion"):
        select_growth_law(T, CURVES["t"], criterion="r2")
    with pytest.raises(HomogeneityInputError, match="unknown"):
        fit_law("cubic", T, CURVES["t"])
    with pytest.raises(HomogeneityInputError, match="lr_integral"):
        fit_law("exp(∫η)", T, CURVES["t"])
    with pytest.raises(HomogeneityInputError, match="y > 0"):
        fit_power_law(T, CURVES["t"] - 10)
    with pytest.raises(HomogeneityInputError, match="at least two"):
        select_growth_law(T, CURVES["t"], laws=["t"])
    assert "exp(∫η)" in LAW_NAMES
