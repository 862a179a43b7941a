"""E3 figures (matplotlib, Agg canvas, no pyplot state).

=============================  ==========================================================
file                           what it shows
=============================  ==========================================================
e3_saturation_per_layer.png    D14 per layer: pretrained vs random, ρ = 1000 and ρ = ∞, the
                               paper's ranges as bands; the embedding output (≈ 1.0, it is
                               layer-normed) in a panel of its own so that the blocks' range
                               fills the main panel; a footnote says what the figure rests on
convergence_saturation.png     D14(ρ) and 1 − cos(h(ρθ), h^∞) per layer, ρ ∈ [1, 10⁴]
convergence_entropy.png        mean attention entropy per layer along ρ, and the attention
                               rows not yet on their limit argmax
=============================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from homogeneity.errors import HomogeneityInputError
from homogeneity.experiments.figures import FIGURE_DPI

if TYPE_CHECKING:
    from homogeneity.experiments.e3_pretrained_saturation.compute import (
        ModelReport,
        PretrainedSaturationReport,
    )
    from homogeneity.saturation import ConvergenceCurves


def save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=FIGURE_DPI, bbox_inches="tight")
    return path


def layer_labels(n: int) -> list[str]:
    return ["emb"] + [str(i) for i in range(1, n)]


def convergence_of(model: ModelReport) -> ConvergenceCurves:
    """The curves of ``model``'s sweep over ρ; raises :class:`HomogeneityInputError` when
    the report was made without the sweep."""
    if model.convergence is None:
        raise HomogeneityInputError(
            f"the {model.name} model has no convergence curves; run E3 with convergence=True "
            f"(without --no-convergence) to draw them"
        )
    return model.convergence


def _span(values: list[float], pad: float) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    margin = max((hi - lo) * pad, 0.01)
    return lo - margin, hi + margin


def rests_on(report: PretrainedSaturationReport) -> str:
    """The footnote: what the figure's numbers come from."""
    seeds = len(report.random_seed_levels)
    return (
        f"{report.n_tokens} tokens of {report.n_sentences} sentences "
        f"({report.text_source or 'shipped sentences'}); float64; every parameter scaled "
        f"({report.scaled_parameters['tensors']} tensors); random init: {seeds} seed(s); "
        f"ρ = ∞ is the exact saturated forward at ρ_L = {report.limit_rho:g}. Embedding "
        f"output drawn apart: it is layer-normed, so its level is ≈ 1 at every ρ."
    )


def plot_layers(report: PretrainedSaturationReport, path: Path) -> Path:
    """D14 per layer; the embedding point in its own narrow panel (a broken axis)."""
    fig = Figure(figsize=(8, 4.6))
    grid = fig.add_gridspec(1, 2, width_ratios=(1, 7), wspace=0.08)
    emb, ax = fig.add_subplot(grid[0]), fig.add_subplot(grid[1])
    p, r = report.pretrained.analysis, report.random.analysis
    n = len(p.level.layers)
    x = np.arange(1, n)
    label = report.model_label
    paper = report.paper
    block_values = list(p.level.layers[1:]) + list(r.level.layers[1:])
    if paper:
        lo, hi = paper["pretrained_range"]
        ax.axhspan(lo, max(hi, lo + 0.005), color="tab:blue", alpha=0.12,
                   label=f"paper: {paper['model']} pretrained ({paper['pretrained']})")  # fmt: skip
        lo, hi = paper["random_range"]
        ax.axhspan(lo, max(hi, lo + 0.005), color="tab:gray", alpha=0.15,
                   label=f"paper: random init ({paper['random']})")  # fmt: skip
    #: (D14 per layer, marker style, colour, legend entry, extra plot options)
    series: list[tuple[Sequence[float], str, str, str, dict[str, Any]]] = [
        (p.level.layers, "o-", "tab:blue", f"{label} pretrained, ρ={report.rho:g}", {}),
        (r.level.layers, "s-", "tab:orange", f"{label} random init, ρ={report.rho:g}", {}),
    ]
    if p.exact:
        series.append((p.exact.level_at_limit, "o:", "tab:blue", "pretrained, ρ=∞ (exact limit)",
                       {"mfc": "none", "ms": 11}))  # fmt: skip
        block_values += list(p.exact.level_at_limit[1:])
    if r.exact:
        series.append((r.exact.level_at_limit, "s:", "tab:orange", "random, ρ=∞ (exact limit)",
                       {"mfc": "none", "ms": 11}))  # fmt: skip
        block_values += list(r.exact.level_at_limit[1:])
    for values, style, color, name, extra in series:
        ax.plot(x, values[1:], style, color=color, label=name, **extra)
        emb.plot([0], [values[0]], style[0], color=color, **extra)
    if len(report.random_seed_levels) > 1:
        levels = np.array(list(report.random_seed_levels.values()), dtype=float)
        ax.fill_between(x, levels[:, 1:].min(axis=0), levels[:, 1:].max(axis=0),
                        color="tab:orange", alpha=0.2,
                        label=f"random init, {len(levels)} seeds (min–max)")  # fmt: skip
        block_values += list(levels[:, 1:].ravel())
    lo, hi = _span(block_values + [0.0], 0.15)
    ax.set_ylim(lo, hi)
    ax.set_xlim(0.5, n - 0.5)
    ax.set_xticks(x, [str(i) for i in x])
    ax.set_xlabel("layer")
    ax.axhline(0, color="black", lw=0.5)
    ax.yaxis.tick_right()
    ax.yaxis.set_label_position("right")
    ax.set_ylabel("saturation level of the blocks (mean token cosine)")
    emb_values = [s[0][0] for s in series]
    elo, ehi = _span(emb_values, 0.5)
    emb.set_ylim(elo, ehi)
    emb.set_xlim(-0.5, 0.5)
    emb.set_xticks([0], ["emb"])
    emb.set_ylabel("embedding output (its own scale)")
    for side in ("right",):
        emb.spines[side].set_visible(False)
    ax.spines["left"].set_visible(False)
    # the break marks between the two panels
    kw: dict[str, Any] = {"color": "k", "clip_on": False, "lw": 1}
    for axis, xs in ((emb, (1, 1)), (ax, (0, 0))):
        for y in (0, 1):
            axis.plot(xs, (y - 0.02, y + 0.02), transform=axis.transAxes, **kw)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.45, -0.12), ncol=2)
    fig.suptitle(
        f"E3: saturation per layer of {label}, cos(h(θ), h({report.rho:g}·θ))", fontsize=10
    )
    fig.text(0.05, -0.2, rests_on(report), fontsize=6.5, wrap=True)
    return save(fig, path)


