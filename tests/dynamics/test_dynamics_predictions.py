"""The predictions of G1, G2 and the known results, checked on controlled problems where
they are exact (or exact in their stated limit), with torch's own optimizers."""

import math

import mpmath
import numpy as np
import pytest
import torch

from homogeneity.dynamics import predictions as P
from homogeneity.dynamics.controlled import (
    NormalisedRegression,
    RandomSphereObjective,
    initial_theta,
    run_normalised_gd,
    run_optimizer,
)
from homogeneity.dynamics.growth_laws import fit_power_law, select_growth_law
from homogeneity.errors import HomogeneityInputError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_gd_on_a_scale_invariant_loss_follows_the_exact_recursion():
    obj = NormalisedRegression(30, seed=0)
    tr = run_optimizer(obj, lambda p: torch.optim.SGD(p, lr=0.3), initial_theta(30, 0.5, 1), 300)
    assert np.max(np.abs(tr.alignments)) < 1e-12
    pred = P.scale_invariant_gd_norms(0.5, 0.3, tr.unit_grad_norms)
    assert np.max(np.abs(pred - tr.norms) / tr.norms) < 1e-12


def test_gd_with_a_wrong_recursion_is_rejected():
    """Negative control: the recursion without the 1/‖θ‖² factor (as if ∇L did not shrink
    with the norm) misses the measured norms."""
    obj = NormalisedRegression(30, seed=0)
    tr = run_optimizer(obj, lambda p: torch.optim.SGD(p, lr=0.3), initial_theta(30, 0.5, 1), 300)
    wrong = np.sqrt(0.25 + np.concatenate([[0], np.cumsum((0.3 * tr.unit_grad_norms) ** 2)]))
    assert np.max(np.abs(wrong - tr.norms) / tr.norms) > 0.1


def test_noisy_gd_on_a_scale_invariant_loss_grows_like_t_to_the_quarter():
    n, lr, steps = 50, 0.2, 3000
    obj = RandomSphereObjective(n, seed=2)
    tr = run_optimizer(obj, lambda p: torch.optim.SGD(p, lr=lr), initial_theta(n, 1.0, 0), steps)
    t = np.arange(steps + 1)
    sel = select_growth_law(t[::10], tr.norms[::10], with_power=False)
    assert sel.verdict == "selected" and sel.best.name == "t^(1/4)", str(sel)
    power = fit_power_law(t[::10], tr.norms[::10])
    assert power.contains(0.25) or abs(power.exponent - 0.25) < 0.02, power.describe()
    asym = P.scale_invariant_gd_asymptotic(1.0, lr, obj.expected_unit_grad_norm(), t)
    assert abs(tr.norms[-1] / asym[-1] - 1) < 0.05


