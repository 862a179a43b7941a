"""The measured degree along the ray ρ ↦ f(x; ρθ): the decay profile of the homogeneity
error and the degree it implies (exact, approximate, asymptotic or none).

Definitions (θ the selected parameter group, f evaluated at fixed inputs x):

* **Euler.** If f is k-homogeneous in θ then θ·∇_θ f = k f (differentiate f(cθ) = c^k f(θ)
  at c = 1). One forward-mode pass gives D = θ·∇_θ f = d/dρ f(ρθ)|_{ρ=1} (a Jacobian-
  vector product with the tangent θ). The degree estimate is the least-squares
  k̂ = ⟨f, D⟩ / ⟨f, f⟩ and the Euler
  residual is ‖D − k f‖ / ‖f‖.
* **Homogeneity error.** ‖f(x; cθ) − c^k f(x; θ)‖ (absolute) and the same divided by
  ‖c^k f(x; θ)‖ (relative), for a scale c > 0.
* **Approximate homogeneity (SPEC D3).** The error at scale c along the ray,
  e(ρ) = ‖f(cρθ) − c^k f(ρθ)‖ / ‖c^k f(ρθ)‖, should vanish exponentially in ρ (in ‖ρθ‖).
  :func:`decay_profile` samples it and :mod:`homogeneity.decay` tells exponential decay
  (D3 holds) from polynomial decay (the limit exists but D3 fails) and from no decay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from homogeneity.constants import RAY_RHOS
from homogeneity.decay import DecayFit, classify_decay, refine_grid
from homogeneity.euler_identity import EulerResult, euler
from homogeneity.scale_error import ScaleError, degree_from_ratio, homogeneity_error
from homogeneity.scaling import Ray
from homogeneity.tolerances import noise_floor, round_degree
from homogeneity.validation import check_positive_scale, check_positive_scales

DEFAULT_RHOS: tuple[float, ...] = RAY_RHOS


@dataclass
class DecayProfile:
    """Homogeneity error at scale ``c`` along the ray, and the decay law fitted to it.

    ``theta_norms[i] = ρ_i ‖θ‖``. ``relative`` and ``absolute`` are the errors of
    :func:`homogeneity_error`. ``fit`` classifies the relative error's decay.
    """

    degree: float
    c: float
    rhos: list[float]
    theta_norms: list[float]
    relative: list[float]
    absolute: list[float]
    fit: DecayFit
    dtype: torch.dtype

    @property
    def kind(self) -> str:
        """The degree kind this decay implies: exact / approximate / asymptotic / none."""
        return {
            "exact": "exact",
            "exponential": "approximate",
            "polynomial": "asymptotic",
            "none": "none",
        }.get(self.fit.kind, "undetermined")

    def d3_rate(self) -> float | None:
        """d in |error| ≲ exp(−d‖θ‖^m) (SPEC D3 has m = 1), for exponential decay."""
        if self.fit.kind != "exponential" or not self.theta_norms:
            return None
        scale = self.theta_norms[0] / self.rhos[0]
        return self.fit.rate / scale**self.fit.exponent


def decay_profile(
    ray: Ray,
    degree: float | None = None,
    c: float = 2.0,
    rhos: Sequence[float] | None = None,
    floor: float | None = None,
    refine: bool = True,
) -> DecayProfile:
    """Sample e(ρ) = ‖f(cρθ) − c^k f(ρθ)‖/‖c^k f(ρθ)‖ and classify its decay.

    Args:
        ray: the ray to study.
        degree: k; None reads it off the two largest-ρ points of the ray.
        c: the scale factor (> 1 is the D3 regime).
        rhos: increasing ray points; default 49 points from 0.1 to 1e5 (slow exponential
            decays, e.g. a sigmoid of pre-activations near 0, need the long range).
        floor: errors below are noise; default :func:`noise_floor` of the working dtype.
        refine: resample between the peak and the floor when too few points lie there.
    """
    c = check_positive_scale(c, "c")
    grid = sorted(check_positive_scales(DEFAULT_RHOS if rhos is None else rhos, "rhos"))
    floor = noise_floor(ray.dtype) if floor is None else floor
    if degree is None:
        degree = round_degree(degree_from_ratio(ray, c, grid[-1]))
    norm = ray.theta_norm()

    def sample(points: Sequence[float]) -> list[ScaleError]:
        return [homogeneity_error(ray, c, degree, r) for r in points]

    errors = sample(grid)
    fit = classify_decay(grid, [e.relative for e in errors], floor)
    if refine and fit.kind == "undetermined":
        extra = refine_grid(grid, [e.relative for e in errors], floor)
        if extra:
            merged = sorted(set(grid) | set(extra))
            by_rho = {e.rho: e for e in errors + sample(extra)}
            grid, errors = merged, [by_rho[r] for r in merged]
            fit = classify_decay(grid, [e.relative for e in errors], floor)
    return DecayProfile(
        float(degree),
        c,
        list(grid),
        [r * norm for r in grid],
        [e.relative for e in errors],
        [e.absolute for e in errors],
        fit,
        ray.dtype,
    )


@dataclass
class MeasuredDegree:
    """What the numbers say: the degree and its kind, with the evidence."""

    kind: str
    value: float | None
    profile: DecayProfile
    euler: EulerResult

    def __str__(self) -> str:
        k = "?" if self.value is None else f"{self.value:g}"
        return (
            f"measured: degree {k}, {self.kind} ({self.profile.fit}); Euler at ρ=1: "
            f"k̂={self.euler.degree_estimate:.6g}, residual {self.euler.residual:.2e}"
        )


def measure_degree(ray: Ray, c: float = 2.0, rhos: Sequence[float] | None = None) -> MeasuredDegree:
    """Measure the degree along the ray and classify how exactly it holds."""
    profile = decay_profile(ray, None, c, rhos)
    value = profile.degree if profile.kind != "none" else None
    return MeasuredDegree(profile.kind, value, profile, euler(ray, value))
