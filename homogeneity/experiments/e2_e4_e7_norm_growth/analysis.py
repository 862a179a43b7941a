"""Turning a tracker log of an LM run into the figures of E2, E4 and E7 (and A1, G1/G2).

Given the JSON-lines records of :class:`~homogeneity.dynamics.tracker.NormTracker`:

* **E2, norm growth.** ‖θ_t‖ of a group, its ratio final/initial, and the growth law
  selected among t, √t, t^{1/4}, saturating exponential, (log t)^{1/L} and exp(∫η)
  (:func:`homogeneity.dynamics.growth_laws.select_growth_law`) with R² and the free
  exponent p of (a + b t)^p with its 95% CI.
* **E4, saturation.** D14 at the probe batch over training: first, last, per layer.
* **E7, alignment.** cos(θ_t, δ_t) averaged in bins evenly spaced in log(1 + t) (the
  dynamics are fastest early; T5's rise happens in its first checkpoints); the peak bin
  and where it is; the mean over the last quarter of the run. "Rises": the peak bin
  exceeds the first bin by 3 combined standard errors; "decays": the late mean is below
  half the peak and 3 combined standard errors below it. The verdict is
  ``rise-then-decay``, ``decay (no early rise)``, ``rise (no decay)`` or ``flat``.
  Step size: coefficient of variation of ‖δ_t‖ over the second half and the slope of
  log‖δ_t‖ against log t there (0 for a constant step).
* **Where the growth comes from.** Δ‖θ‖² = 2θᵀδ + ‖δ‖²: the share of the aligned term
  2θᵀδ in the total over recorded steps (G1 territory when it dominates, G2 when the
  orthogonal term ‖δ‖² does).
* **A1.** Slope of log(‖δ_t‖/η_t) against log‖θ_t‖ over the second half (1 if A1 holds).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from homogeneity.dynamics.growth_laws import lr_integral_at, select_growth_law
from homogeneity.errors import HomogeneityInputError


def _step_records(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    steps = [r for r in records if r.get("kind", "step") == "step"]
    if len(steps) < 5:
        raise HomogeneityInputError(
            f"only {len(steps)} step records; track more steps (lower every=) to analyse a run"
        )
    return steps


def _values(records: Sequence[dict[str, Any]], group: str, key: str) -> np.ndarray:
    out = []
    for r in records:
        v = r["groups"][group].get(key)
        out.append(math.nan if v is None else float(v))
    return np.asarray(out, dtype=np.float64)


def regular_spacing(steps: Sequence[int]) -> int:
    """The tracker's regular ``every``: the most common gap between recorded steps (records
    made densely at the start, ``dense_until``, are extra)."""
    gaps = np.diff(np.asarray(steps))
    if gaps.size == 0:
        return 1
    values, counts = np.unique(gaps, return_counts=True)
    return int(values[np.argmax(counts)])


def norm_curve(
    records: Sequence[dict[str, Any]], group: str, uniform: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(steps, ‖θ_t‖) from step records, plus the final state record if present.

    ``uniform`` keeps only steps on the regular grid (multiples of the tracker's ``every``),
    so dense early records do not weigh the start of the curve more in a fit."""
    steps = _step_records(records)
    if uniform:
        every = regular_spacing([int(r["step"]) for r in steps])
        steps = [r for r in steps if int(r["step"]) % every == 0]
    t = [int(r["step"]) for r in steps]
    y = [float(r["groups"][group]["norm"]) for r in steps]
    for r in records:
        if r.get("kind") == "state" and int(r["step"]) > t[-1]:
            t.append(int(r["step"]))
            y.append(float(r["groups"][group]["norm"]))
    return np.asarray(t, dtype=np.float64), np.asarray(y, dtype=np.float64)


def growth_summary(
    records: Sequence[dict[str, Any]],
    group: str,
    lrs: Sequence[float] | None = None,
    degree: float = 2.0,
) -> dict[str, Any]:
    """E2 for one group: initial/final norm and the selected growth law."""
    t, y = norm_curve(records, group)
    integral = None if lrs is None else lr_integral_at(t.astype(int), lrs)
    selection = select_growth_law(t, y, degree=degree, lr_integral=integral)
    return {
        "group": group,
        "initial": float(y[0]),
        "final": float(y[-1]),
        "ratio": float(y[-1] / y[0]),
        "law": selection.to_dict(),
        "summary": str(selection),
    }


