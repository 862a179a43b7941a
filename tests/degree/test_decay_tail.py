"""Decay laws read off the asymptotic tail only, with floors, breakdowns and "undetermined".

Synthetic curves with known laws first (pure exponential, pure polynomial, an exponential
drop followed by a polynomial tail, a polynomial running into a noise plateau, a sweep cut
by a breakdown, too few points), each paired with the control that must come out
differently; then the real cases that used to be classified wrongly: the paper's pre-norm
encoder with an ε = 1e-5 layer norm (tail order 6), an RMS norm whose variance is a float32
island inside a float64 run (order 2 above its noise floor, undetermined when the floor
leaves too few points), a float32 overflow inside the default grid, and approximate mode
without a degree.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import homogeneity.decay as decay
from homogeneity import components as C
from homogeneity.check import HomogeneityCheckError, check_homogeneity
from homogeneity.cli.decay_plot import fitted_curve, plot_decay_profile
from homogeneity.decay import classify_decay
from homogeneity.degree import decay_profile, measure_degree
from homogeneity.scaling import Ray

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FLOOR = 1e-13  # a precision floor (float64's is 2.2e-13)


def grid(lo: float, hi: float, n: int) -> np.ndarray:
    return np.geomspace(lo, hi, n)


def noise(n: int, sigma: float, seed: int = 0) -> np.ndarray:
    return np.exp(sigma * np.random.default_rng(seed).standard_normal(n))


def assert_rests_on_tail(fit: decay.DecayFit, rho: np.ndarray, errors: np.ndarray) -> None:
    """The points a law reports are real input points above its floor, counted right."""
    assert fit.n_points == len(fit.indices) >= decay.MIN_TAIL_POINTS
    assert fit.rho_range == (rho[fit.indices[0]], rho[fit.indices[-1]])
    assert list(fit.indices) == sorted(fit.indices)
    assert fit.r2 is not None and fit.r2 >= decay.MIN_R2
    assert all(errors[i] > fit.floor for i in fit.indices)


# -- pure laws --------------------------------------------------------------------------


@pytest.mark.parametrize("d, m, sigma", [(1e-3, 1.0, 0.0), (0.1, 2.0, 0.01), (1.0, 4.0, 0.02)])
def test_pure_exponential_is_exponential_on_its_tail(d, m, sigma):
    rho = grid((0.5 / d) ** (1 / m), (40.0 / d) ** (1 / m), 40)
    e = np.exp(-d * rho**m) * noise(len(rho), sigma)
    fit = classify_decay(rho, e, FLOOR)
    assert fit.kind == "exponential", fit
    assert fit.exponent == pytest.approx(m, rel=0.1)
    assert_rests_on_tail(fit, rho, e)
    # the law drawn through its points reproduces them
    used = np.asarray(fit.indices)
    assert np.max(np.abs(fit.log_law(rho[used]) - np.log(e[used]))) < 0.1


@pytest.mark.parametrize("d, m, sigma", [(1e-3, 1.0, 0.0), (0.1, 2.0, 0.01), (1.0, 4.0, 0.02)])
def test_pure_exponential_is_never_polynomial(d, m, sigma):
    rho = grid((0.5 / d) ** (1 / m), (40.0 / d) ** (1 / m), 40)
    e = np.exp(-d * rho**m) * noise(len(rho), sigma, seed=1)
    assert classify_decay(rho, e, FLOOR).kind != "polynomial"


@pytest.mark.parametrize("p, sigma", [(0.5, 0.0), (1.0, 0.02), (2.0, 0.01), (6.0, 0.02)])
def test_pure_polynomial_is_polynomial_on_its_tail(p, sigma):
    rho = grid(1.0, 1e3, 33)
    e = rho**-p * noise(33, sigma)
    fit = classify_decay(rho, e, FLOOR)
    assert fit.kind == "polynomial", fit
    assert fit.rate == pytest.approx(p, rel=0.05)
    assert_rests_on_tail(fit, rho, e)


@pytest.mark.parametrize("p, sigma", [(0.5, 0.0), (1.0, 0.02), (2.0, 0.01), (6.0, 0.02)])
def test_pure_polynomial_is_never_exponential(p, sigma):
    rho = grid(1.0, 1e3, 33)
    assert classify_decay(rho, rho**-p * noise(33, sigma, seed=2), FLOOR).kind != "exponential"


# -- a change of regime: classified by the tail ------------------------------------------


def drop_then_tail(rho: np.ndarray, with_tail: bool = True) -> np.ndarray:
    """exp(−(ρ/2)³) (the drop) + 1e-9 ρ^−4 (the tail); they cross near ρ = 6.2."""
    return np.exp(-((rho / 2) ** 3)) + (1e-9 * rho**-4.0 if with_tail else 0.0)


def test_exponential_drop_then_polynomial_tail_is_classified_by_the_tail():
    rho = grid(0.5, 1e3, 60)
    e = drop_then_tail(rho)
    fit = classify_decay(rho, e, 1e-30)
    assert fit.kind == "polynomial", fit
    assert fit.rate == pytest.approx(4.0, rel=0.02)
    assert fit.rho_range is not None and fit.rho_range[0] > 6.2  # the tail only
    assert_rests_on_tail(fit, rho, e)
    # a fit over everything past the peak (what used to be done) mixes the two regimes
    mixed = -np.polyfit(np.log(rho[1:]), np.log(e[1:]), 1)[0]
    assert abs(mixed - 4.0) > 1.0


def test_the_drop_without_its_tail_stays_exponential():
    """Negative control: remove the polynomial term and the same drop is exponential."""
    rho = grid(0.5, 1e3, 60)
    fit = classify_decay(rho, drop_then_tail(rho, with_tail=False), 1e-30)
    assert fit.kind == "exponential", fit
    assert fit.exponent == pytest.approx(3.0, rel=0.05)


# -- noise floors ----------------------------------------------------------------------


def polynomial_into_plateau(rough: bool, level: float = 1e-8, n: int = 49) -> tuple:
    """ρ^−2 down to ``level``, then a plateau there: rough (rounding noise scattered by
    factors, with exact zeros) or quiet (0.3 % scatter)."""
    rho = grid(0.1, 1e5, n)
    rng = np.random.default_rng(3)
    if rough:
        plateau = level * rng.uniform(0.0, 1.0, n) * (rng.uniform(size=n) > 0.2)
    else:
        plateau = level * (1 + 0.003 * rng.standard_normal(n))
    return rho, np.maximum(1e-3 * rho**-2.0, plateau)


@pytest.mark.parametrize("rough", [True, False])
def test_polynomial_into_a_noise_plateau_is_fitted_above_it(rough):
    rho, e = polynomial_into_plateau(rough)
    fit = classify_decay(rho, e, FLOOR)
    assert fit.kind == "polynomial", fit
    assert fit.rate == pytest.approx(2.0, rel=0.01)
    assert fit.floor_source == "detected"
    assert fit.detected_floor is not None and 2e-9 < fit.detected_floor <= 1.01e-8
    assert all(e[i] > decay.FLOOR_MARGIN * fit.detected_floor for i in fit.indices)
    assert_rests_on_tail(fit, rho, e)
    assert "noise floor" in str(fit) and "detected" in str(fit)


def test_a_clean_polynomial_reports_no_detected_floor():
    """Negative control: without a plateau nothing is 'detected'."""
    rho = grid(0.1, 1e5, 49)
    fit = classify_decay(rho, 1e-3 * rho**-2.0, 1e-30)
    assert fit.kind == "polynomial"
    assert fit.floor_source == "precision" and fit.detected_floor is None


@pytest.mark.parametrize("rough", [True, False])
def test_a_plateau_everywhere_is_undetermined_not_exact(rough):
    """At a noise floor of 1e-8 everywhere: not exact (far above the precision floor), and
    no law can be read."""
    rho = grid(0.1, 1e5, 49)
    rng = np.random.default_rng(4)
    e = 1e-8 * (rng.uniform(0.05, 1.0, 49) if rough else 1 + 0.003 * rng.standard_normal(49))
    fit = classify_decay(rho, e, FLOOR)
    assert fit.kind == "undetermined", fit
    assert "noise floor" in fit.detail and str(fit).startswith("undetermined, because")


def test_a_high_plateau_is_none_and_one_at_the_precision_floor_is_exact():
    """Controls of the plateau rule: a level no rounding produces is an error that does not
    vanish; the same curve scaled under the precision floor is exact."""
    rho = grid(0.1, 1e5, 49)
    flat = 1 + 0.003 * np.random.default_rng(5).standard_normal(49)
    assert classify_decay(rho, 0.05 * flat, FLOOR).kind == "none"
    assert classify_decay(rho, 0.5 * FLOOR * flat, FLOOR).kind == "exact"
    assert classify_decay(rho, np.maximum(1e-3 * rho**-2.0, 0.05 * flat), FLOOR).kind == "none"


def test_a_given_floor_combines_with_the_detected_one_by_max():
    rho, e = polynomial_into_plateau(rough=True)
    detected = classify_decay(rho, e, FLOOR)
    assert detected.floor_source == "detected"
    # a given floor is a threshold; a detected one is a noise level, cleared 10×
    above = classify_decay(rho, e, FLOOR, known_floor=1e-6)  # above 10× the plateau
    assert above.floor_source == "given" and above.floor == 1e-6
    assert above.kind == "polynomial" and above.rate == pytest.approx(2.0, rel=0.01)
    assert all(e[i] > 1e-6 for i in above.indices)
    below = classify_decay(rho, e, FLOOR, known_floor=1e-10)  # smaller: the data win
    assert below.floor_source == "detected" and below.floor == detected.floor
    # a given floor above the whole curve leaves nothing to fit: undetermined, not exact
    assert classify_decay(rho, e, FLOOR, known_floor=1.0).kind == "undetermined"


# -- thin evidence ---------------------------------------------------------------------


def test_too_few_points_are_undetermined_with_a_reason_to_act_on():
    rho = grid(1.0, 2.0, 4)
    fit = classify_decay(rho, rho**-2.0, FLOOR)
    assert fit.kind == "undetermined"
    assert "only" in fit.detail and "points" in fit.detail and "sample" in fit.detail
    # control: the same law on enough points is classified
    rho = grid(1.0, 100.0, 12)
    assert classify_decay(rho, rho**-2.0, FLOOR).kind == "polynomial"


def test_a_tail_cut_short_by_the_floor_is_undetermined():
    """Three points between the peak and the floor: undetermined, naming the floor, and
    refine_grid proposes points exactly there."""
    rho = grid(1.0, 1e3, 16)
    e = np.where(rho < 3.5, rho**-6.0 * 1e-10, 0.0)
    fit = classify_decay(rho, e, FLOOR)
    assert fit.kind == "undetermined" and "precision floor" in fit.detail
    extra = decay.refine_grid(rho, e, FLOOR)
    assert extra and all(1.0 <= r <= rho[np.argmax(rho >= 3.5)] for r in extra)


def test_laws_that_cannot_be_told_apart_are_undetermined():
    """Six noisy points over 4 % of ρ: a power law and an exponential fit equally well."""
    rho = grid(10.0, 10.4, 6)
    e = rho**-200.0 * noise(6, 0.01)  # falls by a factor 2.6e3, but over a tiny range
    fit = classify_decay(rho, e, 0.0)
    assert fit.kind == "undetermined" and "both laws" in fit.detail
    # control: the same order over a range wide enough to see the slope is constant
    rho = grid(10.0, 30.0, 12)
    assert classify_decay(rho, rho**-200.0 * noise(12, 0.01), 0.0).kind == "polynomial"


def test_a_stopped_sweep_is_quoted_in_the_reason():
    rho = grid(1.0, 2.0, 4)
    fit = classify_decay(rho, rho**-2.0, FLOOR, stopped_by="the sweep stopped at ρ = 2.4")
    assert fit.kind == "undetermined" and "the sweep stopped at ρ = 2.4" in fit.detail


# -- breakdowns in the sweep -----------------------------------------------------------


class CastOutput(nn.Module):
    """LN_ε(W x) · g, optionally rounded to float32 at the end (which overflows once
    ρ·|g| passes float32's range)."""

    def __init__(self, d: int, gain: float, eps: float, cast: bool) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.w = nn.Parameter(torch.randn(d, d, generator=g, dtype=torch.float64) / d**0.5)
        self.g = nn.Parameter(torch.full((d,), gain, dtype=torch.float64))
        self.eps, self.cast = eps, cast

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x @ self.w.T
        h = h - h.mean(-1, keepdim=True)
        out = self.g * h / torch.sqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return out.float().double() if self.cast else out


def x8(n: int = 3) -> torch.Tensor:
    return torch.randn(n, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


def kept(model: nn.Module, x: torch.Tensor) -> Ray:
    """A ray that runs the model's float32 ops as written (by default they are lifted to
    the working dtype, which removes the floor and the overflow these tests are about)."""
    return Ray(model, (x,), low_precision="keep")


def test_a_sweep_stops_at_the_first_overflow_and_fits_what_came_before():
    model = CastOutput(8, 1e34, 1e-2, cast=True)  # the float32 cast overflows near ρ = 3e4
    profile = decay_profile(kept(model, x8()))
    stop = profile.breakdown
    assert stop is not None and "not finite" in stop.reason and "CastOutput" in stop.where
    assert 1e3 < stop.rho < 1e5
    assert max(profile.rhos) < stop.rho and profile.degree_rho < stop.rho
    assert profile.degree == 1.0  # the gain is scaled, the norm is scale-invariant
    assert profile.fit.kind == "polynomial" and profile.fit.rate == pytest.approx(2.0, rel=0.05)
    assert "the sweep stopped at ρ" in str(profile)


def test_without_the_cast_there_is_no_breakdown():
    """Negative control: the same map in float64 throughout sweeps the whole grid."""
    profile = decay_profile(kept(CastOutput(8, 1e34, 1e-2, cast=False), x8()))
    assert profile.breakdown is None and len(profile.rhos) >= 49
    assert profile.fit.kind == "polynomial" and profile.fit.floor_source == "precision"


# -- real cases ------------------------------------------------------------------------


def paper_encoder(norm: str, eps: float | None) -> tuple[nn.Module, torch.Tensor]:
    cfg = C.EncoderConfig(
        vocab_size=20,
        d_model=8,
        n_heads=2,
        d_ff=16,
        n_layers=2,
        max_len=16,
        placement="paper-prenorm",
        norm=norm,
        norm_eps=eps,
        bias=False,
    )
    model = C.Encoder(cfg, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    ids = torch.randint(0, 20, (2, 6), generator=torch.Generator().manual_seed(1))
    return model, ids


def test_paper_prenorm_encoder_with_eps_layer_norm_has_tail_order_6():
    """The softmax error drops exponentially, then the ε = 1e-5 of the layer norm leaves a
    ρ^−6 tail just above float64's floor: the order is the tail's, not a mixture."""
    model, ids = paper_encoder("layernorm", 1e-5)
    profile = decay_profile(Ray(model, (ids,)))
    fit = profile.fit
    assert fit.kind == "polynomial", fit
    assert fit.rate == pytest.approx(6.0, abs=0.3)
    assert fit.n_points >= decay.MIN_TAIL_POINTS and fit.r2 >= decay.MIN_R2
    assert fit.rho_range is not None and fit.rho_range[0] > 7.5  # past the exponential drop
    assert profile.kind == "asymptotic" and profile.degree == 1.0


def test_paper_prenorm_encoder_without_eps_is_exponential():
    """Negative control: with the proofs' ε-free layer norm (D9) the tail is exponential."""
    model, ids = paper_encoder("proof", None)
    assert decay_profile(Ray(model, (ids,))).fit.kind == "exponential"


class Float32VarianceRMSNorm(nn.Module):
    """x / sqrt(mean(x²) + ε) · w with the mean of squares computed in float32 (as T5's and
    Llama's norms do), so a float64 run keeps a float32 island."""

    def __init__(self, d: int, eps: float, island: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d, dtype=torch.float64))
        self.eps, self.island = eps, island

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        v = (h.float() if self.island else h).pow(2).mean(-1, keepdim=True)
        return self.weight * (h * torch.rsqrt(v + self.eps))


def island_model(eps: float, island: bool = True, d: int = 8) -> nn.Module:
    lin = nn.Linear(d, d, bias=False, dtype=torch.float64)
    with torch.no_grad():
        g = torch.Generator().manual_seed(0)
        lin.weight.copy_(torch.randn(d, d, generator=g, dtype=torch.float64) / d**0.5)
    return nn.Sequential(lin, Float32VarianceRMSNorm(d, eps, island))


def test_float32_island_gives_order_2_above_its_noise_floor():
    """Kept, the float32 variance makes the error level off near 1e-7 (and drop to exact
    zeros where it rounds ε away); the order is read above the floor the ray reports."""
    ray = kept(island_model(1e-2), x8(4))
    profile = decay_profile(ray)
    fit = profile.fit
    assert fit.kind == "polynomial", fit
    assert fit.rate == pytest.approx(2.0, abs=0.1)
    assert ray.noise_floor > 1e-5  # 1e3·eps of float32
    assert fit.floor_source == "given" and profile.given_floor == fit.floor == ray.noise_floor
    assert all(profile.relative[i] > fit.floor for i in fit.indices)
    # the same curve without the ray's floor: the floor is detected from the data
    alone = classify_decay(profile.rhos, profile.relative, fit.precision_floor)
    assert alone.kind == "polynomial" and alone.rate == pytest.approx(2.0, abs=0.1), alone
    assert alone.floor_source == "detected"
    assert alone.detected_floor is not None and 1e-9 < alone.detected_floor < 1e-6


def test_without_the_island_the_same_norm_has_no_noise_floor():
    """Negative controls: the variance in float64, or the float32 island lifted (the
    default), give the same order above float64's own floor and no other floor."""
    for model in (island_model(1e-2, island=False), island_model(1e-2)):
        fit = decay_profile(Ray(model, (x8(4),))).fit
        assert fit.kind == "polynomial" and fit.rate == pytest.approx(2.0, abs=0.05)
        assert fit.floor_source == "precision" and fit.detected_floor is None


def test_float32_island_floor_leaving_too_few_points_is_undetermined():
    """With ε = 2e-4 and ρ from 0.5 only three points lie above the kept island's floor:
    undetermined, saying so; never an order read off the floor."""
    ray = kept(island_model(2e-4), x8(4))
    rhos = list(np.geomspace(0.5, 1e5, 49))
    thin = decay_profile(ray, rhos=rhos, refine=False).fit
    assert thin.kind == "undetermined", thin
    assert "3 points above the noise floor" in thin.detail and "float32" in thin.detail
    refined = decay_profile(ray, rhos=rhos).fit  # denser sampling cannot lift the floor
    assert refined.kind == "undetermined", refined


def test_float32_overflow_before_the_end_of_the_grid_is_a_recorded_breakdown():
    """Llama-like: a kept float32 mean of squares overflows at large ρ and the output
    becomes exactly zero. The degree is read below the breakdown, the law fitted before
    it, and the points just before it (where rows overflow one after another) are left
    out."""
    rhos = sorted({*np.geomspace(0.1, 100.0, 37), *np.geomspace(100.0, 1e21, 39)})
    measured = measure_degree(kept(island_model(1e-2), x8(4)), rhos=rhos)
    profile = measured.profile
    assert measured.value == 1.0 and measured.kind == "asymptotic", measured
    assert profile.breakdown is not None and "zero" in profile.breakdown.reason
    assert profile.degree_rho is not None and profile.degree_rho < profile.breakdown.rho
    assert profile.unsettled_from is not None
    assert profile.fit.rate == pytest.approx(2.0, abs=0.1)
    assert "read off the ray at ρ" in str(measured)
    assert "the sweep stopped at ρ" in str(measured)


# -- approximate mode without a degree ----------------------------------------------------


def small_tanh() -> nn.Module:
    """tanh(W x) with small weights: k̂ at ρ = 1 is about 1 (tanh is nearly linear there),
    while the degree along the ray is 0 (tanh saturates: ∼0, SPEC P3)."""
    lin = nn.Linear(4, 4, bias=False, dtype=torch.float64)
    with torch.no_grad():
        g = torch.Generator().manual_seed(0)
        lin.weight.copy_(0.05 * torch.randn(4, 4, generator=g, dtype=torch.float64))
    return nn.Sequential(lin, nn.Tanh())


def test_approximate_mode_without_degree_reads_it_off_the_tail():
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    report = check_homogeneity(small_tanh(), x, approximate=True)
    assert report.passed and report.degree == 0.0
    assert report.profile is not None and report.profile.degree_rho is not None
    assert report.profile.fit.kind == "exponential"
    assert "read off the ray at ρ" in str(report)
    assert round(report.euler.degree_estimate) == 1  # what ρ = 1 would have said


def test_approximate_mode_still_rejects_the_degree_rho_1_suggests():
    """Negative control: the degree Euler suggests at ρ = 1 (1) fails in approximate mode."""
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    with pytest.raises(HomogeneityCheckError):
        check_homogeneity(small_tanh(), x, 1, approximate=True)


# -- printing and the plot -------------------------------------------------------------


def test_printed_fit_states_law_points_r2_and_floor():
    rho, e = polynomial_into_plateau(rough=True)
    text = str(classify_decay(rho, e, FLOOR))
    assert text.startswith("polynomial: e ≈ A·ρ^−2")
    for needle in ("points, ρ from", "R² = ", "noise floor", "detected"):
        assert needle in text
    rho = grid(1.0, 2.0, 4)
    assert str(classify_decay(rho, rho**-2.0, FLOOR)).startswith("undetermined, because only")


def test_degree_plot_draws_the_law_only_over_its_points(tmp_path):
    ray = kept(island_model(1e-2), x8(4))
    profile = decay_profile(ray)
    curve = fitted_curve(profile)
    assert curve is not None and profile.fit.rho_range is not None
    lo, hi = profile.fit.rho_range
    assert curve.rhos.min() == pytest.approx(lo) and curve.rhos.max() == pytest.approx(hi)
    assert f"{profile.fit.n_points} points" in curve.label and "R² = " in curve.label
    assert plot_decay_profile(profile, tmp_path / "d.png").stat().st_size > 0
    # control: an undetermined decay draws no law (and the plot still says why)
    thin = decay_profile(ray, rhos=list(np.geomspace(0.1, 0.2, 4)), refine=False)
    assert thin.fit.kind == "undetermined" and fitted_curve(thin) is None
    assert plot_decay_profile(thin, tmp_path / "u.png").stat().st_size > 0


def test_profile_and_measured_degree_say_where_the_degree_was_read():
    ray = Ray(island_model(1e-2, island=False), (x8(4),))
    given = decay_profile(ray, 1.0)
    assert given.degree_rho is None and "given" in str(given)
    measured = measure_degree(ray)
    assert measured.profile.degree_rho == pytest.approx(1e5)
    assert math.isfinite(measured.profile.degree_estimate or math.nan)
    assert "read off the ray at ρ = 1e+05" in str(measured)
