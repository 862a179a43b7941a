"""What one run of the E2/E4/E7 experiment is: the model, corpus, optimizer and tracking.

The files a run writes into its folder are named here so the compute, report and command
modules agree on them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from homogeneity.components.residual import PLACEMENTS
from homogeneity.constants import PROBE_SEED
from homogeneity.dynamics.tracker import NormTracker
from homogeneity.errors import HomogeneityInputError
from homogeneity.experiments.corpus import sample_batch
from homogeneity.experiments.lm_model import CausalLM, LMConfig, parameter_groups
from homogeneity.experiments.lm_training import DTYPES, TrainConfig

#: the group whose norm E2 reports: the encoder's parameters without the embeddings
MAIN_GROUP = "encoder-no-emb"
#: the run's configuration, written before training (a partial run can be re-analysed)
CONFIG_FILE = "config.json"
#: the tracker's records, one JSON object per line, written as they come
LOG_FILE = "dynamics.jsonl"
#: the analysed results of a run
RESULTS_FILE = "results.json"


@dataclass(frozen=True)
class NormGrowthConfig:
    """Everything one run needs (model, corpus, optimizer, tracking, output)."""

    placement: str = "paper-prenorm"
    corpus: str = "pcfg"
    text_file: str | None = None
    corpus_tokens: int = 200_000
    d_model: int = 64
    n_heads: int = 4
    d_ff: int = 128
    n_layers: int = 2
    norm: str = "layernorm"
    bias: bool = True
    steps: int = 3000
    batch_size: int = 16
    seq_len: int = 32
    optimizer: str = "adamw"
    lr: float = 3e-3
    weight_decay: float = 0.01
    schedule: str = "constant"
    warmup: int = 0
    seed: int = 0
    dtype: str = "float32"
    track_every: int = 5
    dense_until: int = 100
    saturation_every: int = 100
    probe_sequences: int = 8
    out: str | None = "runs/norm_growth"
    progress: bool = True
    threads: int | None = 1

    def __post_init__(self) -> None:
        if self.placement not in PLACEMENTS:
            raise HomogeneityInputError(
                f"placement={self.placement!r} is unknown; pick one of {PLACEMENTS}"
            )
        if (
            self.track_every < 1
            or self.saturation_every < 0
            or (self.saturation_every % self.track_every)
        ):
            raise HomogeneityInputError(
                f"track_every={self.track_every} must be ≥ 1 and divide saturation_every="
                f"{self.saturation_every} (0 turns the saturation level off)"
            )
        if self.probe_sequences < 1:
            raise HomogeneityInputError("probe_sequences must be ≥ 1")

    @property
    def label(self) -> str:
        return f"{self.placement}/{self.optimizer}"

    def train_config(self) -> TrainConfig:
        return TrainConfig(
            steps=self.steps,
            batch_size=self.batch_size,
            seq_len=self.seq_len,
            optimizer=self.optimizer,
            lr=self.lr,
            weight_decay=self.weight_decay,
            schedule=self.schedule,
            warmup=self.warmup,
            seed=self.seed,
            dtype=self.dtype,
            eval_every=max(1, self.steps // 8),
        )

    def to_dict(self) -> dict:
        return asdict(self)


def build_model(cfg: NormGrowthConfig, vocab_size: int) -> CausalLM:
    """The causal LM of ``cfg``, initialised from its seed."""
    lm = LMConfig(
        vocab_size=vocab_size,
        d_model=cfg.d_model,
        n_heads=cfg.n_heads,
        d_ff=cfg.d_ff,
        n_layers=cfg.n_layers,
        max_len=cfg.seq_len,
        placement=cfg.placement,
        norm=cfg.norm,
        bias=cfg.bias,
    )
    return CausalLM(lm, dtype=DTYPES[cfg.dtype], generator=torch.Generator().manual_seed(cfg.seed))


def lm_tracker(
    model: CausalLM, cfg: NormGrowthConfig, valid: torch.Tensor, *, path: Path | None = None
) -> NormTracker:
    """The tracker of a run: ‖θ‖ of every parameter group (:func:`parameter_groups`) every
    ``cfg.track_every`` steps (every step until ``cfg.dense_until``), appended to ``path``
    as it comes when one is given, and D14 per layer every ``cfg.saturation_every`` steps
    (0: never) on ``cfg.probe_sequences`` windows of ``cfg.seq_len`` tokens of the
    validation stream ``valid``, drawn with :data:`~homogeneity.constants.PROBE_SEED`."""
    probe, _ = sample_batch(
        valid, cfg.probe_sequences, cfg.seq_len, torch.Generator().manual_seed(PROBE_SEED)
    )
    return NormTracker(
        model,
        groups=parameter_groups(model),
        every=cfg.track_every,
        dense_until=cfg.dense_until,
        path=path,
        saturation_inputs=probe if cfg.saturation_every else None,
        saturation_every=cfg.saturation_every or cfg.track_every,
        saturation_kwargs={"layers": True},
        saturation_output=lambda out: out,
    )
