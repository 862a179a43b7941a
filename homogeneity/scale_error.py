"""The homogeneity error along the ray at one scale.

For a scale c > 0 and a point ρθ of the ray, ‖f(cρθ) − c^k f(ρθ)‖ (absolute) and the same
divided by ‖c^k f(ρθ)‖ (relative); and the degree read off two points of the ray,
k̂ = ln(‖f(cρθ)‖/‖f(ρθ)‖)/ln c.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from homogeneity.errors import HomogeneityInputError
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


def homogeneity_error(ray: Ray, c: float, degree: float, rho: float = 1.0) -> ScaleError:
    """The homogeneity error at scale c and ray point ρ (c ≤ 0 is refused)."""
    c = check_positive_scale(c, "c")
    rho = check_positive_scale(rho, "rho")
    base = ray(rho)
    scaled = ray(c * rho)
    reference = (c**degree) * base
    absolute = float(torch.linalg.vector_norm(flat64(scaled) - flat64(reference)))
    denom = float(torch.linalg.vector_norm(flat64(reference)))
    relative = absolute / denom if denom > 0 else (0.0 if absolute == 0 else math.inf)
    return ScaleError(c, rho, absolute, relative)


def homogeneity_curve(
    ray: Ray, cs: Sequence[float], degree: float, rho: float = 1.0
) -> list[ScaleError]:
    """:func:`homogeneity_error` for every c in ``cs``."""
    return [homogeneity_error(ray, c, degree, rho) for c in check_positive_scales(cs, "cs")]


def degree_from_ratio(ray: Ray, c: float = 2.0, rho: float = 1.0) -> float:
    """k̂ = ln(‖f(cρθ)‖ / ‖f(ρθ)‖) / ln c: the degree read off two points of the ray."""
    c = check_positive_scale(c, "c")
    if c == 1.0:
        raise HomogeneityInputError("c=1 gives no information on the degree; pass c=2.0")
    a = float(torch.linalg.vector_norm(flat64(ray(rho))))
    b = float(torch.linalg.vector_norm(flat64(ray(c * rho))))
    if a == 0 or b == 0:
        raise HomogeneityInputError("the output is zero on the ray; no degree can be read")
    return math.log(b / a) / math.log(c)
