"""The homogeneity error along the ray at one scale.

For a scale c > 0 and a point ρθ of the ray, ‖f(cρθ) − c^k f(ρθ)‖ (absolute) and the same
divided by ‖c^k f(ρθ)‖ (relative); and the degree read off two points of the ray,
k̂ = ln(‖f(cρθ)‖/‖f(ρθ)‖)/ln c. Norms are taken of vectors divided by their largest entry,
so that outputs near the top of the float64 range do not overflow them.

A point where the model's output is NaN or infinite raises
:class:`~homogeneity.errors.NumericalBreakdown` (from the ray), and so does an output that
is exactly zero where a ratio is needed; :func:`homogeneity_curve` records the first
breakdown instead of raising.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from homogeneity.errors import HomogeneityInputError, NumericalBreakdown
from homogeneity.execution.breakdown import (
    non_finite_breakdown,
    sweep,
    zero_output_breakdown,
)
from homogeneity.scaling import Ray
from homogeneity.tolerances import flat64
from homogeneity.validation import check_positive_scale, check_positive_scales


@dataclass(frozen=True)
class ScaleError:
    """‖f(cρθ) − c^k f(ρθ)‖, absolute and relative to ‖c^k f(ρθ)‖."""

    c: float
    rho: float
    absolute: float
    relative: float


RELATIVE_ERROR = "the relative error ‖f(cρθ) − c^k f(ρθ)‖/‖c^k f(ρθ)‖"


class HomogeneityCurve(list[ScaleError]):
    """The errors of :func:`homogeneity_curve`, one per c (a list), with ``breakdown``:
    the :class:`NumericalBreakdown` that stopped the curve early (None if none did)."""

    breakdown: NumericalBreakdown | None = None


def _norm(x: torch.Tensor) -> float:
    """‖x‖₂ without overflow for entries near the top of the float64 range."""
    scale = float(x.abs().max()) if x.numel() else 0.0
    if scale == 0.0 or not math.isfinite(scale):
        return scale
    return scale * float(torch.linalg.vector_norm(x / scale))


def homogeneity_error(ray: Ray, c: float, degree: float, rho: float = 1.0) -> ScaleError:
    """The homogeneity error at scale c and ray point ρ (c ≤ 0 is refused).

    Raises :class:`NumericalBreakdown` when f is not finite at ρ or cρ, when c^k f(ρθ)
    overflows, or when f is exactly zero at ρ (the relative error is undefined) or at cρ
    (a k-homogeneous f cannot vanish there while f(ρθ) does not: rounding did it).
    """
    c = check_positive_scale(c, "c")
    rho = check_positive_scale(rho, "rho")
    base = flat64(ray(rho))
    if not bool(base.any()):
        raise ray.zero_output_breakdown(rho, RELATIVE_ERROR)
    scaled = flat64(ray(c * rho))
    if not bool(scaled.any()):  # f(cρθ) = c^k f(ρθ) ≠ 0 for a homogeneous f: a numerical zero
        raise ray.zero_output_breakdown(c * rho, RELATIVE_ERROR)
    factor = c**degree
    reference = factor * base
    if not (math.isfinite(factor) and bool(torch.isfinite(reference).all())):
        raise non_finite_breakdown(
            rho,
            f"c^k·f(ρθ) with c={c:g}, k={degree:g} (c^k = {factor:.3g})",
            torch.float64,
            what="the reference c^k·f(ρθ)",
        )
    denom = _norm(reference)
    if denom == 0.0:  # c^k underflowed
        raise zero_output_breakdown(rho, f"c^k·f(ρθ) with c={c:g}, k={degree:g}", "the ratio")
    absolute = _norm(scaled - reference)
    return ScaleError(c, rho, absolute, absolute / denom)


def homogeneity_curve(
    ray: Ray, cs: Sequence[float], degree: float, rho: float = 1.0
) -> HomogeneityCurve:
    """:func:`homogeneity_error` for every c in ``cs``, stopping at the first breakdown
    (recorded in the result's ``breakdown``)."""
    result = sweep(
        check_positive_scales(cs, "cs"), lambda c: homogeneity_error(ray, c, degree, rho)
    )
    curve = HomogeneityCurve(result.results)
    curve.breakdown = result.breakdown
    return curve


def degree_from_ratio(ray: Ray, c: float = 2.0, rho: float = 1.0) -> float:
    """k̂ = ln(‖f(cρθ)‖ / ‖f(ρθ)‖) / ln c: the degree read off two points of the ray.

    Raises :class:`NumericalBreakdown` when either output is not finite or exactly zero.
    """
    c = check_positive_scale(c, "c")
    rho = check_positive_scale(rho, "rho")
    if c == 1.0:
        raise HomogeneityInputError("c=1 gives no information on the degree; pass c=2.0")
    a = _norm(flat64(ray(rho)))
    if a == 0:
        raise ray.zero_output_breakdown(rho, "the ratio ‖f(cρθ)‖/‖f(ρθ)‖")
    b = _norm(flat64(ray(c * rho)))
    if b == 0:
        raise ray.zero_output_breakdown(c * rho, "the ratio ‖f(cρθ)‖/‖f(ρθ)‖")
    return (math.log(b) - math.log(a)) / math.log(c)
