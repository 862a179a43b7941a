"""K1 and K2 beyond what the registry runs: the objectives, the closed-form bounds, the
hand-written backward pass against autograd, the margin run that shows the raw
normalised margin is not monotone, and the scale-free growth statistic."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import torch

from proofs_numeric.claims import k1_scale_invariant_growth as k1
from proofs_numeric.claims import k2_homogeneous_margin as k2
from proofs_numeric.claims._margin_dynamics import (
    loss_and_gradient,
    margin_run,
    separable_data,
    separating_start,
)
from proofs_numeric.claims._scale_invariant import (
    AngleObjective,
    TimesNorm,
    gd_exponent_bound,
    y_squared_bounds,
)
from tests.claims.claim_sampling import sampled_cases, sampled_margins

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# -- K1 ----------------------------------------------------------------------------------


def _grad(objective, theta):
    p = theta.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(objective(p, 0), p)
    return g


def test_angle_objective_is_scale_invariant_with_unit_sphere_gradient_one():
    theta = torch.tensor([0.3, -1.7], dtype=torch.float64)
    g = _grad(AngleObjective(), theta)
    assert float(theta @ g) == pytest.approx(0.0, abs=1e-15)
    assert float(g.norm() * theta.norm()) == pytest.approx(1.0, rel=1e-14)
    assert float(_grad(AngleObjective(), 5 * theta).norm()) == pytest.approx(
        float(g.norm()) / 5, rel=1e-14
    )


def test_times_norm_objective_is_not_orthogonal():
    theta = torch.tensor([0.3, -1.7], dtype=torch.float64)
    objective = TimesNorm(AngleObjective())
    g = _grad(objective, theta)
    assert float(theta @ g) == pytest.approx(float(objective(theta, 0)), rel=1e-12)


def test_closed_form_bounds_hold_along_the_exact_recurrence():
    with mpmath.workdps(40):
        for a, y0 in ((0.3, 0.5), (1.0, 0.1), (0.001, 3.0)):
            y = mpmath.mpf(y0)
            for t in range(1, 300):
                y = y + mpmath.mpf(a) / y
                lower, upper = y_squared_bounds(y0, a, t, 40)
                assert lower <= y**2 <= upper


def test_local_exponent_bound_tends_to_zero():
    bounds = [float(gd_exponent_bound(1.0, 0.01, 2**k, 30)) for k in (4, 10, 20, 30)]
    assert all(b > c for b, c in zip(bounds, bounds[1:], strict=False))
    assert bounds[-1] < 1e-6


def test_noise_clock_is_time_for_unit_gradients():
    assert k1.noise_clock(np.ones(4)).tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_k1_torch_run_of_the_angle_objective_holds_with_margin():
    case = k1.CONSTRUCTIONS[0]
    assert k1.torch_margin(case) > 0
    assert k1.torch_margin(case, gd_exponent=0.5) < 0  # √t is not the GD law


def test_k1_controls_are_refuted_by_random_cases_alone():
    assert min(sampled_margins(k1.search(gd_exponent=0.5), 8)) < 0
    for control in (k1.search(weight_decay=0.01), k1.search(scale_invariant=False)):
        runs = [m for case, m in sampled_cases(control, 8) if case["part"] == "torch"]
        assert runs and max(runs) < 0  # every torch run of the mutated setting fails


# -- K2 ----------------------------------------------------------------------------------


def _torch_loss(weights, x, y):
    h = torch.tensor(x)
    ws = [torch.tensor(w, requires_grad=True) for w in weights]
    for i, w in enumerate(ws):
        h = h @ w.T
        if i < len(ws) - 1:
            h = torch.relu(h)
    loss = torch.exp(-torch.tensor(y) * h[:, 0]).sum()
    loss.backward()
    return float(loss.detach()), [w.grad.numpy() for w in ws]


@pytest.mark.parametrize("depth", [2, 3])
def test_hand_written_backward_pass_matches_autograd(depth):
    x, y, w = separable_data(4)
    weights = separating_start(depth, x, y, w, 4)
    rng = np.random.default_rng(0)
    weights = [v + 0.3 * rng.normal(size=v.shape) for v in weights]
    loss, _, grads = loss_and_gradient(weights, x, y)
    ref_loss, ref_grads = _torch_loss(weights, x, y)
    assert loss == pytest.approx(ref_loss, rel=1e-13)
    for g, r in zip(grads, ref_grads, strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("depth", [2, 3])
def test_separating_start_is_below_loss_one_and_homogeneous(depth):
    x, y, w = separable_data(7)
    weights = separating_start(depth, x, y, w, 7)
    loss, margins, _ = loss_and_gradient(weights, x, y)
    assert loss < 1 and margins.min() > 0
    scaled = [2.0 * v for v in weights]
    _, margins2, _ = loss_and_gradient(scaled, x, y)
    np.testing.assert_allclose(margins2, 2.0**depth * margins, rtol=1e-12)


def test_raw_normalised_margin_is_not_monotone_but_the_smoothed_one_is():
    run = margin_run(434, 2, 1.0, k2.STEPS)
    raw = np.diff(run.normalised) / run.normalised[:-1]
    smooth = np.diff(run.smoothed) / run.smoothed[:-1]
    assert raw.min() < -1e-6  # a drop of ≈ 8e−6 at step 1867
    assert int(raw.argmin()) == 1867
    assert smooth.min() > 0
    assert run.normalised[-1] > run.normalised[0]
    assert k2.k2_margin()({"seed": 434, "depth": 2, "lr": 1.0}, 50) > 0


def test_increments_ratio_is_one_for_log_growth_and_large_for_power_laws():
    class Fake:
        def __init__(self, depth, norms):
            self.depth = depth
            self.sample_steps = np.array([k2.STEPS // 16, k2.STEPS // 4, k2.STEPS], dtype=float)
            self.sample_norms = norms(self.sample_steps)

    for depth in (2, 3):
        log_law = Fake(depth, lambda t, d=depth: (3.0 + 0.7 * np.log(t)) ** (1 / d))
        assert k2.increments_ratio(log_law) == pytest.approx(1.0, rel=1e-12)
        quarter = Fake(depth, lambda t: 2.0 * t**0.25)
        assert k2.increments_ratio(quarter) == pytest.approx(k2.quarter_power_law(depth), rel=1e-12)
        assert k2.quarter_power_law(depth) >= 2 > k2.RATIO_BOUND


def test_k2_weight_decay_stops_growth():
    run = margin_run(0, 2, 0.3, k2.STEPS, k2.CONTROL_WEIGHT_DECAY)
    assert abs(k2.increments_ratio(run)) < 1 / k2.RATIO_BOUND
    assert math.isfinite(run.sample_norms[-1])


def test_k2_controls_are_refuted_by_random_cases_alone():
    assert max(sampled_margins(k2.search(k2.quarter_power_law), 4)) < 0
