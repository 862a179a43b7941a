"""The closed forms of the norm-growth theory (SPEC G1, G2 with A1, WD), written once and
evaluated in float64 or in mpmath at explicit precision.

Each formula takes a :class:`Numeric` backend: :data:`FLOAT64` (Python floats and
``math``) or :func:`mpmath_numeric` ``(digits)`` (mpmath at that many decimal digits; the
whole formula runs inside that precision and mpmath's global precision is restored).
:mod:`homogeneity.dynamics.predictions` is the float64/numpy face of these functions, the
claims G1, G2, G2* and WD call them in mpmath; both are cross-tested. This module imports
neither torch nor numpy.

Notation: η_t the learning rate, κ the constant of A1 (‖δ_t‖ = κη_t‖θ_t‖), a = κ²c².

**G1 (aligned).** A step at cosine α with θ and ‖δ‖ = κη‖θ‖ multiplies ‖θ‖² by
1 + 2ακη + κ²η²; for α = 1 that is (1 + κη)², and x − x²/2 ≤ ln(1 + x) ≤ x gives

    κI_T − κ²S_T/2 ≤ ln(‖θ_T‖/‖θ_0‖) ≤ κI_T,   I_T = Σ_{t<T} η_t,  S_T = Σ_{t<T} η_t².

**G2 (orthogonal) with A1 and η_t = c/√t.** ‖θ_T‖²/‖θ_0‖² = ∏_{t=1}^{T}(1 + a/t) =
Γ(T+1+a)/(Γ(1+a)Γ(T+1)), so ln(‖θ_T‖/‖θ_0‖) = ½[lnΓ(T+1+a) − lnΓ(1+a) − lnΓ(T+1)], the
local exponent p_T = ln(‖θ_{2T}‖/‖θ_T‖)/ln 2 → a/2, and |p_T − a/2| ≤ a(a+1)/T (from
lnΓ(x+a) − lnΓ(x) = a ln x + a(a−1)/(2x) + O(x⁻²), generously).

**Weight-decay equilibria** (scale-invariant groups, noise-dominated gradients; Wan et al.
2021, Kosson et al. 2024): SGD with momentum α and coupled decay λ: angular update
√(2ηλ/(1+α)), ‖θ‖ = (ηG²/(2λ(1−α)))^{1/4}; AdamW: angular update √(2ηλ(1−β₁)/(1+β₁)),
‖θ‖ = √(ηnr²/(2λ)), relaxation time 1/(2ηλ) steps, and the norm grows from an initial RMS
σ₀ iff λ < λ* = ηr²/(2σ₀²).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import mpmath

from homogeneity.errors import HomogeneityInputError


@dataclass(frozen=True)
class Numeric:
    """A small numeric backend: conversion, the transcendental functions the formulas use,
    an exact-as-possible sum, and the precision every formula runs in."""

    name: str
    number: Callable[[Any], Any]
    sqrt: Callable[[Any], Any]
    log: Callable[[Any], Any]
    log1p: Callable[[Any], Any]
    expm1: Callable[[Any], Any]
    loggamma: Callable[[Any], Any]
    fsum: Callable[[Iterable[Any]], Any]
    precision: Callable[[], AbstractContextManager[Any]]
    digits: int | None = None


#: Python floats with ``math`` (IEEE float64).
FLOAT64 = Numeric(
    "float64",
    float,
    math.sqrt,
    math.log,
    math.log1p,
    math.expm1,
    math.lgamma,
    math.fsum,
    nullcontext,
)


def mpmath_numeric(digits: int) -> Numeric:
    """mpmath at ``digits`` decimal digits (an integer ≥ 5)."""
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 5:
        raise HomogeneityInputError(f"digits={digits!r} must be an integer ≥ 5; pass e.g. 50")

    @contextmanager
    def precision() -> Iterator[None]:
        with mpmath.workdps(digits):
            yield

    return Numeric(
        f"mpmath {digits} digits",
        mpmath.mpf,
        mpmath.sqrt,
        mpmath.log,
        mpmath.log1p,
        mpmath.expm1,
        mpmath.loggamma,
        mpmath.fsum,
        precision,
        digits,
    )


def _checked(num: Numeric, value: Any, argument: str, allow_zero: bool = False) -> Any:
    if isinstance(value, bool):
        raise HomogeneityInputError(f"{argument}={value!r} is a bool; pass a number")
    try:
        v = num.number(value)
    except (TypeError, ValueError) as exc:
        raise HomogeneityInputError(f"{argument}={value!r} is not a real number") from exc
    if not mpmath.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise HomogeneityInputError(
            f"{argument}={value!r} must be a finite number {'≥' if allow_zero else '>'} 0"
        )
    return v


def _fraction(num: Numeric, value: Any, argument: str) -> Any:
    v = _checked(num, value, argument, allow_zero=True)
    if not v < 1:
        raise HomogeneityInputError(f"{argument}={value!r} must lie in [0, 1)")
    return v


# -- learning-rate schedules -------------------------------------------------------------


def inverse_sqrt_lr(t: int, scale: Any = 1.0, start: int = 1, num: Numeric = FLOAT64) -> Any:
    """η_t = scale/√(t + start) (T5's schedule has scale 1, start 1)."""
    return inverse_sqrt_lrs(int(t) + 1, scale, start, num, first=int(t))[0]


def inverse_sqrt_lrs(
    steps: int, scale: Any = 1.0, start: int = 1, num: Numeric = FLOAT64, first: int = 0
) -> list[Any]:
    """[η_first, …, η_{steps−1}] of :func:`inverse_sqrt_lr` (one precision context)."""
    if int(first) != first or first < 0 or int(start) != start or start < 1 or steps < first:
        raise HomogeneityInputError(
            f"need integers 0 ≤ first ≤ steps and start ≥ 1, got {first=}, {steps=}, {start=}"
        )
    with num.precision():
        c = _checked(num, scale, "scale")
        return [c / num.sqrt(num.number(t + int(start))) for t in range(int(first), int(steps))]


# -- G1 ----------------------------------------------------------------------------------


def _step_log_growth(eta: Any, k: Any, a: Any, num: Numeric) -> Any:
    if a == 1:
        return num.log1p(k * eta)
    return num.log1p(2 * a * k * eta + (k * eta) ** 2) / 2


def _alignment(num: Numeric, alignment: Any) -> Any:
    a = num.number(alignment)
    if not -1 <= a <= 1:
        raise HomogeneityInputError(f"alignment={alignment!r} must lie in [−1, 1]")
    return a


def step_log_growth(lr: Any, kappa: Any, alignment: Any = 1, num: Numeric = FLOAT64) -> Any:
    """ln(‖θ + δ‖/‖θ‖) for one step of size ‖δ‖ = κη‖θ‖ at cosine ``alignment`` with θ:
    ½ ln(1 + 2ακη + κ²η²) (= ln(1 + κη) when aligned)."""
    with num.precision():
        eta, k = _checked(num, lr, "lr", allow_zero=True), _checked(num, kappa, "kappa")
        return _step_log_growth(eta, k, _alignment(num, alignment), num)


def log_growth(lrs: Iterable[Any], kappa: Any, alignment: Any = 1, num: Numeric = FLOAT64) -> Any:
    """ln(‖θ_T‖/‖θ_0‖) = Σ_t :func:`step_log_growth` (η_t, κ, α): exact for steps of size
    κη_t‖θ_t‖ at a constant cosine α with θ_t."""
    with num.precision():
        k, a = _checked(num, kappa, "kappa"), _alignment(num, alignment)
        terms = []
        for i, eta in enumerate(lrs):
            e = num.number(eta)
            if not e >= 0:
                raise HomogeneityInputError(f"lrs[{i}]={eta!r} must be a learning rate ≥ 0")
            terms.append(_step_log_growth(e, k, a, num))
        return num.fsum(terms)


def g1_log_growth_bounds(
    lr_sum: Any, lr_square_sum: Any, kappa: Any, num: Numeric = FLOAT64
) -> tuple[Any, Any]:
    """(κI − κ²S/2, κI): the bounds of G1 on ln(‖θ_T‖/‖θ_0‖), I = Σ_{t<T}η_t,
    S = Σ_{t<T}η_t²."""
    with num.precision():
        integral = _checked(num, lr_sum, "lr_sum", allow_zero=True)
        squares = _checked(num, lr_square_sum, "lr_square_sum", allow_zero=True)
        k = _checked(num, kappa, "kappa")
        return k * integral - k * k * squares / 2, k * integral


# -- G2 ----------------------------------------------------------------------------------


def orthogonal_steps_norm(theta0_norm: Any, step_square_sum: Any, num: Numeric = FLOAT64) -> Any:
    """√(‖θ_0‖² + Σ‖δ_t‖²): ‖θ_T‖ when every step is orthogonal to θ (Pythagoras, G2 (i))."""
    with num.precision():
        n0 = _checked(num, theta0_norm, "theta0_norm", allow_zero=True)
        return num.sqrt(n0 * n0 + _checked(num, step_square_sum, "step_square_sum", True))


def g2_coefficient(kappa: Any = 1.0, lr_scale: Any = 1.0, num: Numeric = FLOAT64) -> Any:
    """a = κ²c²: G2 + A1 with η_t = c/√t multiplies ‖θ‖² by 1 + a/t at step t."""
    with num.precision():
        return (_checked(num, kappa, "kappa") * _checked(num, lr_scale, "lr_scale")) ** 2


def g2_exponent(kappa: Any = 1.0, lr_scale: Any = 1.0, num: Numeric = FLOAT64) -> Any:
    """p = κ²c²/2: ‖θ_t‖ ∝ t^p under G2 + A1 with η_t = c/√t."""
    with num.precision():
        return g2_coefficient(kappa, lr_scale, num) / 2


def g2_log_norm_ratio(steps: Any, a: Any, num: Numeric = FLOAT64) -> Any:
    """ln(‖θ_T‖/‖θ_0‖) = ½[lnΓ(T+1+a) − lnΓ(1+a) − lnΓ(T+1)], a = κ²c², for T steps of G2 +
    A1 with η_t = c/√t, t = 1..T (T may be any real ≥ 1 here: the closed form)."""
    with num.precision():
        t, av = _checked(num, steps, "steps"), _checked(num, a, "a", allow_zero=True)
        if t < 1:
            raise HomogeneityInputError(f"steps={steps!r} must be ≥ 1")
        return (num.loggamma(t + 1 + av) - num.loggamma(1 + av) - num.loggamma(t + 1)) / 2


def g2_local_exponent(steps: Any, a: Any, num: Numeric = FLOAT64) -> Any:
    """p_T = ln(‖θ_{2T}‖/‖θ_T‖)/ln 2 (→ a/2 as T → ∞)."""
    with num.precision():
        t = _checked(num, steps, "steps")
        return (g2_log_norm_ratio(2 * t, a, num) - g2_log_norm_ratio(t, a, num)) / num.log(2)


def g2_local_exponent_bound(steps: Any, a: Any, num: Numeric = FLOAT64) -> Any:
    """a(a+1)/T ≥ |p_T − a/2| (the 1/T correction of the local exponent, generously)."""
    with num.precision():
        t, av = _checked(num, steps, "steps"), _checked(num, a, "a", allow_zero=True)
        return av * (av + 1) / t


# -- weight-decay equilibria --------------------------------------------------------------


def sgd_momentum_angular_update(
    lr: Any, weight_decay: Any, momentum: Any = 0.0, num: Numeric = FLOAT64
) -> Any:
    """√(2ηλ/(1+α)): equilibrium angular update of SGD with momentum α (Wan et al. 2021)."""
    with num.precision():
        a = _fraction(num, momentum, "momentum")
        eta, lam = _checked(num, lr, "lr"), _checked(num, weight_decay, "weight_decay")
        return num.sqrt(2 * eta * lam / (1 + a))


def sgd_momentum_equilibrium_norm(
    lr: Any, weight_decay: Any, unit_grad_norm: Any, momentum: Any = 0.0, num: Numeric = FLOAT64
) -> Any:
    """(ηG²/(2λ(1−α)))^{1/4}: equilibrium ‖θ‖ of SGD + momentum + coupled weight decay on a
    scale-invariant group with unit-sphere gradient norm G (RMS over steps)."""
    with num.precision():
        a = _fraction(num, momentum, "momentum")
        eta, lam = _checked(num, lr, "lr"), _checked(num, weight_decay, "weight_decay")
        g = _checked(num, unit_grad_norm, "unit_grad_norm")
        return num.sqrt(num.sqrt(eta * g * g / (2 * lam * (1 - a))))


def adamw_angular_update(
    lr: Any, weight_decay: Any, beta1: Any = 0.9, num: Numeric = FLOAT64
) -> Any:
    """√(2ηλ(1−β₁)/(1+β₁)): equilibrium angular update of AdamW (Kosson et al. 2024)."""
    with num.precision():
        b = _fraction(num, beta1, "beta1")
        eta, lam = _checked(num, lr, "lr"), _checked(num, weight_decay, "weight_decay")
        return num.sqrt(2 * eta * lam * (1 - b) / (1 + b))


def adamw_equilibrium_norm(
    lr: Any, weight_decay: Any, n: int, update_rms: Any = 1.0, num: Numeric = FLOAT64
) -> Any:
    """√(η n r²/(2λ)): equilibrium ‖θ‖ of AdamW on a scale-invariant group of n coordinates
    (r: RMS of the Adam update at β₁ = 0, ≈ 1 when the gradient is noise)."""
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise HomogeneityInputError(f"n={n!r} must be a positive integer (coordinates)")
    with num.precision():
        eta, lam = _checked(num, lr, "lr"), _checked(num, weight_decay, "weight_decay")
        r = _checked(num, update_rms, "update_rms")
        return num.sqrt(eta * int(n) * r * r / (2 * lam))


def adamw_relaxation_steps(lr: Any, weight_decay: Any, num: Numeric = FLOAT64) -> Any:
    """1/(2ηλ): e-folding time (in steps) of ‖θ_t‖² − ‖θ*‖² under AdamW."""
    with num.precision():
        return 1 / (2 * _checked(num, lr, "lr") * _checked(num, weight_decay, "weight_decay"))


def adamw_norm(
    theta0_norm: Any,
    lr: Any,
    weight_decay: Any,
    n: int,
    step: Any,
    update_rms: Any = 1.0,
    num: Numeric = FLOAT64,
) -> Any:
    """‖θ_t‖ = √(x* + (x_0 − x*)(1−ηλ)^{2t}) at step t, x* = η²nr²/(1 − (1−ηλ)²) the
    equilibrium ‖θ*‖² (scale-invariant group, noise-dominated AdamW updates of RMS r);
    λ = 0 gives √(x_0 + η²nr²t).

    Evaluated as x_0 q + η²nr² (1 − q)/(ηλ(2 − ηλ)) with q = (1−ηλ)^{2t} and
    1 − q = −expm1(2t ln(1 − ηλ)), which has no cancellation however small ηλ is."""
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise HomogeneityInputError(f"n={n!r} must be a positive integer (coordinates)")
    with num.precision():
        x0 = _checked(num, theta0_norm, "theta0_norm") ** 2
        eta, r = _checked(num, lr, "lr"), _checked(num, update_rms, "update_rms")
        lam = _checked(num, weight_decay, "weight_decay", allow_zero=True)
        t = _checked(num, step, "step", allow_zero=True)
        per_step = eta * eta * int(n) * r * r
        if lam == 0:
            return num.sqrt(x0 + per_step * t)
        shrink = eta * lam
        if not shrink < 1:
            raise HomogeneityInputError(
                f"lr·weight_decay = {float(shrink):.3g} must be < 1 (else the decay flips θ)"
            )
        rest = -num.expm1(2 * t * num.log1p(-shrink))  # 1 − q
        return num.sqrt(x0 * (1 - rest) + per_step * rest / (shrink * (2 - shrink)))


def adamw_critical_weight_decay(
    lr: Any, initial_rms: Any, update_rms: Any = 1.0, num: Numeric = FLOAT64
) -> Any:
    """λ* = η r²/(2σ₀²): below it AdamW's norm grows from its initial value, above it shrinks
    (scale-invariant groups, noise-dominated updates; σ₀ the initial RMS of the weights)."""
    with num.precision():
        eta, r = _checked(num, lr, "lr"), _checked(num, update_rms, "update_rms")
        s0 = _checked(num, initial_rms, "initial_rms")
        return eta * r * r / (2 * s0 * s0)
