"""lim_{ρ→∞} g(ρ) for research code: high precision, an error estimate, and a strict mode
that raises instead of guessing.

Method. Evaluate g on the geometric sequence ρ_k = ρ₀·q^k (q = ``growth``) and look at
the successive differences Δ_k = |g(ρ_{k+1}) − g(ρ_k)| and s_k = ln Δ_k:

* **exact**: the last differences are 0 at the working precision;
* **exponential** (g(ρ) − L ≈ A e^{−γρ}, e.g. softmax(ρa) with gap γ): the slopes
  (s_{k+1} − s_k)/(ρ_{k+1} − ρ_k) settle at −γ < 0. Then L ≈ g(ρ_K) with error about the
  next difference, predicted as Δ_{K−1}·e^{−γ(ρ_{K+1} − ρ_K)};
* **polynomial** (g(ρ) − L ≈ A ρ^{−p} + B ρ^{−p−1} + …): the increments s_{k+1} − s_k
  settle at −p ln q < 0. Then repeated Richardson extrapolation over the last points
  with orders p, p+1, … (p snapped to an integer when within 0.1), and the error
  estimate is the distance between the last two diagonal entries of the table.

A pattern counts as established when its last ``window`` slopes (or increments) agree to
``agreement`` (relative) and the differences are decreasing. Each accepted value is
re-evaluated at twice the working precision; if the two disagree by more than the error
estimate the precision is raised and the sequence restarted.

Early in a slow exponential (a near tie: softmax(ρ·[1, 0.999, 0.5])₀ changes by ≈ 5·10⁻⁴ρ
per unit ρ until ρ ≈ 10³) the differences *grow*; the method keeps doubling ρ until they
decay in a recognised pattern, which is why it gets the limit 1 where ``mpmath.limit``
(Richardson on g(1), g(2), …) returns 1.00017 > 1.

``strict=True`` (default) raises :class:`LimitNotEstablished` when no pattern is
established, when the values diverge, or when the error estimate stays above ``tol``;
``strict=True`` returns the best estimate with ``converged=False``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import mpmath
from mpmath import mpf

from homogeneity.errors import HomogeneityInputError
from proofs_numeric.precision import resolve_digits

LimitKind = Literal["exact", "exponential", "polynomial", "unknown"]


class LimitNotEstablished(ArithmeticError):
    """Raised in strict mode when the limit could not be established; ``result`` holds
    what was computed (the sequence, the best estimate and why it was not accepted)."""

    def __init__(self, message: str, result: LimitResult) -> None:
        super().__init__(message)
        self.result = result


@dataclass
class LimitResult:
    """The limit estimate, its error estimate and how it was obtained."""

    value: mpf
    error: mpf
    kind: LimitKind
    rate: mpf | None
    converged: bool
    digits: int
    rhos: list[mpf] = field(default_factory=list)
    values: list[mpf] = field(default_factory=list)
    reason: str = ""

    def __float__(self) -> float:
        return float(self.value)

    def __str__(self) -> str:
        rate = "" if self.rate is None else f", rate {mpmath.nstr(self.rate, 6)}"
        state = "converged" if self.converged else f"NOT converged ({self.reason})"
        return (
            f"limit {mpmath.nstr(self.value, 20)} ± {mpmath.nstr(self.error, 3)} "
            f"({self.kind}{rate}; {len(self.rhos)} points, {self.digits} digits; {state})"
        )


def _agree(xs: list[mpf], agreement: float) -> bool:
    lo, hi = min(xs), max(xs)
    scale = max(abs(lo), abs(hi))
    return scale > 0 and (hi - lo) <= agreement * scale


def _analyse(
    rhos: list[mpf], vals: list[mpf], window: int, agreement: float, noise: mpf, growth: mpf
) -> tuple[LimitKind, mpf | None, mpf, mpf] | None:
    """(kind, rate, estimate, error) once a pattern is established, else None."""
    diffs = [abs(vals[k + 1] - vals[k]) for k in range(len(vals) - 1)]
    if len(diffs) < window + 1:
        return None
    tail = diffs[-(window + 1) :]
    scale = max(abs(vals[-1]), mpf(1))
    if all(d <= noise * scale for d in tail):
        return "exact", None, vals[-1], noise * scale
    if any(d == 0 for d in tail) or any(tail[i + 1] >= tail[i] for i in range(window)):
        # mixed zeros / non-decreasing: an exponential that just hit the noise floor?
        floor_hit = tail[-1] <= noise * scale and all(
            tail[i + 1] < tail[i] for i in range(window - 1)
        )
        if not floor_hit:
            return None
        return "exponential", None, vals[-1], noise * scale
    logs = [mpmath.log(d) for d in tail]
    steps = [
        rhos[len(rhos) - window - 1 + i + 1] - rhos[len(rhos) - window - 1 + i]
        for i in range(window)
    ]
    incr = [logs[i + 1] - logs[i] for i in range(window)]
    slopes = [incr[i] / steps[i] for i in range(window)]
    if all(s < 0 for s in slopes) and _agree(slopes, agreement):
        gamma = -slopes[-1]
        next_step = rhos[-1] * (growth - 1)
        predicted = tail[-1] * mpmath.exp(-gamma * next_step)
        return "exponential", gamma, vals[-1], max(2 * predicted, noise * scale)
    if all(s < 0 for s in incr) and _agree(incr, agreement):
        p = -incr[-1] / mpmath.log(growth)
        if abs(p - mpmath.nint(p)) < 0.1 and mpmath.nint(p) > 0:
            p = mpmath.nint(p)  # an expansion in integer powers of 1/ρ: use exact orders
        estimate, error = _richardson(vals, growth, p)
        return "polynomial", p, estimate, max(error, noise * scale)
    return None


def _richardson(vals: list[mpf], growth: mpf, p: mpf, depth: int = 8) -> tuple[mpf, mpf]:
    """Repeated Richardson extrapolation for g(ρ) = L + A₁ρ^{−p} + A₂ρ^{−p−1} + … on the
    geometric sequence: T_{k,j} = (q^{p+j−1} T_{k,j−1} − T_{k−1,j−1})/(q^{p+j−1} − 1).
    Returns the last diagonal entry and its distance to the previous one."""
    seq = vals[-depth:]
    table = [list(seq)]
    for j in range(1, len(seq)):
        factor = mpmath.power(growth, p + j - 1)
        prev = table[-1]
        table.append(
            [(factor * prev[k + 1] - prev[k]) / (factor - 1) for k in range(len(prev) - 1)]
        )
    diag = [row[-1] for row in table]
    return diag[-1], abs(diag[-1] - diag[-2])


def limit(
    g: Callable[[mpf], Any],
    *,
    rho0: Any = 1,
    growth: Any = 2,
    digits: int | None = None,
    tol: Any = None,
    strict: bool = True,
    max_points: int = 80,
    window: int = 3,
    agreement: float = 0.05,
    max_digits: int = 2000,
) -> LimitResult:
    """lim_{ρ→∞} g(ρ) (see the module docstring for the method).

    Args:
        g: a function of one mpf argument returning a real (it runs at the current mpmath
            precision; mpmath functions inside it follow it automatically).
        rho0, growth: the sequence ρ_k = rho0·growth^k (rho0 > 0, growth > 1).
        digits: working precision (default max(50, mp.dps)); raised automatically when a
            value does not survive re-evaluation at twice the precision.
        tol: accepted absolute error (default 10^{−(digits − 10)}·max(1, |L|)).
        strict: raise :class:`LimitNotEstablished` instead of returning a doubtful value.
        max_points: most sequence points (the largest ρ is rho0·growth^max_points).
        window, agreement: how many successive slopes must agree, and how closely.
        max_digits: cap on the automatic precision increase.
    """
    if not callable(g):
        raise HomogeneityInputError("g must be a callable of one argument ρ")
    d = resolve_digits(digits)
    with mpmath.workdps(d):
        r0, q = mpf(rho0), mpf(growth)
    if not (r0 > 0 and mpmath.isfinite(r0)):
        raise HomogeneityInputError(f"rho0={rho0!r} must be a finite number > 0")
    if not q > 1:
        raise HomogeneityInputError(f"growth={growth!r} must be > 1 (e.g. 2)")
    if window < 2 or max_points < window + 3:
        raise HomogeneityInputError("need window ≥ 2 and max_points ≥ window + 3")
    while True:
        result = _run(g, r0, q, d, tol, max_points, window, agreement)
        if result.converged and result.reason == "precision":
            if d >= max_digits:
                result.converged = False
                result.reason = f"values change with precision even at {d} digits"
                break
            d = min(2 * d, max_digits)
            continue
        break
    if strict and not result.converged:
        raise LimitNotEstablished(f"limit not established: {result.reason}", result)
    return result


def _run(
    g: Callable[[mpf], Any],
    r0: mpf,
    q: mpf,
    d: int,
    tol: Any,
    max_points: int,
    window: int,
    agreement: float,
) -> LimitResult:
    with mpmath.workdps(d):
        noise = mpf(10) ** (-(d - 8))
        rhos: list[mpf] = []
        vals: list[mpf] = []
        last = None
        for k in range(max_points):
            rho = r0 * mpmath.power(q, k)
            value = mpmath.mpf(g(rho))
            if not mpmath.isfinite(value):
                return LimitResult(
                    value,
                    mpmath.inf,
                    "unknown",
                    None,
                    False,
                    d,
                    rhos,
                    vals,
                    f"g({mpmath.nstr(rho, 5)}) is not finite",
                )
            rhos.append(rho)
            vals.append(value)
            found = _analyse(rhos, vals, window, agreement, noise, q)
            if found is None:
                continue
            kind, rate, estimate, error = found
            last = LimitResult(estimate, error, kind, rate, False, d, rhos, vals)
            bound = mpf(10) ** (-(d - 10)) * max(mpf(1), abs(estimate)) if tol is None else mpf(tol)
            if error > bound:
                continue
            # re-evaluate at twice the precision: the estimate must not move
            with mpmath.workdps(2 * d):
                check = mpmath.mpf(g(rhos[-1]))
            if abs(check - vals[-1]) > max(error, noise * max(1, abs(estimate))):
                last.reason = "precision"
                last.converged = True  # signals the caller to raise the precision
                return last
            last.converged = True
            return last
        if last is not None:
            last.reason = (
                f"error estimate {mpmath.nstr(last.error, 3)} above tolerance after "
                f"{max_points} points (ρ up to {mpmath.nstr(rhos[-1], 5)})"
            )
            return last
        diffs = [abs(vals[k + 1] - vals[k]) for k in range(len(vals) - 1)]
        growing = len(diffs) > 3 and diffs[-1] > diffs[-3]
        reason = (
            "the differences grow: g diverges or oscillates"
            if growing
            else "no exponential or polynomial convergence pattern was established"
        )
        return LimitResult(
            vals[-1],
            diffs[-1] if diffs else mpmath.inf,
            "unknown",
            None,
            False,
            d,
            rhos,
            vals,
            reason,
        )
