"""Training loop for the small LM: optimizer, learning-rate schedule, evaluation.

Deterministic given the seed: batches come from a private ``torch.Generator``, the model
is initialised from another, and nothing reads the global RNG. The optional
:class:`~homogeneity.dynamics.tracker.NormTracker` is attached to the optimizer as hooks.

Optimizers: ``adamw`` (torch AdamW; the paper's E2/E8), ``adafactor`` (torch Adafactor:
relative step ρ_t = min(lr, 1/√t) times RMS(θ), T5's optimizer; ``lr`` caps ρ_t) and
``sgd`` (with momentum). Schedules: ``constant`` and ``inverse-sqrt``
(η_t = lr·min(1, √(warmup/(t+1)))), both with optional linear warmup.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from homogeneity.constants import EVAL_SEED
from homogeneity.dynamics.tracker import NormTracker
from homogeneity.errors import HomogeneityInputError
from homogeneity.experiments.corpus import Corpus, sample_batch
from homogeneity.experiments.lm_model import lm_loss

OPTIMIZERS = ("adamw", "adafactor", "sgd")
SCHEDULES = ("constant", "inverse-sqrt")
DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 2000
    batch_size: int = 16
    seq_len: int = 32
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 0.01
    beta1: float = 0.9
    beta2: float = 0.999
    momentum: float = 0.9
    schedule: str = "constant"
    warmup: int = 0
    seed: int = 0
    dtype: str = "float32"
    eval_every: int = 250
    eval_batches: int = 4

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "seq_len", "eval_every", "eval_batches"):
            if int(getattr(self, name)) < 1:
                raise HomogeneityInputError(f"{name}={getattr(self, name)} must be ≥ 1")
        if self.optimizer not in OPTIMIZERS:
            raise HomogeneityInputError(
                f"optimizer={self.optimizer!r} is unknown; pick one of {OPTIMIZERS}"
            )
        if self.schedule not in SCHEDULES:
            raise HomogeneityInputError(
                f"schedule={self.schedule!r} is unknown; pick one of {SCHEDULES}"
            )
        if self.dtype not in DTYPES:
            raise HomogeneityInputError(f"dtype={self.dtype!r} must be one of {sorted(DTYPES)}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise HomogeneityInputError(f"lr={self.lr} must be a finite number > 0")
        if not (self.weight_decay >= 0 and math.isfinite(self.weight_decay)):
            raise HomogeneityInputError(f"weight_decay={self.weight_decay} must be ≥ 0")
        if self.warmup < 0:
            raise HomogeneityInputError(f"warmup={self.warmup} must be ≥ 0")

    def to_dict(self) -> dict:
        return asdict(self)


def lr_factor(cfg: TrainConfig, step: int) -> float:
    """Multiplier of ``cfg.lr`` at step t (0-based)."""
    warm = min(1.0, (step + 1) / cfg.warmup) if cfg.warmup else 1.0
    if cfg.schedule == "inverse-sqrt":
        return warm * min(1.0, math.sqrt(max(cfg.warmup, 1) / (step + 1)))
    return warm


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    params = list(model.parameters())
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(
            params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), weight_decay=cfg.weight_decay
        )
    if cfg.optimizer == "adafactor":
        return torch.optim.Adafactor(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def effective_lrs(cfg: TrainConfig) -> list[float]:
    """η_t actually applied at every step: the schedule for AdamW/SGD; for Adafactor the
    relative step ρ_t = min(lr, 1/√t) (torch counts steps from 1)."""
    if cfg.optimizer == "adafactor":
        return [min(cfg.lr * lr_factor(cfg, t), 1 / math.sqrt(t + 1)) for t in range(cfg.steps)]
    return [cfg.lr * lr_factor(cfg, t) for t in range(cfg.steps)]


@dataclass
class TrainResult:
    """Per-step training loss, periodic validation loss and wall-clock seconds."""

    losses: list[float]
    valid: list[tuple[int, float]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "losses": self.losses,
            "valid": [list(v) for v in self.valid],
            "seconds": self.seconds,
        }


@torch.no_grad()
def evaluate(model: nn.Module, corpus: Corpus, cfg: TrainConfig) -> float:
    """Mean validation loss on ``eval_batches`` fixed windows (own generator, seeded with
    :data:`~homogeneity.constants.EVAL_SEED`)."""
    gen = torch.Generator().manual_seed(EVAL_SEED)
    was_training = model.training
    model.eval()
    total = 0.0
    for _ in range(cfg.eval_batches):
        x, y = sample_batch(corpus.valid, cfg.batch_size, cfg.seq_len, gen)
        total += float(lm_loss(model(x), y))
    model.train(was_training)
    return total / cfg.eval_batches


def train_lm(
    model: nn.Module,
    corpus: Corpus,
    cfg: TrainConfig,
    *,
    tracker: NormTracker | None = None,
    progress: bool = True,
    desc: str = "train",
    position: int = 0,
) -> TrainResult:
    """Train ``model`` in place for ``cfg.steps`` steps; returns losses and time."""
    from tqdm.auto import tqdm

    optimizer = make_optimizer(model, cfg)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: lr_factor(cfg, t))
    if tracker is not None:
        tracker.attach(optimizer)
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    result = TrainResult([])
    start = time.perf_counter()
    model.train()
    bar = tqdm(
        range(cfg.steps),
        desc=desc,
        disable=not progress,
        position=position,
        leave=True,
        mininterval=1.0,
    )
    try:
        for step in bar:
            x, y = sample_batch(corpus.train, cfg.batch_size, cfg.seq_len, gen)
            loss = lm_loss(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            result.losses.append(float(loss.detach()))
            if not math.isfinite(result.losses[-1]):
                raise FloatingPointError(
                    f"the training loss became {result.losses[-1]} at step {step}; lower lr"
                )
            if (step + 1) % cfg.eval_every == 0 or step + 1 == cfg.steps:
                result.valid.append((step + 1, evaluate(model, corpus, cfg)))
                bar.set_postfix(loss=f"{result.losses[-1]:.3f}", valid=f"{result.valid[-1][1]:.3f}")
    finally:
        bar.close()
        if tracker is not None:
            tracker.detach()
    result.seconds = time.perf_counter() - start
    return result
