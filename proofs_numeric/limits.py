"""lim_{ρ→∞} g(ρ) for research code: high precision, an error bar that does not overstate,
and a strict mode that raises instead of guessing.

Method. Evaluate g on the geometric sequence ρ_k = ρ₀·q^k (q = ``growth``) and look at
the successive differences Δ_k = |g(ρ_{k+1}) − g(ρ_k)| and s_k = ln Δ_k:

* **exact**: the last differences are 0 at the precision of the values;
* **exponential** (g(ρ) − L ≈ A e^{−γρ}, e.g. softmax(ρa) with gap γ): the slopes
  (s_{k+1} − s_k)/(ρ_{k+1} − ρ_k) settle at −γ < 0. Then L ≈ g(ρ_K), whose error is about
  the next difference, predicted as Δ_{K−1}·e^{−γ(ρ_K − ρ_{K−1})} (counted twice);
* **polynomial** (g(ρ) − L ≈ A ρ^{−p} + B ρ^{−p−1} + …): the increments s_{k+1} − s_k
  settle at −p ln q < 0. Then repeated Richardson extrapolation over the last points
  with orders p, p+1, … (p snapped to an integer when within 0.1), and the error
  estimate is the distance between the last two diagonal entries of the table.

A pattern counts as established when its last ``window`` slopes (or increments) agree to
``agreement`` (relative) and the differences are decreasing. **Converged** needs more:
the estimate must then survive ``confirm`` further points, each new estimate lying within
the error bar of the one before (an estimate that the next point contradicts is dropped,
so a small oscillation under a decaying term is not mistaken for a limit).

What the values can carry bounds the error bar from below:

* a value returned as a Python ``float``, a numpy floating scalar or a one-element
  tensor carries at most the bits of its dtype (53 for float64, 24 for float32): the
  error bar is at least 2^−bits·|g| times the conditioning of the extrapolation (1 for
  the exact and exponential cases, the Richardson table's amplification Π(f+1)/(f−1)
  for the polynomial one);
* for mpmath values the digits must follow the working precision: g is evaluated at one
  probe point ρ* at the working precision and at twice it. A non-constant g that returns
  the very same number at both (it computes at a fixed precision inside, or converts a
  float) is treated like a float of the bits its values show; the accepted value is
  re-evaluated at twice the precision, the error bar is at least the change seen there,
  and if the change exceeds the error estimate the precision is doubled and the sequence
  restarted (up to ``max_digits``).

Early in a slow exponential (a near tie: softmax(ρ·[1, 0.999, 0.5])₀ changes by ≈ 5·10⁻⁴ρ
per unit ρ until ρ ≈ 10³) the differences *grow*; the method keeps doubling ρ until they
decay in a recognised pattern, which is why it gets the limit 1 where ``mpmath.limit``
(Richardson on g(1), g(2), …) returns 1.00017 > 1.

``strict=True`` (default) raises :class:`LimitNotEstablished` when no pattern is
established, when the values diverge, or when the error estimate stays above ``tol``;
``strict=False`` returns the best estimate with ``converged=False`` and the reason.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

import mpmath
from mpmath import mpf

from homogeneity.errors import HomogeneityInputError
from proofs_numeric.precision import resolve_digits

LimitKind = Literal["exact", "exponential", "polynomial", "unknown"]

#: ρ* = ρ₀·PROBE_FACTOR for the precision probe: dyadic, so ρ* is the same number at every
#: precision, but not a power of two, so g(ρ*) is rarely exactly representable.
PROBE_FACTOR = mpf("1.6328125")  # 1 + 2^-1 + 2^-3 + 2^-7

_ACCEPTED = "an int, a float, an mpmath mpf, a numpy real scalar or a one-element real tensor"


class LimitNotEstablished(ArithmeticError):
    """Raised in strict mode when the limit could not be established; ``result`` holds
    what was computed (the sequence, the best estimate and why it was not accepted)."""

    def __init__(self, message: str, result: LimitResult) -> None:
        super().__init__(message)
        self.result = result


@dataclass
class LimitResult:
    """The limit estimate, its error bar and how it was obtained.

    ``value_bits`` is None when g's values follow the working precision (``digits``), else
    the bits they carry (53 for float64) and ``value_source`` names their type; ``floor``
    is the part of ``error`` that those bits impose.
    """

    value: mpf
    error: mpf
    kind: LimitKind
    rate: mpf | None
    converged: bool
    digits: int
    rhos: list[mpf] = field(default_factory=list)
    values: list[mpf] = field(default_factory=list)
    reason: str = ""
    value_bits: int | None = None
    value_source: str = "mpmath"
    floor: mpf = field(default_factory=lambda: mpf(0))

    def __float__(self) -> float:
        return float(self.value)

    def __str__(self) -> str:
        rate = "" if self.rate is None else f", rate {mpmath.nstr(self.rate, 6)}"
        state = "converged" if self.converged else f"NOT converged ({self.reason})"
        precision = (
            f"{self.digits} digits"
            if self.value_bits is None
            else f"values {self.value_source}, {self.value_bits} bits"
        )
        return (
            f"limit {mpmath.nstr(self.value, 20)} ± {mpmath.nstr(self.error, 3)} "
            f"({self.kind}{rate}; {len(self.rhos)} points, {precision}; {state})"
        )


# -- input checks -----------------------------------------------------------------------


def _real_argument(name: str, value: Any, example: str) -> mpf:
    """``value`` as an mpf, or an input error naming the argument."""
    if isinstance(value, bool):
        raise HomogeneityInputError(f"{name}={value!r} is a bool; pass a number, e.g. {example}")
    try:
        x = mpf(value)
    except (TypeError, ValueError):
        raise HomogeneityInputError(
            f"{name}={value!r} is not a real number; pass e.g. {name}={example}"
        ) from None
    if not mpmath.isfinite(x):
        raise HomogeneityInputError(f"{name}={value!r} must be finite; pass e.g. {name}={example}")
    return x


def _integer_argument(name: str, value: Any, minimum: int, example: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise HomogeneityInputError(
            f"{name}={value!r} must be an integer ≥ {minimum}; pass e.g. {name}={example}"
        )
    return int(value)


@dataclass(frozen=True)
class _Sample:
    """One value of g: as an mpf, the bits it can carry (None: follows the precision)."""

    value: mpf
    bits: int | None
    source: str


def _evaluate(g: Callable[[mpf], Any], rho: mpf) -> _Sample:
    """g(ρ) as an mpf, with the precision its type allows; non-real returns are refused."""
    return _as_sample(g(rho), rho)


def _refuse(value: Any, rho: mpf, why: str) -> HomogeneityInputError:
    return HomogeneityInputError(
        f"g returned {why} at ρ = {mpmath.nstr(rho, 6)}; g must return one real number "
        f"({_ACCEPTED})"
    )


def _as_sample(value: Any, rho: mpf) -> _Sample:
    if value is None:
        return _raise(_refuse(value, rho, "None (a missing return statement?)"))
    if isinstance(value, bool):
        return _raise(_refuse(value, rho, f"the bool {value}; return int(...) for 0/1"))
    if isinstance(value, mpmath.mpf):
        return _Sample(value, None, "mpmath")
    if isinstance(value, (mpmath.mpc, complex)):
        return _raise(
            _refuse(
                value, rho, f"the complex number {value}; return its real part if that is meant"
            )
        )
    if isinstance(value, int):
        return _Sample(mpf(value), None, "int")
    if isinstance(value, float):
        return _Sample(mpf(value), 53, "float64")
    if isinstance(value, Fraction):
        return _Sample(mpf(value.numerator) / value.denominator, None, "Fraction")
    module = type(value).__module__.split(".")[0]
    if module == "numpy":
        return _numpy_sample(value, rho)
    if module == "torch":
        return _torch_sample(value, rho)
    if isinstance(value, (str, bytes)):
        return _raise(_refuse(value, rho, f"a {type(value).__name__} ({value!r})"))
    if isinstance(value, (list, tuple, dict, set)):
        return _raise(
            _refuse(
                value,
                rho,
                f"a {type(value).__name__} of {len(value)} values; pick the one coordinate "
                f"whose limit is wanted, e.g. lambda rho: f(rho)[0]",
            )
        )
    if isinstance(value, numbers.Real):
        try:
            return _Sample(mpf(float(value)), 53, f"{type(value).__name__} (as float64)")
        except (TypeError, ValueError, OverflowError):
            pass
    return _raise(_refuse(value, rho, f"an object of type {type(value).__name__}"))


def _raise(exc: Exception) -> Any:
    raise exc


def _numpy_sample(value: Any, rho: mpf) -> _Sample:
    import numpy as np

    if isinstance(value, np.ndarray):
        if value.size != 1:
            return _raise(
                _refuse(value, rho, f"a numpy array of shape {value.shape}; return one element")
            )
        value = value.reshape(())[()]
    if isinstance(value, np.bool_):
        return _raise(_refuse(value, rho, f"the numpy bool {value}"))
    if isinstance(value, np.integer):
        return _Sample(mpf(int(value)), None, f"numpy.{value.dtype}")
    if isinstance(value, np.floating):
        bits = int(np.finfo(value.dtype).nmant) + 1
        return _Sample(mpf(float(value)), bits, f"numpy.{value.dtype}")
    return _raise(_refuse(value, rho, f"a numpy {type(value).__name__}"))


def _torch_sample(value: Any, rho: mpf) -> _Sample:
    import torch

    if not isinstance(value, torch.Tensor):
        return _raise(_refuse(value, rho, f"an object of type {type(value).__name__}"))
    if value.numel() != 1:
        return _raise(
            _refuse(value, rho, f"a tensor of shape {tuple(value.shape)}; return one element")
        )
    dtype = value.dtype
    if dtype.is_complex:
        return _raise(_refuse(value, rho, f"a complex tensor ({dtype})"))
    if dtype == torch.bool:
        return _raise(_refuse(value, rho, "a bool tensor"))
    item = value.detach().cpu().reshape(()).item()
    if dtype.is_floating_point:
        bits = round(-math.log2(torch.finfo(dtype).eps)) + 1
        return _Sample(mpf(item), bits, str(dtype))
    return _Sample(mpf(int(item)), None, str(dtype))


# -- the analysis of the sequence ---------------------------------------------------------


@dataclass(frozen=True)
class _Estimate:
    kind: LimitKind
    rate: mpf | None
    value: mpf
    error: mpf
    #: amplification of a relative error in the values by the extrapolation, and the
    #: largest |value| it used: the error floor of b-bit values is 2^−b·condition·scale
    condition: mpf
    scale: mpf


def _agree(xs: list[mpf], agreement: float) -> bool:
    lo, hi = min(xs), max(xs)
    scale = max(abs(lo), abs(hi))
    return scale > 0 and (hi - lo) <= agreement * scale


def _analyse(
    rhos: list[mpf], vals: list[mpf], window: int, agreement: float, noise: mpf
) -> _Estimate | None:
    """The estimate once a pattern is established, else None; ``noise`` is the relative
    size below which a difference is indistinguishable from 0."""
    diffs = [abs(vals[k + 1] - vals[k]) for k in range(len(vals) - 1)]
    if len(diffs) < window + 1:
        return None
    tail = diffs[-(window + 1) :]
    last = vals[-1]
    scale = max(abs(last), mpf(1))
    one = mpf(1)
    if all(d <= noise * scale for d in tail):
        return _Estimate("exact", None, last, noise * scale, one, abs(last))
    if any(d == 0 for d in tail) or any(tail[i + 1] >= tail[i] for i in range(window)):
        # mixed zeros / non-decreasing: an exponential that just hit the noise floor?
        floor_hit = tail[-1] <= noise * scale and all(
            tail[i + 1] < tail[i] for i in range(window - 1)
        )
        if not floor_hit:
            return None
        return _Estimate(
            "exponential", _rate_before_floor(rhos, diffs), last, noise * scale, one, abs(last)
        )
    logs = [mpmath.log(d) for d in tail]
    # tail[i] = Δ_j with j = n − 2 − window + i: the difference over [ρ_j, ρ_{j+1}]
    n = len(rhos)
    first = n - 2 - window
    steps = [rhos[first + i + 1] - rhos[first + i] for i in range(window)]
    incr = [logs[i + 1] - logs[i] for i in range(window)]
    slopes = [incr[i] / steps[i] for i in range(window)]
    if all(s < 0 for s in slopes) and _agree(slopes, agreement):
        gamma = -slopes[-1]
        # Δ_{n−1} (over [ρ_{n−1}, ρ_n]) ≈ Δ_{n−2}·e^{−γ(ρ_{n−1} − ρ_{n−2})} ≈ |g(ρ_{n−1}) − L|
        predicted = tail[-1] * mpmath.exp(-gamma * (rhos[-1] - rhos[-2]))
        return _Estimate(
            "exponential", gamma, last, max(2 * predicted, noise * scale), one, abs(last)
        )
    if all(s < 0 for s in incr) and _agree(incr, agreement):
        growth = rhos[-1] / rhos[-2]
        p = -incr[-1] / mpmath.log(growth)
        if abs(p - mpmath.nint(p)) < 0.1 and mpmath.nint(p) > 0:
            p = mpmath.nint(p)  # an expansion in integer powers of 1/ρ: use exact orders
        estimate, error, condition, used = _richardson(vals, growth, p)
        return _Estimate(
            "polynomial", p, estimate, max(error, noise * scale * condition), condition, used
        )
    return None


def _rate_before_floor(rhos: list[mpf], diffs: list[mpf]) -> mpf | None:
    """γ from the last two differences above the noise floor (the last one is at it):
    −(ln Δ_{j+1} − ln Δ_j)/(ρ_{j+1} − ρ_j); None if they do not decrease."""
    j = len(diffs) - 3
    if j < 0 or not (diffs[j] > diffs[j + 1] > 0):
        return None
    return -(mpmath.log(diffs[j + 1]) - mpmath.log(diffs[j])) / (rhos[j + 1] - rhos[j])


def _richardson(vals: list[mpf], growth: mpf, p: mpf, depth: int = 8) -> tuple[mpf, mpf, mpf, mpf]:
    """Repeated Richardson extrapolation for g(ρ) = L + A₁ρ^{−p} + A₂ρ^{−p−1} + … on the
    geometric sequence: T_{k,j} = (f_j T_{k,j−1} − T_{k−1,j−1})/(f_j − 1), f_j = q^{p+j−1}.

    Returns the last diagonal entry, its distance to the previous one, the condition
    Π_j (f_j + 1)/(f_j − 1) (how much the table can amplify an error in the values) and
    the largest |value| used."""
    seq = vals[-depth:]
    table = [list(seq)]
    condition = mpf(1)
    for j in range(1, len(seq)):
        factor = mpmath.power(growth, p + j - 1)
        condition *= (factor + 1) / abs(factor - 1)
        prev = table[-1]
        table.append(
            [(factor * prev[k + 1] - prev[k]) / (factor - 1) for k in range(len(prev) - 1)]
        )
    diag = [row[-1] for row in table]
    return diag[-1], abs(diag[-1] - diag[-2]), condition, max(abs(v) for v in seq)


def _floor(estimate: _Estimate, bits: int | None) -> mpf:
    """The error that b-bit values impose on the estimate (0 for values that follow the
    working precision)."""
    if bits is None:
        return mpf(0)
    return mpmath.ldexp(1, -bits) * estimate.condition * estimate.scale


# -- the driver ---------------------------------------------------------------------------


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
    confirm: int = 2,
) -> LimitResult:
    """lim_{ρ→∞} g(ρ) (see the module docstring for the method and the error bar).

    Args:
        g: a function of one mpf argument returning one real number (an int, a float, an
            mpmath mpf, a numpy real scalar or a one-element real tensor). It runs at the
            current mpmath precision; mpmath functions inside it follow it automatically.
        rho0, growth: the sequence ρ_k = rho0·growth^k (rho0 > 0, growth > 1).
        digits: working precision (default max(50, mp.dps)); raised automatically when a
            value does not survive re-evaluation at twice the precision.
        tol: accepted absolute error (default 10^{−(digits − 10)}·max(1, |L|), or 8 times
            the floor that float values impose, whichever is larger).
        strict: raise :class:`LimitNotEstablished` instead of returning a doubtful value.
        max_points: most sequence points (the largest ρ is rho0·growth^max_points).
        window, agreement: how many successive slopes must agree, and how closely.
        max_digits: cap on the automatic precision increase.
        confirm: further points the accepted estimate must survive (each new estimate
            within the error bar of the previous one).
    """
    if not callable(g):
        raise HomogeneityInputError("g must be a callable of one argument ρ, e.g. lambda rho: ...")
    d = resolve_digits(digits)
    with mpmath.workdps(d):
        r0 = _real_argument("rho0", rho0, "1")
        q = _real_argument("growth", growth, "2")
        tolerance = None if tol is None else _real_argument("tol", tol, "1e-30")
    if not r0 > 0:
        raise HomogeneityInputError(f"rho0={rho0!r} must be a finite number > 0, e.g. rho0=1")
    if not q > 1:
        raise HomogeneityInputError(f"growth={growth!r} must be > 1 (e.g. 2)")
    if tolerance is not None and not tolerance > 0:
        raise HomogeneityInputError(f"tol={tol!r} must be a number > 0 (e.g. tol=1e-30)")
    if not isinstance(strict, bool):
        raise HomogeneityInputError(f"strict={strict!r} must be True or False")
    window = _integer_argument("window", window, 2, "3")
    confirm = _integer_argument("confirm", confirm, 0, "2")
    max_points = _integer_argument("max_points", max_points, window + 3 + confirm, "80")
    max_digits = _integer_argument("max_digits", max_digits, d, str(max(2000, d)))
    if isinstance(agreement, bool) or not (
        isinstance(agreement, numbers.Real) and 0 < agreement < 1
    ):
        raise HomogeneityInputError(f"agreement={agreement!r} must lie in (0, 1), e.g. 0.05")
    while True:
        result, moved = _run(g, r0, q, d, tolerance, max_points, window, float(agreement), confirm)
        if moved:  # the values moved with the precision: raise it and restart
            if d < max_digits:
                d = min(2 * d, max_digits)
                continue
            result.converged = False
            result.reason = f"values change with precision even at {d} digits"
        break
    if strict and not result.converged:
        raise LimitNotEstablished(f"limit not established: {result.reason}", result)
    return result


def _probe_bits(g: Callable[[mpf], Any], rho: mpf, d: int) -> int | None:
    """None when g(ρ*) follows the working precision (differs between d and 2d digits),
    else the bits its value carries."""
    low = _evaluate(g, rho)
    if low.bits is not None or low.source != "mpmath":
        return low.bits
    with mpmath.workdps(2 * d):
        high = _evaluate(g, rho)
    if high.value != low.value or low.value == 0:
        return None
    return max(1, int(mpmath.mpf(high.value).man).bit_length())


def _run(
    g: Callable[[mpf], Any],
    r0: mpf,
    q: mpf,
    d: int,
    tol: mpf | None,
    max_points: int,
    window: int,
    agreement: float,
    confirm: int,
) -> tuple[LimitResult, bool]:
    """One pass at ``d`` digits; the flag says "the values moved with the precision"."""
    with mpmath.workdps(d):
        noise_digits = mpf(10) ** (-(d - 8))
        rhos: list[mpf] = []
        vals: list[mpf] = []
        bits: int | None = None
        source = "mpmath"
        probed: int | None = None
        candidate: _Estimate | None = None
        confirmations = 0
        contradicted = 0
        for k in range(max_points):
            rho = r0 * mpmath.power(q, k)
            sample = _evaluate(g, rho)
            if not mpmath.isfinite(sample.value):
                return LimitResult(
                    sample.value,
                    mpmath.inf,
                    "unknown",
                    None,
                    False,
                    d,
                    rhos,
                    vals,
                    f"g({mpmath.nstr(rho, 5)}) is not finite",
                    bits,
                    source,
                ), False
            if k == 0 and sample.source == "mpmath":
                probed = _probe_bits(g, r0 * PROBE_FACTOR, d)
            if sample.bits is not None and (bits is None or sample.bits < bits):
                bits, source = sample.bits, sample.source
            rhos.append(rho)
            vals.append(sample.value)
            if probed is not None and bits is None and any(v != vals[0] for v in vals):
                # non-constant, yet the same value at d and 2d digits: fixed precision
                bits, source = probed, "mpmath at a fixed precision"
            noise = noise_digits if bits is None else max(noise_digits, 4 * mpmath.ldexp(1, -bits))
            found = _analyse(rhos, vals, window, agreement, noise)
            if found is None:
                if candidate is not None:
                    contradicted += 1
                candidate, confirmations = None, 0
                continue
            floor = _floor(found, bits)
            found = _Estimate(
                found.kind,
                found.rate,
                found.value,
                max(found.error, floor),
                found.condition,
                found.scale,
            )
            if (
                candidate is not None
                and found.kind == candidate.kind
                and abs(found.value - candidate.value) <= candidate.error
            ):
                confirmations += 1
            else:
                if candidate is not None:
                    contradicted += 1
                confirmations = 0
            candidate = found
            bound = _bound(tol, d, found.value, floor)
            if found.error > bound or confirmations < confirm:
                continue
            error = found.error
            if bits is None:
                # the digits must follow the precision: re-evaluate at twice it
                with mpmath.workdps(2 * d):
                    check = _evaluate(g, rhos[-1]).value
                shown = abs(check - vals[-1])
                moved = shown > error
                error = max(error, shown)
            else:
                moved = False
            return LimitResult(
                found.value,
                error,
                found.kind,
                found.rate,
                True,
                d,
                rhos,
                vals,
                "",
                bits,
                source,
                floor,
            ), moved
        return _not_converged(rhos, vals, candidate, bits, source, d, tol, contradicted), False


def _bound(tol: mpf | None, d: int, value: mpf, floor: mpf) -> mpf:
    if tol is not None:
        return tol
    return max(mpf(10) ** (-(d - 10)) * max(mpf(1), abs(value)), 8 * floor)


def _not_converged(
    rhos: list[mpf],
    vals: list[mpf],
    candidate: _Estimate | None,
    bits: int | None,
    source: str,
    d: int,
    tol: mpf | None,
    contradicted: int,
) -> LimitResult:
    precision = "" if bits is None else f"; g's values are {source} ({bits} bits)"
    if candidate is not None:
        floor = _floor(candidate, bits)
        bound = _bound(tol, d, candidate.value, floor)
        if candidate.error > bound:
            why = (
                f"error estimate {mpmath.nstr(candidate.error, 3)} above tolerance "
                f"{mpmath.nstr(bound, 3)} after {len(rhos)} points (ρ up to "
                f"{mpmath.nstr(rhos[-1], 5)})"
            )
            if floor > bound:
                why += (
                    f"{precision}, which alone limits the error to ≥ {mpmath.nstr(floor, 3)}: "
                    f"compute g in mpmath or pass tol ≥ {mpmath.nstr(8 * floor, 2)}"
                )
        else:
            why = f"the estimate was not confirmed by enough further points ({len(rhos)} points)"
        return LimitResult(
            candidate.value,
            candidate.error,
            candidate.kind,
            candidate.rate,
            False,
            d,
            rhos,
            vals,
            why,
            bits,
            source,
            floor,
        )
    diffs = [abs(vals[k + 1] - vals[k]) for k in range(len(vals) - 1)]
    growing = len(diffs) > 3 and diffs[-1] > diffs[-3]
    if contradicted:
        reason = (
            f"{contradicted} estimate(s) were contradicted by the next point and no "
            f"convergence pattern held to the end (ρ up to {mpmath.nstr(rhos[-1], 5)})"
        )
    elif growing:
        reason = "the differences grow: g diverges or oscillates"
    else:
        reason = "no exponential or polynomial convergence pattern was established"
    return LimitResult(
        vals[-1],
        diffs[-1] if diffs else mpmath.inf,
        "unknown",
        None,
        False,
        d,
        rhos,
        vals,
        reason + precision,
        bits,
        source,
    )
