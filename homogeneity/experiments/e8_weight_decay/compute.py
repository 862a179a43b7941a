"""E8 scaled down: an η × λ grid of AdamW runs of the small LM. Where does weight decay
stop norm growth, and does the equilibrium theory predict it?

Each cell trains the LM of E2 with AdamW(lr=η, weight_decay=λ) from the same
initialisation and batches (same seed) and records ‖θ_t‖ of the encoder without
embeddings. Outcome:

``grows``    ‖θ_T‖/‖θ_0‖ > 1 + tol;   ``shrinks``  < 1 − tol;   ``flat``  otherwise

(tol = 1% by default). Prediction (SPEC WD, :mod:`homogeneity.dynamics.predictions`): for
scale-invariant weights with noise-dominated AdamW updates of RMS r, ‖θ_t‖² relaxes to
η n r²/(2λ) with time constant 1/(2ηλ), so the predicted ratio is
√(x* + (x_0 − x*)(1−ηλ)^{2T}) / √x_0 and the norm grows iff λ < λ* = η r²/(2σ₀²), σ₀ the
initial RMS of the weights. We take r = 1 (the noise-dominated value, an upper bound on
Adam's per-coordinate update size in the stationary regime), and, separately, r fitted on
each η's λ = 0 cell (‖θ_T‖²/‖θ_0‖² = 1 + η²r²T/σ₀² for orthogonal noise-like steps), which
calibrates the prediction with one cell per row and predicts the other λ.

Cells run through :func:`homogeneity.experiments.pool.map_jobs` (a process pool that
Ctrl-C stops, or any ``concurrent.futures.Executor``).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from homogeneity.dynamics.predictions import adamw_critical_weight_decay, adamw_norms
from homogeneity.errors import HomogeneityInputError
from homogeneity.experiments.e2_e4_e7_norm_growth import (
    MAIN_GROUP,
    NormGrowthConfig,
    run_norm_growth,
)
from homogeneity.experiments.e8_weight_decay.report import write_grid_outputs
from homogeneity.experiments.e8_weight_decay.results import RESULTS_FILE, WeightDecayGrid
from homogeneity.experiments.pool import map_jobs


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


def run_cell(cfg: NormGrowthConfig) -> dict[str, Any]:
    """Train one cell and keep what the grid needs of it."""
    run = run_norm_growth(cfg)
    return {
        "lr": cfg.lr,
        "weight_decay": cfg.weight_decay,
        "seconds": run.seconds,
        "final_loss": run.training.final_loss,
        "norm": run.analysis.curves[MAIN_GROUP],
        "ratio": run.analysis.norm["ratio"],
        "initial_rms": run.training.initial_rms[MAIN_GROUP],
        "alignment_late_mean": run.analysis.alignment["late_mean"],
    }


def run_weight_decay_grid(
    cfg: WeightDecayGridConfig,
    *,
    executor: Executor | None = None,
    max_workers: int | None = None,
    progress: bool = True,
) -> WeightDecayGrid:
    """Run every (η, λ) cell through ``executor``; returns (and, with ``cfg.out``, writes)
    the grid."""
    from tqdm.auto import tqdm

    start = time.perf_counter()
    rows = map_jobs(
        run_cell,
        [(c,) for c in cfg.cells()],
        executor=executor,
        max_workers=max_workers,
        gather=lambda futures: tqdm(futures, desc="η×λ grid", disable=not progress),
    )
    grid = analyse_grid(rows, cfg.steps, cfg.tolerance, cfg.lrs, cfg.to_dict())
    grid.seconds = time.perf_counter() - start
    if cfg.out is not None:
        write_grid_outputs(grid, Path(cfg.out))
    return grid


def analyse_grid(
    cells: list[dict[str, Any]],
    steps: int,
    tolerance: float,
    lrs: Sequence[float],
    config: dict[str, Any],
) -> WeightDecayGrid:
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
    return WeightDecayGrid(
        config=config,
        cells=rows,
        agreement={
            "cells": len(rows),
            "outcome_matches_prediction": agree,
            "calibrated_cells": len(judged),
            "outcome_matches_calibrated_prediction": agree_cal,
        },
        threshold_by_lr=_thresholds(rows, lrs),
    )


def load_grid(out_dir: str | Path) -> WeightDecayGrid:
    """Recompute a finished grid's predictions and thresholds from its results.json."""
    path = Path(out_dir) / RESULTS_FILE
    if not path.is_file():
        raise HomogeneityInputError(
            f"{path} does not exist; pass a folder written by homogeneity weight-decay"
        )
    old = json.loads(path.read_text())
    cfg = old["config"]
    grid = analyse_grid(old["cells"], cfg["steps"], cfg["tolerance"], cfg["lrs"], cfg)
    grid.seconds = old["seconds"]
    return grid


def reanalyse_grid(out_dir: str | Path) -> WeightDecayGrid:
    """:func:`load_grid`, then rewrite the folder's results.json and figures."""
    grid = load_grid(out_dir)
    write_grid_outputs(grid, Path(out_dir))
    return grid


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
