"""Scale-invariant objectives and the closed form of plain GD on them (K1).

Objectives (for :func:`homogeneity.dynamics.controlled.run_optimizer`, float64):

* :class:`AngleObjective`: L(θ) = atan2(θ₂, θ₁) on ℝ². It is 0-homogeneous and its
  gradient (−θ₂, θ₁)/‖θ‖² has norm exactly 1/‖θ‖ everywhere, so the unit-sphere gradient
  norm G = ‖∇L(θ̂)‖ is the constant 1: GD rotates θ and never converges.
* :class:`TimesNorm`: ‖θ‖·L(θ) for a scale-invariant L, 1-homogeneous (not
  scale-invariant): θᵀ∇(‖θ‖L) = ‖θ‖L ≠ 0, a gradient component along θ (the negative
  control).
* :class:`homogeneity.dynamics.controlled.RandomSphereObjective`: noise, E G² = σ²(n − 1).

Closed form. With y_t = ‖θ_t‖² and a = η²G² (G constant), θᵀ∇L = 0 gives
y_{t+1} = y_t + η²‖∇L(θ_t)‖² = y_t + a/y_t, hence y_{t+1}² = y_t² + 2a + a²/y_t² and, by
induction (y_s² ≥ y_0² + 2as, then Σ_{s<t} 1/(y_0² + 2as) ≤ 1/y_0² + ln(1 + 2a(t−1)/y_0²)/(2a)),

    y_0² + 2at ≤ y_t² ≤ y_0² + 2at + a²/y_0² + (a/2)·ln(1 + 2a(t − 1)/y_0²)     (t ≥ 1).

So ‖θ_t‖ = (y_t²)^{1/4} ∼ (2a t)^{1/4}, and the local exponent p_T = log₂(‖θ_{2T}‖/‖θ_T‖)
satisfies |p_T − ¼| ≤ E_T/(4 ln 2) with E_T = (y_0² + a²/y_0² + (a/2) ln(1 + 4aT/y_0²))/(2aT)
(both y_T² and y_{2T}² lie within the factor 1 + E_T of 2aT and 4aT). Normalised steps
δ = −η∇L/‖∇L‖ are orthogonal to θ with norm η, so y_t = y_0 + η²t exactly and
|p_T − ½| ≤ y_0/(2 ln 2·η²T).
"""

from __future__ import annotations

import math
from typing import Any

import mpmath
import torch

from proofs_numeric.precision import working_precision


class AngleObjective:
    """L(θ) = atan2(θ₂, θ₁): scale-invariant, ‖∇L(θ)‖ = 1/‖θ‖ (G = 1)."""

    n = 2

    def __call__(self, theta: torch.Tensor, step: int) -> torch.Tensor:
        return torch.atan2(theta[1], theta[0])

    def expected_unit_grad_norm(self) -> float:
        return 1.0


class TimesNorm:
    """‖θ‖·L(θ): 1-homogeneous when L is scale-invariant, so θᵀ∇ = ‖θ‖L ≠ 0."""

    def __init__(self, objective: Any) -> None:
        self.objective = objective

    def __call__(self, theta: torch.Tensor, step: int) -> torch.Tensor:
        return torch.linalg.vector_norm(theta) * self.objective(theta, step)

    def expected_unit_grad_norm(self) -> float:
        return float(self.objective.expected_unit_grad_norm())


def y_squared_bounds(y0: Any, a: Any, t: int, digits: int) -> tuple[Any, Any]:
    """(lower, upper) bounds on y_t² of the module docstring (t ≥ 1)."""
    with working_precision(digits):
        y0, a = mpmath.mpf(y0), mpmath.mpf(a)
        lower = y0**2 + 2 * a * t
        upper = lower + a**2 / y0**2 + a / 2 * mpmath.log(1 + 2 * a * (t - 1) / y0**2)
        return lower, upper


def gd_exponent_bound(y0: Any, a: Any, T: int, digits: int) -> Any:
    """E_T/(4 ln 2): the bound on |p_T − ¼| for plain GD."""
    with working_precision(digits):
        y0, a = mpmath.mpf(y0), mpmath.mpf(a)
        e = (y0**2 + a**2 / y0**2 + a / 2 * mpmath.log(1 + 4 * a * T / y0**2)) / (2 * a * T)
        return e / (4 * mpmath.log(2))


def normalised_exponent_bound(y0: Any, eta2: Any, T: int, digits: int) -> Any:
    """y_0/(2 ln 2·η²T): the bound on |p_T − ½| for normalised steps."""
    with working_precision(digits):
        return mpmath.mpf(y0) / (2 * mpmath.log(2) * mpmath.mpf(eta2) * T)


def asymptotic_start(a: float, steps: int, ratio: float = 20.0) -> float:
    """‖θ_0‖ with y_0² = 2a·steps/ratio: the run spends most of its steps in the t^{1/4}
    regime (the initial norm is not what the fit sees)."""
    return (2 * a * steps / ratio) ** 0.25


def local_exponent(norms: Any, T: int) -> float:
    """log₂(‖θ_{2T}‖/‖θ_T‖) from a trajectory's norms (float64)."""
    return math.log2(float(norms[2 * T]) / float(norms[T]))
