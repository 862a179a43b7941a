"""PNG of the homogeneity error along the ray with the decay law fitted to it.

The curve is e(ρ) = ‖f(cρθ) − c^k f(ρθ)‖ / ‖c^k f(ρθ)‖ from
:func:`homogeneity.degree.decay_profile`; the fitted law is the one
:func:`homogeneity.decay.classify_decay` chose, drawn only over the points it rests on
(``fit.indices``, which are marked): A·exp(−d ρ^m) for exponential decay (SPEC D3),
A·ρ^(−p) for polynomial decay, with A, d, m, p those of the fit. The legend states the
number of points, their ρ range and R²; the floor the fit was made above is drawn with its
source (the working precision, given, or detected in the data), and a breakdown that
stopped the sweep is marked where it happened. An undetermined decay draws no law and
says why in the title.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from homogeneity.decay import FLOOR_MARGIN
from homogeneity.degree import DecayProfile


@dataclass(frozen=True)
class FittedCurve:
    """The fitted law evaluated over the points it rests on: ρ values, error values, the
    label, and the number of points, ρ range and R² behind it."""

    rhos: np.ndarray
    errors: np.ndarray
    label: str
    n_points: int
    rho_range: tuple[float, float]
    r2: float


def fitted_curve(profile: DecayProfile, samples: int = 200) -> FittedCurve | None:
    """The decay law of ``profile.fit`` over the ρ range of its points, or None (exact, no
    decay, undetermined)."""
    fit = profile.fit
    if not fit.is_law or fit.rho_range is None or fit.r2 is None:
        return None
    lo, hi = fit.rho_range
    grid = np.geomspace(lo, hi, samples)
    where = f"{fit.n_points} points, ρ {lo:.3g}–{hi:.3g}, R² = {fit.r2:.4f}"
    if fit.kind == "exponential":
        law = f"A·exp(−{fit.rate:.3g}·ρ^{fit.exponent:.2f})"
    else:
        law = f"A·ρ^−{fit.rate:.3g}"
    return FittedCurve(
        grid, np.exp(fit.log_law(grid)), f"fit: {law} ({where})", fit.n_points, (lo, hi), fit.r2
    )


def plot_decay_profile(profile: DecayProfile, path: str | Path, title: str = "") -> Path:
    """Write the PNG to ``path`` (parent folders are created) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(7.0, 4.5), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    rhos = np.asarray(profile.rhos, dtype=float)
    errors = np.asarray(profile.relative, dtype=float)
    fit = profile.fit
    floor = fit.floor
    used = np.zeros(len(rhos), dtype=bool)
    used[list(fit.indices) if fit.is_law else []] = True
    above = np.isfinite(errors) & (errors > fit.precision_floor)
    ax.loglog(
        rhos[above & ~used],
        errors[above & ~used],
        "o",
        ms=3.5,
        color="tab:blue",
        label=f"relative error, c = {profile.c:g}, k = {profile.degree:g}",
    )
    if used.any():
        ax.loglog(
            rhos[used],
            errors[used],
            "o",
            ms=4.5,
            color="tab:red",
            mfc="none",
            label=f"the {int(used.sum())} points the law rests on",
        )
    if fit.precision_floor > 0:
        ax.axhline(
            fit.precision_floor,
            ls=":",
            color="grey",
            label=f"precision floor {fit.precision_floor:.1e} ({_dtype_name(profile)})",
        )
        below = np.isfinite(errors) & (errors <= fit.precision_floor)
        if below.any():
            ax.loglog(
                rhos[below],
                np.full(int(below.sum()), fit.precision_floor),
                "v",
                ms=4,
                mfc="none",
                color="tab:blue",
                label="at or below the precision floor (drawn on it)",
            )
    if fit.floor_source != "precision" and floor > 0:
        ax.axhline(
            floor,
            ls="--",
            color="tab:orange",
            label=f"noise floor {floor:.1e} ({fit.floor_source}); fit above {FLOOR_MARGIN:g}×",
        )
    if profile.breakdown is not None and math.isfinite(profile.breakdown.rho):
        ax.axvline(
            profile.breakdown.rho,
            ls="-.",
            color="tab:purple",
            label=f"sweep stopped: {profile.breakdown.reason}"[:80],
        )
    curve = fitted_curve(profile)
    if curve is not None:
        ax.loglog(curve.rhos, curve.errors, "-", color="tab:red", lw=1.8, label=curve.label)
    drawn = errors[above] if fit.precision_floor > 0 else errors[np.isfinite(errors) & (errors > 0)]
    levels = [*drawn, *([fit.precision_floor] if fit.precision_floor > 0 else [])]
    if levels:  # a margin around what is drawn (also when every point sits on one level)
        ax.set_ylim(min(levels) / 3, max(levels) * 3)
    ax.set_xlabel(f"ρ  (‖ρθ‖ = ρ · {_theta_norm(profile):.3g})")
    ax.set_ylabel("‖f(cρθ) − c^k f(ρθ)‖ / ‖c^k f(ρθ)‖")
    ax.set_title("\n".join(textwrap.wrap(_title(profile, title), 90)), fontsize=8)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path)
    return path


def _title(profile: DecayProfile, title: str) -> str:
    verdict = f"decay along the ray: {profile.kind}"
    if profile.fit.kind == "undetermined":
        verdict += f", because {profile.fit.detail}"
    return f"{title}: {verdict}" if title else verdict


def _theta_norm(profile: DecayProfile) -> float:
    if not profile.rhos:
        return math.nan
    return profile.theta_norms[0] / profile.rhos[0]


def _dtype_name(profile: DecayProfile) -> str:
    return str(profile.dtype).removeprefix("torch.")
