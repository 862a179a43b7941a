"""Figures of E5 on a trained causal LM (matplotlib, Agg canvas, no pyplot state).

===============================  =========================================================
file                             what it shows
===============================  =========================================================
e5_trained_histogram.png         per run (row) and regime (column: as trained, ρ = 1000,
                                 limit): the histogram over heads of attended positions
                                 per query (D8: weight > 10⁻⁵), with the argmax mode (1)
                                 and the mean number of visible positions ((n + 1)/2)
e5_trained_saturation.png        D14 per layer on the probe windows during training, with
                                 the target level
===============================  =========================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from homogeneity.experiments.e3_pretrained_saturation.plots import save
from homogeneity.experiments.e5_head_types.trained_compute import TrainedHeadTypes


def run_label(run: TrainedHeadTypes) -> str:
    t = run.config.training
    return f"{t.corpus}, {t.placement}, seed {t.seed}"


def histogram_edges(seq_len: int) -> np.ndarray:
    """Bins of width 1 centred on 0, 1, …, seq_len (a head's count is a mean over queries)."""
    return np.arange(-0.5, seq_len + 1.5, 1.0)


def plot_trained_histogram(runs: Sequence[TrainedHeadTypes], path: Path) -> Path:
    n_cols = len(next(iter(runs)).heads)
    fig = Figure(figsize=(3.6 * n_cols, 2.9 * len(runs) + 0.5))
    axes = np.atleast_2d(fig.subplots(len(runs), n_cols, squeeze=False))
    for row, run in enumerate(runs):
        seq_len = run.config.training.seq_len
        edges = histogram_edges(seq_len)
        for col, (regime, heads) in enumerate(run.heads.items()):
            ax = axes[row, col]
            modes = run.modes[regime]
            ax.hist([h.attended for h in heads], bins=edges, color="tab:blue")
            ax.axvline(1, color="black", ls=":", lw=1, label="one key (argmax mode)")
            ax.axvline(
                modes.mean_visible,
                color="tab:red",
                ls="--",
                lw=1,
                label=f"mean visible keys ({modes.mean_visible:g})",
            )
            ax.set_xlim(-1, seq_len + 1)
            ax.set_xlabel("attended keys per query (weight > 1e-5)", fontsize=8)
            ax.set_ylabel("heads", fontsize=8)
            verdict = "bimodal" if modes.bimodal else "not bimodal"
            ax.set_title(
                f"{run_label(run)}\n{regime}: {modes.argmax} argmax / {modes.between} between"
                f" / {modes.mean} mean — {verdict}",
                fontsize=8,
            )
            ax.legend(fontsize=6, loc="upper center")
    first = runs[0]
    fig.suptitle(
        f"E5/D8 on causal LMs trained here: attended positions per head "
        f"(length {first.config.training.seq_len}, {first.n_sequences} windows per run)",
        fontsize=10,
    )
    fig.tight_layout()
    return save(fig, path)


def plot_trained_saturation(runs: Sequence[TrainedHeadTypes], path: Path) -> Path:
    fig = Figure(figsize=(4.2 * len(runs), 3.3))
    axes = np.atleast_1d(fig.subplots(1, len(runs)))
    for ax, run in zip(axes, runs, strict=True):
        values = np.array(
            [[np.nan if v is None else v for v in ls] for ls in run.saturation_layers], float
        )
        n_layers = values.shape[1]
        for i in range(n_layers):
            name = "logits" if i == n_layers - 1 else f"block {i + 1}"
            ax.plot(run.saturation_steps, values[:, i], marker=".", ms=3, label=name)
        ax.axhline(run.config.target_saturation, color="black", ls=":", lw=1, label="target")
        ax.set_xlabel("step")
        ax.set_ylabel(f"D14 (ρ = {run.config.rho:g})")
        ax.set_title(run_label(run), fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return save(fig, path)


def write_trained_figures(runs: Sequence[TrainedHeadTypes], out: Path) -> list[Path]:
    """Both figures of the module docstring, into ``out``."""
    return [
        plot_trained_histogram(runs, out / "e5_trained_histogram.png"),
        plot_trained_saturation(runs, out / "e5_trained_saturation.png"),
    ]
