"""Softmax, its exact ρ → ∞ limit (the generalised argmax of SPEC D7) and the tail bound.

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

:mod:`proofs_numeric.precision.intervals` re-derives both sides in interval arithmetic.
Every public function takes ``digits`` (see :mod:`proofs_numeric.precision.context`).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import mpmath
from mpmath import mpf

from homogeneity.errors import HomogeneityInputError
from proofs_numeric.precision.context import working_precision
from proofs_numeric.precision.convert import Real, Row, _mpf, _positive, _row

Keep = Sequence[bool] | None


def visible_positions(n: int, keep: Keep, argument: str = "keep") -> list[int]:
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


# -- kernels (run at the precision of the public function that calls them) ---------------


def _winners(row: Sequence[mpf], vis: Sequence[int]) -> list[int]:
    m = max(row[j] for j in vis)
    return [j for j in vis if row[j] == m]


def _softmax(row: Sequence[mpf], r: mpf, vis: Sequence[int]) -> list[mpf]:
    m = max(row[j] for j in vis)
    weights = [mpf(0)] * len(row)
    for j in vis:
        weights[j] = mpmath.exp(r * (row[j] - m))
    z = mpmath.fsum(weights)
    return [w / z for w in weights]


def _argmax(n: int, winners: Sequence[int]) -> list[mpf]:
    out = [mpf(0)] * n
    for j in winners:
        out[j] = mpf(1) / len(winners)
    return out


def _deficit(row: Sequence[mpf], r: mpf, vis: Sequence[int]) -> tuple[list[int], list[mpf]]:
    winners = _winners(row, vis)
    m = row[winners[0]]
    tails = {j: mpmath.exp(r * (row[j] - m)) for j in vis if j not in winners}
    rest = mpmath.fsum(tails.values())
    z = len(winners) + rest
    delta = [mpf(0)] * len(row)
    for j in vis:
        delta[j] = rest / (len(winners) * z) if j in winners else tails[j] / z
    return winners, delta


def _gap(row: Sequence[mpf], vis: Sequence[int]) -> mpf:
    m = max(row[j] for j in vis)
    rest = [row[j] for j in vis if row[j] != m]
    return mpmath.inf if not rest else m - max(rest)


def _tail_constant(n_max: int, n_vis: int) -> mpf:
    """C = max(1/|M|, (|V| − |M|)/|M|²)."""
    return max(mpf(1) / n_max, mpf(n_vis - n_max) / n_max**2)


# -- the maps ---------------------------------------------------------------------------


def softmax(a: Row, rho: Real = 1, keep: Keep = None, digits: int | None = None) -> list[mpf]:
    """softmax(ρa) over the visible positions (masked ones get exactly 0)."""
    with working_precision(digits):
        row, r = _row(a, "a"), _positive(rho, "rho")
        return _softmax(row, r, visible_positions(len(row), keep))


def argmax_set(a: Row, keep: Keep = None, digits: int | None = None) -> list[int]:
    """M(a): the visible positions holding the maximum (exact comparison at ``digits``)."""
    with working_precision(digits):
        row = _row(a, "a")
        return _winners(row, visible_positions(len(row), keep))


def generalised_argmax(a: Row, keep: Keep = None, digits: int | None = None) -> list[mpf]:
    """D7: 1/|M(a)| on the maximisers, 0 elsewhere (masked positions never win).

    This is the exact limit lim_{ρ→∞} softmax(ρa) (see the module docstring)."""
    with working_precision(digits):
        row = _row(a, "a")
        return _argmax(len(row), _winners(row, visible_positions(len(row), keep)))


def argmax_fractions(a: Row, keep: Keep = None, digits: int | None = None) -> list[Fraction]:
    """The generalised argmax as exact fractions (1/|M| on M, 0 elsewhere)."""
    winners = set(argmax_set(a, keep, digits))
    return [Fraction(1, len(winners)) if j in winners else Fraction(0) for j in range(len(a))]


def softmax_deficit(
    a: Row, rho: Real = 1, keep: Keep = None, digits: int | None = None
) -> tuple[list[int], list[mpf]]:
    """(M, δ): the maximisers and the distance of softmax(ρa) from argmax(a), per position,
    computed without cancellation: δ_j = softmax(ρa)_j off M and δ_j = 1/|M| − softmax(ρa)_j
    = R/(|M| Z) on M (R = Σ_{k∉M} e^{ρ(a_k − m)}, Z = |M| + R); masked positions 0.

    Differences softmax(ρ′a′)_j − softmax(ρa)_j of two rows with the same maximisers are
    then ±(δ′_j − δ_j), exact to the working precision even where both values round to 1.
    """
    with working_precision(digits):
        row, r = _row(a, "a"), _positive(rho, "rho")
        return _deficit(row, r, visible_positions(len(row), keep))


def softmax_difference(
    a: Row,
    b: Row,
    rho_a: Real = 1,
    rho_b: Real = 1,
    keep: Keep = None,
    digits: int | None = None,
) -> list[mpf]:
    """softmax(ρ_a a) − softmax(ρ_b b) without cancellation when a and b share their
    maximisers (via :func:`softmax_deficit`), directly otherwise."""
    with working_precision(digits):
        ra, rb = _row(a, "a"), _row(b, "b")
        sa, sb = _positive(rho_a, "rho_a"), _positive(rho_b, "rho_b")
        va, vb = visible_positions(len(ra), keep), visible_positions(len(rb), keep)
        ma, da = _deficit(ra, sa, va)
        mb, db = _deficit(rb, sb, vb)
        if ma != mb:
            pa, pb = _softmax(ra, sa, va), _softmax(rb, sb, vb)
            return [x - y for x, y in zip(pa, pb, strict=True)]
        win = set(ma)
        return [(db[j] - da[j]) if j in win else (da[j] - db[j]) for j in range(len(da))]


def softmax_gap(a: Row, keep: Keep = None, digits: int | None = None) -> mpf:
    """γ = max − runner-up over the visible positions (+inf when all visible are tied).

    γ is the exact exponential rate: ‖softmax(ρa) − argmax(a)‖ = e^{−ργ + O(1)}."""
    with working_precision(digits):
        row = _row(a, "a")
        return _gap(row, visible_positions(len(row), keep))


def softmax_error(
    a: Row, rho: Real, keep: Keep = None, norm: str = "max", digits: int | None = None
) -> mpf:
    """‖softmax(ρa) − argmax(a)‖ in the max or ℓ1 norm, computed at ``digits``."""
    if norm not in ("max", "l1"):
        raise HomogeneityInputError(f"norm={norm!r} must be 'max' or 'l1'")
    with working_precision(digits):
        row, r = _row(a, "a"), _positive(rho, "rho")
        vis = visible_positions(len(row), keep)
        s, g = _softmax(row, r, vis), _argmax(len(row), _winners(row, vis))
        diffs = [abs(x - y) for x, y in zip(s, g, strict=True)]
        return max(diffs) if norm == "max" else mpmath.fsum(diffs)


def softmax_tail_bound(
    a: Row, rho: Real = 1, keep: Keep = None, norm: str = "max", digits: int | None = None
) -> mpf:
    """Closed-form bound on ‖softmax(ρa) − argmax(a)‖ (``norm`` "max" or "l1").

    max: max(1/|M|, (|V|−|M|)/|M|²)·e^{−ργ};  l1: 2(|V|−|M|)/|M|·e^{−ργ}; 0 if all tied.
    """
    if norm not in ("max", "l1"):
        raise HomogeneityInputError(f"norm={norm!r} must be 'max' or 'l1'")
    with working_precision(digits):
        row, r = _row(a, "a"), _positive(rho, "rho")
        vis = visible_positions(len(row), keep)
        n_max, n_vis = len(_winners(row, vis)), len(vis)
        if n_max == n_vis:
            return mpf(0)
        decay = mpmath.exp(-r * _gap(row, vis))
        if norm == "l1":
            return 2 * mpf(n_vis - n_max) / n_max * decay
        return _tail_constant(n_max, n_vis) * decay


def softmax_tail_lower_bound(
    a: Row, rho: Real = 1, keep: Keep = None, digits: int | None = None
) -> mpf:
    """e^{−ργ}/|V| ≤ ‖softmax(ρa) − argmax(a)‖_∞ (0 if all visible are tied)."""
    with working_precision(digits):
        row, r = _row(a, "a"), _positive(rho, "rho")
        vis = visible_positions(len(row), keep)
        if len(_winners(row, vis)) == len(vis):
            return mpf(0)
        return mpmath.exp(-r * _gap(row, vis)) / len(vis)


def rho_for_bits(a: Row, bits: Real, keep: Keep = None, digits: int | None = None) -> mpf:
    """The smallest ρ at which the tail bound guarantees ‖softmax(ρa) − argmax(a)‖_∞ ≤ 2^{−bits}.

    ρ_b = max(0, (b ln 2 + ln C)/γ); 0 means every ρ > 0 already does (all visible tied).
    """
    with working_precision(digits):
        b = _mpf(bits, "bits")
        if b <= 0:
            raise HomogeneityInputError(f"bits={bits!r} must be > 0")
        row = _row(a, "a")
        vis = visible_positions(len(row), keep)
        n_max, n_vis = len(_winners(row, vis)), len(vis)
        if n_max == n_vis:
            return mpf(0)
        c = _tail_constant(n_max, n_vis)
        return max(mpf(0), (b * mpmath.log(2) + mpmath.log(c)) / _gap(row, vis))
