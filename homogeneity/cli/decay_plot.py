"""PNG of the homogeneity error along the ray with the decay law fitted to it.

The curve is e(ρ) = ‖f(cρθ) − c^k f(ρθ)‖ / ‖c^k f(ρθ)‖ from
:func:`homogeneity.degree.decay_profile`; the fitted law is the one
:func:`homogeneity.decay.classify_decay` chose, drawn over the tail it was fitted on:
A·exp(−d ρ^m) for exponential decay (SPEC D3), A·ρ^(−p) for polynomial decay. The constant
A is the least-squares intercept of that same fit (the classifier reports only d, m, p).
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from homogeneity.decay import decay_tail
from homogeneity.degree import DecayProfile


@dataclass(frozen=True)
class FittedCurve:
    """The fitted law evaluated on the tail: ρ values, error values, and a label."""

    rhos: np.ndarray
    errors: np.ndarray
    label: str


def fitted_curve(profile: DecayProfile, samples: int = 200) -> FittedCurve | None:
    """The decay law of ``profile.fit`` over its tail, or None (exact / no decay)."""
    fit = profile.fit
    if fit.kind not in ("exponential", "polynomial"):
        return None
    tail = decay_tail(profile.rhos, profile.relative, fit.floor)
    if len(tail.indices) < 2:
        return None
    lr, le = tail.log_rho, tail.log_err
    grid = np.linspace(lr.min(), lr.max(), samples)
    if fit.kind == "exponential":
        d, m = fit.rate, fit.exponent
        log_a = float(np.mean(le + d * np.exp(m * lr)))
        values = log_a - d * np.exp(m * grid)
        label = f"fit: A·exp(−{d:.3g}·ρ^{m:.2f}), R²={fit.r2:.3f}"
    else:
        p = fit.rate
        log_a = float(np.mean(le + p * lr))
        values = log_a - p * grid
        label = f"fit: A·ρ^−{p:.3g}, R²={fit.r2:.3f}"
    return FittedCurve(np.exp(grid), np.exp(values), label)


def plot_decay_profile(profile: DecayProfile, path: str | Path, title: str = "") -> Path:
    """Write the PNG to ``path`` (parent folders are created) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(7.0, 4.5), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    rhos = np.asarray(profile.rhos, dtype=float)
    errors = np.asarray(profile.relative, dtype=float)
    floor = profile.fit.floor
    above = np.isfinite(errors) & (errors > floor)
    ax.loglog(
        rhos[above],
        errors[above],
        "o",
        ms=3.5,
        color="tab:blue",
        label=f"relative error, c = {profile.c:g}, k = {profile.degree:g}",
    )
    if floor > 0:
        ax.axhline(
            floor, ls=":", color="grey", label=f"noise floor {floor:.1e} ({_dtype_name(profile)})"
        )
        below = np.isfinite(errors) & (errors <= floor)
        if below.any():
            ax.loglog(
                rhos[below],
                np.full(int(below.sum()), floor),
                "v",
                ms=4,
                mfc="none",
                color="tab:blue",
                label="at or below the floor (drawn on it)",
            )
    curve = fitted_curve(profile)
    if curve is not None:
        ax.loglog(curve.rhos, curve.errors, "-", color="tab:red", lw=1.8, label=curve.label)
    ax.set_xlabel(f"ρ  (‖ρθ‖ = ρ · {_theta_norm(profile):.3g})")
    ax.set_ylabel("‖f(cρθ) − c^k f(ρθ)‖ / ‖c^k f(ρθ)‖")
    ax.set_title(
        "\n".join(textwrap.wrap(title or f"decay along the ray: {profile.kind}", 90)), fontsize=8
    )
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path)
    return path


def _theta_norm(profile: DecayProfile) -> float:
    if not profile.rhos:
        return math.nan
    return profile.theta_norms[0] / profile.rhos[0]


def _dtype_name(profile: DecayProfile) -> str:
    return str(profile.dtype).removeprefix("torch.")
