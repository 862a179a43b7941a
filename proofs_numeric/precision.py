"""Arbitrary-precision primitives and the exact ρ→∞ limit of softmax with its tail bound.

Every function computes with mpmath at ``digits`` decimal digits (default: the larger of
:data:`DEFAULT_DIGITS` = 50 and the current ``mpmath.mp.dps``, so an enclosing
``mpmath.workdps(80)`` raises it); the global precision is restored on return. Scales ρ may
be any positive number, including ρ = 10^400 where float64 overflows.

Softmax and its limit (SPEC D7)
-------------------------------
For a score row a ∈ ℝⁿ with a set V of visible positions (``keep``; at least one), let
m = max_{j∈V} a_j, M = {j ∈ V : a_j = m} the maximisers, and the *gap*

    γ = m − max_{j∈V∖M} a_j          (γ = ∞ when V = M: every visible score is tied).

The generalised argmax is argmax(a)_j = 1/|M| on M, 0 elsewhere (masked positions get 0).

**Tail bound.** For every ρ > 0, with R = Σ_{j∈V∖M} e^{−ρ(m−a_j)} ≤ (|V|−|M|) e^{−ργ} and
Z = |M| + R:

* j ∈ V∖M:  softmax(ρa)_j = e^{−ρ(m−a_j)}/Z ≤ e^{−ργ}/|M|;
* j ∈ M:    1/|M| − softmax(ρa)_j = R/(|M| Z) ≤ (|V|−|M|) e^{−ργ}/|M|²;
* ℓ1:       ‖softmax(ρa) − argmax(a)‖₁ = 2R/Z ≤ 2(|V|−|M|) e^{−ργ}/|M|.

So ‖softmax(ρa) − argmax(a)‖_∞ ≤ C e^{−ργ} with C = max(1/|M|, (|V|−|M|)/|M|²) ≤ n−1.
**Lower bound.** The runner-up j* has softmax(ρa)_{j*} = e^{−ργ}/Z ≥ e^{−ργ}/|V|, so the
error is also ≥ e^{−ργ}/|V|: the exponential rate of convergence is exactly γ,

    −(1/ρ) log ‖softmax(ρa) − argmax(a)‖ → γ.

**Correct bits.** C e^{−ργ} ≤ 2^{−b} as soon as ρ ≥ (b ln 2 + ln C)/γ.

:func:`certify_softmax_tail` re-derives both sides in interval arithmetic (``mpmath.iv``)
for a given row and ρ, so "the error lies below the bound" is proved for that instance,
not merely observed in rounded arithmetic.

Other saturations: |σ(ρz) − step(z)| = σ(−ρ|z|) ≤ e^{−ρ|z|};
|tanh(ρz) − sign(z)| = 2/(e^{2ρ|z|}+1) ≤ 2e^{−2ρ|z|}; GeLU(ρz)/ρ → ReLU(z) with
|GeLU(ρz)/ρ − ReLU(z)| = |z| Φ(−ρ|z|) ≤ |z| e^{−ρ²z²/2}/2.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction

import mpmath
from mpmath import mpf

from homogeneity.errors import HomogeneityInputError

#: Default working precision in decimal digits.
DEFAULT_DIGITS = 50

Real = int | float | str | mpf
Row = Sequence[Real]
Matrix = Sequence[Sequence[Real]]


# -- precision and conversion -----------------------------------------------------------


def resolve_digits(digits: int | None) -> int:
    """``digits`` if given, else max(DEFAULT_DIGITS, mpmath.mp.dps)."""
    if digits is None:
        return max(DEFAULT_DIGITS, mpmath.mp.dps)
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 5:
        raise HomogeneityInputError(
            f"digits={digits!r} must be an integer ≥ 5; pass e.g. digits=50"
        )
    return digits


@contextmanager
def working_precision(digits: int | None = None) -> Iterator[int]:
    """Context manager: mpmath at ``resolve_digits(digits)`` digits, restored on exit."""
    d = resolve_digits(digits)
    with mpmath.workdps(d):
        yield d


def to_mpf(x: Real, argument: str = "x") -> mpf:
    """A finite real as an mpf at the current precision (floats convert exactly)."""
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


def to_row(a: Row, argument: str = "a") -> list[mpf]:
    """A non-empty sequence of finite reals as mpfs."""
    if isinstance(a, (str, bytes)) or not hasattr(a, "__len__"):
        raise HomogeneityInputError(
            f"{argument} must be a sequence of numbers, got {type(a).__name__}"
        )
    if len(a) == 0:
        raise HomogeneityInputError(f"{argument} is empty; pass at least one score")
    return [to_mpf(v, f"{argument}[{i}]") for i, v in enumerate(a)]


def to_matrix(w: Matrix, argument: str) -> list[list[mpf]]:
    """A rectangular non-empty matrix of finite reals as nested lists of mpfs."""
    rows = [to_row(r, f"{argument}[{i}]") for i, r in enumerate(w)]
    if not rows:
        raise HomogeneityInputError(f"{argument} has no rows; pass a non-empty matrix")
    if len({len(r) for r in rows}) != 1:
        raise HomogeneityInputError(f"{argument} is ragged; every row needs the same length")
    return rows


def positive_scale(rho: Real, argument: str = "rho") -> mpf:
    value = to_mpf(rho, argument)
    if value <= 0:
        raise HomogeneityInputError(f"{argument}={rho!r} must be > 0 (a point on the ray ρ·θ)")
    return value


def visible_positions(n: int, keep: Sequence[bool] | None, argument: str = "keep") -> list[int]:
    """Indices with keep True (all when keep is None); at least one must be visible."""
    if keep is None:
        return list(range(n))
    if len(keep) != n:
        raise HomogeneityInputError(
            f"{argument} has length {len(keep)} but the row has {n} "
            f"scores; pass one bool per score (True = visible)"
        )
    vis = [j for j, k in enumerate(keep) if bool(k)]
    if not vis:
        raise HomogeneityInputError(
            f"{argument} masks every position; softmax over an empty set is undefined: keep at "
            f"least one position visible"
        )
    return vis


# -- scalar maps -------------------------------------------------------------------------


def sigmoid(z: Real, digits: int | None = None) -> mpf:
    """σ(z) = 1/(1+e^{−z}), evaluated without overflow for any |z|."""
    with working_precision(digits):
        z = to_mpf(z, "z")
        if z >= 0:
            return 1 / (1 + mpmath.exp(-z))
        e = mpmath.exp(z)
        return e / (1 + e)


def tanh(z: Real, digits: int | None = None) -> mpf:
    with working_precision(digits):
        return mpmath.tanh(to_mpf(z, "z"))


def relu(z: Real) -> mpf:
    z = to_mpf(z, "z")
    return z if z > 0 else mpf(0)


def gelu(z: Real, digits: int | None = None) -> mpf:
    """GeLU(z) = z Φ(z) = z (1 + erf(z/√2))/2 (the exact, erf form)."""
    with working_precision(digits):
        z = to_mpf(z, "z")
        return z * mpmath.ncdf(z)


def step(z: Real) -> mpf:
    """lim_{ρ→∞} σ(ρz): 1 for z > 0, 0 for z < 0, ½ at z = 0."""
    z = to_mpf(z, "z")
    return mpf(1) if z > 0 else (mpf(0) if z < 0 else mpf(1) / 2)


def sign(z: Real) -> mpf:
    """lim_{ρ→∞} tanh(ρz)."""
    return mpf(mpmath.sign(to_mpf(z, "z")))


def sigmoid_tail_bound(z: Real, rho: Real = 1, digits: int | None = None) -> mpf:
    """e^{−ρ|z|} ≥ |σ(ρz) − step(z)| (equality up to the factor 1/(1+e^{−ρ|z|}))."""
    with working_precision(digits):
        return mpmath.exp(-positive_scale(rho) * abs(to_mpf(z, "z")))


def tanh_tail_bound(z: Real, rho: Real = 1, digits: int | None = None) -> mpf:
    """2e^{−2ρ|z|} ≥ |tanh(ρz) − sign(z)|."""
    with working_precision(digits):
        return 2 * mpmath.exp(-2 * positive_scale(rho) * abs(to_mpf(z, "z")))


# -- vector maps -------------------------------------------------------------------------


def softmax(
    a: Row, rho: Real = 1, keep: Sequence[bool] | None = None, digits: int | None = None
) -> list[mpf]:
    """softmax(ρa) over the visible positions (masked ones get exactly 0)."""
    with working_precision(digits):
        row, r = to_row(a), positive_scale(rho)
        vis = visible_positions(len(row), keep)
        m = max(row[j] for j in vis)
        weights = [mpf(0)] * len(row)
        for j in vis:
            weights[j] = mpmath.exp(r * (row[j] - m))
        z = mpmath.fsum(weights)
        return [w / z for w in weights]


def softmax_deficit(
    a: Row, rho: Real = 1, keep: Sequence[bool] | None = None, digits: int | None = None
) -> tuple[list[int], list[mpf]]:
    """(M, δ): the maximisers and the distance of softmax(ρa) from argmax(a), per position,
    computed without cancellation: δ_j = softmax(ρa)_j off M and δ_j = 1/|M| − softmax(ρa)_j
    = R/(|M| Z) on M (R = Σ_{k∉M} e^{ρ(a_k − m)}, Z = |M| + R); masked positions 0.

    Differences softmax(ρ′a′)_j − softmax(ρa)_j of two rows with the same maximisers are
    then ±(δ′_j − δ_j), exact to the working precision even where both values round to 1.
    """
    with working_precision(digits):
        row, r = to_row(a), positive_scale(rho)
        vis = visible_positions(len(row), keep)
        winners = argmax_set(row, keep)
        m = row[winners[0]]
        tails = {j: mpmath.exp(r * (row[j] - m)) for j in vis if j not in winners}
        rest = mpmath.fsum(tails.values())
        z = len(winners) + rest
        delta = [mpf(0)] * len(row)
        for j in vis:
            delta[j] = rest / (len(winners) * z) if j in winners else tails[j] / z
        return winners, delta


def softmax_difference(
    a: Row,
    b: Row,
    rho_a: Real = 1,
    rho_b: Real = 1,
    keep: Sequence[bool] | None = None,
    digits: int | None = None,
) -> list[mpf]:
    """softmax(ρ_a a) − softmax(ρ_b b) without cancellation when a and b share their
    maximisers (via :func:`softmax_deficit`), directly otherwise."""
    with working_precision(digits):
        ma, da = softmax_deficit(a, rho_a, keep)
        mb, db = softmax_deficit(b, rho_b, keep)
        if ma != mb:
            sa, sb = softmax(a, rho_a, keep), softmax(b, rho_b, keep)
            return [x - y for x, y in zip(sa, sb, strict=True)]
        win = set(ma)
        return [(db[j] - da[j]) if j in win else (da[j] - db[j]) for j in range(len(da))]


def sigmoid_difference(y: Real, x: Real, digits: int | None = None) -> mpf:
    """σ(y) − σ(x) without cancellation (σ(y) − σ(x) = σ(−x) − σ(−y))."""
    with working_precision(digits):
        y, x = to_mpf(y, "y"), to_mpf(x, "x")
        if x >= 0 and y >= 0:
            return sigmoid(-x) - sigmoid(-y)
        return sigmoid(y) - sigmoid(x)


def tanh_difference(y: Real, x: Real, digits: int | None = None) -> mpf:
    """tanh(y) − tanh(x) without cancellation (1 − tanh z = 2/(e^{2z} + 1))."""
    with working_precision(digits):
        y, x = to_mpf(y, "y"), to_mpf(x, "x")
        if x * y > 0:
            s = 1 if x > 0 else -1
            ty = 2 / (mpmath.exp(2 * abs(y)) + 1)
            tx = 2 / (mpmath.exp(2 * abs(x)) + 1)
            return s * (tx - ty)
        return mpmath.tanh(y) - mpmath.tanh(x)


def argmax_set(a: Row, keep: Sequence[bool] | None = None) -> list[int]:
    """M(a): the visible positions holding the maximum (exact comparison)."""
    row = to_row(a)
    vis = visible_positions(len(row), keep)
    m = max(row[j] for j in vis)
    return [j for j in vis if row[j] == m]


def generalised_argmax(
    a: Row, keep: Sequence[bool] | None = None, digits: int | None = None
) -> list[mpf]:
    """D7: 1/|M(a)| on the maximisers, 0 elsewhere (masked positions never win).

    This is the exact limit lim_{ρ→∞} softmax(ρa) (see the module docstring)."""
    with working_precision(digits):
        winners = argmax_set(a, keep)
        out = [mpf(0)] * len(a)
        for j in winners:
            out[j] = mpf(1) / len(winners)
        return out


softmax_limit = generalised_argmax


def softmax_gap(a: Row, keep: Sequence[bool] | None = None, digits: int | None = None) -> mpf:
    """γ = max − runner-up over the visible positions (+inf when all visible are tied).

    γ is the exact exponential rate: ‖softmax(ρa) − argmax(a)‖ = e^{−ργ + O(1)}."""
    with working_precision(digits):
        row = to_row(a)
        vis = visible_positions(len(row), keep)
        m = max(row[j] for j in vis)
        rest = [row[j] for j in vis if row[j] != m]
        return mpmath.inf if not rest else m - max(rest)


convergence_rate = softmax_gap


def _tail_constants(a: Row, keep: Sequence[bool] | None) -> tuple[int, int]:
    row = to_row(a)
    vis = visible_positions(len(row), keep)
    return len(argmax_set(row, keep)), len(vis)


def softmax_tail_bound(
    a: Row,
    rho: Real = 1,
    keep: Sequence[bool] | None = None,
    norm: str = "max",
    digits: int | None = None,
) -> mpf:
    """Closed-form bound on ‖softmax(ρa) − argmax(a)‖ (``norm`` "max" or "l1").

    max: max(1/|M|, (|V|−|M|)/|M|²)·e^{−ργ};  l1: 2(|V|−|M|)/|M|·e^{−ργ}; 0 if all tied.
    """
    if norm not in ("max", "l1"):
        raise HomogeneityInputError(f"norm={norm!r} must be 'max' or 'l1'")
    with working_precision(digits):
        r = positive_scale(rho)
        n_max, n_vis = _tail_constants(a, keep)
        if n_max == n_vis:
            return mpf(0)
        g = softmax_gap(a, keep)
        decay = mpmath.exp(-r * g)
        if norm == "l1":
            return 2 * mpf(n_vis - n_max) / n_max * decay
        return max(mpf(1) / n_max, mpf(n_vis - n_max) / n_max**2) * decay


def softmax_tail_lower_bound(
    a: Row, rho: Real = 1, keep: Sequence[bool] | None = None, digits: int | None = None
) -> mpf:
    """e^{−ργ}/|V| ≤ ‖softmax(ρa) − argmax(a)‖_∞ (0 if all visible are tied)."""
    with working_precision(digits):
        r = positive_scale(rho)
        n_max, n_vis = _tail_constants(a, keep)
        if n_max == n_vis:
            return mpf(0)
        return mpmath.exp(-r * softmax_gap(a, keep)) / n_vis


def rho_for_bits(
    a: Row, bits: Real, keep: Sequence[bool] | None = None, digits: int | None = None
) -> mpf:
    """The smallest ρ at which the tail bound guarantees ‖softmax(ρa) − argmax(a)‖_∞ ≤ 2^{−bits}.

    ρ_b = max(0, (b ln 2 + ln C)/γ); 0 means every ρ > 0 already does (all visible tied).
    """
    with working_precision(digits):
        b = to_mpf(bits, "bits")
        if b <= 0:
            raise HomogeneityInputError(f"bits={bits!r} must be > 0")
        n_max, n_vis = _tail_constants(a, keep)
        if n_max == n_vis:
            return mpf(0)
        c = max(mpf(1) / n_max, mpf(n_vis - n_max) / n_max**2)
        return max(mpf(0), (b * mpmath.log(2) + mpmath.log(c)) / softmax_gap(a, keep))


def softmax_error(
    a: Row,
    rho: Real,
    keep: Sequence[bool] | None = None,
    norm: str = "max",
    digits: int | None = None,
) -> mpf:
    """‖softmax(ρa) − argmax(a)‖ in the max or ℓ1 norm, computed at ``digits``."""
    with working_precision(digits):
        s, g = softmax(a, rho, keep), generalised_argmax(a, keep)
        diffs = [abs(x - y) for x, y in zip(s, g, strict=True)]
        return max(diffs) if norm == "max" else mpmath.fsum(diffs)


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


def _exponent_digits(row: Sequence[mpf], vis: Sequence[int], rho: Real) -> int:
    """Extra digits so that ρ(a_j − m), and hence e^{ρ(a_j − m)}, is resolved to the
    working relative precision: log10 of the largest exponent."""
    with mpmath.workdps(30):
        spread = max(row[j] for j in vis) - min(row[j] for j in vis)
        size = abs(mpmath.mpf(rho)) * spread
        return 5 + (int(mpmath.log10(size)) if size > 1 else 0)


def _iv_point(iv, v: Real):
    """A real as an interval: exact for floats/ints/mpfs, an enclosure for decimal strings."""
    return iv.mpf(v) if isinstance(v, str) else iv.mpf(mpmath.mpf(v))


def argmax_fractions(a: Row, keep: Sequence[bool] | None = None) -> list[Fraction]:
    """The generalised argmax as exact fractions (1/|M| on M, 0 elsewhere)."""
    winners = set(argmax_set(a, keep))
    return [Fraction(1, len(winners)) if j in winners else Fraction(0) for j in range(len(a))]


def enclose_softmax_deviation(
    a: Row,
    rho: Real,
    limit: Sequence[Fraction | int],
    keep: Sequence[bool] | None = None,
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
    keep: Sequence[bool] | None = None,
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
    keep: Sequence[bool] | None,
    digits: int | None,
    relative: bool,
) -> tuple[mpf, mpf, mpf]:
    """(lo, hi) of the max deviation (or of its ratio to C e^{−ργ}), and the lower end of
    |V|/Z (≥ 1 proves the lower bound e^{−ργ}/|V| for the runner-up)."""
    iv = mpmath.iv
    d = resolve_digits(digits)
    with mpmath.workdps(d):
        row = to_row(a)
        vis = visible_positions(len(row), keep)
    winners = argmax_set(a, keep)
    win = set(winners)
    if len(limit) != len(row):
        raise HomogeneityInputError(f"limit has length {len(limit)}, the row {len(row)}")
    fracs = [Fraction(v) for v in limit]
    n_max, n_vis = len(winners), len(vis)
    others = [j for j in vis if j not in win]
    with mpmath.workdps(d):
        runner = max(others, key=lambda j: row[j]) if others else None
    old = iv.dps
    iv.dps = d + _exponent_digits(row, vis, rho)
    try:
        ia = [_iv_point(iv, v) for v in a]
        r = _iv_point(iv, rho)

        def frac(q: Fraction):
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
    finally:
        iv.dps = old
    return lo, hi, lower_ratio


def certify_softmax_tail(
    a: Row, rho: Real, keep: Sequence[bool] | None = None, digits: int | None = None
) -> TailCertificate:
    """Prove the two-sided tail bound for this (a, ρ) with ``mpmath.iv`` interval arithmetic.

    Proves e^{−ργ}/|V| ≤ ‖softmax(ρa) − argmax(a)‖_∞ ≤ C e^{−ργ}. Scores are converted to
    point intervals (floats exactly; decimal strings are enclosed); the maximisers come
    from exact comparison. The upper bound is proved as "deviation / (C e^{−ργ}) ≤ 1" and
    the lower as "|V|/Z ≥ 1", each computed from exact score differences, so bounds that
    are attained up to a factor 1 + e^{−ργ} are still proved. The interval precision is
    ``digits`` plus log10 of the largest exponent ρ(m − a_j). When every visible score
    ties the deviation is exactly 0 and the certificate holds trivially.
    """
    d = resolve_digits(digits)
    limit = argmax_fractions(a, keep)
    n_max, n_vis = _tail_constants(a, keep)
    err_lo, err_hi = enclose_softmax_deviation(a, rho, limit, keep, d)
    if n_max == n_vis:
        zero = mpmath.mpf(0)
        return TailCertificate(err_hi == 0, err_hi, err_lo, zero, zero, d)
    _, ratio_hi, lower_ratio = _deviation_enclosures(a, rho, limit, keep, d, relative=True)
    with mpmath.workdps(d + _exponent_digits(to_row(a), visible_positions(len(a), keep), rho)):
        bound = softmax_tail_bound(a, rho, keep)
        lower = softmax_tail_lower_bound(a, rho, keep)
    holds = bool(ratio_hi <= 1 and lower_ratio >= 1)
    return TailCertificate(holds, err_hi, err_lo, bound, lower, d)


def layer_norm(x: Row, digits: int | None = None) -> list[mpf]:
    """SPEC D9: (x − μ)/‖x − μ‖₂ (no ε, no affine part). Undefined for constant x."""
    with working_precision(digits):
        v = to_row(x, "x")
        mu = mpmath.fsum(v) / len(v)
        centred = [e - mu for e in v]
        norm = mpmath.sqrt(mpmath.fsum(e * e for e in centred))
        if norm == 0:
            raise HomogeneityInputError(
                "x is constant, so x − μ(x) = 0 and the layer norm of D9 is undefined; pass a "
                "non-constant vector (or use standard_layer_norm with eps > 0)"
            )
        return [e / norm for e in centred]


def standard_layer_norm(x: Row, eps: Real, digits: int | None = None) -> list[mpf]:
    """(x − μ)/sqrt(var + ε) with the biased variance (torch/BERT); ε = 0 gives √n·D9."""
    with working_precision(digits):
        v, e = to_row(x, "x"), to_mpf(eps, "eps")
        if e < 0:
            raise HomogeneityInputError(f"eps={eps!r} must be ≥ 0")
        mu = mpmath.fsum(v) / len(v)
        centred = [t - mu for t in v]
        var = mpmath.fsum(t * t for t in centred) / len(v)
        if var + e == 0:
            raise HomogeneityInputError("x is constant and eps = 0: the layer norm is undefined")
        s = mpmath.sqrt(var + e)
        return [t / s for t in centred]


def rms_norm(x: Row, eps: Real, digits: int | None = None) -> list[mpf]:
    """T5's x/sqrt(mean(x²) + ε)."""
    with working_precision(digits):
        v, e = to_row(x, "x"), to_mpf(eps, "eps")
        ms = mpmath.fsum(t * t for t in v) / len(v) + e
        if ms == 0:
            raise HomogeneityInputError("x = 0 and eps = 0: the RMS norm is undefined")
        s = mpmath.sqrt(ms)
        return [t / s for t in v]


