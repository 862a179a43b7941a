"""Euler's identity along the ray: θ·∇_θ f = k f for a k-homogeneous f.

Differentiating f(cθ) = c^k f(θ) at c = 1 gives θ·∇_θ f = k f. One forward-mode pass gives
D = θ·∇_θ f = d/dρ f(ρθ)|_{ρ=1} (a Jacobian-vector product with the tangent θ). The degree
estimate is the least-squares k̂ = ⟨f, D⟩ / ⟨f, f⟩ and the Euler residual is
‖D − k f‖ / ‖f‖. Both are computed on f and D divided by max|f|, so that outputs near the
top of the float64 range do not overflow the inner products.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from homogeneity.execution.report import ExecutionReport
from homogeneity.scaling import Ray
from homogeneity.tolerances import flat64
from homogeneity.validation import check_positive_scale


@dataclass(frozen=True)
class EulerResult:
    """θ·∇f = k f at one point of the ray.

    ``degree_estimate`` is k̂ = ⟨f, θ·∇f⟩/‖f‖²; ``residual`` is ‖θ·∇f − k f‖/‖f‖ for the
    degree ``degree`` that was tested (k̂ when none was given); ``execution`` what the
    pass ran on.
    """

    degree_estimate: float
    degree: float
    residual: float
    output_norm: float
    rho: float
    execution: ExecutionReport | None = None


def directional_derivative(ray: Ray, rho: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """(f(ρθ), (ρθ)·∇_θ f(ρθ)) from one forward-mode pass (:meth:`Ray.jvp`).

    Uses dual tensors (``torch.autograd.forward_ad``) with tangent ρθ on the selected
    parameters: d/ds f((ρ + sρ)θ) at s = 0. Since every selected weight's tangent is the
    weight itself, a product x·W has the tangent (x + ẋ)·W: one product where plain
    forward-mode AD makes two (:mod:`homogeneity.execution.self_tangent`), so the pass
    costs about two forward passes of a model dominated by its matrix products, where
    plain forward-mode AD costs about three and ``torch.func.jvp`` more (wrapper
    overhead); the numbers are the same to rounding.
    """
    return ray.jvp(rho)


def euler(ray: Ray, degree: float | None = None, rho: float = 1.0) -> EulerResult:
    """Euler residual and degree estimate at the point ρθ of the ray.

    Raises :class:`~homogeneity.errors.NumericalBreakdown` when f or θ·∇f is not finite
    at ρ, or when f is exactly zero there (no degree can be read from θ·∇f = k f).
    """
    rho = check_positive_scale(rho, "rho")
    value, derivative = ray.jvp(rho)
    v, d = flat64(value), flat64(derivative)
    scale = float(v.abs().max()) if v.numel() else 0.0
    if scale == 0.0:
        raise ray.zero_output_breakdown(rho, "the degree estimate ⟨f, θ·∇f⟩/‖f‖² (Euler)")
    v, d = v / scale, d / scale
    norm_sq = float(v @ v)
    k_hat = float(v @ d) / norm_sq
    k = k_hat if degree is None else float(degree)
    residual = float(torch.linalg.vector_norm(d - k * v)) / math.sqrt(norm_sq)
    return EulerResult(k_hat, k, residual, scale * math.sqrt(norm_sq), rho, ray.execution)
