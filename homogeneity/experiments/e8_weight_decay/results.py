"""What the E8 grid produced: :class:`WeightDecayGrid` (its dict is ``results.json``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

EXPERIMENT = "weight_decay_grid (E8)"
RESULTS_FILE = "results.json"


@dataclass
class WeightDecayGrid:
    """The grid's cells (measured and predicted), the agreement and the thresholds.

    :meth:`to_dict` is ``results.json``; ``plots`` the figures written (None: none)."""

    config: dict[str, Any]
    cells: list[dict[str, Any]]
    agreement: dict[str, int]
    threshold_by_lr: dict[str, dict[str, Any]]
    seconds: float | None = None
    plots: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "experiment": EXPERIMENT,
            "config": self.config,
            "cells": self.cells,
            "agreement": self.agreement,
            "threshold_by_lr": self.threshold_by_lr,
        }
        if self.seconds is not None:
            out["seconds"] = self.seconds
        if self.plots is not None:
            out["plots"] = self.plots
        return out
