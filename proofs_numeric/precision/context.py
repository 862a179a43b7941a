"""Working precision: the digits rule, the guard-digit rule, and the only places where a
library's global precision is set.

**Digits.** Every public function of :mod:`proofs_numeric.precision` takes ``digits``, the
working precision in decimal digits; ``None`` means :data:`DEFAULT_DIGITS`. The ambient
``mpmath.mp.dps`` is never read: a function computes inside
:func:`working_precision` and mpmath's global precision is restored on return, whatever
the caller had set. Functions that call other primitives pass their ``digits`` on.

**Guard digits.** A result wanted to ``digits`` significant digits is computed at

    guard_digits(digits, *losses) = digits + ⌈Σ losses⌉ + GUARD_DIGITS,

where each loss is the number of decimal digits the computation is known to lose and
:data:`GUARD_DIGITS` covers everything the losses do not count (the rounding of a few
hundred operations, logarithms of small constants). The losses that occur here:

* :func:`exp_loss` ``(x)`` = x/ln 10: resolving e^{−x} next to 1 (a saturating map at
  distance e^{−x} from its limit, a softmax whose scores spread over x);
* :func:`magnitude_loss` ``(v)`` = log10|v|: keeping the absolute accuracy of a value of
  size |v| > 1 (a factor c^k: k·log10 c digits);
* a claim's own count where it knows one (each says which).

**Global precision of other libraries.** ``mpmath.iv`` (interval arithmetic) and
python-flint's arb (``flint.ctx.prec``) have one global precision each; it is set only by
:func:`interval_precision` and :func:`arb_precision`, which restore it on exit.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import mpmath

from homogeneity.errors import HomogeneityInputError

#: Working precision (decimal digits) of a function called with ``digits=None``.
DEFAULT_DIGITS = 50
#: Digits added by :func:`guard_digits` on top of the losses a computation accounts for.
GUARD_DIGITS = 30
#: The smallest working precision accepted (below it float64 is as good).
MIN_DIGITS = 5


def resolve_digits(digits: int | None) -> int:
    """``digits`` if given (an integer ≥ :data:`MIN_DIGITS`), else :data:`DEFAULT_DIGITS`."""
    if digits is None:
        return DEFAULT_DIGITS
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < MIN_DIGITS:
        raise HomogeneityInputError(
            f"digits={digits!r} must be an integer ≥ {MIN_DIGITS}; pass e.g. digits=50"
        )
    return digits


def exp_loss(x: Any) -> float:
    """Decimal digits lost when e^{−x} must be resolved next to 1: max(0, x)/ln 10."""
    value = float(x)
    if math.isnan(value):
        raise HomogeneityInputError(f"x={x!r} is NaN; pass the exponent whose e^(−x) is needed")
    return max(0.0, value) / math.log(10)


def magnitude_loss(v: Any) -> float:
    """Decimal digits needed to keep the absolute accuracy of a value of size |v|:
    max(0, log10|v|) (0 for |v| ≤ 1; exact beyond the float64 range)."""
    size = abs(mpmath.mpf(v))
    if not mpmath.isfinite(size):
        raise HomogeneityInputError(f"v={v!r} is not finite; pass the size of the value")
    return max(0.0, float(mpmath.log10(size))) if size > 1 else 0.0


def guard_digits(digits: int | None, *losses: float) -> int:
    """The working precision for a result wanted to ``digits`` digits:
    digits + ⌈Σ losses⌉ + :data:`GUARD_DIGITS` (see the module docstring)."""
    d = resolve_digits(digits)
    total = 0.0
    for loss in losses:
        value = float(loss)
        if not (math.isfinite(value) and value >= 0):
            raise HomogeneityInputError(
                f"a digit loss of {loss!r} must be a finite number ≥ 0 (decimal digits)"
            )
        total += value
    return d + math.ceil(total) + GUARD_DIGITS


@contextmanager
def working_precision(digits: int | None = None) -> Iterator[int]:
    """mpmath at ``resolve_digits(digits)`` decimal digits inside the block, restored on exit
    (also on an exception). Yields the digits."""
    d = resolve_digits(digits)
    with mpmath.workdps(d):
        yield d


@contextmanager
def interval_precision(digits: int | None = None) -> Iterator[Any]:
    """``mpmath.iv`` at ``resolve_digits(digits)`` decimal digits inside the block; its
    global precision is restored on exit. Yields the interval context."""
    d = resolve_digits(digits)
    iv = mpmath.iv
    saved = iv.prec
    iv.dps = d
    try:
        yield iv
    finally:
        iv.prec = saved


@contextmanager
def arb_precision(digits: int | None = None) -> Iterator[Any]:
    """python-flint's arb balls at ``resolve_digits(digits)`` decimal digits inside the
    block (``flint.ctx``); its global precision is restored on exit. Yields ``flint.ctx``.

    flint is imported here, on first use, so the rest of this package does not need it."""
    d = resolve_digits(digits)
    try:
        import flint
    except ModuleNotFoundError as exc:  # pragma: no cover - flint is a declared dependency
        raise HomogeneityInputError(
            "arb_precision needs python-flint; install the package's dependencies"
        ) from exc
    saved = flint.ctx.prec
    flint.ctx.dps = d
    try:
        yield flint.ctx
    finally:
        flint.ctx.prec = saved
