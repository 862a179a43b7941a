"""Closed intervals with exact arb endpoints: the arithmetic of the certificate checker.

An :class:`Interval` ``[lo, hi]`` holds two *exact* arb numbers (radius 0). Every
operation computes its endpoints with arb's ball arithmetic and keeps the lower end of the
lower ball and the upper end of the upper ball, so the result contains every value the
operation can take on the operands (outward rounding). This is plain interval arithmetic,
with one deliberate property that arb's midpoint-radius balls lack: a product or a square
of non-negative intervals has a non-negative lower end, and arithmetic on small dyadic
endpoints (box corners, integer coefficients) is exact at the working precision, so a
margin that is exactly 0 at a touching point evaluates to exactly 0, not to −10⁻³⁸.

Monotone functions (exp, log, sqrt, digamma, x ↦ x^a) are applied to the two endpoints:
each is increasing on its domain, which is the whole justification of these enclosures.

The working precision is arb's global ``ctx.prec``; :func:`arb_precision` sets it and
restores it on exit (the only place the checker touches it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import flint
from flint import arb, fmpq, fmpz


@contextmanager
def arb_precision(bits: int) -> Iterator[None]:
    """Run the block at ``bits`` bits of arb precision, then restore the previous value."""
    previous = flint.ctx.prec
    flint.ctx.prec = int(bits)
    try:
        yield
    finally:
        flint.ctx.prec = previous


def _min(a: arb, b: arb) -> arb:
    """min(a, b) of two endpoints. Endpoints are exact, so one of a ≤ b, b < a holds,
    unless one is NaN (e.g. 0·∞ after an overflow to [±∞]): then there is no minimum to
    take, and returning the other operand would drop a bound silently. Raise instead."""
    if a <= b:
        return a
    if b < a:
        return b
    raise ValueError(f"cannot compare the endpoints {a} and {b} (NaN)")


def _max(a: arb, b: arb) -> arb:
    """max(a, b) of two endpoints; raises on NaN like :func:`_min`."""
    if a >= b:
        return a
    if b > a:
        return b
    raise ValueError(f"cannot compare the endpoints {a} and {b} (NaN)")


class Interval:
    """The closed interval [lo, hi] with exact arb endpoints (lo ≤ hi)."""

    __slots__ = ("hi", "lo")

    def __init__(self, lo: arb, hi: arb) -> None:
        self.lo = lo
        self.hi = hi

    # -- construction ----------------------------------------------------------------

    @staticmethod
    def of(x: Any) -> Interval:
        """The tightest interval with exact ends around a number (int, float, fmpq, arb)."""
        if isinstance(x, Interval):
            return x
        if isinstance(x, (int, fmpz)):
            ball = arb(fmpz(x))
        elif isinstance(x, fmpq):
            ball = arb(x)
        else:
            ball = x if isinstance(x, arb) else arb(x)
        return Interval(ball.lower(), ball.upper())

    @staticmethod
    def hull(a: arb, b: arb) -> Interval:
        """The interval spanned by two balls: [lower(a), upper(b)]."""
        return Interval(a.lower(), b.upper())

    # -- display ---------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"Interval({self.lo.str(20, radius=False)}, {self.hi.str(20, radius=False)})"

    # -- arithmetic --------------------------------------------------------------------

    def __add__(self, other: Any) -> Interval:
        o = Interval.of(other)
        return Interval((self.lo + o.lo).lower(), (self.hi + o.hi).upper())

    __radd__ = __add__

    def __neg__(self) -> Interval:
        return Interval(-self.hi, -self.lo)

    def __sub__(self, other: Any) -> Interval:
        o = Interval.of(other)
        return Interval((self.lo - o.hi).lower(), (self.hi - o.lo).upper())

    def __rsub__(self, other: Any) -> Interval:
        return Interval.of(other) - self

    def __mul__(self, other: Any) -> Interval:
        o = Interval.of(other)
        if self.lo >= 0 and o.lo >= 0:
            return Interval((self.lo * o.lo).lower(), (self.hi * o.hi).upper())
        products = (self.lo * o.lo, self.lo * o.hi, self.hi * o.lo, self.hi * o.hi)
        lo, hi = products[0].lower(), products[0].upper()
        for p in products[1:]:
            lo, hi = _min(lo, p.lower()), _max(hi, p.upper())
        return Interval(lo, hi)

    __rmul__ = __mul__

    def reciprocal(self) -> Interval:
        """1/x for an interval of positive numbers (raises otherwise: no division by 0)."""
        if not self.lo > 0:
            raise ZeroDivisionError(f"reciprocal of {self!r}, which is not positive")
        return Interval((1 / self.hi).lower(), (1 / self.lo).upper())

    def __truediv__(self, other: Any) -> Interval:
        return self * Interval.of(other).reciprocal()

    def __rtruediv__(self, other: Any) -> Interval:
        return Interval.of(other) * self.reciprocal()

    def square(self) -> Interval:
        lo_sq, hi_sq = self.lo * self.lo, self.hi * self.hi
        if self.lo >= 0:
            return Interval(lo_sq.lower(), hi_sq.upper())
        if self.hi <= 0:
            return Interval(hi_sq.lower(), lo_sq.upper())
        return Interval(arb(0), _max(lo_sq.upper(), hi_sq.upper()))

    def __pow__(self, n: int) -> Interval:
        if not isinstance(n, int) or n < 0:
            raise TypeError("Interval ** n needs an integer n ≥ 0 (use .power for real exponents)")
        if n == 0:
            return Interval(arb(1), arb(1))
        if n % 2 == 0:
            return self.square() ** (n // 2)
        result = self
        for _ in range(n - 1):
            result = result * self
        return result

    # -- monotone functions ------------------------------------------------------------

    def exp(self) -> Interval:
        return Interval(self.lo.exp().lower(), self.hi.exp().upper())

    def log(self) -> Interval:
        if not self.lo > 0:
            raise ValueError(f"log of {self!r}, which is not positive")
        return Interval(self.lo.log().lower(), self.hi.log().upper())

    def sqrt(self) -> Interval:
        if not self.lo >= 0:
            raise ValueError(f"sqrt of {self!r}, which is not non-negative")
        return Interval(self.lo.sqrt().lower(), self.hi.sqrt().upper())

    def digamma(self) -> Interval:
        """ψ = Γ′/Γ, increasing on (0, ∞) (ψ′(y) = Σ_k 1/(y+k)² > 0)."""
        if not self.lo > 0:
            raise ValueError(f"digamma of {self!r}, which is not positive")
        return Interval(self.lo.digamma().lower(), self.hi.digamma().upper())

    def minimum(self, other: Interval) -> Interval:
        return Interval(_min(self.lo, other.lo), _min(self.hi, other.hi))

    def maximum(self, other: Interval) -> Interval:
        return Interval(_max(self.lo, other.lo), _max(self.hi, other.hi))


def exp_neg_product(x: Interval, e_lo: arb, e_hi: arb | None) -> Interval:
    """{exp(−x·e) : x ∈ [x_lo, x_hi] ⊂ [0, ∞), e ∈ [e_lo, e_hi] ⊂ [0, ∞]} (closure).

    exp(−x e) decreases in both x and e, so the range is [exp(−x_hi e_hi), exp(−x_lo e_lo)];
    ``e_hi=None`` stands for e = +∞ (c = ∞), where exp(−x·∞) is 0 for x > 0 and 1 for x = 0.
    """
    if not (x.lo >= 0 and e_lo >= 0):
        raise ValueError("exp_neg_product needs x ≥ 0 and e ≥ 0")
    if e_hi is None:
        lo = arb(1) if x.hi == 0 else arb(0)
    else:
        lo = (-(x.hi * e_hi)).exp().lower()
    hi = (-(x.lo * e_lo)).exp().upper()
    return Interval(lo, hi)


def power01(base: Interval, e_lo: arb, e_hi: arb | None) -> Interval:
    """{b^e : b ∈ [b_lo, b_hi] ⊂ [0, 1], e ∈ [e_lo, e_hi] ⊂ [0, ∞]} (closure, 0⁰ = 1).

    For b ∈ [0, 1] and e ≥ 0, b^e increases in b and decreases in e, so the range is
    [b_lo^{e_hi}, b_hi^{e_lo}] with the limits 0^e = 0 (e > 0), b^0 = 1, b^∞ = 0 (b < 1),
    1^∞ = 1, and 0⁰ taken as 1 for the upper end and 0 for the lower end (its closure).
    ``e_hi=None`` stands for +∞.
    """
    if not (base.lo >= 0 and base.hi <= 1 and e_lo >= 0):
        raise ValueError("power01 needs a base in [0, 1] and a non-negative exponent")
    # lower end: b_lo^{e_hi}
    if e_hi is None:
        lo = arb(1) if base.lo == 1 else arb(0)
    elif e_hi == 0:
        lo = arb(1)
    elif base.lo == 0:
        lo = arb(0)
    else:
        lo = (base.lo.log() * e_hi).exp().lower()
    # upper end: b_hi^{e_lo}
    if e_lo == 0:
        hi = arb(1)
    elif base.hi == 0:
        hi = arb(0)
    else:
        hi = (base.hi.log() * e_lo).exp().upper()
    return Interval(_min(lo, arb(1)), _min(hi, arb(1)))
