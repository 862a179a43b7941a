"""The table, JSON and figures of the E8 grid (``results.json``, ``grid.png``,
``curves.png``; the figures are drawn by :mod:`.plots`)."""

from __future__ import annotations

import json
from pathlib import Path

from homogeneity.experiments.e8_weight_decay.results import RESULTS_FILE, WeightDecayGrid


def write_grid_outputs(grid: WeightDecayGrid, out: Path) -> None:
    """``results.json``, ``grid.png`` and ``curves.png`` into ``out``."""
    from homogeneity.experiments.e8_weight_decay.plots import plot_curves, plot_grid

    out.mkdir(parents=True, exist_ok=True)
    results = grid.to_dict()
    grid.plots = [
        str(plot_grid(results, out / "grid.png")),
        str(plot_curves(results, out / "curves.png")),
    ]
    (out / RESULTS_FILE).write_text(json.dumps(grid.to_dict(), indent=2) + "\n")


def format_grid(grid: WeightDecayGrid) -> str:
    """The table the command prints: ratio, outcome and predicted outcome per cell."""
    cfg = grid.config
    wds = cfg["weight_decays"]
    head = (
        "η \\ λ".ljust(10)
        + "".join(f"{w:>16g}" for w in wds)
        + "   λ* (r=1)   r fitted at λ=0   λ* (fitted r)"
    )
    lines = [
        "E8: ‖θ_T‖/‖θ_0‖ (encoder, no embeddings) and outcome; prediction with r = 1 in brackets",
        head,
    ]
    for lr in cfg["lrs"]:
        cells = {r["weight_decay"]: r for r in grid.cells if r["lr"] == lr}
        row = f"{lr:<10g}"
        for w in wds:
            c = cells[w]
            row += f"{c['ratio']:>7.3f} {c['outcome'][:2]}[{c['predicted_outcome'][:2]}]".rjust(16)
        th = grid.threshold_by_lr[f"{lr:g}"]
        r = th["calibrated_update_rms"]
        cal = th["calibrated_critical_lambda"]
        r_txt = "n/a" if r is None else f"{r:.3f}"
        cal_txt = "n/a" if cal is None else f"{cal:.3g}"
        row += f"   {th['predicted_critical_lambda']:<10.3g} {r_txt:<17} {cal_txt}"
        lines.append(row)
    a = grid.agreement
    lines.append(
        f"outcome = prediction (r = 1) in {a['outcome_matches_prediction']}/{a['cells']} "
        f"cells; = prediction with r fitted on the λ = 0 cell in "
        f"{a['outcome_matches_calibrated_prediction']}/{a['calibrated_cells']} "
        f"(gr = grows, sh = shrinks, fl = flat); total {grid.seconds or 0:.0f} s"
    )
    return "\n".join(lines)
