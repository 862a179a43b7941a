"""E8 scaled down: an η × λ grid of AdamW runs of the small LM. Where does weight decay
stop norm growth, and does the equilibrium theory predict it?

    python -m homogeneity.experiments.weight_decay_grid --steps 600 --out runs/weight_decay

Each cell trains the LM with AdamW(lr=η, weight_decay=λ) from the same initialisation
and batches (same seed) and records ‖θ_t‖ of the encoder without embeddings. Outcome:

``grows``    ‖θ_T‖/‖θ_0‖ > 1 + tol;   ``shrinks``  < 1 − tol;   ``flat``  otherwise

(tol = 1% by default). Prediction (SPEC WD, :mod:`homogeneity.dynamics.predictions`): for
scale-invariant weights with noise-dominated AdamW updates of RMS r, ‖θ_t‖² relaxes to
η n r²/(2λ) with time constant 1/(2ηλ), so the predicted ratio is
√(x* + (x_0 − x*)(1−ηλ)^{2T}) / √x_0 and the norm grows iff λ < λ* = η r²/(2σ₀²), σ₀ the
initial RMS of the weights. We take r = 1 (the noise-dominated value, an upper bound on
Adam's per-coordinate update size in the stationary regime), and, separately, r fitted on
each η's λ = 0 cell (‖θ_T‖²/‖θ_0‖² = 1 + η²r²T/σ₀² for orthogonal noise-like steps), which
calibrates the prediction with one cell per row and predicts the other λ.

Cells run through any ``concurrent.futures.Executor`` (a process pool by default).
Outputs in ``--out``: ``results.json``, ``grid.png`` (outcome map and λ* line),
``curves.png`` (norm curves of every cell).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from homogeneity.dynamics.predictions import adamw_critical_weight_decay, adamw_norms
from homogeneity.errors import HomogeneityInputError
from homogeneity.experiments.norm_growth import MAIN_GROUP, NormGrowthConfig, run_norm_growth


@dataclass(frozen=True)
class WeightDecayGridConfig:
    lrs: tuple[float, ...] = (1e-4, 1e-3, 1e-2)
    weight_decays: tuple[float, ...] = (0.0, 1e-3, 1e-2, 1e-1, 1.0)
    steps: int = 600
    tolerance: float = 0.01
    base: NormGrowthConfig = field(
        default_factory=lambda: NormGrowthConfig(
            steps=600, track_every=10, saturation_every=0, out=None, progress=False
        )
    )
    out: str | None = "runs/weight_decay"

    def __post_init__(self) -> None:
        if not self.lrs or not self.weight_decays:
            raise HomogeneityInputError("lrs and weight_decays must be non-empty")
        if any(not (x > 0 and math.isfinite(x)) for x in self.lrs):
            raise HomogeneityInputError(f"lrs={self.lrs} must all be finite and > 0")
        if any(not (x >= 0 and math.isfinite(x)) for x in self.weight_decays):
            raise HomogeneityInputError(f"weight_decays={self.weight_decays} must be ≥ 0")
        if not 0 < self.tolerance < 1:
            raise HomogeneityInputError(f"tolerance={self.tolerance} must lie in (0, 1)")

    def cells(self) -> list[NormGrowthConfig]:
        return [
            replace(
                self.base,
                optimizer="adamw",
                lr=lr,
                weight_decay=wd,
                steps=self.steps,
                out=None,
                progress=False,
            )
            for lr in self.lrs
            for wd in self.weight_decays
        ]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["base"] = self.base.to_dict()
        return d


def outcome(ratio: float, tolerance: float) -> str:
    if ratio > 1 + tolerance:
        return "grows"
    if ratio < 1 - tolerance:
        return "shrinks"
    return "flat"


def _cell(cfg: NormGrowthConfig) -> dict[str, Any]:
    r = run_norm_growth(cfg)
    return {
        "lr": cfg.lr,
        "weight_decay": cfg.weight_decay,
        "seconds": r["seconds"],
        "final_loss": r["final_loss"],
        "norm": r["curves"][MAIN_GROUP],
        "ratio": r["norm"]["ratio"],
        "initial_rms": r["initial_rms"][MAIN_GROUP],
        "alignment_late_mean": r["alignment"]["late_mean"],
    }


def run_weight_decay_grid(
    cfg: WeightDecayGridConfig,
    *,
    executor: Executor | None = None,
    max_workers: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run every (η, λ) cell through ``executor``; returns (and writes) the grid results."""
    from tqdm.auto import tqdm

    start = time.perf_counter()
    cells = cfg.cells()
    own = executor is None
    if own:
        executor = ProcessPoolExecutor(max_workers=max_workers or max(1, os.cpu_count() or 1))
    try:
        futures = [executor.submit(_cell, c) for c in cells]
        rows = [f.result() for f in tqdm(futures, desc="η×λ grid", disable=not progress)]
    finally:
        if own:
            executor.shutdown()
    results = analyse_grid(rows, cfg.steps, cfg.tolerance, cfg.lrs, cfg.to_dict())
    results["seconds"] = time.perf_counter() - start
    if cfg.out is not None:
        write_grid_outputs(results, Path(cfg.out))
    return results


