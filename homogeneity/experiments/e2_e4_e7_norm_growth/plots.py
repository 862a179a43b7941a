"""PNG figures of a norm-growth run (matplotlib, Agg backend: no display needed).

Every fitted law drawn says in its legend its number of points and R², and the title of
``norm.png`` names, in plain words, exactly the laws drawn: the ones the model selection
left standing (:func:`homogeneity.dynamics.growth_laws.select_growth_law`), plus √t,
T5's law, dashed for comparison when it is not among them."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from homogeneity.dynamics.growth_laws import fit_law, lr_integral_at  # noqa: E402
from homogeneity.experiments.e2_e4_e7_norm_growth.analysis import (  # noqa: E402
    _step_records,
    _values,
    norm_curve,
)
from homogeneity.experiments.e2_e4_e7_norm_growth.config import NormGrowthConfig  # noqa: E402
from homogeneity.experiments.figures import save_pyplot_figure  # noqa: E402
from homogeneity.experiments.lm_training import effective_lrs  # noqa: E402

#: the growth laws in plain words (names as in homogeneity.dynamics.growth_laws)
LAW_WORDS: dict[str, str] = {
    "t": "linear in t",
    "sqrt(t)": "√t",
    "t^(1/4)": "t^(1/4)",
    "saturating-exp": "levelling off",
    "(log t)^(1/L)": "(log t)^(1/L)",
    "exp(∫η)": "exponential in ∫η",
}
#: T5's law (SPEC E1, G2), drawn for comparison when the selection did not keep it
T5_LAW = "sqrt(t)"


def kept_laws(law: dict[str, Any], most: int = 3) -> list[str]:
    """The laws the selection kept: its contenders, the best first (at most ``most``), or
    only the closest one when none fits (verdict ``no-fit``)."""
    return [law["best"]] if law["verdict"] == "no-fit" else list(law["contenders"])[:most]


def norm_title(law: dict[str, Any], kept: Sequence[str], comparison: Sequence[str]) -> str:
    """The title of the norm panel in plain words; it names every law drawn: the ``kept``
    ones, then the dashed ``comparison`` ones."""
    # a law's name is never split across lines (wrapped with non-breaking spaces inside)
    words = [LAW_WORDS.get(n, n).replace(" ", "\u00a0") for n in kept]
    if law["verdict"] == "selected":
        head = f"The law that fits the parameter norm best, by far: {words[0]}"
    elif law["verdict"] == "indistinguishable":
        head = f"Laws that fit the parameter norm equally well: {', '.join(words)}"
    else:
        head = (
            f"No law fits the parameter norm well (R² < {law['min_r2']:g}); the closest: {words[0]}"
        )
    lines = [line.replace("\u00a0", " ") for line in textwrap.wrap(head, 62)]
    for name in comparison:
        lines.append(f"dashed: {LAW_WORDS.get(name, name)}, T5's law, for comparison")
    return "\n".join(lines)


def plot_norm(records: Sequence[dict[str, Any]], results: dict[str, Any], path: Path) -> Path:
    """``norm.png``: :func:`norm_figure` saved to ``path``."""
    fig = norm_figure(records, results)
    return save_pyplot_figure(fig, path)


def norm_figure(records: Sequence[dict[str, Any]], results: dict[str, Any]) -> Any:
    """‖θ_t‖ of the main group with the laws the selection kept (and √t); per-block norms.

    Each law is refitted on the points the selection used; its legend entry gives the
    formula, R² and the number of points."""
    group = results["norm"]["group"]
    t, y = norm_curve(records, group)
    law = results["norm"]["law"]
    lrs = effective_lrs(NormGrowthConfig(**results["config"]).train_config())
    integral = lr_integral_at(t.astype(int), lrs)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    ax = axes[0]
    ax.plot(t, y, ".", ms=2, color="k", label=f"‖θ‖ ({group}), {t.size} points")
    kept = kept_laws(law)
    comparison = [] if T5_LAW in kept else [T5_LAW]
    for name in kept + comparison:
        fit = fit_law(name, t, y, lr_integral=integral)
        style = "--" if name in comparison else "-"
        ax.plot(
            t,
            fit.fitted,
            style,
            label=f"{LAW_WORDS.get(name, name)}: {fit.formula}, R² = {fit.r2:.4f}, {t.size} points",
        )
    ax.set_xlabel("training step t")
    ax.set_ylabel("parameter norm ‖θ‖")
    ax.set_title(norm_title(law, kept, comparison), fontsize=9)
    ax.legend(fontsize=7)
    ax = axes[1]
    layer_groups = [g for g in records[0]["groups"] if g.startswith("layer.")]
    for g in layer_groups:
        tg, yg = norm_curve(records, g)
        ax.plot(tg, yg, label=g)
    ax.set_xlabel("training step t")
    ax.set_ylabel("block norm")
    ax.set_title("norm of each block", fontsize=9)
    ax.legend(fontsize=8)
    fig.suptitle(results.get("title", ""), fontsize=8)
    fig.tight_layout()
    return fig


def plot_alignment(records: Sequence[dict[str, Any]], results: dict[str, Any], path: Path) -> Path:
    """cos(θ_t, δ_t) raw and in log-spaced bins (± 2 s.e.), and ‖δ_t‖ (E7)."""
    al = results["alignment"]
    group = al["group"]
    steps = _step_records(records)
    t = np.asarray([r["step"] for r in steps], dtype=np.float64)
    align = _values(steps, group, "alignment")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    ax = axes[0]
    ax.plot(t + 1, align, color="0.8", lw=0.5, label="cos(θ_t, δ_t)")
    b = al["bins"]
    se = np.asarray([2 * s if np.isfinite(s) else 0.0 for s in b["se"]])
    ax.errorbar(
        np.asarray(b["steps"]) + 1,
        b["mean"],
        yerr=se,
        color="C0",
        marker="o",
        ms=3,
        label="log-binned mean ± 2 s.e.",
    )
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xscale("log")
    ax.set_xlabel("step t + 1")
    ax.set_ylabel("alignment")
    ax.set_title(f"E7: {al['verdict']}")
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.plot(t, _values(steps, group, "step_norm"), color="C1", lw=0.7)
    ax.set_xlabel("step t")
    ax.set_ylabel("‖δ_t‖")
    ax.set_title(f"step size (CV over the 2nd half {al['step_norm_late_cv']:.2f})")
    fig.suptitle(results.get("title", ""), fontsize=9)
    fig.tight_layout()
    return save_pyplot_figure(fig, path)


def plot_saturation(results: dict[str, Any], path: Path) -> Path | None:
    """D14 per layer over training (E4)."""
    sat = results.get("saturation")
    if not sat:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    layers = np.asarray([[np.nan if v is None else v for v in row] for row in sat["layers"]])
    names = [f"layer {i + 1}" for i in range(layers.shape[1] - 1)] + ["logits"]
    for j, name in enumerate(names):
        ax.plot(sat["steps"], layers[:, j], marker=".", label=name)
    ax.set_ylim(min(0.0, float(np.nanmin(layers))) - 0.02, 1.02)
    ax.set_xlabel("step t")
    ax.set_ylabel("cos(f(x; θ), f(x; 1000θ))")
    ax.set_title("E4: saturation level (D14)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_pyplot_figure(fig, path)


def plot_placements(
    all_results: Sequence[dict[str, Any]],
    all_records: Sequence[Sequence[dict[str, Any]]],
    path: Path,
) -> Path:
    """Norm, alignment and saturation of several runs side by side."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for res, recs in zip(all_results, all_records, strict=True):
        label = res["label"]
        t, y = norm_curve(recs, res["norm"]["group"])
        axes[0].plot(t, y / y[0], label=label)
        b = res["alignment"]["bins"]
        axes[1].plot(np.asarray(b["steps"]) + 1, b["mean"], marker="o", ms=3, label=label)
        sat = res.get("saturation")
        if sat:
            axes[2].plot(
                sat["steps"],
                [np.nan if v is None else v for v in sat["levels"]],
                marker=".",
                label=label,
            )
    axes[0].set_ylabel("‖θ_t‖ / ‖θ_0‖")
    axes[1].set_ylabel("cos(θ_t, δ_t), log-binned")
    axes[1].axhline(0, color="k", lw=0.5)
    axes[1].set_xscale("log")
    axes[2].set_ylabel("saturation level (logits)")
    for ax in axes:
        ax.set_xlabel("step t")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return save_pyplot_figure(fig, path)
