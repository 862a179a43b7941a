"""Classify how an error e(ρ) vanishes along a ray: exactly, exponentially, polynomially, not.

Given samples (ρ_i, e_i) of a non-negative error, for instance the relative homogeneity
error ‖f(cρθ) − c^k f(ρθ)‖ / ‖c^k f(ρθ)‖, we look at the tail past the error's peak and at
the local log-log slopes

    s_i = Δ ln e / Δ ln ρ.

* Polynomial decay e ≈ A ρ^(−p) has constant slope s = −p.
* Exponential-type decay e ≈ A exp(−d ρ^m) (m > 0) has −s = d m ρ^m, so
  ln(−s) = ln(d m) + m ln ρ: a straight line of positive slope m in ln ρ.

So a least-squares fit of ln(−s) on ln ρ gives m̂; m̂ ≥ ``exponent_threshold`` (0.5)
means exponential, otherwise polynomial with p̂ = median(−s). An error that stays at the
noise floor everywhere is ``exact``; a tail that does not fall is ``none``.

The functions take plain floats, numpy arrays or mpmath numbers (errors far below the
float64 range are fine: logarithms are taken with mpmath when needed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import mpmath
import numpy as np

from homogeneity.errors import HomogeneityInputError

DecayKind = Literal["exact", "exponential", "polynomial", "none", "undetermined"]


@dataclass(frozen=True)
class DecayFit:
    """The decay law read off a curve e(ρ).

    ``kind``: exact (at the floor throughout), exponential (e ≈ A exp(−d ρ^m)),
    polynomial (e ≈ A ρ^(−p)), none (no decay), undetermined (too few usable points).
    ``exponent`` is m for exponential decay; ``rate`` is d (exponential) or p (polynomial);
    ``r2`` the coefficient of determination of the fit that decided; ``n_points`` how many
    samples lay in the decaying tail above the floor.
    """

    kind: DecayKind
    rate: float | None = None
    exponent: float | None = None
    r2: float | None = None
    n_points: int = 0
    floor: float = 0.0
    peak: float = 0.0
    detail: str = ""

    def __str__(self) -> str:
        if self.kind == "exponential":
            return (
                f"exponential: e ≈ A·exp(−{self.rate:.3g}·ρ^{self.exponent:.2f}) "
                f"({self.n_points} points, R²={self.r2:.3f})"
            )
        if self.kind == "polynomial":
            return (
                f"polynomial: e ≈ A·ρ^−{self.rate:.3g} ({self.n_points} points, R²={self.r2:.3f})"
            )
        if self.kind == "exact":
            return f"exact: error ≤ floor {self.floor:.1e} everywhere"
        return f"{self.kind}: {self.detail}"


def _log(x: object) -> float:
    """Natural log as a float, valid for mpmath numbers far below 1e-308.

    Zero gives −inf (no error at all); NaN stays NaN, so that a NaN error (an overflow)
    is refused by :func:`decay_tail` instead of being read as "below the floor"."""
    if isinstance(x, (mpmath.mpf,)):
        if mpmath.isnan(x):
            return math.nan
        return float(mpmath.log(x)) if x > 0 else -math.inf
    xf = float(x)
    if math.isnan(xf):
        return math.nan
    return math.log(xf) if xf > 0 else -math.inf


def _r2(y: np.ndarray, yhat: np.ndarray) -> float:
    ss_res = float(np.sum((y - yhat) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0


@dataclass
class DecayData:
    """The tail used for the fit (after the peak, above the floor)."""

    log_rho: np.ndarray
    log_err: np.ndarray
    peak_index: int
    floor_hit: bool
    indices: list[int] = field(default_factory=list)


def decay_tail(
    rhos: Sequence[float],
    errors: Sequence[object],
    floor: float,
    below_peak: float = 0.3,
    min_points: int = 4,
) -> DecayData:
    """Select the asymptotic tail used for the fit.

    Start at the last sample above the floor (before the error first reaches the floor past
    its peak) and walk back while the error keeps increasing backwards and stays below
    ``below_peak``·peak: the final monotonically decreasing run. Transient bumps (one layer
    saturating after another) end the run. When the run is long (> 2·min_points) only its
    second half is kept, since the decay law is a statement about large ρ.
    """
    if len(rhos) != len(errors):
        raise HomogeneityInputError(
            f"rhos and errors have different lengths ({len(rhos)} vs {len(errors)})"
        )
    if len(rhos) < 3:
        raise HomogeneityInputError("need at least 3 samples (rhos) to classify a decay")
    if not all(float(r) > 0 for r in rhos):
        raise HomogeneityInputError("rhos must be strictly increasing and positive (ρ > 0)")
    log_rho = np.array([math.log(float(r)) for r in rhos])
    if np.any(np.diff(log_rho) <= 0):
        raise HomogeneityInputError("rhos must be strictly increasing and positive")
    log_err = np.array([_log(e) for e in errors])
    if np.any(np.isnan(log_err)):
        raise HomogeneityInputError("errors contain NaN; the function overflowed or is undefined")
    log_floor = math.log(floor) if floor > 0 else -math.inf
    peak_index = int(np.argmax(log_err))
    ceiling = log_err[peak_index] + math.log(below_peak)
    past_peak = range(peak_index, len(rhos))
    first_floor = next((i for i in past_peak if log_err[i] <= log_floor), None)
    end = (len(rhos) if first_floor is None else first_floor) - 1
    run: list[int] = []
    if end > peak_index and log_floor < log_err[end] < ceiling:
        run = [end]
        i = end - 1
        while i >= peak_index and log_err[i] > log_err[i + 1] and log_err[i] < ceiling:
            run.insert(0, i)
            i -= 1
    if len(run) > 2 * min_points:
        run = run[len(run) // 2 :]
    return DecayData(log_rho[run], log_err[run], peak_index, first_floor is not None, run)


def classify_decay(
    rhos: Sequence[float],
    errors: Sequence[object],
    floor: float = 0.0,
    exponent_threshold: float = 0.5,
    min_points: int = 4,
) -> DecayFit:
    """Classify the decay of ``errors`` (≥ 0) sampled at increasing ``rhos``.

    Args:
        rhos: strictly increasing positive ρ values.
        errors: error at each ρ (float or mpmath number).
        floor: errors at or below this are numerical noise (e.g. 1e3·machine epsilon).
        exponent_threshold: m̂ at or above this means exponential decay.
        min_points: fewer usable tail points gives ``undetermined``.
    """
    log_floor = math.log(floor) if floor > 0 else -math.inf
    log_err_all = [_log(e) for e in errors]
    peak = max(float(mpmath.e**le) if le > -700 else 0.0 for le in log_err_all)
    if all(le <= log_floor for le in log_err_all):
        return DecayFit("exact", floor=floor, peak=peak, detail="at the floor everywhere")
    data = decay_tail(rhos, errors, floor, min_points=min_points)
    n = len(data.indices)
    tail_from_peak = np.array(log_err_all[data.peak_index :])
    if n < min_points:
        if data.floor_hit and n >= 1:
            # fell from below_peak·peak to the floor within n+1 samples: report what we have
            return DecayFit(
                "undetermined",
                n_points=n,
                floor=floor,
                peak=peak,
                detail=f"only {n} samples between the peak and the floor; sample ρ more densely",
            )
        if tail_from_peak[-1] > tail_from_peak[0] + math.log(0.3):  # (peak last: grows)
            return DecayFit(
                "none",
                n_points=n,
                floor=floor,
                peak=peak,
                detail="the error does not fall below 0.3× its peak",
            )
        return DecayFit(
            "undetermined",
            n_points=n,
            floor=floor,
            peak=peak,
            detail=f"only {n} usable samples in the tail",
        )
    lr, le = data.log_rho, data.log_err
    slopes = np.diff(le) / np.diff(lr)
    mid = 0.5 * (lr[1:] + lr[:-1])
    falling = slopes < 0
    if falling.sum() < max(2, int(0.7 * len(slopes))):
        return DecayFit(
            "none", n_points=n, floor=floor, peak=peak, detail="the tail is not decreasing"
        )
    ls, lm = np.log(-slopes[falling]), mid[falling]
    if len(ls) >= 2 and np.ptp(lm) > 0:
        m_hat = float(np.polyfit(lm, ls, 1)[0])
    else:
        m_hat = 0.0
    if m_hat >= exponent_threshold:
        # fit ln e = a − d ρ^m with m = m̂ (least squares in ln e)
        x = np.exp(m_hat * lr)
        slope, intercept = np.polyfit(x, le, 1)
        return DecayFit(
            "exponential",
            rate=float(-slope),
            exponent=float(m_hat),
            r2=_r2(le, slope * x + intercept),
            n_points=n,
            floor=floor,
            peak=peak,
        )
    slope, intercept = np.polyfit(lr, le, 1)
    p = float(-slope)
    if p < 0.25:
        return DecayFit(
            "none",
            rate=p,
            n_points=n,
            floor=floor,
            peak=peak,
            detail=f"log-log slope {slope:.3g}: no meaningful decay",
        )
    return DecayFit(
        "polynomial",
        rate=p,
        exponent=float(m_hat),
        r2=_r2(le, slope * lr + intercept),
        n_points=n,
        floor=floor,
        peak=peak,
    )


def refine_grid(
    rhos: Sequence[float], errors: Sequence[object], floor: float, n_new: int = 16
) -> list[float]:
    """Geometric ρ samples in the gap where the error falls from its peak to the floor.

    Used when :func:`classify_decay` finds too few samples in the tail (a fast exponential
    decay crosses 15 decades between two coarse samples).
    """
    log_err = [_log(e) for e in errors]
    log_floor = math.log(floor) if floor > 0 else -math.inf
    peak_i = int(np.argmax(log_err))
    lo = peak_i
    for i in range(peak_i, len(rhos)):
        if log_err[i] > log_err[peak_i] + math.log(0.3):
            lo = i
    hi = next((i for i in range(lo, len(rhos)) if log_err[i] <= log_floor), len(rhos) - 1)
    a, b = math.log(float(rhos[lo])), math.log(float(rhos[hi]))
    if b <= a:
        return []
    return [math.exp(a + (b - a) * j / (n_new + 1)) for j in range(1, n_new + 1)]
