"""Tables, JSON and figures of E2/E4/E7 runs.

``results.json`` of a run is :meth:`NormGrowthRun.to_dict`; :func:`summary_row` picks its
headline numbers (``summary.json`` of several placements, ``--json``) and
:func:`format_summary` prints them as the command does. The figures are drawn by
:mod:`.plots`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from homogeneity.experiments.e2_e4_e7_norm_growth.config import RESULTS_FILE
from homogeneity.experiments.e2_e4_e7_norm_growth.results import NormGrowthRun


def write_outputs(run: NormGrowthRun, out_dir: Path) -> None:
    """``results.json`` and the three PNGs of one run into ``out_dir``."""
    from homogeneity.experiments.e2_e4_e7_norm_growth.plots import (
        plot_alignment,
        plot_norm,
        plot_saturation,
    )

    results = run.to_dict()
    run.plots = [
        str(p)
        for p in (
            plot_norm(run.records, results, out_dir / "norm.png"),
            plot_alignment(run.records, results, out_dir / "alignment.png"),
            plot_saturation(results, out_dir / "saturation.png"),
        )
        if p is not None
    ]
    (out_dir / RESULTS_FILE).write_text(json.dumps(run.to_dict(), indent=2, default=str) + "\n")


def write_comparison(runs: Sequence[NormGrowthRun], out: Path) -> None:
    """``summary.json`` and ``placements.png`` comparing several runs (with records)."""
    from homogeneity.experiments.e2_e4_e7_norm_growth.plots import plot_placements

    plot_placements([r.to_dict() for r in runs], [r.records for r in runs], out / "placements.png")
    (out / "summary.json").write_text(json.dumps([summary_row(r) for r in runs], indent=2) + "\n")


def summary_row(run: NormGrowthRun) -> dict[str, Any]:
    """The headline numbers of one run."""
    a = run.analysis
    law, al, sat = a.norm["law"], a.alignment, a.saturation or {}
    offset, affine = law["power"].get("offset"), law["power"].get("affine")
    best = next(f for f in law["fits"] if f["name"] == law["best"])
    sqrt_fit = next((f for f in law["fits"] if f["name"] == "sqrt(t)"), None)
    row = {
        "run": run.label,
        "norm_initial": a.norm["initial"],
        "norm_final": a.norm["final"],
        "norm_ratio": a.norm["ratio"],
        "law_verdict": law["verdict"],
        "law_best": law["best"],
        "law_best_r2": best["r2"],
        "law_contenders": law["contenders"],
        "sqrt_r2": None if sqrt_fit is None else sqrt_fit["r2"],
        "exponent_offset": offset["exponent"],
        "exponent_offset_ci": [offset["ci_low"], offset["ci_high"]],
        "exponent_affine": None if affine is None else affine["exponent"],
        "exponent_affine_ci": None if affine is None else [affine["ci_low"], affine["ci_high"]],
        "alignment_peak": al["peak"],
        "alignment_peak_step": al["peak_step"],
        "alignment_late_mean": al["late_mean"],
        "alignment_verdict": al["verdict"],
        "step_norm_late_cv": al["step_norm_late_cv"],
        "aligned_share_of_norm2_growth": al["aligned_share_of_norm2_growth"],
        "saturation_initial": sat.get("initial"),
        "saturation_final": sat.get("final"),
        "a1_slope": a.a1["slope"],
        "final_loss": run.training.final_loss,
        "seconds": run.seconds,
    }
    if run.partial:
        row["partial_last_step"] = run.last_step
    return row


def format_summary(rows: Sequence[dict[str, Any]]) -> str:
    """The summary the command prints, one block per run."""
    lines = []

    def ci(pair: list[float | None] | None) -> str:
        if pair is None:
            return "n/a"
        return "[" + ", ".join("unbounded" if c is None else f"{c:.3f}" for c in pair) + "]"

    for r in rows:
        affine = (
            "n/a"
            if r["exponent_affine"] is None
            else f"{r['exponent_affine']:.3f} {ci(r['exponent_affine_ci'])}"
        )
        if "partial_last_step" in r:
            head = f"== {r['run']}  (partial: interrupted after step {r['partial_last_step']})"
        else:
            head = f"== {r['run']}  ({r['seconds']:.0f} s, final loss {r['final_loss']:.3f})"
        lines += [
            head,
            f"  norm ‖θ‖ (encoder, no embeddings): {r['norm_initial']:.3f} → {r['norm_final']:.3f}"
            f" (×{r['norm_ratio']:.3f})",
            f"  growth law: {r['law_verdict']} → {', '.join(r['law_contenders'])}; best "
            f"{r['law_best']} R²={r['law_best_r2']:.5f}; √t fit R²="
            + ("n/a" if r["sqrt_r2"] is None else f"{r['sqrt_r2']:.5f}")
            + f"\n  free exponent p̂ (95% CI): a + b·t^p: {r['exponent_offset']:.3f} "
            f"{ci(r['exponent_offset_ci'])};  (a + b·t)^p: {affine}",
            f"  alignment cos(θ,δ): peak {r['alignment_peak']:.3f} at step "
            f"{r['alignment_peak_step']}, late mean {r['alignment_late_mean']:.4f} "
            f"({r['alignment_verdict']}); step-size CV (2nd half) {r['step_norm_late_cv']:.3f};"
            f" aligned share of Δ‖θ‖² {r['aligned_share_of_norm2_growth']:.2f}",
            f"  saturation (D14, logits): {_fmt(r['saturation_initial'])} → "
            f"{_fmt(r['saturation_final'])};  A1 slope {r['a1_slope']:.2f} (A1 ⇒ 1)",
        ]
    return "\n".join(lines)


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def print_rows(rows: list[dict[str, Any]], as_json: bool, footer: str = "") -> None:
    """The command's output: the summary (or JSON of the rows) and a footer line."""
    if as_json:
        print(json.dumps(rows, indent=1))
        return
    print(format_summary(rows))
    if footer:
        print(footer)
