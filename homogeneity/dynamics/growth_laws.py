"""Growth laws for a norm curve ‖θ_t‖: fits, model selection, free power-law exponent.

Families (y_t = ‖θ_t‖ at steps t ≥ 0; a, b, τ, p, c fitted by least squares on y):

====================  ===============================  =============================================
name                  curve                            where it comes from
====================  ===============================  =============================================
``t``                 a + b·t                          E1's linear-in-t fit
``sqrt(t)``           a + b·√t                         E1 (T5), G2: misaligned constant steps
``t^(1/4)``           a + b·t^{1/4}                    scale-invariant loss under plain GD
``saturating-exp``    a − b·exp(−t/τ), τ > 0           E1's "exp(−t)" fit (see below)
``(log t)^(1/L)``     a + b·(log(1+t))^{1/L}           L-homogeneous nets, separable data (Lyu & Li)
``exp(∫η)``           a·exp(b·∫₀ᵗ η_s ds)              G1: aligned steps with A1
``power`` (free)      (a + b·t)^p                      exponent p with a profile-likelihood CI
====================  ===============================  =============================================

**What "exp(−t)" means.** The paper (E1) compares the √t fit against "exp(−t)". Read
literally, a + b·exp(−t) with t in steps is the constant a for every t past a few dozen
steps, which no norm curve could prefer. We take the family it stands for: a norm that
converges, a − b·exp(−t/τ) with a fitted time scale τ (τ = 1 is the literal exp(−t)).

**Model selection.** Each fit gets R², AIC, AICc and BIC from the Gaussian likelihood of
its residuals. Training curves have autocorrelated deviations, which would make every
difference look decisive, so the sample size in the criteria is the AR(1) effective size
n_eff = n(1 − r₁)/(1 + r₁), with r₁ the lag-1 autocorrelation of the residuals of the
best-fitting (smallest RSS) family, clipped to [0, 0.98]. The best family (smallest
criterion) is *selected* only if every other family is worse by at least ``threshold``
(default 6: "strong" evidence on the 2·ln(Bayes factor) scale of Kass & Raftery);
otherwise the verdict is *indistinguishable* and lists the families within the threshold.
A family that contains the best one as a limit (a − b·exp(−t/τ) → a line as τ → ∞) does
not block the simpler one: its extra parameter bought nothing.
If no family reaches ``min_r2`` the verdict is *no-fit*.

**Free exponent.** By default y = (a + b·t)^p: ‖θ‖^{1/p} grows linearly, the shape of
the accumulation laws (G2: ‖θ_t‖² = ‖θ_0‖² + s²t; GD on a scale-invariant loss:
‖θ_t‖⁴ ≈ ‖θ_0‖⁴ + 2η²G²t), so p̂ is the asymptotic exponent undistorted by the initial
norm. (``form="offset"``: y = a + b·(t^p − 1)/p, E1's shape.) The residual sum of squares
is profiled over p; the 95% interval is {p : n_eff·ln(RSS(p)/RSS(p̂)) ≤ χ²₁(0.95)}; an end
that does not cross inside the search range is reported as None (unbounded).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, stats

from homogeneity.errors import HomogeneityInputError

LAW_NAMES = ("t", "sqrt(t)", "t^(1/4)", "saturating-exp", "(log t)^(1/L)", "exp(∫η)")

#: family -> families it contains as a limit: a − b·exp(−t/τ) → line as τ → ∞, and
#: a·exp(b·∫η) is a straight line in ∫η as b → 0 (a line in t for constant η).
NESTS: dict[str, tuple[str, ...]] = {"saturating-exp": ("t",)}


# -- data checks ----------------------------------------------------------------------


def _as_curve(t: ArrayLike, y: ArrayLike, min_points: int = 5) -> tuple[np.ndarray, np.ndarray]:
    ta = np.asarray(t, dtype=np.float64).reshape(-1)
    ya = np.asarray(y, dtype=np.float64).reshape(-1)
    if ta.shape != ya.shape:
        raise HomogeneityInputError(
            f"t and y have different lengths ({ta.size} vs {ya.size}); pass one value per step"
        )
    if ta.size < min_points:
        raise HomogeneityInputError(
            f"t has {ta.size} points; a growth-law fit needs at least {min_points}"
        )
    if not (np.all(np.isfinite(ta)) and np.all(np.isfinite(ya))):
        raise HomogeneityInputError(
            "t or y contains NaN or infinite values; drop those steps before fitting"
        )
    if np.any(ta < 0) or np.any(np.diff(ta) <= 0):
        raise HomogeneityInputError(
            "t must be non-negative and strictly increasing (training steps in order)"
        )
    return ta, ya


# -- least squares helpers ------------------------------------------------------------


def _ols(design: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    return coef, float(resid @ resid)


def _affine(basis: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """y ≈ a + b·basis."""
    return _ols(np.column_stack([np.ones_like(basis), basis]), y)


def _r2(y: np.ndarray, rss: float) -> float:
    tss = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - rss / tss if tss > 0 else (1.0 if rss == 0 else 0.0)


def lag1_autocorrelation(residuals: np.ndarray) -> float:
    """r₁ = Σ e_i e_{i+1} / Σ e_i² (0 for fewer than 3 points or zero residuals)."""
    e = np.asarray(residuals, dtype=np.float64) - np.mean(residuals)
    denom = float(e @ e)
    if e.size < 3 or denom == 0:
        return 0.0
    return float(e[:-1] @ e[1:]) / denom


def effective_size(n: int, r1: float) -> float:
    """AR(1) effective sample size n(1 − r₁)/(1 + r₁), r₁ clipped to [0, 0.98], ≥ 3."""
    r = min(max(r1, 0.0), 0.98)
    return max(3.0, n * (1 - r) / (1 + r))


# -- one fit --------------------------------------------------------------------------


@dataclass(frozen=True)
class LawFit:
    """A fitted family: parameters, residual sum of squares, R² and fitted values."""

    name: str
    formula: str
    params: dict[str, float]
    n_params: int
    rss: float
    r2: float
    fitted: np.ndarray = field(repr=False)
    note: str = ""

    def criteria(self, n_eff: float, n: int) -> dict[str, float]:
        """AIC, AICc, BIC with the Gaussian likelihood, at effective size ``n_eff``."""
        k = self.n_params + 1  # + the noise variance
        sigma2 = max(self.rss / n, 1e-300)
        loglik = -0.5 * n_eff * (math.log(2 * math.pi * sigma2) + 1)
        aic = -2 * loglik + 2 * k
        aicc = aic + (2 * k * (k + 1) / (n_eff - k - 1) if n_eff - k - 1 > 0 else math.inf)
        bic = -2 * loglik + k * math.log(n_eff)
        return {"aic": aic, "aicc": aicc, "bic": bic}

    def describe(self) -> str:
        ps = ", ".join(f"{k}={v:.4g}" for k, v in self.params.items())
        return f"{self.name}: {self.formula} with {ps}; R²={self.r2:.5f}"


def _fit_basis(name: str, formula: str, basis: np.ndarray, y: np.ndarray) -> LawFit:
    coef, rss = _affine(basis, y)
    return LawFit(
        name,
        formula,
        {"a": float(coef[0]), "b": float(coef[1])},
        2,
        rss,
        _r2(y, rss),
        coef[0] + coef[1] * basis,
    )


def _profile_1d(
    objective: Callable[[float], float], lo: float, hi: float, n_grid: int = 121
) -> float:
    """argmin over [lo, hi] of a 1-d objective: grid, then bounded Brent around the best."""
    grid = np.linspace(lo, hi, n_grid)
    values = np.array([objective(float(x)) for x in grid])
    i = int(np.nanargmin(values))
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, n_grid - 1)]
    if b > a:
        res = optimize.minimize_scalar(
            objective,
            bounds=(a, b),
            method="bounded",
            options={"xatol": 1e-10 * max(1.0, abs(b - a))},
        )
        if res.fun <= values[i]:
            return float(res.x)
    return float(grid[i])


def fit_saturating_exp(t: np.ndarray, y: np.ndarray) -> LawFit:
    """y = a − b·exp(−t/τ): profile τ on a log grid from the smallest step gap/10 to 100·t_max."""
    span = max(float(t[-1]), 1.0)
    gap = max(float(np.min(np.diff(t))), 1e-12)
    lo, hi = math.log(gap / 10), math.log(100 * span)

    def rss_at(log_tau: float) -> float:
        return _affine(-np.exp(-t / math.exp(log_tau)), y)[1]

    log_tau = _profile_1d(rss_at, lo, hi)
    basis = -np.exp(-t / math.exp(log_tau))
    coef, rss = _affine(basis, y)
    note = ""
    if log_tau >= hi - 1e-6:
        note = "τ at the upper search bound: indistinguishable from a straight line"
    return LawFit(
        "saturating-exp",
        "a − b·exp(−t/τ)",
        {"a": float(coef[0]), "b": float(coef[1]), "tau": math.exp(log_tau)},
        3,
        rss,
        _r2(y, rss),
        coef[0] + coef[1] * basis,
        note,
    )


def fit_exp_integral(t: np.ndarray, y: np.ndarray, lr_integral: np.ndarray) -> LawFit:
    """y = a·exp(b·I_t), I_t = ∫₀ᵗ η: profile b (a by least squares through the origin)."""
    integral = np.asarray(lr_integral, dtype=np.float64).reshape(-1)
    if integral.shape != t.shape:
        raise HomogeneityInputError(
            f"lr_integral has {integral.size} values for {t.size} steps; pass ∫η at every "
            f"fitted step (see lr_integral_at)"
        )
    if np.any(np.diff(integral) < 0) or not np.all(np.isfinite(integral)):
        raise HomogeneityInputError("lr_integral must be finite and non-decreasing (η_t ≥ 0)")
    top = max(float(integral[-1]), 1e-12)
    bmax = 50.0 / top

    def fit_a(b: float) -> tuple[float, float, np.ndarray]:
        h = np.exp(b * integral)
        a = float(h @ y) / float(h @ h)
        r = y - a * h
        return a, float(r @ r), a * h

    b = _profile_1d(lambda bb: fit_a(bb)[1], -bmax, bmax, n_grid=201)
    a, rss, fitted = fit_a(b)
    return LawFit("exp(∫η)", "a·exp(b·∫η)", {"a": a, "b": b}, 2, rss, _r2(y, rss), fitted)


def lr_integral_at(steps: ArrayLike, lrs: ArrayLike) -> np.ndarray:
    """I(t) = Σ_{s<t} η_s at the given steps, from the per-step learning rates ``lrs``."""
    eta = np.asarray(lrs, dtype=np.float64).reshape(-1)
    st = np.asarray(steps, dtype=np.int64).reshape(-1)
    if np.any(st < 0) or (st.size and int(st.max()) > eta.size):
        raise HomogeneityInputError(
            f"steps must lie in [0, {eta.size}] (one learning rate per step in lrs)"
        )
    cum = np.concatenate([[0.0], np.cumsum(eta)])
    return cum[st]


def box_cox(t: np.ndarray, p: float) -> np.ndarray:
    """(t^p − 1)/p, and log t at p = 0 (continuous in p); t must be > 0."""
    if abs(p) < 1e-12:
        return np.log(t)
    return np.expm1(p * np.log(t)) / p


@dataclass(frozen=True)
class PowerLawFit:
    """A free exponent p̂, its profile-likelihood CI and the fit behind it.

    ``form`` is ``affine`` (y = (a + b·t)^p) or ``offset`` (y = a + b·(t^p − 1)/p).
    """

    exponent: float
    ci_low: float | None
    ci_high: float | None
    level: float
    fit: LawFit
    n_eff: float
    search: tuple[float, float]
    form: str

    def contains(self, p: float) -> bool:
        lo = -math.inf if self.ci_low is None else self.ci_low
        hi = math.inf if self.ci_high is None else self.ci_high
        return lo <= p <= hi

    def describe(self) -> str:
        lo = "−∞ (unbounded)" if self.ci_low is None else f"{self.ci_low:.4g}"
        hi = "+∞ (unbounded)" if self.ci_high is None else f"{self.ci_high:.4g}"
        return (
            f"free power law ({self.fit.formula}): p̂ = {self.exponent:.4g}, "
            f"{int(round(self.level * 100))}% CI [{lo}, {hi}], R²={self.fit.r2:.5f}"
        )

    def to_dict(self) -> dict:
        return {
            "form": self.form,
            "formula": self.fit.formula,
            "exponent": self.exponent,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "level": self.level,
            "r2": self.fit.r2,
            "params": self.fit.params,
            "n_eff": self.n_eff,
        }


def _affine_power_fit(t: np.ndarray, y: np.ndarray, p: float) -> tuple[float, float, float]:
    """Least squares of y ≈ (a + b·t)^p at fixed p > 0. Start from the weighted straight-line
    fit of z = y^{1/p} on t (weights (p·y^{1−1/p})², the first-order variance of z), then
    damped Gauss–Newton on y itself. Returns (a, b, rss)."""
    z = y ** (1.0 / p)
    w = (p * y ** (1.0 - 1.0 / p)) ** 2
    sw = np.sqrt(w)
    design = np.column_stack([np.ones_like(t), t])
    (a, b), *_ = np.linalg.lstsq(design * sw[:, None], z * sw, rcond=None)
    floor = 1e-12 * max(float(np.max(np.abs(z))), 1e-300)

    def rss_of(a_: float, b_: float) -> tuple[float, np.ndarray, np.ndarray]:
        u = np.maximum(a_ + b_ * t, floor)
        r = y - u**p
        return float(r @ r), r, u

    rss, r, u = rss_of(a, b)
    for _ in range(30):
        g = p * u ** (p - 1)
        jac = np.column_stack([g, g * t])
        step, *_ = np.linalg.lstsq(jac, r, rcond=None)
        lam = 1.0
        while lam > 1e-6:
            cand = rss_of(a + lam * step[0], b + lam * step[1])
            if cand[0] < rss:
                break
            lam *= 0.5
        else:
            break
        improvement = rss - cand[0]
        a, b = a + lam * step[0], b + lam * step[1]
        rss, r, u = cand
        if improvement <= 1e-14 * max(rss, 1e-300):
            break
    return float(a), float(b), rss


def fit_power_law(
    t: ArrayLike,
    y: ArrayLike,
    *,
    form: str = "affine",
    search: tuple[float, float] | None = None,
    level: float = 0.95,
    n_eff: float | None = None,
) -> PowerLawFit:
    """Free exponent p of a power law with a profile-likelihood confidence interval.

    ``form="affine"`` (default): y = (a + b·t)^p, i.e. y^{1/p} grows linearly. This is the
    shape of every accumulation law here: ‖θ_t‖² = ‖θ_0‖² + s²t (G2, p = ½),
    ‖θ_t‖⁴ ≈ ‖θ_0‖⁴ + 2η²G²t (GD on a scale-invariant loss, p = ¼), and it reads the
    asymptotic exponent without being misled by the initial norm. Needs y > 0; p is
    searched in (0, 3] by default.

    ``form="offset"``: y = a + b·(t^p − 1)/p (Box–Cox; a + b·log t at p = 0), the shape of
    E1's fits a + b·g(t); points at t = 0 are left out. Default search [−2, 3].

    ``n_eff`` defaults to the AR(1) effective size of the fit's residuals.
    """
    ta, ya = _as_curve(t, y)
    if form not in ("affine", "offset"):
        raise HomogeneityInputError(f"form={form!r} must be 'affine' or 'offset'")
    if not 0 < level < 1:
        raise HomogeneityInputError(f"level={level} must lie in (0, 1), e.g. 0.95")
    if form == "offset":
        keep = ta > 0
        ta, ya = _as_curve(ta[keep], ya[keep])
        lo, hi = search if search is not None else (-2.0, 3.0)

        def rss(p: float) -> float:
            return _affine(box_cox(ta, p), ya)[1]
    else:
        if np.any(ya <= 0):
            raise HomogeneityInputError(
                "the affine power law (a + b·t)^p needs y > 0 (norms); use form='offset'"
            )
        lo, hi = search if search is not None else (0.02, 3.0)
        if lo <= 0:
            raise HomogeneityInputError("for form='affine' the search must stay in p > 0")

        def rss(p: float) -> float:
            return _affine_power_fit(ta, ya, p)[2]

    lo, hi = float(lo), float(hi)
    if not lo < hi:
        raise HomogeneityInputError(f"search=({lo}, {hi}) must be an increasing pair")
    p_hat = _profile_1d(rss, lo, hi, n_grid=61)
    if form == "offset":
        basis = box_cox(ta, p_hat)
        coef, rss_min = _affine(basis, ya)
        fitted = coef[0] + coef[1] * basis
        params = {"a": float(coef[0]), "b": float(coef[1]), "p": p_hat}
        formula = "a + b·(t^p − 1)/p"
    else:
        a, b, rss_min = _affine_power_fit(ta, ya, p_hat)
        fitted = np.maximum(a + b * ta, 0.0) ** p_hat
        params = {"a": a, "b": b, "p": p_hat}
        formula = "(a + b·t)^p"
    if n_eff is None:
        n_eff = effective_size(ta.size, lag1_autocorrelation(ya - fitted))
    crit = float(stats.chi2.ppf(level, df=1))
    floor = max(rss_min, 1e-300)

    def excess(p: float) -> float:
        return n_eff * math.log(max(rss(p), 1e-300) / floor) - crit

    def bound(edge: float) -> float | None:
        if excess(edge) < 0:
            return None
        return float(optimize.brentq(excess, min(p_hat, edge), max(p_hat, edge), xtol=1e-8))

    ci_low, ci_high = bound(lo), bound(hi)
    fit = LawFit("power", formula, params, 3, rss_min, _r2(ya, rss_min), fitted)
    return PowerLawFit(p_hat, ci_low, ci_high, level, fit, float(n_eff), (lo, hi), form)


# -- selection --------------------------------------------------------------------------


def fit_law(
    name: str,
    t: ArrayLike,
    y: ArrayLike,
    *,
    degree: float = 2.0,
    lr_integral: ArrayLike | None = None,
) -> LawFit:
    """Fit one family by name (see :data:`LAW_NAMES`)."""
    ta, ya = _as_curve(t, y)
    if name == "t":
        return _fit_basis(name, "a + b·t", ta, ya)
    if name == "sqrt(t)":
        return _fit_basis(name, "a + b·√t", np.sqrt(ta), ya)
    if name == "t^(1/4)":
        return _fit_basis(name, "a + b·t^(1/4)", ta**0.25, ya)
    if name == "saturating-exp":
        return fit_saturating_exp(ta, ya)
    if name == "(log t)^(1/L)":
        if not degree > 0:
            raise HomogeneityInputError(f"degree={degree} (L) must be > 0")
        fit = _fit_basis(name, f"a + b·log(1+t)^(1/{degree:g})", np.log1p(ta) ** (1.0 / degree), ya)
        return LawFit(
            fit.name,
            fit.formula,
            {**fit.params, "L": float(degree)},
            2,
            fit.rss,
            fit.r2,
            fit.fitted,
        )
    if name == "exp(∫η)":
        if lr_integral is None:
            raise HomogeneityInputError(
                "the exp(∫η) law needs lr_integral (∫η up to each step; see lr_integral_at)"
            )
        return fit_exp_integral(ta, ya, np.asarray(lr_integral, dtype=np.float64))
    raise HomogeneityInputError(f"law={name!r} is unknown; pick one of {LAW_NAMES}")


@dataclass
class GrowthLawSelection:
    """All fits ranked by ``criterion``, and what the evidence allows one to say.

    ``verdict``: ``selected`` (``best`` beats every other family by ≥ ``threshold``),
    ``indistinguishable`` (``contenders`` are within the threshold of the best; a family
    that merely contains the best one as a limit, :data:`NESTS`, does not count) or
    ``no-fit`` (no family reaches ``min_r2``).
    """

    fits: list[LawFit]
    scores: dict[str, dict[str, float]]
    criterion: str
    threshold: float
    verdict: str
    best: LawFit
    contenders: list[str]
    n: int
    n_eff: float
    lag1: float
    powers: dict[str, PowerLawFit]
    min_r2: float

    @property
    def power(self) -> PowerLawFit | None:
        """The affine-form free exponent (offset form if y is not positive)."""
        return self.powers.get("affine", self.powers.get("offset"))

    def delta(self, name: str) -> float:
        """Criterion of ``name`` minus the best one's (0 for the best)."""
        return self.scores[name][self.criterion] - self.scores[self.best.name][self.criterion]

    def to_dict(self) -> dict:
        fits = [
            {
                "name": f.name,
                "formula": f.formula,
                "params": f.params,
                "r2": f.r2,
                "rss": f.rss,
                "note": f.note,
                **self.scores[f.name],
                "delta": self.delta(f.name),
            }
            for f in self.fits
        ]
        out = {
            "verdict": self.verdict,
            "best": self.best.name,
            "contenders": self.contenders,
            "criterion": self.criterion,
            "threshold": self.threshold,
            "n": self.n,
            "n_eff": self.n_eff,
            "lag1_autocorrelation": self.lag1,
            "min_r2": self.min_r2,
            "fits": fits,
        }
        out["power"] = {form: fit.to_dict() for form, fit in self.powers.items()}
        return out

    def __str__(self) -> str:
        head = {
            "selected": f"selected: {self.best.name}",
            "indistinguishable": "indistinguishable: " + ", ".join(self.contenders),
            "no-fit": f"no-fit: no family reaches R² ≥ {self.min_r2}",
        }[self.verdict]
        lines = [
            f"growth law ({self.criterion.upper()}, threshold Δ ≥ {self.threshold:g}, "
            f"n={self.n}, n_eff={self.n_eff:.1f}, r₁={self.lag1:.2f}): {head}"
        ]
        for f in self.fits:
            delta = self.delta(f.name)
            lines.append(
                f"  {f.name:<16} R²={f.r2:.5f}  Δ{self.criterion}={delta:8.2f}"
                f"  {f.formula}" + (f"  [{f.note}]" if f.note else "")
            )
        for fit in self.powers.values():
            lines.append("  " + fit.describe())
        return "\n".join(lines)