def analyse_grid(
    cells: list[dict[str, Any]],
    steps: int,
    tolerance: float,
    lrs: Sequence[float],
    config: dict[str, Any],
) -> dict[str, Any]:
    """Outcomes, predictions (r = 1 and r fitted on each η's λ = 0 cell), thresholds."""
    rows = [{k: v for k, v in c.items() if k in _MEASURED} for c in cells]
    calibrated = _calibrated_update_rms(rows, steps)
    for row in rows:
        row["outcome"] = outcome(row["ratio"], tolerance)
        sigma0 = row["initial_rms"]
        for key, r in (("", 1.0), ("calibrated_", calibrated.get(row["lr"]))):
            if r is None or r <= 0:
                row[key + "predicted_ratio"] = None
                row[key + "predicted_outcome"] = None
                row[key + "critical_weight_decay"] = None if r is None else 0.0
                continue
            pred = adamw_norms(sigma0, row["lr"], row["weight_decay"], 1, [0, steps], update_rms=r)
            row[key + "predicted_ratio"] = float(pred[-1] / pred[0])
            row[key + "predicted_outcome"] = outcome(row[key + "predicted_ratio"], tolerance)
            row[key + "critical_weight_decay"] = adamw_critical_weight_decay(row["lr"], sigma0, r)
        row["calibrated_update_rms"] = calibrated.get(row["lr"])
    agree = sum(r["outcome"] == r["predicted_outcome"] for r in rows)
    judged = [r for r in rows if r["calibrated_predicted_outcome"] is not None]
    agree_cal = sum(r["outcome"] == r["calibrated_predicted_outcome"] for r in judged)
    return {
        "experiment": "weight_decay_grid (E8)",
        "config": config,
        "cells": rows,
        "agreement": {
            "cells": len(rows),
            "outcome_matches_prediction": agree,
            "calibrated_cells": len(judged),
            "outcome_matches_calibrated_prediction": agree_cal,
        },
        "threshold_by_lr": _thresholds(rows, lrs),
    }


