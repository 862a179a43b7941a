"""Controlled problems on which the predictions of :mod:`homogeneity.dynamics.predictions`
are exact (or exact in the limit they state), run with the real torch optimizers.

* :class:`RandomSphereObjective`: L_t(θ) = ⟨ξ_t, θ/‖θ‖⟩ with fresh ξ_t ~ N(0, σ²I_n) each
  step. It is scale-invariant (0-homogeneous), so ∇L_t ⊥ θ, and its gradient is pure
  noise: ‖∇L_t(θ)‖ = ‖(I − θ̂θ̂ᵀ)ξ_t‖/‖θ‖, with E‖(I − θ̂θ̂ᵀ)ξ_t‖² = σ²(n − 1). This is the
  noise-dominated regime in which the weight-decay equilibria are derived.
* :class:`NormalisedRegression`: L(θ) = ‖Xθ/‖θ‖ − y‖²/m, a deterministic scale-invariant
  loss (GD on it converges, and its norm then stops growing).

:func:`run_optimizer` trains θ ∈ ℝⁿ with any ``torch.optim`` optimizer factory and
returns a :class:`Trajectory`; :func:`run_normalised_gd` applies δ = −η∇L/‖∇L‖.
Everything is float64 and seeded with private generators (no global RNG is used).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from homogeneity.errors import HomogeneityInputError


class ScaleInvariantObjective(Protocol):
    """A loss L_t(θ) with L_t(cθ) = L_t(θ) for c > 0 (``step`` is t, for noise)."""

    def __call__(self, theta: torch.Tensor, step: int) -> torch.Tensor: ...


class RandomSphereObjective:
    """L_t(θ) = ⟨ξ_t, θ/‖θ‖⟩, ξ_t ~ N(0, σ²I_n) drawn from a private seeded generator."""

    def __init__(self, n: int, sigma: float = 1.0, seed: int = 0) -> None:
        if n < 2:
            raise HomogeneityInputError(f"n={n} must be ≥ 2 (a sphere of dimension ≥ 1)")
        self.n, self.sigma = n, float(sigma)
        self._gen = torch.Generator().manual_seed(seed)

    def __call__(self, theta: torch.Tensor, step: int) -> torch.Tensor:
        xi = self.sigma * torch.randn(self.n, generator=self._gen, dtype=theta.dtype)
        return xi @ theta / torch.linalg.vector_norm(theta)

    def expected_unit_grad_norm(self) -> float:
        """√E‖(I − θ̂θ̂ᵀ)ξ‖² = σ√(n − 1)."""
        return self.sigma * math.sqrt(self.n - 1)


class NormalisedRegression:
    """L(θ) = ‖X θ/‖θ‖ − y‖²/m with fixed random X (m × n) and y (seeded)."""

    def __init__(self, n: int, m: int = 32, seed: int = 0) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.x = torch.randn(m, n, generator=gen, dtype=torch.float64)
        self.y = torch.randn(m, generator=gen, dtype=torch.float64)
        self.n = n

    def __call__(self, theta: torch.Tensor, step: int) -> torch.Tensor:
        unit = theta / torch.linalg.vector_norm(theta)
        return torch.mean((self.x.to(theta.dtype) @ unit - self.y.to(theta.dtype)) ** 2)


@dataclass
class Trajectory:
    """Per-step measurements of a run of T steps.

    ``norms[t]`` = ‖θ_t‖ for t = 0..T; ``step_norms``, ``alignments`` (cos(θ_t, δ_t)),
    ``angular_updates`` (arccos cos(θ_t, θ_{t+1})), ``grad_norms`` (‖∇L_t(θ_t)‖),
    ``unit_grad_norms`` (‖∇L_t(θ_t)‖·‖θ_t‖ = the gradient at the unit vector) and
    ``lrs`` for t = 0..T−1.
    """

    norms: np.ndarray
    step_norms: np.ndarray
    alignments: np.ndarray
    angular_updates: np.ndarray
    grad_norms: np.ndarray
    unit_grad_norms: np.ndarray
    lrs: np.ndarray

    @property
    def steps(self) -> int:
        return int(self.step_norms.size)


def initial_theta(n: int, norm: float, seed: int) -> torch.Tensor:
    """A random direction in ℝⁿ scaled to ``norm`` (float64, private generator)."""
    if n < 2 or not norm > 0:
        raise HomogeneityInputError(f"need n ≥ 2 and norm > 0, got n={n}, norm={norm}")
    v = torch.randn(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return v * (norm / torch.linalg.vector_norm(v))


def _measure(before: torch.Tensor, after: torch.Tensor) -> tuple[float, float, float]:
    delta = after - before
    nb, nd, na = (float(torch.linalg.vector_norm(v)) for v in (before, delta, after))
    align = float(before @ delta) / (nb * nd) if nd > 0 else math.nan
    sim = float(before @ after) / (nb * na)
    return nd, align, math.acos(max(-1.0, min(1.0, sim)))


def run_optimizer(
    objective: ScaleInvariantObjective,
    make_optimizer: Callable[[list[torch.nn.Parameter]], torch.optim.Optimizer],
    theta0: torch.Tensor,
    steps: int,
    schedule: Callable[[int], float] | None = None,
) -> Trajectory:
    """Train θ (a copy of ``theta0``) for ``steps`` optimizer steps on ``objective``.

    ``schedule(t)`` (optional) sets every parameter group's lr before step t; the lr used
    at each step is recorded. The caller's ``theta0`` is not modified.
    """
    if steps < 1:
        raise HomogeneityInputError(f"steps={steps} must be ≥ 1")
    theta = torch.nn.Parameter(theta0.detach().clone().to(torch.float64))
    opt = make_optimizer([theta])
    norms = np.empty(steps + 1)
    out = {k: np.empty(steps) for k in ("step", "align", "angle", "grad", "unit", "lr")}
    norms[0] = float(torch.linalg.vector_norm(theta.detach()))
    for t in range(steps):
        if schedule is not None:
            for g in opt.param_groups:
                g["lr"] = float(schedule(t))
        opt.zero_grad(set_to_none=True)
        objective(theta, t).backward()
        before = theta.detach().clone()
        grad_norm = float(torch.linalg.vector_norm(theta.grad))
        opt.step()
        after = theta.detach()
        out["step"][t], out["align"][t], out["angle"][t] = _measure(before, after)
        out["grad"][t] = grad_norm
        out["unit"][t] = grad_norm * float(torch.linalg.vector_norm(before))
        out["lr"][t] = float(opt.param_groups[0]["lr"])
        norms[t + 1] = float(torch.linalg.vector_norm(after))
    return Trajectory(
        norms, out["step"], out["align"], out["angle"], out["grad"], out["unit"], out["lr"]
    )


def run_normalised_gd(
    objective: ScaleInvariantObjective, theta0: torch.Tensor, steps: int, lr: float
) -> Trajectory:
    """δ_t = −η ∇L_t/‖∇L_t‖ (normalised gradient descent)."""
    if steps < 1 or not lr > 0:
        raise HomogeneityInputError(f"need steps ≥ 1 and lr > 0, got {steps}, {lr}")
    theta = theta0.detach().clone().to(torch.float64)
    norms = np.empty(steps + 1)
    out = {k: np.empty(steps) for k in ("step", "align", "angle", "grad", "unit")}
    norms[0] = float(torch.linalg.vector_norm(theta))
    for t in range(steps):
        p = theta.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(objective(p, t), p)
        gn = float(torch.linalg.vector_norm(grad))
        after = theta - lr * grad / gn
        out["step"][t], out["align"][t], out["angle"][t] = _measure(theta, after)
        out["grad"][t], out["unit"][t] = gn, gn * norms[t]
        theta = after
        norms[t + 1] = float(torch.linalg.vector_norm(theta))
    return Trajectory(
        norms,
        out["step"],
        out["align"],
        out["angle"],
        out["grad"],
        out["unit"],
        np.full(steps, float(lr)),
    )
