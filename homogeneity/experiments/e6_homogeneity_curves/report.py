"""The table, JSON and figure of E6 (:class:`~.compute.HomogeneityCurves`)."""

from __future__ import annotations

import textwrap
from dataclasses import asdict
from pathlib import Path
from typing import Any

from homogeneity.experiments.e6_homogeneity_curves.compute import CurveSetup, HomogeneityCurves
from homogeneity.experiments.e6_homogeneity_curves.paper import (
    PAPER_CS,
    PAPER_CURVE_FOR,
    PAPER_E6,
    PAPER_LAYERS,
)
from homogeneity.experiments.figures import FIGURE_DPI


def format_curves(result: HomogeneityCurves) -> str:
    """The table of s(c) per placement, with the paper's numbers under it."""
    setup, curves = result.setup, result.curves
    lines = [
        f"E6: mean over tokens of cos(f(x; cθ), f(x; {result.reference:g}θ)), last layer, "
        f"all parameters scaled",
        f"model: {setup.describe()}",
        "",
    ]
    lines.append(f"{'c':>6}  " + "  ".join(f"{c.name:>13}" for c in curves))
    for i, c in enumerate(curves[0].cs if curves else ()):
        lines.append(f"{c:>6g}  " + "  ".join(f"{cur.final[i]:>13.4f}" for cur in curves))
    lines.append("")
    for name, (lo, hi) in PAPER_E6.items():
        ours = [
            f"{cur.name} {cur.final[0]:.2f} → {cur.final[-1]:.2f}"
            for cur in curves
            if PAPER_CURVE_FOR[cur.name] == name
        ]
        lines.append(
            f"paper {name}: {lo:.2f} → {hi:.2f} (c = 1 → 10); here: "
            + ("; ".join(ours) or "not run")
        )
    return "\n".join(lines)


def curves_json(result: HomogeneityCurves) -> dict:
    """The JSON the command prints with ``--json``."""
    return {
        "setup": asdict(result.setup),
        "paper": {k: list(v) for k, v in PAPER_E6.items()},
        "curves": [
            {
                "placement": c.name,
                "compared_with": PAPER_CURVE_FOR[c.name],
                "cs": list(c.cs),
                "reference": c.reference,
                "final": list(c.final),
                "layers": [list(row) for row in c.layers],
            }
            for c in result.curves
        ],
    }


def paper_note(setup: CurveSetup) -> str:
    """What the figure says about the paper's markers: they are for 12-layer models."""
    if setup.layers == PAPER_LAYERS:
        return ""
    return (
        f"open squares: the paper's numbers, for {PAPER_LAYERS}-layer models; "
        f"this run has {setup.layers} layer{'s' if setup.layers != 1 else ''}"
    )


def plot_curves(result: HomogeneityCurves, path: str | Path) -> Path:
    """The PNG of :func:`curves_figure` at ``path`` (its folder created if missing)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    curves_figure(result).savefig(path)
    return path


def curves_figure(result: HomogeneityCurves) -> Any:
    """s(c) per placement, with the paper's endpoints as open markers labelled as the
    paper's 12-layer numbers (and a note when the run has another depth)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    setup, curves = result.setup, result.curves
    fig = Figure(figsize=(6.5, 4.4), dpi=FIGURE_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    colours = {"paper-prenorm": "tab:blue", "pre-ln": "tab:green", "postnorm": "tab:red"}
    for cur in curves:
        ax.plot(
            cur.cs,
            cur.final,
            "o-",
            ms=3.5,
            color=colours.get(cur.name),
            label=f"{cur.name} (ours, {setup.layers} layers)",
        )
    for name, (lo, hi), colour in (
        ("pre-norm", PAPER_E6["pre-norm"], "tab:blue"),
        ("post-norm", PAPER_E6["post-norm"], "tab:red"),
    ):
        ax.plot(
            list(PAPER_CS),
            [lo, hi],
            "s",
            mfc="none",
            ms=8,
            color=colour,
            label=f"paper, {PAPER_LAYERS} layers: {name} (at c = 1 and 10)",
        )
    ax.set_xlabel("c")
    ax.set_ylabel(f"cos(f(x; cθ), f(x; {result.reference:g}θ))" if curves else "cosine")
    ax.set_ylim(min(-0.05, *(min(c.final) for c in curves)) if curves else -0.05, 1.05)
    title = textwrap.wrap(setup.describe(), 95)
    note = paper_note(setup)
    if note:
        title.append("note: " + note)
    ax.set_title("\n".join(title), fontsize=7)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def plot_file_name(setup: CurveSetup) -> str:
    """``e6-curves-L12-d768-layernorm-bias-causal-torch.png``: says which setup it shows."""
    return (
        f"e6-curves-L{setup.layers}-d{setup.d_model}-{setup.norm}-"
        f"{'bias' if setup.bias else 'nobias'}-{'causal' if setup.causal else 'bidir'}-"
        f"{setup.init}.png"
    )
