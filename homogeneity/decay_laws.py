"""Least-squares fits of the two decay laws to points (ln ρ_i, ln e_i).

One family holds both laws. With u = ln ρ, an anchor u₀ (the last point) and m ≥ 0,

    ln e = a − q · g_m(u − u₀),     g_m(t) = (exp(m t) − 1) / m,     g_0(t) = t.

* m = 0 is the power law e = A ρ^(−p) with p = q and ln A = a + q u₀;
* m > 0 is the stretched exponential e = A exp(−d ρ^m) with d = q exp(−m u₀) / m and
  ln A = a + q / m.

The slope of ln e against ln ρ is −q exp(m (u − u₀)): constant for the power law, growing in
magnitude like ρ^m for the exponential. For fixed m the fit is linear in (a, q); m is found
by a grid over [0, ``max_exponent``] refined by a bounded nonlinear least-squares solve, so
the power law is the m → 0 end of the same search and the two laws can be compared by their residual
sums of squares on the same points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

#: largest m searched (the exponential decays of the package's encoders have m ≤ 7)
MAX_EXPONENT = 20.0
#: the m grid before refinement: 0 (the power law) and geometric values up to MAX_EXPONENT
_GRID_POINTS = 64


@dataclass(frozen=True)
class LawFit:
    """ln e ≈ a − q·g_m(ln ρ − u₀) on ``n`` points, with residual sum of squares ``rss``."""

    exponent: float
    slope: float
    intercept: float
    anchor: float
    rss: float
    n: int

    @property
    def is_power_law(self) -> bool:
        return self.exponent == 0.0

    @property
    def rate(self) -> float:
        """p of A ρ^(−p) (m = 0), or d of A exp(−d ρ^m) (m > 0)."""
        if self.is_power_law:
            return self.slope
        return self.slope * math.exp(-self.exponent * self.anchor) / self.exponent

    @property
    def log_amplitude(self) -> float:
        """ln A."""
        if self.is_power_law:
            return self.intercept + self.slope * self.anchor
        return self.intercept + self.slope / self.exponent

    def log_values(self, log_rho: np.ndarray) -> np.ndarray:
        """ln e of the fitted law at ln ρ."""
        return self.intercept - self.slope * _g(self.exponent, np.asarray(log_rho) - self.anchor)

    def residuals(self, log_rho: np.ndarray, log_err: np.ndarray) -> np.ndarray:
        return np.asarray(log_err) - self.log_values(log_rho)

    def r2(self, log_rho: np.ndarray, log_err: np.ndarray) -> float:
        """Coefficient of determination of ln e."""
        y = np.asarray(log_err)
        ss_tot = float(np.sum((y - y.mean()) ** 2))
        ss_res = float(np.sum(self.residuals(log_rho, y) ** 2))
        return 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0


def _g(m: float, t: np.ndarray) -> np.ndarray:
    """g_m(t) = (e^{mt} − 1)/m, continuous at m = 0 (where it is t)."""
    if abs(m) < 1e-9:
        return t + 0.5 * m * t * t
    return np.expm1(m * t) / m


def _dg_dm(m: float, t: np.ndarray) -> np.ndarray:
    """∂g_m(t)/∂m = (t e^{mt} − g_m(t))/m, which is t²/2 at m = 0."""
    if abs(m) < 1e-6:
        return 0.5 * t * t + m * t**3 / 3.0
    return (t * np.exp(m * t) - _g(m, t)) / m


def _rss_grid(u: np.ndarray, y: np.ndarray, ms: np.ndarray) -> np.ndarray:
    """Residual sum of squares of the best (a, q) for every m in ``ms``."""
    t = u - u.max()
    m = ms[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(m == 0.0, t[None, :], np.expm1(m * t[None, :]) / np.where(m == 0, 1.0, m))
    gc = g - g.mean(axis=1, keepdims=True)
    yc = y - y.mean()
    sgg = np.sum(gc * gc, axis=1)
    sgy = gc @ yc
    syy = float(yc @ yc)
    with np.errstate(divide="ignore", invalid="ignore"):
        rss = syy - np.where(sgg > 0, sgy * sgy / sgg, 0.0)
    return np.maximum(rss, 0.0)


def fit_at(log_rho: np.ndarray, log_err: np.ndarray, exponent: float) -> LawFit:
    """The least-squares law with the exponent m fixed (0: the power law)."""
    u, y = np.asarray(log_rho, dtype=float), np.asarray(log_err, dtype=float)
    anchor = float(u.max())
    g = _g(exponent, u - anchor)
    gc = g - g.mean()
    sgg = float(gc @ gc)
    q = -float(gc @ (y - y.mean())) / sgg if sgg > 0 else 0.0
    a = float(y.mean() + q * g.mean())
    rss = float(np.sum((y - (a - q * g)) ** 2))
    return LawFit(float(exponent), q, a, anchor, rss, len(u))


def exponent_grid(lo: float = 0.0, hi: float = MAX_EXPONENT) -> np.ndarray:
    """The m values searched before refinement (0 included when ``lo`` is 0)."""
    inner = np.geomspace(max(lo, 1e-3), hi, _GRID_POINTS)
    return np.concatenate(([0.0], inner)) if lo == 0.0 else np.concatenate(([lo], inner))


def fit_on_grid(
    log_rho: np.ndarray, log_err: np.ndarray, lo: float = 0.0, hi: float = MAX_EXPONENT
) -> LawFit:
    """The best law with m on the search grid only (cheap; :func:`fit_law` refines it)."""
    u, y = np.asarray(log_rho, dtype=float), np.asarray(log_err, dtype=float)
    ms = np.unique(exponent_grid(lo, hi))
    return fit_at(u, y, float(ms[int(np.argmin(_rss_grid(u, y, ms)))]))


def fit_law(
    log_rho: np.ndarray,
    log_err: np.ndarray,
    lo: float = 0.0,
    hi: float = MAX_EXPONENT,
) -> LawFit:
    """The least-squares law with m in [lo, hi].

    A grid over m gives the start; a bounded nonlinear least-squares solve of the residuals
    in (a, q, m) then gives m to full precision (ln e can reach −10⁴ for errors far below
    the float range, where a relative misfit of 1e-6 in m would already show).
    """
    u, y = np.asarray(log_rho, dtype=float), np.asarray(log_err, dtype=float)
    start = fit_on_grid(u, y, lo, hi)
    candidates = [start]
    if lo == 0.0:
        candidates.append(fit_at(u, y, 0.0))
    t = u - start.anchor

    def residuals(x: np.ndarray) -> np.ndarray:
        return y - x[0] + x[1] * _g(float(x[2]), t)

    def jacobian(x: np.ndarray) -> np.ndarray:
        m = float(x[2])
        return np.column_stack((-np.ones_like(t), _g(m, t), x[1] * _dg_dm(m, t)))

    if len(u) > 3:
        x0 = np.array([start.intercept, start.slope, min(max(start.exponent, lo), hi)])
        sol = least_squares(
            residuals,
            x0,
            jac=jacobian,
            bounds=([-np.inf, -np.inf, lo], [np.inf, np.inf, hi]),
            xtol=1e-15,
            ftol=1e-15,
            gtol=1e-15,
            max_nfev=200,
        )
        if np.all(np.isfinite(sol.x)):
            m = float(sol.x[2])
            candidates.append(fit_at(u, y, 0.0 if m <= 1e-12 else m))
    return min(candidates, key=lambda f: f.rss)