def test_normalised_gd_is_exactly_sqrt():
    obj = RandomSphereObjective(40, seed=1)
    tr = run_normalised_gd(obj, initial_theta(40, 1.0, 0), 2000, 0.05)
    t = np.arange(2001)
    assert np.max(np.abs(P.normalised_gd_norms(1.0, 0.05, t) - tr.norms) / tr.norms) < 1e-12
    assert fit_power_law(t[::10], tr.norms[::10]).contains(0.5)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_weight_decay_equilibrium(momentum):
    n, lr, wd, steps = 200, 0.1, 1e-2, 1500
    obj = RandomSphereObjective(n, seed=3)
    g = obj.expected_unit_grad_norm()
    start = P.sgd_momentum_equilibrium_norm(lr, wd, g, momentum)
    tr = run_optimizer(
        obj,
        lambda p: torch.optim.SGD(p, lr=lr, momentum=momentum, weight_decay=wd),
        initial_theta(n, start, 0),
        steps,
    )
    late = slice(steps // 3, None)
    angle = float(np.mean(tr.angular_updates[late]))
    predicted = P.sgd_momentum_angular_update(lr, wd, momentum)
    assert abs(angle / predicted - 1) < 0.03
    assert abs(float(np.mean(tr.norms[late])) / start - 1) < 0.03
    if momentum:
        # negative control: ignoring momentum (√(2ηλ)) is off by far more than the tolerance
        assert abs(angle / math.sqrt(2 * lr * wd) - 1) > 0.2


@pytest.mark.parametrize("beta1", [0.0, 0.9])
def test_adamw_weight_decay_equilibrium(beta1):
    n, lr, wd, steps = 200, 1e-2, 0.1, 1500
    obj = RandomSphereObjective(n, seed=4)
    start = P.adamw_equilibrium_norm(lr, wd, n)
    tr = run_optimizer(
        obj,
        lambda p: torch.optim.AdamW(p, lr=lr, betas=(beta1, 0.999), weight_decay=wd),
        initial_theta(n, start, 0),
        steps,
    )
    late = slice(steps // 3, None)
    angle = float(np.mean(tr.angular_updates[late]))
    assert abs(angle / P.adamw_angular_update(lr, wd, beta1) - 1) < 0.03
    assert abs(float(np.mean(tr.norms[late])) / start - 1) < 0.03
    if beta1:
        assert abs(angle / P.adamw_angular_update(lr, wd, 0.0) - 1) > 0.2


def _fitted_update_rms(tr, theta0, lr, wd, n):
    """r for which P.adamw_norms best matches the measured norms; and the worst mismatch."""
    from scipy import optimize

    steps = np.arange(tr.steps + 1)

    def residual(r):
        return P.adamw_norms(theta0, lr, wd, n, steps, update_rms=float(r[0])) - tr.norms

    r = float(optimize.least_squares(residual, [1.0], bounds=(0.1, 2.0)).x[0])
    return r, float(np.max(np.abs(residual([r])) / tr.norms))


def test_adamw_relaxation_and_critical_weight_decay():
    """From far below equilibrium the norm rises toward √(ηn r²/(2λ)) with time constant
    1/(2ηλ) in ‖θ‖²; whether it grows or shrinks follows λ vs λ*.

    r is the RMS of Adam's update. While the norm rises the gradient (∝ 1/‖θ‖) shrinks
    and Adam's second moment, an average over ~1/(1−β₂) steps, lags behind it, so r < 1:
    with β₂ = 0.9 the lag is short and r ≈ 0.95; with β₂ = 0.999 it is long and r ≈ 0.75
    (the relaxation law only holds with an effective r, which the docs say)."""
    n, lr, wd, steps = 200, 1e-2, 0.05, 1500
    obj = RandomSphereObjective(n, seed=5)
    sigma0 = 0.05
    theta0 = sigma0 * math.sqrt(n)

    def run(beta2, decay):
        return run_optimizer(
            obj,
            lambda p: torch.optim.AdamW(p, lr=lr, betas=(0.0, beta2), weight_decay=decay),
            initial_theta(n, theta0, 0),
            steps,
        )

    fast = run(0.9, wd)
    r_fast, mismatch = _fitted_update_rms(fast, theta0, lr, wd, n)
    assert 0.85 < r_fast <= 1.0 and mismatch < 0.05
    crit = P.adamw_critical_weight_decay(lr, sigma0)
    assert wd < crit and fast.norms[-1] > fast.norms[0]
    assert run(0.9, 4 * crit).norms[-1] < fast.norms[0]
    r_slow, _ = _fitted_update_rms(run(0.999, wd), theta0, lr, wd, n)
    assert r_slow < r_fast - 0.1


def test_g1_aligned_product_and_bounds():
    lrs = P.inverse_sqrt_schedule(5000, scale=0.1)
    norms = P.g1_aligned_norms(1.0, lrs, kappa=1.0)
    theta = torch.tensor([3.0, 4.0], dtype=torch.float64) / 5
    for eta in lrs:  # aligned steps δ = κη‖θ‖θ̂ = κηθ
        theta = theta + eta * theta
    assert float(theta.norm()) == pytest.approx(norms[-1], rel=1e-12)
    lo, hi = P.g1_log_growth_bounds(lrs)
    assert np.all(lo <= np.log(norms) + 1e-12) and np.all(np.log(norms) <= hi + 1e-12)
    # ln‖θ_T‖ ~ κ∫η: the ratio tends to 1, slowly (the correction is κ²Ση²/2 = O(log T))
    assert abs(math.log(norms[-1]) / hi[-1] - 1) < 0.01


def test_g2_pythagoras_and_the_a1_exponent():
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(10)
    theta0 = float(np.linalg.norm(theta))
    steps = []
    for _ in range(200):
        d = rng.standard_normal(10)
        d -= (d @ theta) / (theta @ theta) * theta  # orthogonal to θ
        steps.append(float(np.linalg.norm(d)))
        theta = theta + d
    assert P.g2_misaligned_norms(theta0, steps)[-1] == pytest.approx(
        np.linalg.norm(theta), rel=1e-12
    )
    with mpmath.workdps(40):
        for kappa in (0.5, 1.0, 1.5):
            lrs = 1 / np.sqrt(np.arange(1, 20001))
            direct = math.log(P.g2_with_a1_norms(1.0, lrs, kappa)[-1])
            closed = float(P.g2_with_a1_log_norm_ratio(20000, kappa))
            assert direct == pytest.approx(closed, rel=1e-9)
            t1, t2 = mpmath.mpf(10**8), mpmath.mpf(2 * 10**8)
            local = (
                P.g2_with_a1_log_norm_ratio(int(t2), kappa)
                - P.g2_with_a1_log_norm_ratio(int(t1), kappa)
            ) / mpmath.log(2)
            assert float(local) == pytest.approx(P.g2_with_a1_exponent(kappa), abs=1e-6)


def test_prediction_inputs_are_validated():
    with pytest.raises(HomogeneityInputError, match="momentum"):
        P.sgd_momentum_angular_update(0.1, 0.01, 1.0)
    with pytest.raises(HomogeneityInputError, match="beta1"):
        P.adamw_angular_update(0.1, 0.01, -0.1)
    with pytest.raises(HomogeneityInputError, match="lr"):
        P.adamw_equilibrium_norm(-1, 0.1, 10)
    with pytest.raises(HomogeneityInputError, match="lrs"):
        P.g1_aligned_norms(1.0, [])
    with pytest.raises(HomogeneityInputError, match="steps"):
        P.homogeneous_margin_norm_shape([0.5, 2], 2)


def _separable_gd_norms(degree: int, steps: int = 30_000, lr: float = 1.0) -> np.ndarray:
    """GD with the exponential loss on separable 2-d data: a linear model w (L = 1) or the
    diagonal network w = u ⊙ v (L = 2). Returns ‖θ_t‖ for t = 1..steps."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 2))
    w_star = np.array([1.0, 0.3]) / np.hypot(1.0, 0.3)
    y = np.sign(x @ w_star)
    x = x + 0.5 * y[:, None] * w_star  # margin ≥ 0.5
    norms = np.empty(steps)
    if degree == 1:
        w = np.zeros(2)
        for t in range(steps):
            w -= lr * (-(np.exp(-y * (x @ w)) * y) @ x / y.size)
            norms[t] = np.linalg.norm(w)
        return norms
    u, v = np.full(2, 0.5), np.full(2, 0.5)
    for t in range(steps):
        gw = -(np.exp(-y * (x @ (u * v))) * y) @ x / y.size
        u, v = u - lr * gw * v, v - lr * gw * u
        norms[t] = np.sqrt(u @ u + v @ v)
    return norms


@pytest.mark.parametrize("degree", [1, 2])
def test_homogeneous_models_on_separable_data_grow_like_log_t(degree):
    """Lyu & Li: an L-homogeneous model trained by GD with an exponential loss on
    separable data has ‖θ_t‖ = Θ((log t)^{1/L}); the selection must find that law, and
    must not find it when told the wrong L (negative control)."""
    norms = _separable_gd_norms(degree)
    steps = np.unique(np.geomspace(1, norms.size, 300).astype(int))
    sel = select_growth_law(steps, norms[steps - 1], degree=degree, with_power=False)
    assert sel.verdict == "selected" and sel.best.name == "(log t)^(1/L)", str(sel)
    shape = P.homogeneous_margin_norm_shape(steps[steps > 1], degree)
    ratio = norms[steps[steps > 1] - 1] / shape
    # Θ((log t)^{1/L}): the ratio stays within 10% over the last decade of steps (for L = 1
    # it still creeps up like log log t / log t, the known correction)
    assert np.ptp(ratio[-50:]) / np.mean(ratio[-50:]) < 0.1
    wrong = select_growth_law(steps, norms[steps - 1], degree=3 - degree, with_power=False)
    fit = next(f for f in wrong.fits if f.name == "(log t)^(1/L)")
    right = next(f for f in sel.fits if f.name == "(log t)^(1/L)")
    assert fit.rss > 2 * right.rss
