"""PNG figures of the η × λ weight-decay grid (E8), matplotlib Agg backend."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from homogeneity.experiments.figures import save_pyplot_figure  # noqa: E402


def plot_grid(results: dict[str, Any], path: Path) -> Path:
    """log(‖θ_T‖/‖θ_0‖) per cell (colour), observed/predicted outcome (text), λ* per η."""
    cfg = results["config"]
    lrs, wds = cfg["lrs"], cfg["weight_decays"]
    grid = np.full((len(lrs), len(wds)), np.nan)
    fig, ax = plt.subplots(figsize=(1.6 * len(wds) + 2, 1.0 * len(lrs) + 2))
    for r in results["cells"]:
        i, j = lrs.index(r["lr"]), wds.index(r["weight_decay"])
        grid[i, j] = math.log(r["ratio"])
    lim = max(float(np.nanmax(np.abs(grid))), 1e-3)
    im = ax.imshow(grid, cmap="coolwarm", vmin=-lim, vmax=lim, aspect="auto")
    for r in results["cells"]:
        i, j = lrs.index(r["lr"]), wds.index(r["weight_decay"])
        cal = r.get("calibrated_predicted_outcome") or "n/a"
        ax.text(
            j,
            i,
            f"×{r['ratio']:.3f}\n{r['outcome']}\npred. r=1: {r['predicted_outcome']}"
            f"\npred. fitted r: {cal}",
            ha="center",
            va="center",
            fontsize=7,
        )
    ax.set_xticks(range(len(wds)), [f"{w:g}" for w in wds])
    ax.set_yticks(range(len(lrs)), [f"{x:g}" for x in lrs])
    ax.set_xlabel("weight decay λ")
    ax.set_ylabel("learning rate η")
    crit = ", ".join(
        f"η={k}: λ*={v['predicted_critical_lambda']:.3g}"
        + (
            ""
            if v.get("calibrated_critical_lambda") is None
            else f" ({v['calibrated_critical_lambda']:.2g} fitted r)"
        )
        for k, v in results["threshold_by_lr"].items()
    )
    ax.set_title(f"E8: log ‖θ_T‖/‖θ_0‖ after {cfg['steps']} AdamW steps\n{crit}", fontsize=8)
    fig.colorbar(im, ax=ax, label="log norm ratio")
    fig.tight_layout()
    return save_pyplot_figure(fig, path)


def plot_curves(results: dict[str, Any], path: Path) -> Path:
    """‖θ_t‖/‖θ_0‖ for every cell, one panel per η."""
    cfg = results["config"]
    lrs = cfg["lrs"]
    fig, axes = plt.subplots(1, len(lrs), figsize=(4.5 * len(lrs), 3.6), squeeze=False)
    for k, lr in enumerate(lrs):
        ax = axes[0][k]
        for r in sorted(
            (r for r in results["cells"] if r["lr"] == lr), key=lambda r: r["weight_decay"]
        ):
            steps, norms = r["norm"]["steps"], np.asarray(r["norm"]["norms"])
            ax.plot(steps, norms / norms[0], label=f"λ={r['weight_decay']:g}")
        ax.set_title(f"η = {lr:g}")
        ax.set_xlabel("step t")
        ax.set_ylabel("‖θ_t‖/‖θ_0‖")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return save_pyplot_figure(fig, path)