def log_binned(
    t: np.ndarray, x: np.ndarray, n_bins: int = 12, min_count: int = 3
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Means of x over bins of t spaced evenly in log(1 + t) (training dynamics are fastest
    early), consecutive bins merged until each holds ≥ ``min_count`` finite points (a
    short tail is merged into the last bin). Returns (bin centre steps, means, standard
    errors, counts)."""
    edges = np.expm1(np.linspace(0.0, math.log1p(float(t[-1])) * (1 + 1e-12), n_bins + 1))
    finite = np.isfinite(x)
    groups: list[np.ndarray] = []
    current = np.zeros_like(finite)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        current = current | ((t >= lo) & (t < hi) & finite)
        if current.sum() >= min_count:
            groups.append(current)
            current = np.zeros_like(finite)
    if current.any():
        if groups:
            groups[-1] = groups[-1] | current
        else:
            groups.append(current)
    centres, means, ses, counts = [], [], [], []
    for sel in groups:
        seg, k = x[sel], int(sel.sum())
        centres.append(float(np.exp(np.mean(np.log1p(t[sel]))) - 1))
        means.append(float(seg.mean()))
        ses.append(float(seg.std(ddof=1) / math.sqrt(k)) if k > 1 else math.inf)
        counts.append(k)
    return np.asarray(centres), np.asarray(means), np.asarray(ses), np.asarray(counts)


def alignment_summary(
    records: Sequence[dict[str, Any]], group: str, n_bins: int = 12
) -> dict[str, Any]:
    """E7 for one group: alignment rise and decay, step-size constancy, growth split."""
    steps = _step_records(records)
    t = np.asarray([int(r["step"]) for r in steps], dtype=np.float64)
    align = _values(steps, group, "alignment")
    step_norm = _values(steps, group, "step_norm")
    norm = _values(steps, group, "norm")
    sim = _values(steps, group, "direction_similarity")
    centres, means, ses, counts = log_binned(t, align, n_bins)
    usable = np.isfinite(ses)
    i_peak = int(np.argmax(np.where(usable, means, -np.inf)))
    i_first = int(np.argmax(usable))
    late = align[int(0.75 * t.size) :]
    late = late[np.isfinite(late)]
    late_mean = float(late.mean())
    late_se = float(late.std(ddof=1) / math.sqrt(late.size))
    peak, peak_se = float(means[i_peak]), float(ses[i_peak])
    rises = i_peak > i_first and peak - means[i_first] > 3 * math.hypot(peak_se, ses[i_first])
    decays = (
        peak > 0 and late_mean < 0.5 * peak and peak - late_mean > 3 * math.hypot(peak_se, late_se)
    )
    if rises and decays:
        verdict = "rise-then-decay"
    elif decays:
        verdict = "decay (no early rise)"
    elif rises:
        verdict = "rise (no decay)"
    else:
        verdict = "flat"
    half = slice(t.size // 2, None)
    sn = step_norm[half]
    positive = (t[half] > 0) & np.isfinite(sn) & (sn > 0)
    step_slope = (
        float(np.polyfit(np.log(t[half][positive]), np.log(sn[positive]), 1)[0])
        if positive.sum() >= 3
        else math.nan
    )
    aligned_term = 2 * norm * step_norm * align
    total = aligned_term + step_norm**2
    finite = np.isfinite(aligned_term) & np.isfinite(total)
    share = float(aligned_term[finite].sum() / total[finite].sum()) if finite.any() else math.nan
    return {
        "group": group,
        "bins": {
            "steps": centres.tolist(),
            "mean": means.tolist(),
            "se": ses.tolist(),
            "count": counts.tolist(),
        },
        "peak": peak,
        "peak_step": int(round(centres[i_peak])),
        "initial": float(means[i_first]),
        "late_mean": late_mean,
        "late_se": late_se,
        "verdict": verdict,
        "step_norm_late_mean": float(np.nanmean(sn)),
        "step_norm_late_cv": float(np.nanstd(sn) / np.nanmean(sn)),
        "step_norm_late_loglog_slope": step_slope,
        "direction_similarity_final": float(sim[-1]),
        "direction_similarity_late_mean": float(np.nanmean(sim[half])),
        "aligned_share_of_norm2_growth": share,
    }


def a1_summary(
    records: Sequence[dict[str, Any]], group: str, lrs: Sequence[float]
) -> dict[str, Any]:
    """A1 on a run: slope of log(‖δ_t‖/η_t) against log‖θ_t‖ over the second half, and the
    ratio κ_t = ‖δ_t‖/(η_t‖θ_t‖) at the end. A1 says the slope is 1 (κ constant)."""
    steps = _step_records(records)
    t = np.asarray([int(r["step"]) for r in steps])
    eta = np.asarray(lrs, dtype=np.float64)[t]
    dn = _values(steps, group, "step_norm")
    n = _values(steps, group, "norm")
    half = slice(t.size // 2, None)
    ok = np.isfinite(dn[half]) & (dn[half] > 0) & (eta[half] > 0)
    x, z = np.log(n[half][ok]), np.log(dn[half][ok] / eta[half][ok])
    slope = float(np.polyfit(x, z, 1)[0]) if ok.sum() >= 3 and np.ptp(x) > 0 else math.nan
    kappa = dn / (eta * n)
    growth = float(n[-1] / n[t.size // 2])
    return {
        "group": group,
        "slope": slope,
        "kappa_late_mean": float(np.nanmean(kappa[half])),
        "kappa_late_cv": float(np.nanstd(kappa[half]) / np.nanmean(kappa[half])),
        "norm_growth_over_window": growth,
        "note": (
            "slope is uninformative when the norm barely moves over the window"
            if growth < 1.05
            else ""
        ),
    }


def saturation_summary(records: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """E4: D14 at the probe batch over training (None if saturation was not tracked)."""
    rows = [(int(r["step"]), r["saturation"]) for r in records if r.get("saturation")]
    if not rows:
        return None
    steps = [s for s, _ in rows]
    levels = [s.get("level") for _, s in rows]
    layers = [s.get("layers") for _, s in rows]
    finite = [(s, v) for s, v in zip(steps, levels, strict=True) if v is not None]
    return {
        "steps": steps,
        "levels": levels,
        "layers": layers,
        "initial": finite[0][1] if finite else None,
        "final": finite[-1][1] if finite else None,
        "max": max(v for _, v in finite) if finite else None,
        "final_layers": layers[-1],
        "rising": bool(finite and finite[-1][1] > finite[0][1]),
    }