# -- linear algebra and the attention head ------------------------------------------------


def matvec(w: Sequence[Sequence[mpf]], x: Sequence[mpf]) -> list[mpf]:
    """W x (W as rows)."""
    return [mpmath.fdot(row, x) for row in w]


def dot(u: Sequence[mpf], v: Sequence[mpf]) -> mpf:
    return mpmath.fdot(u, v)


def norm2(v: Sequence[mpf]) -> mpf:
    return mpmath.sqrt(mpmath.fsum(t * t for t in v))


@dataclass(frozen=True)
class HeadOutput:
    """H (n × d_head rows), the attention weights A (n × n) and the scores S (n × n)."""

    h: list[list[mpf]]
    weights: list[list[mpf]]
    scores: list[list[mpf]]


def attention_keep(
    n: int, causal: bool = False, padding: Sequence[bool] | None = None
) -> list[list[bool]]:
    """``keep[i][j]``: may query i attend to key j (padding: True = real token)."""
    if padding is not None and len(padding) != n:
        raise HomogeneityInputError(f"padding has length {len(padding)}, expected {n}")
    return [
        [(padding is None or bool(padding[j])) and (not causal or j <= i) for j in range(n)]
        for i in range(n)
    ]


def attention_head(
    x: Matrix,
    wq: Matrix,
    wk: Matrix,
    wv: Matrix,
    keep: Sequence[Sequence[bool]] | None = None,
    saturated: bool = False,
    digits: int | None = None,
) -> HeadOutput:
    """SPEC D10 with rows as tokens (as in torch): Q_i = W^q x_i, K_j = W^k x_j,
    V_j = W^v x_j, S_ij = Q_i·K_j/√d_head, A = softmax(S) row-wise (argmax if
    ``saturated``), H_i = Σ_j A_ij V_j."""
    with working_precision(digits):
        xs = to_matrix(x, "x")
        q_w, k_w, v_w = to_matrix(wq, "wq"), to_matrix(wk, "wk"), to_matrix(wv, "wv")
        d_model = len(xs[0])
        for name, w in (("wq", q_w), ("wk", k_w), ("wv", v_w)):
            if len(w[0]) != d_model:
                raise HomogeneityInputError(
                    f"{name} has {len(w[0])} columns but x has d_model={d_model}; pass a "
                    f"(d_head, d_model) matrix"
                )
        if len(q_w) != len(k_w):
            raise HomogeneityInputError("wq and wk must have the same number of rows (d_head)")
        n = len(xs)
        q = [matvec(q_w, t) for t in xs]
        k = [matvec(k_w, t) for t in xs]
        v = [matvec(v_w, t) for t in xs]
        scale = mpmath.sqrt(len(q_w))
        scores = [[dot(q[i], k[j]) / scale for j in range(n)] for i in range(n)]
        weights, h = [], []
        for i in range(n):
            row_keep = None if keep is None else list(keep[i])
            a = (
                generalised_argmax(scores[i], row_keep)
                if saturated
                else softmax(scores[i], 1, row_keep)
            )
            weights.append(a)
            h.append([mpmath.fdot(a, [v[j][c] for j in range(n)]) for c in range(len(v_w))])
        return HeadOutput(h, weights, scores)


def to_float(x: mpf) -> float:
    """mpf → float, mapping values beyond the float64 range to ±inf or 0 as float() does."""
    try:
        return float(x)
    except OverflowError:
        return math.copysign(math.inf, float(mpmath.sign(x)))