def plot_convergence(report: PretrainedSaturationReport, path: Path) -> Path:
    fig = Figure(figsize=(11, 7))
    axes = fig.subplots(2, 2)
    for row, m in enumerate((report.pretrained, report.random)):
        c = convergence_of(m)
        sat = np.array(c.saturation, dtype=float)
        gap = 1 - np.array(c.to_limit, dtype=float)
        for layer in range(sat.shape[1]):
            label = layer_labels(sat.shape[1])[layer]
            axes[row, 0].plot(c.rhos, sat[:, layer], marker=".", label=f"layer {label}")
            axes[row, 1].plot(
                c.rhos, np.clip(gap[:, layer], 1e-17, None), marker=".", label=f"layer {label}"
            )
        axes[row, 0].set_xscale("log")
        axes[row, 0].set_ylabel("cos(h(θ), h(ρθ))")
        axes[row, 0].set_title(f"{m.name}: saturation level D14 as a function of ρ")
        axes[row, 0].axvline(report.rho, color="gray", ls="--", lw=0.8)
        axes[row, 1].set_xscale("log")
        axes[row, 1].set_yscale("log")
        axes[row, 1].axhline(1e-3, color="gray", ls=":", lw=0.8)
        axes[row, 1].axvline(report.rho, color="gray", ls="--", lw=0.8)
        axes[row, 1].set_ylabel("1 − cos(h(ρθ), h^∞)")
        axes[row, 1].set_title(f"{m.name}: distance to the exact limit direction")
        for ax in axes[row]:
            ax.set_xlabel("ρ")
        axes[row, 1].legend(fontsize=7)
    fig.tight_layout()
    return save(fig, path)


def plot_entropy(report: PretrainedSaturationReport, path: Path) -> Path:
    fig = Figure(figsize=(11, 7.2))
    axes = fig.subplots(2, 2)
    for ax, m in zip(axes[1], (report.pretrained, report.random), strict=True):
        c = convergence_of(m)
        switched = np.array(c.argmax_to_limit, dtype=float)
        for layer in range(switched.shape[1]):
            ax.plot(c.rhos, 1 - switched[:, layer] + 1e-6, marker=".", label=f"layer {layer + 1}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.axvline(report.rho, color="gray", ls="--", lw=0.8)
        ax.set_xlabel("ρ")
        ax.set_ylabel("rows not on their limit argmax (+1e-6)")
        ax.set_title(f"{m.name}: attention argmax switches along the ray")
        ax.legend(fontsize=7)
    for ax, m in zip(axes[0], (report.pretrained, report.random), strict=True):
        c = convergence_of(m)
        ent = np.array(c.entropy, dtype=float)
        for layer in range(ent.shape[1]):
            (line,) = ax.plot(c.rhos, ent[:, layer], marker=".", label=f"layer {layer + 1}")
            ax.axhline(c.limit_entropy[layer], color=line.get_color(), ls=":", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("ρ")
        ax.set_ylabel("mean attention entropy (nats)")
        ax.set_title(f"{m.name}: attention entropy (dotted: exact limit)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return save(fig, path)


def write_e3_figures(report: PretrainedSaturationReport, out: Path) -> list[Path]:
    """E3's figures (the convergence ones only if the sweep was run)."""
    paths = [plot_layers(report, out / "e3_saturation_per_layer.png")]
    if report.pretrained.convergence and report.random.convergence:
        paths.append(plot_convergence(report, out / "convergence_saturation.png"))
        both = report.pretrained.convergence.argmax_to_limit and report.random.convergence.entropy
        if (
            both
            and report.pretrained.convergence.entropy
            and report.random.convergence.argmax_to_limit
        ):
            paths.append(plot_entropy(report, out / "convergence_entropy.png"))
    return paths
