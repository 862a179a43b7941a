"""Conversion of user input to mpmath numbers, with errors that name the argument.

Floats and ints convert exactly (at ≥ 16 digits); decimal strings ("1e400", "0.1") are
rounded to the working precision, so scales beyond the float64 range can be given.

The public functions take ``digits`` (see :mod:`proofs_numeric.precision.context`); the
private ``_``-prefixed kernels convert at the precision of the public function that is
running them and are only called inside its :func:`working_precision` block.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import mpmath
from mpmath import mpf

from homogeneity.errors import HomogeneityInputError
from proofs_numeric.precision.context import working_precision

Real: TypeAlias = int | float | str | mpf
Row: TypeAlias = Sequence[Real]
Matrix: TypeAlias = Sequence[Sequence[Real]]


def _mpf(x: Real, argument: str) -> mpf:
    if isinstance(x, bool):
        raise HomogeneityInputError(f"{argument}={x!r} is a bool; pass a real number")
    try:
        value = mpmath.mpf(x)
    except (TypeError, ValueError) as exc:
        raise HomogeneityInputError(
            f"{argument}={x!r} is not a real number; pass an int, float, decimal string or "
            f"mpmath.mpf"
        ) from exc
    if not mpmath.isfinite(value):
        raise HomogeneityInputError(f"{argument}={x!r} is not finite; pass a finite number")
    return value


def _row(a: Row, argument: str) -> list[mpf]:
    if isinstance(a, (str, bytes)) or not hasattr(a, "__len__"):
        raise HomogeneityInputError(
            f"{argument} must be a sequence of numbers, got {type(a).__name__}"
        )
    if len(a) == 0:
        raise HomogeneityInputError(f"{argument} is empty; pass at least one number")
    return [_mpf(v, f"{argument}[{i}]") for i, v in enumerate(a)]


def _matrix(w: Matrix, argument: str) -> list[list[mpf]]:
    if isinstance(w, (str, bytes)) or not hasattr(w, "__len__"):
        raise HomogeneityInputError(
            f"{argument} must be a matrix (a sequence of rows), got {type(w).__name__}"
        )
    rows = [_row(r, f"{argument}[{i}]") for i, r in enumerate(w)]
    if not rows:
        raise HomogeneityInputError(f"{argument} has no rows; pass a non-empty matrix")
    if len({len(r) for r in rows}) != 1:
        raise HomogeneityInputError(f"{argument} is ragged; every row needs the same length")
    return rows


def _positive(rho: Real, argument: str) -> mpf:
    value = _mpf(rho, argument)
    if value <= 0:
        raise HomogeneityInputError(f"{argument}={rho!r} must be > 0 (a point on the ray ρ·θ)")
    return value


def to_mpf(x: Real, argument: str = "x", digits: int | None = None) -> mpf:
    """A finite real as an mpf at ``digits`` (floats and ints convert exactly)."""
    with working_precision(digits):
        return _mpf(x, argument)


def to_row(a: Row, argument: str = "a", digits: int | None = None) -> list[mpf]:
    """A non-empty sequence of finite reals as mpfs at ``digits``."""
    with working_precision(digits):
        return _row(a, argument)


def to_matrix(w: Matrix, argument: str, digits: int | None = None) -> list[list[mpf]]:
    """A rectangular non-empty matrix of finite reals as nested lists of mpfs."""
    with working_precision(digits):
        return _matrix(w, argument)


def positive_scale(rho: Real, argument: str = "rho", digits: int | None = None) -> mpf:
    """A scale ρ > 0 (finite; decimal strings such as "1e400" reach beyond float64)."""
    with working_precision(digits):
        return _positive(rho, argument)
