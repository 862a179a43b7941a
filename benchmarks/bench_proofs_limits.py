"""The exact ρ → ∞ limit of softmax against ``mpmath.limit``.

Same inputs (near-tie rows [1, 1 − δ, 0.5, …] and generic rows, target the first
coordinate): the closed form (generalised argmax, exact), our ``limit`` utility (strict
mode) and ``mpmath.limit`` (default Richardson). Reported: time ratio mpmath.limit / exact
(target ≥ 100×), mpmath.limit / ``limit``, and how many rows each gets wrong (|error| >
1e−10 for a probability in [0, 1]).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import mpmath

from benchmarks.conftest import paired_medians
from proofs_numeric.limits import limit
from proofs_numeric.precision import generalised_argmax, softmax

ROWS: list[list[str]] = [
    ["1", "0.9", "0.5"],
    ["1", "0.99", "0.5"],
    ["1", "0.999", "0.5"],
    ["1", "0.9999", "0.5"],
    ["2", "2", "0"],
    ["0.3", "0.1", "-1", "0.29"],
    ["5", "1", "1", "0"],
    ["1", "0.995", "0.9"],
]


def exact_limits() -> list[mpmath.mpf]:
    with mpmath.workdps(30):
        return [generalised_argmax(r)[0] for r in ROWS]


def first_probability(
    row: list[str], digits: int | None = None
) -> Callable[[mpmath.mpf], mpmath.mpf]:
    """ρ ↦ softmax(ρ·row)₀, the coordinate whose ρ → ∞ limit is taken (at ``digits``
    significant digits, else at the working precision of the caller)."""

    def g(rho: mpmath.mpf) -> mpmath.mpf:
        return softmax(row, rho, digits=digits)[0]

    return g


def our_limits() -> list[mpmath.mpf]:
    return [limit(first_probability(r), digits=30).value for r in ROWS]


def mpmath_limits() -> list[mpmath.mpf]:
    with mpmath.workdps(30):
        return [mpmath.limit(first_probability(r, digits=30), mpmath.inf) for r in ROWS]


def _wrong(values, exact) -> int:
    return sum(1 for v, e in zip(values, exact, strict=True) if abs(v - e) > 1e-10)


def test_exact_limit_vs_mpmath_limit(benchmark, report_ratio):
    exact = exact_limits()
    start = time.perf_counter()
    theirs = mpmath_limits()
    t_mpmath = time.perf_counter() - start
    times = paired_medians({"exact": exact_limits, "ours": our_limits}, repeats=5, warmup=1)
    ours = our_limits()
    benchmark(exact_limits)
    report_ratio(
        "mpmath.limit time / exact limit time (8 rows)",
        t_mpmath / times["exact"],
        "≥ 100×",
        f"mpmath.limit {t_mpmath:.2f} s, exact {times['exact'] * 1e3:.2f} ms",
    )
    report_ratio(
        "mpmath.limit time / limit() time (8 rows)",
        t_mpmath / times["ours"],
        "-",
        f"limit() {times['ours'] * 1e3:.1f} ms",
    )
    report_ratio(
        "rows mpmath.limit gets wrong (|err| > 1e-10)",
        _wrong(theirs, exact),
        "-",
        "near-ties: " + ", ".join(mpmath.nstr(v, 8) for v in theirs[:4]),
    )
    report_ratio("rows limit() gets wrong", _wrong(ours, exact), "0")
    assert t_mpmath / times["exact"] >= 100
    assert _wrong(ours, exact) == 0
    assert _wrong(theirs, exact) >= 1  # the documented failure of mpmath.limit
    assert max(theirs) > 1  # a "probability" above 1
