"""PNG figures of the pretrained-saturation report (matplotlib, Agg canvas, no pyplot state).

=============================  ==========================================================
file                           what it shows
=============================  ==========================================================
e3_saturation_per_layer.png    D14 per layer: pretrained vs random, ρ = 1000 and ρ = ∞,
                               the paper's BERT-base ranges as bands
convergence_saturation.png     D14(ρ) and 1 − cos(h(ρθ), h^∞) per layer, ρ ∈ [1, 10⁴]
convergence_entropy.png        mean attention entropy per layer along ρ, and the attention rows
                               not yet on their limit argmax
head_kinds_vs_rho.png          argmax-like / in-between / mean-like head counts along ρ
e5_head_histogram.png          histogram over heads of attended positions per query (D8)
head_patterns.png              the limit attention of every head on one example sentence
head_locations.png             where each head's limit attention mass goes, and how much of
                               it falls on one key per sentence
=============================  ==========================================================
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from homogeneity.saturation import HEAD_KINDS

if TYPE_CHECKING:
    from homogeneity.experiments.pretrained_saturation import PretrainedSaturationReport


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def _layer_labels(n: int) -> list[str]:
    return ["emb"] + [str(i) for i in range(1, n)]


def plot_layers(report: PretrainedSaturationReport, path: Path) -> Path:
    from homogeneity.experiments.pretrained_saturation import PAPER_BERT_BASE

    fig = Figure(figsize=(7, 4.2))
    ax = fig.add_subplot()
    p, r = report.pretrained.analysis, report.random.analysis
    x = np.arange(len(p.level.layers))
    lo, hi = PAPER_BERT_BASE["pretrained_range"]
    ax.axhspan(lo, hi, color="tab:blue", alpha=0.12, label="paper: BERT-base pretrained range")
    lo, hi = PAPER_BERT_BASE["random_range"]
    ax.axhspan(lo, hi, color="tab:gray", alpha=0.15, label="paper: random-init range")
    ax.plot(x, p.level.layers, "o-", color="tab:blue", label=f"MiniLM pretrained, ρ={report.rho:g}")
    ax.plot(
        x, r.level.layers, "s-", color="tab:orange", label=f"MiniLM random init, ρ={report.rho:g}"
    )
    if len(report.random_seed_levels) > 1:
        levels = np.array(list(report.random_seed_levels.values()), dtype=float)
        ax.fill_between(
            x,
            levels.min(axis=0),
            levels.max(axis=0),
            color="tab:orange",
            alpha=0.2,
            label=f"random init, {len(levels)} seeds (min–max)",
        )
    if p.exact:
        ax.plot(
            x,
            p.exact.level_at_limit,
            "o:",
            color="tab:blue",
            mfc="none",
            ms=11,
            label="pretrained, ρ=∞ (exact limit)",
        )
    if r.exact:
        ax.plot(
            x,
            r.exact.level_at_limit,
            "s:",
            color="tab:orange",
            mfc="none",
            ms=11,
            label="random, ρ=∞ (exact limit)",
        )
    ax.set_xticks(x, _layer_labels(len(x)))
    ax.set_xlabel("layer")
    ax.set_ylabel("saturation level (mean token cosine)")
    ax.set_title(f"E3: saturation per layer, {report.n_sentences} sentences, all parameters scaled")
    ax.axhline(0, color="black", lw=0.5)
    ax.legend(fontsize=7, loc="upper right")
    return _save(fig, path)


def plot_convergence(report: PretrainedSaturationReport, path: Path) -> Path:
    fig = Figure(figsize=(11, 7))
    axes = fig.subplots(2, 2)
    for row, m in enumerate((report.pretrained, report.random)):
        c = m.convergence
        sat = np.array(c.saturation, dtype=float)
        gap = 1 - np.array(c.to_limit, dtype=float)
        for layer in range(sat.shape[1]):
            label = _layer_labels(sat.shape[1])[layer]
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
    return _save(fig, path)


def plot_entropy(report: PretrainedSaturationReport, path: Path) -> Path:
    fig = Figure(figsize=(11, 7.2))
    axes = fig.subplots(2, 2)
    for ax, m in zip(axes[1], (report.pretrained, report.random), strict=True):
        c = m.convergence
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
        c = m.convergence
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
    return _save(fig, path)


def plot_head_kinds(report: PretrainedSaturationReport, path: Path) -> Path:
    fig = Figure(figsize=(11, 3.8))
    axes = fig.subplots(1, 2)
    for ax, m in zip(axes, (report.pretrained, report.random), strict=True):
        c = m.convergence
        for kind in HEAD_KINDS:
            ax.plot(c.rhos, [k.get(kind, 0) for k in c.head_kinds], marker=".", label=kind)
        ax.set_xscale("log")
        ax.set_xlabel("ρ")
        ax.set_ylabel("heads")
        ax.set_title(f"{m.name}: head types along the ray")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def plot_histogram(report: PretrainedSaturationReport, path: Path) -> Path:
    p, r = report.pretrained.analysis, report.random.analysis
    panels = [
        ("pretrained, ρ=1", p.heads_at_one),
        (f"pretrained, ρ={report.rho:g}", p.heads_at_rho),
        ("pretrained, limit", p.heads_at_limit),
        ("random, ρ=1", r.heads_at_one),
    ]
    panels = [(t, h) for t, h in panels if h]
    fig = Figure(figsize=(3.3 * len(panels), 3.4))
    axes = fig.subplots(1, len(panels))
    visible = float(np.mean([h.visible for h in p.heads_at_one]))
    bins = np.linspace(0, max(visible * 1.6, 2), 41)
    for ax, (title, heads) in zip(np.atleast_1d(axes), panels, strict=True):
        ax.hist([h.attended for h in heads], bins=bins, color="tab:blue")
        ax.axvline(visible, color="tab:red", ls="--", lw=1, label="mean visible keys")
        ax.axvline(1, color="black", ls=":", lw=1, label="one key")
        ax.set_xlabel("attended keys per query (weight > 1e-5)")
        ax.set_ylabel("heads")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=6)
    fig.suptitle("E5/D8: attended positions per head (72 heads)", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def plot_patterns(report: PretrainedSaturationReport, path: Path) -> Path:
    att = report.example_attention.numpy()
    n_layers, n_heads = att.shape[:2]
    fig = Figure(figsize=(1.4 * n_heads, 1.5 * n_layers + 0.6))
    axes = fig.subplots(n_layers, n_heads, squeeze=False)
    for layer in range(n_layers):
        for h in range(n_heads):
            ax = axes[layer, h]
            ax.imshow(att[layer, h], cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if h == 0:
                ax.set_ylabel(f"layer {layer + 1}", fontsize=8)
            if layer == 0:
                ax.set_title(f"head {h}", fontsize=8)
    text = (
        report.example_text if len(report.example_text) < 110 else report.example_text[:107] + "…"
    )
    fig.suptitle(
        f"Limit (saturated) attention, rows = queries, columns = keys: “{text}”", fontsize=9
    )
    return _save(fig, path)


def plot_locations(report: PretrainedSaturationReport, path: Path) -> Path:
    heads = report.pretrained.analysis.heads_at_limit or report.pretrained.analysis.heads_at_rho
    names = list(heads[0].locations)
    mass = np.array([[h.locations[n] for n in names] for h in heads])
    fig = Figure(figsize=(12, 3.6))
    ax = fig.add_subplot()
    bottom = np.zeros(len(heads))
    for i, n in enumerate(names):
        ax.bar(np.arange(len(heads)), mass[:, i], bottom=bottom, label=n, width=0.9)
        bottom += mass[:, i]
    ax.plot(
        np.arange(len(heads)),
        [h.top_key_share for h in heads],
        "k.",
        ms=5,
        label="one-key share (broadcast)",
    )
    ax.set_xticks(
        np.arange(len(heads)), [f"{h.layer}.{h.head}" for h in heads], rotation=90, fontsize=6
    )
    ax.set_ylabel("attention mass")
    ax.set_xlabel("layer.head")
    ax.set_title("Where the limit attention of each pretrained head goes")
    ax.legend(fontsize=7, ncol=len(names) + 1, loc="upper center", bbox_to_anchor=(0.5, -0.25))
    return _save(fig, path)


def write_figures(report: PretrainedSaturationReport, out: Path) -> list[Path]:
    """All figures of the report (the convergence ones only if the sweep was run)."""
    paths = [
        plot_layers(report, out / "e3_saturation_per_layer.png"),
        plot_histogram(report, out / "e5_head_histogram.png"),
        plot_patterns(report, out / "head_patterns.png"),
        plot_locations(report, out / "head_locations.png"),
    ]
    if report.pretrained.convergence and report.random.convergence:
        paths += [
            plot_convergence(report, out / "convergence_saturation.png"),
            plot_entropy(report, out / "convergence_entropy.png"),
            plot_head_kinds(report, out / "head_kinds_vs_rho.png"),
        ]
    return paths