def select_growth_law(
    t: ArrayLike,
    y: ArrayLike,
    *,
    laws: Sequence[str] | None = None,
    degree: float = 2.0,
    lr_integral: ArrayLike | None = None,
    criterion: str = "bic",
    threshold: float = 6.0,
    min_r2: float = 0.9,
    correct_autocorrelation: bool = True,
    with_power: bool = True,
) -> GrowthLawSelection:
    """Fit every family in ``laws`` and decide which one the data support.

    Args:
        t, y: steps (≥ 0, increasing) and norms.
        laws: families to compare (default: all of :data:`LAW_NAMES`, ``exp(∫η)`` only
            when ``lr_integral`` is given).
        degree: L of the ``(log t)^(1/L)`` family.
        lr_integral: ∫₀ᵗ η at each step, for the ``exp(∫η)`` family.
        criterion: ``bic`` (default), ``aic`` or ``aicc``.
        threshold: minimal criterion gap for a decisive selection.
        min_r2: below this R² for every family the verdict is ``no-fit``.
        correct_autocorrelation: use the AR(1) effective sample size (see module doc).
        with_power: also fit the free power law with its CI, in both forms: ``affine``
            (a + b·t)^p and ``offset`` a + b·(t^p − 1)/p (see :func:`fit_power_law`).
    """
    ta, ya = _as_curve(t, y)
    if criterion not in ("aic", "aicc", "bic"):
        raise HomogeneityInputError(f"criterion={criterion!r} must be 'aic', 'aicc' or 'bic'")
    if not threshold > 0:
        raise HomogeneityInputError(f"threshold={threshold} must be > 0 (e.g. 6)")
    if laws is None:
        laws = [n for n in LAW_NAMES if n != "exp(∫η)" or lr_integral is not None]
    laws = list(laws)
    if len(laws) < 2:
        raise HomogeneityInputError("laws must name at least two families to compare")
    if float(np.ptp(ya)) == 0.0:
        raise HomogeneityInputError("y is constant: there is no growth to fit a law to")
    fits = [fit_law(name, ta, ya, degree=degree, lr_integral=lr_integral) for name in laws]
    best_rss = min(fits, key=lambda f: f.rss)
    r1 = lag1_autocorrelation(ya - best_rss.fitted)
    n_eff = effective_size(ta.size, r1) if correct_autocorrelation else float(ta.size)
    scores = {f.name: f.criteria(n_eff, ta.size) for f in fits}
    fits.sort(key=lambda f: scores[f.name][criterion])
    best = fits[0]
    contenders = [
        f.name for f in fits if scores[f.name][criterion] - scores[best.name][criterion] < threshold
    ]
    # A family that contains the best one as a limit cannot be told apart from it by
    # adding a parameter that buys nothing: parsimony keeps the simpler one.
    contenders = [c for c in contenders if c == best.name or best.name not in NESTS.get(c, ())]
    if max(f.r2 for f in fits) < min_r2:
        verdict = "no-fit"
    elif len(contenders) == 1:
        verdict = "selected"
    else:
        verdict = "indistinguishable"
    powers: dict[str, PowerLawFit] = {}
    if with_power:
        powers["offset"] = fit_power_law(ta, ya, form="offset")
        if np.all(ya > 0):
            powers["affine"] = fit_power_law(ta, ya, form="affine")
    return GrowthLawSelection(
        fits,
        scores,
        criterion,
        float(threshold),
        verdict,
        best,
        contenders,
        int(ta.size),
        float(n_eff),
        float(r1),
        powers,
        float(min_r2),
    )
