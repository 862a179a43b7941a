"""What theory predicts for ‖θ_t‖ and the per-step rotation, as plain functions.

The G1, G2 and weight-decay formulas are those of :mod:`homogeneity.growth_formulas`
(one definition, evaluated there in float64 or mpmath); this module is their float64 and
numpy face, adding the per-step arrays and the known results that the claims do not use.

Notation: θ_t the parameters (or one group), δ_t = θ_{t+1} − θ_t, η_t the learning rate,
I_t = Σ_{s<t} η_s (the discrete ∫η), κ the constant of A1 (‖δ_t‖ = κ η_t ‖θ_t‖).
Arrays are numpy float64; index t runs over 0..T (T steps give T+1 norms).

**G1 (aligned).** cos(θ_t, δ_t) = 1 and A1 give ‖θ_{t+1}‖ = (1 + κη_t)‖θ_t‖, so

    ‖θ_T‖ = ‖θ_0‖ ∏_{t<T} (1 + κη_t),   κI_T − κ²Σ_{t<T}η_t²/2 ≤ ln(‖θ_T‖/‖θ_0‖) ≤ κI_T.

"Grows like exp(∫η)" holds in the sense ln‖θ_T‖ ~ κ I_T whenever Ση² = o(Ση). With
η_t = c/√(t+1): ln‖θ_T‖ = 2κc√T − (κ²c²/2) ln T + O(1), i.e. exp(2κc√T) times a
polynomial factor T^(−κ²c²/2).

**G2 (misaligned).** θ_tᵀδ_t = 0 gives ‖θ_{t+1}‖² = ‖θ_t‖² + ‖δ_t‖² exactly, hence
‖θ_T‖² = ‖θ_0‖² + Σ‖δ_t‖². A constant step s gives √(‖θ_0‖² + s²T) ~ s√T. With A1 as
well, ‖θ_{t+1}‖² = (1 + κ²η_t²)‖θ_t‖²; for η_t = c/√t (t ≥ 1)

    ‖θ_T‖²/‖θ_0‖² = ∏_{t=1}^{T} (1 + κ²c²/t) = Γ(T+1+κ²c²) / (Γ(1+κ²c²) Γ(T+1)) ~ T^{κ²c²},

so ‖θ_T‖ ∝ T^{κ²c²/2}: √T exactly when κc = 1 (a relative step that is literally η_t‖θ_t‖,
as AdaFactor's is), and the step size ‖δ_t‖ = κη_t‖θ_t‖ ∝ t^{(κ²c² − 1)/2} is constant
only then.

**Scale-invariant loss, plain GD** (Arora, Li & Lyu 2019). ∇L(θ) ⊥ θ and
‖∇L(θ)‖ = G_t/‖θ‖ with G_t = ‖∇L(θ̂_t)‖ the gradient at the unit vector, so
x_t = ‖θ_t‖² obeys x_{t+1} = x_t + η²G_t²/x_t exactly; with G_t ≡ G this gives
‖θ_t‖⁴ ≈ ‖θ_0‖⁴ + 2η²G²t (growth t^{1/4}). **Normalised GD** δ = −η∇L/‖∇L‖ gives
‖θ_t‖² = ‖θ_0‖² + η²t exactly (growth √t).

**Weight-decay equilibria** for scale-invariant weights whose gradient is dominated by
noise (Wan et al. 2021; Kosson et al. 2024), n coordinates:

* SGD, momentum α, coupled decay λ (torch ``SGD(weight_decay=λ)``): the angular update
  arccos cos(θ_t, θ_{t+1}) → √(2ηλ/(1+α)) and ‖θ‖⁴ → ηG²/(2λ(1−α)).
* AdamW (decoupled θ ← (1−ηλ)θ − ηu): angular update → √(2ηλ(1−β₁)/(1+β₁)) and
  ‖θ‖² → η n r²/(2λ) with r the RMS of the Adam update at β₁ = 0 (≈ 1 for pure
  noise); the relaxation time of ‖θ‖² is 1/(2ηλ) steps.

Hence AdamW's norm grows over a run iff ‖θ_0‖²/n < η r²/(2λ), i.e. λ < λ* = η r²/(2σ₀²)
with σ₀ the initial RMS of the weights (SPEC WD).

r is the RMS of Adam's update (before decay). At stationarity with β₂ close to 1 it is ≈ 1.
While the norm moves, the gradient of a scale-invariant group (∝ 1/‖θ‖) changes, Adam's
second moment (an average over ~1/(1−β₂) steps) lags behind it and r drifts below 1
(measured in the tests: r ≈ 0.95 for β₂ = 0.9, ≈ 0.75 for β₂ = 0.999 on a rising norm),
so the relaxation law holds with an effective r. The equilibrium angular update does not
depend on r.

**Lyu & Li 2020.** An L-homogeneous network on separable data under GD with an
exponential-type loss has ‖θ_t‖ = Θ((log t)^{1/L}).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
from numpy.typing import ArrayLike

from homogeneity import growth_formulas as G
from homogeneity.errors import HomogeneityInputError


def _positive(value: float, argument: str, allow_zero: bool = False) -> float:
    v = float(value)
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise HomogeneityInputError(
            f"{argument}={value!r} must be a finite number {'≥' if allow_zero else '>'} 0"
        )
    return v


def _lrs(lrs: ArrayLike) -> np.ndarray:
    eta = np.asarray(lrs, dtype=np.float64).reshape(-1)
    if eta.size == 0 or not np.all(np.isfinite(eta)) or np.any(eta < 0):
        raise HomogeneityInputError(
            "lrs must be a non-empty sequence of finite learning rates ≥ 0 (one per step)"
        )
    return eta


def _cumulative(terms: ArrayLike) -> np.ndarray:
    """(0, t₀, t₀ + t₁, …): the running sum with a leading 0 (T terms give T+1 values)."""
    return np.concatenate([[0.0], np.cumsum(np.asarray(terms, dtype=np.float64))])


def inverse_sqrt_schedule(steps: int, scale: float = 1.0, start: int = 1) -> np.ndarray:
    """η_t = scale/√(t + start) for t = 0..steps−1 (T5's schedule has scale 1)."""
    if steps < 1 or start < 1:
        raise HomogeneityInputError("steps and start must be ≥ 1")
    return np.array(G.inverse_sqrt_lrs(steps, scale, start))


def lr_integral(lrs: ArrayLike) -> np.ndarray:
    """I_t = Σ_{s<t} η_s for t = 0..T (length T+1)."""
    return _cumulative(_lrs(lrs))


# -- G1 ----------------------------------------------------------------------------------


def g1_aligned_norms(theta0_norm: float, lrs: ArrayLike, kappa: float = 1.0) -> np.ndarray:
    """‖θ_t‖ = ‖θ_0‖∏_{s<t}(1 + κη_s): exact under cos(θ, δ) = 1 and ‖δ_t‖ = κη_t‖θ_t‖."""
    n0, k = _positive(theta0_norm, "theta0_norm"), _positive(kappa, "kappa")
    steps = [G.step_log_growth(eta, k) for eta in _lrs(lrs)]
    return n0 * np.exp(_cumulative(steps))


def g1_log_growth_bounds(lrs: ArrayLike, kappa: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) bounds on ln(‖θ_t‖/‖θ_0‖) under G1: κI_t − κ²Ση²/2 and κI_t."""
    eta, k = _lrs(lrs), _positive(kappa, "kappa")
    pairs = [
        G.g1_log_growth_bounds(i, s, k)
        for i, s in zip(_cumulative(eta), _cumulative(eta**2), strict=True)
    ]
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


def g1_continuous_norms(theta0_norm: float, integral: ArrayLike, kappa: float = 1.0) -> np.ndarray:
    """‖θ_0‖exp(κ∫η): the paper's form of G1 (gradient flow)."""
    return _positive(theta0_norm, "theta0_norm") * np.exp(
        _positive(kappa, "kappa") * np.asarray(integral, dtype=np.float64)
    )


# -- G2 ----------------------------------------------------------------------------------


def g2_misaligned_norms(theta0_norm: float, step_norms: ArrayLike) -> np.ndarray:
    """‖θ_t‖ = √(‖θ_0‖² + Σ_{s<t}‖δ_s‖²): exact when every step is orthogonal to θ."""
    n0 = _positive(theta0_norm, "theta0_norm", allow_zero=True)
    sums = _cumulative(_lrs(step_norms) ** 2)
    return np.array([G.orthogonal_steps_norm(n0, s) for s in sums])


def g2_with_a1_norms(theta0_norm: float, lrs: ArrayLike, kappa: float = 1.0) -> np.ndarray:
    """‖θ_t‖ = ‖θ_0‖∏_{s<t}√(1 + κ²η_s²): orthogonal steps of size κη‖θ‖ (G2 + A1)."""
    n0, k = _positive(theta0_norm, "theta0_norm"), _positive(kappa, "kappa")
    steps = [G.step_log_growth(eta, k, alignment=0) for eta in _lrs(lrs)]
    return n0 * np.exp(_cumulative(steps))


def g2_with_a1_exponent(kappa: float = 1.0, lr_scale: float = 1.0) -> float:
    """The exponent p of ‖θ_t‖ ∝ t^p under G2 + A1 with η_t = c/√t: p = κ²c²/2."""
    return float(G.g2_exponent(kappa, lr_scale))


def g2_with_a1_log_norm_ratio(
    steps: int, kappa: float = 1.0, lr_scale: float = 1.0, digits: int = 50
) -> mpmath.mpf:
    """ln(‖θ_T‖/‖θ_0‖) under G2 + A1 with η_t = c/√t, t = 1..T, in closed form (mpmath at
    ``digits``): ½ ln Γ(T+1+a) − ½ ln Γ(1+a) − ½ ln Γ(T+1), a = κ²c²."""
    if int(steps) != steps or steps < 1:
        raise HomogeneityInputError(f"steps={steps!r} must be an integer ≥ 1")
    num = G.mpmath_numeric(digits)
    return G.g2_log_norm_ratio(int(steps), G.g2_coefficient(kappa, lr_scale, num), num)


# -- known results ------------------------------------------------------------------------


def scale_invariant_gd_norms(
    theta0_norm: float, lr: float, unit_grad_norms: ArrayLike
) -> np.ndarray:
    """Exact ‖θ_t‖ under plain GD on a scale-invariant loss: x_{t+1} = x_t + η²G_t²/x_t,
    x = ‖θ‖², G_t = ‖∇L(θ_t/‖θ_t‖)‖."""
    x = _positive(theta0_norm, "theta0_norm") ** 2
    eta = _positive(lr, "lr", allow_zero=True)
    g = _lrs(unit_grad_norms)
    out = np.empty(g.size + 1)
    out[0] = x
    for i, gi in enumerate(g):
        x = x + (eta * gi) ** 2 / x
        out[i + 1] = x
    return np.sqrt(out)


def scale_invariant_gd_asymptotic(
    theta0_norm: float, lr: float, unit_grad_norm: float, steps: ArrayLike
) -> np.ndarray:
    """(‖θ_0‖⁴ + 2η²G²t)^{1/4}: the t^{1/4} law of plain GD on a scale-invariant loss with a
    unit-sphere gradient norm G that stays constant (the gradient-flow solution)."""
    n0 = _positive(theta0_norm, "theta0_norm")
    eta, g = _positive(lr, "lr"), _positive(unit_grad_norm, "unit_grad_norm")
    t = np.asarray(steps, dtype=np.float64)
    return (n0**4 + 2 * eta**2 * g**2 * t) ** 0.25


def normalised_gd_norms(theta0_norm: float, lr: float, steps: ArrayLike) -> np.ndarray:
    """√(‖θ_0‖² + η²t): exact for δ = −η∇L/‖∇L‖ on a scale-invariant loss."""
    n0 = _positive(theta0_norm, "theta0_norm")
    eta = _positive(lr, "lr")
    return np.sqrt(n0**2 + eta**2 * np.asarray(steps, dtype=np.float64))


def sgd_momentum_angular_update(lr: float, weight_decay: float, momentum: float = 0.0) -> float:
    """√(2ηλ/(1+α)): equilibrium angular update of SGD with momentum α (Wan et al. 2021)."""
    return float(G.sgd_momentum_angular_update(lr, weight_decay, momentum))


def sgd_momentum_equilibrium_norm(
    lr: float, weight_decay: float, unit_grad_norm: float, momentum: float = 0.0
) -> float:
    """(ηG²/(2λ(1−α)))^{1/4}: equilibrium ‖θ‖ of SGD + momentum + coupled weight decay on a
    scale-invariant group with unit-sphere gradient norm G (RMS over steps)."""
    return float(G.sgd_momentum_equilibrium_norm(lr, weight_decay, unit_grad_norm, momentum))


def adamw_angular_update(lr: float, weight_decay: float, beta1: float = 0.9) -> float:
    """√(2ηλ(1−β₁)/(1+β₁)): equilibrium angular update of AdamW (Kosson et al. 2024)."""
    return float(G.adamw_angular_update(lr, weight_decay, beta1))


def adamw_equilibrium_norm(
    lr: float, weight_decay: float, n: int, update_rms: float = 1.0
) -> float:
    """√(η n r²/(2λ)): equilibrium ‖θ‖ of AdamW on a scale-invariant group of n coordinates
    (r: RMS of the Adam update at β₁ = 0, ≈ 1 when the gradient is noise)."""
    return float(G.adamw_equilibrium_norm(lr, weight_decay, n, update_rms))


def adamw_relaxation_steps(lr: float, weight_decay: float) -> float:
    """1/(2ηλ): e-folding time (in steps) of ‖θ_t‖² − ‖θ*‖² under AdamW."""
    return float(G.adamw_relaxation_steps(lr, weight_decay))


def adamw_norms(
    theta0_norm: float,
    lr: float,
    weight_decay: float,
    n: int,
    steps: ArrayLike,
    update_rms: float = 1.0,
) -> np.ndarray:
    """‖θ_t‖ = √(x* + (x_0 − x*)(1−ηλ)^{2t}), x* the equilibrium ‖θ*‖² (scale-invariant group,
    noise-dominated AdamW updates of RMS r; λ = 0 gives √(x_0 + η²n r² t))."""
    t = np.asarray(steps, dtype=np.float64).reshape(-1)
    return np.array(
        [G.adamw_norm(theta0_norm, lr, weight_decay, n, float(s), update_rms) for s in t]
    )


def adamw_critical_weight_decay(lr: float, initial_rms: float, update_rms: float = 1.0) -> float:
    """λ* = η r²/(2σ₀²): below it AdamW's norm grows from its initial value, above it shrinks
    (scale-invariant groups, noise-dominated updates; σ₀ the initial RMS of the weights)."""
    return float(G.adamw_critical_weight_decay(lr, initial_rms, update_rms))


def homogeneous_margin_norm_shape(steps: ArrayLike, degree: float) -> np.ndarray:
    """(log t)^{1/L} (Lyu & Li 2020), the shape of ‖θ_t‖ up to a constant for t > 1."""
    t = np.asarray(steps, dtype=np.float64)
    if np.any(t <= 1):
        raise HomogeneityInputError("steps must be > 1 for (log t)^(1/L)")
    return np.log(t) ** (1.0 / _positive(degree, "degree"))
