"""Tolerances and small validators shared by the numerical checks.

* :func:`noise_floor`: relative errors below 1e3 · machine epsilon are rounding noise;
* :func:`default_tolerance`: the relative tolerance of an exact check in a dtype;
* :func:`check_degree_value`, :func:`check_tolerance`: input validation;
* :func:`round_degree`: snap a measured degree to the nearest integer.
"""

from __future__ import annotations

import math

import torch

from homogeneity.constants import DEGREE_TOLERANCE
from homogeneity.errors import HomogeneityInputError


def noise_floor(dtype: torch.dtype) -> float:
    """Relative errors below 1e3 · machine epsilon are rounding noise."""
    return 1e3 * torch.finfo(dtype).eps


def default_tolerance(dtype: torch.dtype) -> float:
    """Relative tolerance of the exact checks in ``dtype``: 1e3 · machine epsilon, loosened
    to 1e-10 in float64 for deep compositions."""
    return max(noise_floor(dtype), 1e-10 if dtype == torch.float64 else 0.0)


def check_degree_value(degree: object, argument: str = "degree") -> float:
    """A degree must be a finite real number."""
    try:
        value = float(degree)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise HomogeneityInputError(
            f"{argument}={degree!r} is not a number; pass the degree k as a float, or None "
            f"to estimate it"
        ) from exc
    if not math.isfinite(value):
        raise HomogeneityInputError(f"{argument}={degree!r} must be finite; pass e.g. 1.0")
    return value


def check_tolerance(value: float, argument: str) -> float:
    """Tolerances are finite numbers ≥ 0."""
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
        raise HomogeneityInputError(
            f"{argument}={value!r} must be a finite number ≥ 0, e.g. {argument}=1e-10"
        )
    return float(value)


def round_degree(k: float, tol: float = DEGREE_TOLERANCE) -> float:
    """Snap a measured degree to the nearest integer when within ``tol``."""
    return float(round(k)) if abs(k - round(k)) < tol else k


def flat64(t: torch.Tensor) -> torch.Tensor:
    """A tensor as a flat float64 vector (norms and inner products of outputs)."""
    return t.reshape(-1).to(torch.float64)
