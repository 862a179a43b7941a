"""E5 figures (matplotlib, Agg canvas, no pyplot state).

=============================  ==========================================================
file                           what it shows
=============================  ==========================================================
head_kinds_vs_rho.png          argmax-like / in-between / mean-like head counts along ρ
e5_head_histogram.png          histogram over heads of attended positions per query (D8)
head_patterns.png              the limit attention of every head on one example sentence
head_locations.png             where each head's limit attention mass goes, and how much of
                               it falls on one key per sentence
=============================  ==========================================================

Nothing is drawn for a model whose attention was not captured (the report says so).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from homogeneity.errors import HomogeneityInputError
from homogeneity.experiments.e3_pretrained_saturation.plots import convergence_of, save
from homogeneity.saturation import HEAD_KINDS

if TYPE_CHECKING:
    from homogeneity.experiments.e3_pretrained_saturation.compute import (
        PretrainedSaturationReport,
    )
    from homogeneity.saturation import HeadStats


def captured(heads: list[HeadStats] | None, what: str) -> list[HeadStats]:
    """``heads`` when the analysis captured any; raises :class:`HomogeneityInputError`
    (naming ``what``) when it did not (the model exposes no attention)."""
    if not heads:
        raise HomogeneityInputError(
            f"the report has no head statistics {what}: the model's attention was not "
            f"captured, so there is nothing to draw"
        )
    return heads


def plot_head_kinds(report: PretrainedSaturationReport, path: Path) -> Path:
    fig = Figure(figsize=(11, 3.8))
    axes = fig.subplots(1, 2)
    for ax, m in zip(axes, (report.pretrained, report.random), strict=True):
        c = convergence_of(m)
        for kind in HEAD_KINDS:
            ax.plot(c.rhos, [k.get(kind, 0) for k in c.head_kinds], marker=".", label=kind)
        ax.set_xscale("log")
        ax.set_xlabel("ρ")
        ax.set_ylabel("heads")
        ax.set_title(f"{m.name}: head types along the ray")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return save(fig, path)


def plot_histogram(report: PretrainedSaturationReport, path: Path) -> Path:
    p, r = report.pretrained.analysis, report.random.analysis
    at_one = captured(p.heads_at_one, "at ρ = 1")
    candidates = [
        ("pretrained, ρ=1", p.heads_at_one),
        (f"pretrained, ρ={report.rho:g}", p.heads_at_rho),
        ("pretrained, limit", p.heads_at_limit),
        ("random, ρ=1", r.heads_at_one),
    ]
    panels = [(t, h) for t, h in candidates if h]
    fig = Figure(figsize=(3.3 * len(panels), 3.4))
    axes = fig.subplots(1, len(panels))
    visible = float(np.mean([h.visible for h in at_one]))
    bins = np.linspace(0, max(visible * 1.6, 2), 41)
    for ax, (title, heads) in zip(np.atleast_1d(axes), panels, strict=True):
        ax.hist([h.attended for h in heads], bins=bins, color="tab:blue")
        ax.axvline(visible, color="tab:red", ls="--", lw=1, label="mean visible keys")
        ax.axvline(1, color="black", ls=":", lw=1, label="one key")
        ax.set_xlabel("attended keys per query (weight > 1e-5)")
        ax.set_ylabel("heads")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=6)
    fig.suptitle(
        f"E5/D8: attended positions per head ({len(at_one)} heads, "
        f"{report.n_tokens} query tokens of {report.n_sentences} sentences)",
        fontsize=10,
    )
    fig.tight_layout()
    return save(fig, path)


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
    return save(fig, path)


def plot_locations(report: PretrainedSaturationReport, path: Path) -> Path:
    p = report.pretrained.analysis
    heads = captured(p.heads_at_limit or p.heads_at_rho, "at ρ or in the limit")
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
    return save(fig, path)


def write_e5_figures(report: PretrainedSaturationReport, out: Path) -> list[Path]:
    """E5's figures (the ρ sweep one only if the sweep was run)."""
    p = report.pretrained.analysis
    if not p.heads_at_one or not p.heads_at_rho:
        return []
    paths = [
        plot_histogram(report, out / "e5_head_histogram.png"),
        plot_patterns(report, out / "head_patterns.png"),
        plot_locations(report, out / "head_locations.png"),
    ]
    c_p, c_r = report.pretrained.convergence, report.random.convergence
    if c_p and c_r and c_p.head_kinds and c_r.head_kinds:
        paths.append(plot_head_kinds(report, out / "head_kinds_vs_rho.png"))
    return paths