def write_grid_outputs(results: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    from homogeneity.experiments.weight_decay_plots import plot_curves, plot_grid

    results["plots"] = [
        str(plot_grid(results, out / "grid.png")),
        str(plot_curves(results, out / "curves.png")),
    ]
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")


def reanalyse_grid(out_dir: str | Path) -> dict[str, Any]:
    """Recompute a finished grid's predictions, table and plots from its results.json."""
    out = Path(out_dir)
    old = json.loads((out / "results.json").read_text())
    cfg = old["config"]
    results = analyse_grid(old["cells"], cfg["steps"], cfg["tolerance"], cfg["lrs"], cfg)
    results["seconds"] = old["seconds"]
    write_grid_outputs(results, out)
    return results


#: what a cell measured (everything else is derived by analyse_grid)
_MEASURED = (
    "lr",
    "weight_decay",
    "seconds",
    "final_loss",
    "norm",
    "ratio",
    "initial_rms",
    "alignment_late_mean",
)


def _calibrated_update_rms(rows: list[dict[str, Any]], steps: int) -> dict[float, float]:
    """Effective update RMS r per η from its λ = 0 cell: with orthogonal noise-like steps
    ‖θ_T‖²/‖θ_0‖² = 1 + η²r²T/σ₀², so r² = (ratio² − 1)σ₀²/(η²T) (0 if the norm fell)."""
    out = {}
    for row in rows:
        if row["weight_decay"] == 0.0:
            r2 = (row["ratio"] ** 2 - 1) * row["initial_rms"] ** 2 / (row["lr"] ** 2 * steps)
            out[row["lr"]] = math.sqrt(r2) if r2 > 0 else 0.0
    return out


def _thresholds(rows: list[dict[str, Any]], lrs: Sequence[float]) -> dict[str, Any]:
    """Per η: the largest λ at which the norm still grows and the smallest at which it does
    not (the observed threshold lies between), with the predicted λ*."""
    out = {}
    for lr in lrs:
        col = sorted((r for r in rows if r["lr"] == lr), key=lambda r: r["weight_decay"])
        grows = [r["weight_decay"] for r in col if r["outcome"] == "grows"]
        stops = [r["weight_decay"] for r in col if r["outcome"] != "grows"]
        out[f"{lr:g}"] = {
            "largest_growing_lambda": max(grows) if grows else None,
            "smallest_non_growing_lambda": min(stops) if stops else None,
            "predicted_critical_lambda": col[0]["critical_weight_decay"],
            "calibrated_update_rms": col[0]["calibrated_update_rms"],
            "calibrated_critical_lambda": col[0]["calibrated_critical_weight_decay"],
        }
    return out


def format_grid(results: dict[str, Any]) -> str:
    cfg = results["config"]
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
        cells = {r["weight_decay"]: r for r in results["cells"] if r["lr"] == lr}
        row = f"{lr:<10g}"
        for w in wds:
            c = cells[w]
            row += f"{c['ratio']:>7.3f} {c['outcome'][:2]}[{c['predicted_outcome'][:2]}]".rjust(16)
        th = results["threshold_by_lr"][f"{lr:g}"]
        r = th["calibrated_update_rms"]
        cal = th["calibrated_critical_lambda"]
        r_txt = "n/a" if r is None else f"{r:.3f}"
        cal_txt = "n/a" if cal is None else f"{cal:.3g}"
        row += f"   {th['predicted_critical_lambda']:<10.3g} {r_txt:<17} {cal_txt}"
        lines.append(row)
    a = results["agreement"]
    lines.append(
        f"outcome = prediction (r = 1) in {a['outcome_matches_prediction']}/{a['cells']} "
        f"cells; = prediction with r fitted on the λ = 0 cell in "
        f"{a['outcome_matches_calibrated_prediction']}/{a['calibrated_cells']} "
        f"(gr = grows, sh = shrinks, fl = flat); total {results['seconds']:.0f} s"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    d = WeightDecayGridConfig()
    p = argparse.ArgumentParser(
        prog="python -m homogeneity.experiments.weight_decay_grid",
        description="E8: η × λ grid of AdamW runs of the small LM.",
    )
    p.add_argument("--lrs", type=float, nargs="+", default=list(d.lrs))
    p.add_argument("--weight-decays", type=float, nargs="+", default=list(d.weight_decays))
    p.add_argument("--steps", type=int, default=d.steps)
    p.add_argument("--placement", default=d.base.placement)
    p.add_argument("--corpus", default=d.base.corpus)
    p.add_argument("--text-file", default=None)
    p.add_argument("--seed", type=int, default=d.base.seed)
    p.add_argument("--tolerance", type=float, default=d.tolerance)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--out", default=d.out)
    p.add_argument("--no-progress", action="store_true")
    p.add_argument(
        "--reanalyse",
        metavar="GRID_DIR",
        default=None,
        help="recompute predictions, table and plots of a finished grid (no training)",
    )
    args = p.parse_args(argv)
    if args.reanalyse:
        print(format_grid(reanalyse_grid(args.reanalyse)))
        return 0
    try:
        base = replace(
            d.base,
            placement=args.placement,
            corpus=args.corpus,
            text_file=args.text_file,
            seed=args.seed,
        )
        cfg = WeightDecayGridConfig(
            lrs=tuple(args.lrs),
            weight_decays=tuple(args.weight_decays),
            steps=args.steps,
            tolerance=args.tolerance,
            base=base,
            out=args.out,
        )
        results = run_weight_decay_grid(
            cfg, max_workers=args.workers, progress=not args.no_progress
        )
    except HomogeneityInputError as exc:
        print(f"error: {exc}")
        return 2
    print(format_grid(results))
    print(f"results in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
