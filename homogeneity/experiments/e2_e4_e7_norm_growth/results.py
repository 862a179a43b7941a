"""What a run of E2/E4/E7 produced: training facts, the analysis of its log, its time.

:class:`NormGrowthRun` is what :func:`~.compute.run_norm_growth` returns; its
:meth:`~NormGrowthRun.to_dict` is the run's ``results.json``. A run stopped by Ctrl-C
and re-analysed from its log has ``partial=True`` and None for what only the end of
training knows (losses, times).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from homogeneity.experiments.e2_e4_e7_norm_growth.config import NormGrowthConfig

EXPERIMENT = "norm_growth (E2, E4, E7)"


@dataclass(frozen=True)
class TrainingInfo:
    """Facts of the training run (None where a partial run cannot know them)."""

    corpus: str
    vocab_size: int
    n_parameters: int
    train_seconds: float | None
    first_loss: float | None
    final_loss: float | None
    valid: Any
    initial_rms: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingInfo:
        values: dict[str, Any] = {f.name: data.get(f.name) for f in fields(cls)}
        return cls(**values)


@dataclass(frozen=True)
class NormGrowthAnalysis:
    """E2, E4, E7 and A1 figures of one tracker log (see :mod:`.analysis`)."""

    norm: dict[str, Any]
    norm_all: dict[str, Any]
    alignment: dict[str, Any]
    alignment_all: dict[str, Any]
    a1: dict[str, Any]
    saturation: dict[str, Any] | None
    block_norm_ratios: dict[str, float]
    curves: dict[str, dict[str, list[float]]]

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class NormGrowthRun:
    """One trained (or partly trained) and analysed run.

    ``records`` are the tracker's records (not part of ``results.json``: they are in
    ``dynamics.jsonl``); ``plots`` the figures written, None when nothing was written.
    """

    config: NormGrowthConfig
    training: TrainingInfo
    analysis: NormGrowthAnalysis
    seconds: float | None
    records: list[dict[str, Any]] = field(default_factory=list, repr=False, compare=False)
    plots: list[str] | None = None
    partial: bool = False

    @property
    def label(self) -> str:
        return self.config.label

    @property
    def title(self) -> str:
        c = self.config
        return (
            f"{self.label}, d={c.d_model}, L={c.n_layers}, {c.norm}, "
            f"bias={c.bias}, lr={c.lr:g}, wd={c.weight_decay:g}, seed={c.seed}"
        )

    @property
    def last_step(self) -> int | None:
        steps = [int(r["step"]) for r in self.records if "step" in r]
        return max(steps) if steps else None

    def to_dict(self) -> dict[str, Any]:
        """The content of ``results.json`` (keys in the order it has always had)."""
        out: dict[str, Any] = {
            "experiment": EXPERIMENT,
            "label": self.label,
            "title": self.title,
            "config": self.config.to_dict(),
            **self.training.to_dict(),
            **self.analysis.to_dict(),
            "seconds": self.seconds,
        }
        if self.partial:
            out["partial"] = True
            out["last_step"] = self.last_step
        if self.plots is not None:
            out["plots"] = self.plots
        return out
