"""Interval enclosures (``mpmath.iv``) of the softmax deviation from a claimed limit, and
the per-instance proof of the two-sided tail bound of
:mod:`proofs_numeric.precision.softmax_limits`.

Scores are converted to point intervals (floats exactly; decimal strings are enclosed);
the maximisers come from exact comparison. The interval precision is
``guard_digits(digits, magnitude_loss(ρ·spread))``: the exponents ρ(a_j − m) must be
resolved to ``digits`` relative digits, which needs log10 of their size more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import mpmath
from mpmath import mpf

from homogeneity.errors import HomogeneityInputError
from proofs_numeric.precision.context import (
    guard_digits,
    interval_precision,
    magnitude_loss,
    resolve_digits,
    working_precision,
)
from proofs_numeric.precision.convert import Real, Row, _positive, _row
from proofs_numeric.precision.softmax_limits import (
    Keep,
    _winners,
    argmax_fractions,
    argmax_set,
    softmax_tail_bound,
    softmax_tail_lower_bound,
    visible_positions,
)


@dataclass(frozen=True)
class TailCertificate:
    """Interval-arithmetic proof, for one row and ρ, that lower ≤ error ≤ bound.

    ``error_upper``/``error_lower`` enclose ‖softmax(ρa) − argmax(a)‖_∞ from above/below;
    ``bound_lower`` and ``lower_bound_upper`` are the closed-form upper bound C e^{−ργ} and
    lower bound e^{−ργ}/|V| (rounded values, for display). ``holds`` is True when both
    inequalities were proved (see :func:`certify_softmax_tail` for how).
    """

    holds: bool
    error_upper: mpf
    error_lower: mpf
    bound_lower: mpf
    lower_bound_upper: mpf
    digits: int


def interval_digits(a: Row, rho: Real, keep: Keep = None, digits: int | None = None) -> int:
    """The interval precision for row ``a`` at ρ: ``digits`` plus log10 of the largest
    exponent ρ(m − a_j), plus the guard digits."""
    with working_precision(digits) as d:
        row, r = _row(a, "a"), _positive(rho, "rho")
        vis = visible_positions(len(row), keep)
        spread = max(row[j] for j in vis) - min(row[j] for j in vis)
        return guard_digits(d, magnitude_loss(r * spread))


def _iv_point(iv: Any, v: Real) -> Any:
    """A real as an interval: exact for floats/ints/mpfs, an enclosure for decimal strings."""
    return iv.mpf(v) if isinstance(v, str) else iv.mpf(mpmath.mpf(v))


def enclose_softmax_deviation(
    a: Row,
    rho: Real,
    limit: Sequence[Fraction | int],
    keep: Keep = None,
    digits: int | None = None,
) -> tuple[mpf, mpf]:
    """Interval enclosure [lo, hi] of max_j |softmax(ρa)_j − L_j| (``mpmath.iv``).

    ``limit`` L is any claimed limit, as exact fractions (the generalised argmax from
    :func:`argmax_fractions`, or a wrong vector in a negative control). To avoid
    cancellation the deviation is evaluated as

        softmax(ρa)_j − L_j = (w_j − L_j|M| − L_j R) / Z,

    with w_j = e^{ρ(a_j − m)} (exactly 1 on the maximisers M), R = Σ_{k∉M} w_k and
    Z = |M| + R; w_j − L_j|M| is exact on M. Masked positions have weight exactly 0.
    """
    lo, hi, _ = _deviation_enclosures(a, rho, limit, keep, digits, relative=False)
    return lo, hi


def softmax_deviation_ratio(
    a: Row,
    rho: Real,
    limit: Sequence[Fraction | int],
    keep: Keep = None,
    digits: int | None = None,
) -> tuple[mpf, mpf]:
    """Enclosure of max_j |softmax(ρa)_j − L_j| / (C e^{−ργ}) (the tail bound's ratio).

    Everything is computed relative to the runner-up's weight w_r = e^{−ργ}, from exact
    score differences (w_j/w_r = e^{ρ(a_j − a_r)}, 1/w_r = e^{ργ}), so a ratio that is
    mathematically ≤ 1 is proved ≤ 1 even where the bound is attained up to e^{−ργ}.
    When every visible score ties the bound is 0: the ratio is 0 if the deviation is
    exactly 0 and +inf otherwise.
    """
    lo, hi, _ = _deviation_enclosures(a, rho, limit, keep, digits, relative=True)
    return lo, hi


def _deviation_enclosures(
    a: Row,
    rho: Real,
    limit: Sequence[Fraction | int],
    keep: Keep,
    digits: int | None,
    relative: bool,
) -> tuple[mpf, mpf, mpf]:
    """(lo, hi) of the max deviation (or of its ratio to C e^{−ργ}), and the lower end of
    |V|/Z (≥ 1 proves the lower bound e^{−ργ}/|V| for the runner-up)."""
    d = resolve_digits(digits)
    with working_precision(d):
        row = _row(a, "a")
        vis = visible_positions(len(row), keep)
        winners = _winners(row, vis)
        win = set(winners)
        others = [j for j in vis if j not in win]
        runner = max(others, key=lambda j: row[j]) if others else None
    if len(limit) != len(row):
        raise HomogeneityInputError(f"limit has length {len(limit)}, the row {len(row)}")
    fracs = [Fraction(v) for v in limit]
    n_max, n_vis = len(winners), len(vis)
    with interval_precision(interval_digits(a, rho, keep, d)) as iv:
        ia = [_iv_point(iv, v) for v in a]
        r = _iv_point(iv, rho)

        def frac(q: Fraction) -> Any:
            return iv.mpf(q.numerator) / q.denominator

        # reference weight: w_ref = 1 (absolute) or w_r = e^{−ργ} (relative)
        ref = ia[winners[0]] if (not relative or runner is None) else ia[runner]
        # weights relative to the reference: e^{ρ(a_j − a_ref)}
        rel = {j: iv.exp(r * (ia[j] - ref)) for j in others}
        inv_ref = iv.exp(r * (ia[winners[0]] - ref))  # 1/w_ref relative to the max weight 1
        rest = sum(rel.values(), iv.mpf(0))  # R / w_ref
        z = n_max + sum((iv.exp(r * (ia[j] - ia[winners[0]])) for j in others), iv.mpf(0))
        hi, lo = mpmath.mpf(0), mpmath.mpf(0)
        for j in range(len(row)):
            lj = fracs[j]
            if j in win:
                num = frac(1 - lj * n_max) * inv_ref
            else:
                num = rel.get(j, iv.mpf(0)) - frac(lj * n_max) * inv_ref
            num = num - frac(lj) * rest  # (softmax_j − L_j)·Z / w_ref
            diff = abs(num / z)
            if relative and runner is not None:
                diff = diff / max(iv.mpf(1) / n_max, iv.mpf(n_vis - n_max) / n_max**2)
            hi = max(hi, mpmath.mpf(diff.b))
            lo = max(lo, mpmath.mpf(diff.a))
        if relative and runner is None:
            lo, hi = (mpmath.mpf(0), mpmath.mpf(0)) if hi == 0 else (mpmath.inf, mpmath.inf)
        lower_ratio = mpmath.mpf((n_vis / z).a)
    return lo, hi, lower_ratio


def certify_softmax_tail(
    a: Row, rho: Real, keep: Keep = None, digits: int | None = None
) -> TailCertificate:
    """Prove the two-sided tail bound for this (a, ρ) with ``mpmath.iv`` interval arithmetic.

    Proves e^{−ργ}/|V| ≤ ‖softmax(ρa) − argmax(a)‖_∞ ≤ C e^{−ργ}. The upper bound is
    proved as "deviation / (C e^{−ργ}) ≤ 1" and the lower as "|V|/Z ≥ 1", each computed
    from exact score differences, so bounds that are attained up to a factor 1 + e^{−ργ}
    are still proved. When every visible score ties the deviation is exactly 0 and the
    certificate holds trivially.
    """
    d = resolve_digits(digits)
    limit = argmax_fractions(a, keep, d)
    err_lo, err_hi = enclose_softmax_deviation(a, rho, limit, keep, d)
    if len(argmax_set(a, keep, d)) == len(visible_positions(len(a), keep)):  # all tied
        zero = mpmath.mpf(0)
        return TailCertificate(err_hi == 0, err_hi, err_lo, zero, zero, d)
    _, ratio_hi, lower_ratio = _deviation_enclosures(a, rho, limit, keep, d, relative=True)
    shown = interval_digits(a, rho, keep, d)
    bound = softmax_tail_bound(a, rho, keep, digits=shown)
    lower = softmax_tail_lower_bound(a, rho, keep, digits=shown)
    holds = bool(ratio_hi <= 1 and lower_ratio >= 1)
    return TailCertificate(holds, err_hi, err_lo, bound, lower, d)
