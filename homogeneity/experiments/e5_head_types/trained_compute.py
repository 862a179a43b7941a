"""E5 as the paper ran it: the heads of a causal LM *trained here* until it is saturated.

The paper (SPEC E5) counts, for each of the 144 heads of a saturated PTB language model
(causal, length 83), the positions it attends to (D8's proxy: keys with weight > 10⁻⁵,
averaged over queries), and finds a bimodal histogram: a mode at 1 (argmax heads) and a
mode at ≈ 41, the mean number of visible positions (mean heads; for a causal model of
length n that mean is (n + 1)/2, 42 at n = 83).

Here the LM is the small causal model of E2/E4
(:mod:`homogeneity.experiments.lm_model`), trained by the same loop as
``homogeneity train`` (:func:`~homogeneity.experiments.lm_training.train_lm`, tracked
by :class:`~homogeneity.dynamics.tracker.NormTracker`, which measures D14 during
training), on windows of :data:`~homogeneity.constants.PAPER_E5_SEQ_LEN` tokens. After
training:

1. D14 (:func:`homogeneity.saturation.saturation_level`, every parameter times ρ = 1000,
   float64) per layer (each block's output and the logits) on the evaluation windows;
   the model counts as saturated when the *smallest* layer value is at least
   ``target_saturation`` (0.95 by default).
2. The head statistics (:class:`~homogeneity.saturation.HeadStatistics`, causal visible
   keys) of every head in three regimes: the model as trained (ρ = 1: what the paper's
   count of weights above 10⁻⁵ reads from a trained model), at ρ = 1000, and in the
   exact saturated limit (hardmax attention).
3. Per regime, the heads in each mode of the histogram (:class:`HeadModes`): the argmax
   mode (at most 1.5 attended keys, :class:`~homogeneity.saturation.HeadTypeRule`), the
   mean mode (at least 90% of the visible keys attended) and those in between; the
   histogram is *bimodal as in the paper* when both modes hold at least one head.
   Because any unsaturated softmax gives every key more than 10⁻⁵, a head in the mean
   mode is a mean head in the sense of D8 (uniform weights) only if its rows are also
   close to uniform: ``uniform_mean`` counts those (total-variation distance to the
   uniform row at most 0.25).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch

from homogeneity.adapters import Batch
from homogeneity.constants import PAPER_E5_SEQ_LEN, PAPER_RHO, PROBE_SEED, SATURATED_LEVEL
from homogeneity.errors import HomogeneityInputError
from homogeneity.experiments.corpus import make_corpus, sample_batch
from homogeneity.experiments.e2_e4_e7_norm_growth.config import (
    NormGrowthConfig,
    build_model,
    lm_tracker,
)
from homogeneity.experiments.lm_model import CausalLM
from homogeneity.experiments.lm_training import train_lm
from homogeneity.saturation import HeadStats, HeadTypeRule, analyse_saturation, saturation_level

#: the regime of the model as trained, and of its exact saturated limit
AS_TRAINED, LIMIT = "as trained (ρ=1)", "limit"
#: seed of the evaluation windows on which the heads are counted
E5_WINDOW_SEED = PROBE_SEED + 1


def regimes(rho: float = PAPER_RHO) -> tuple[str, str, str]:
    """The three regimes in which the heads are counted, in report order."""
    return AS_TRAINED, f"ρ={rho:g}", LIMIT


def default_training() -> NormGrowthConfig:
    """E2/E4's run at the paper's E5 length: every default of ``homogeneity train`` but
    ``seq_len`` = 83 (no output folder, no progress bar of its own)."""
    return NormGrowthConfig(seq_len=PAPER_E5_SEQ_LEN, out=None, progress=False)


@dataclass(frozen=True)
class TrainedHeadTypesConfig:
    """One E5 run: the E2/E4 training (``training``), then the head count.

    ``eval_sequences``: windows of ``training.seq_len`` tokens from the validation stream
    on which D14 and the heads are measured; ``rho``: the finite-ρ proxy of D14 and of the
    second regime; ``target_saturation``: the D14 level (smallest over layers) from which
    the model counts as saturated; ``batch_size``: windows per forward pass of the
    analysis.
    """

    training: NormGrowthConfig = field(default_factory=default_training)
    eval_sequences: int = 64
    rho: float = PAPER_RHO
    target_saturation: float = SATURATED_LEVEL
    batch_size: int = 16

    def __post_init__(self) -> None:
        if self.training.saturation_every < 1:
            raise HomogeneityInputError(
                "training.saturation_every=0 turns D14 off during training; E5 needs it "
                "(pass a positive multiple of track_every)"
            )
        for name in ("eval_sequences", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise HomogeneityInputError(f"{name}={getattr(self, name)} must be ≥ 1")
        if not (0 < self.target_saturation <= 1):
            raise HomogeneityInputError(
                f"target_saturation={self.target_saturation} must lie in (0, 1]"
            )
        if not (self.rho > 1 and math.isfinite(self.rho)):
            raise HomogeneityInputError(f"rho={self.rho} must be a finite number > 1")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainedHeadTypesConfig:
        values = dict(data)
        values["training"] = NormGrowthConfig(**values["training"])
        return cls(**values)


@dataclass(frozen=True)
class HeadModes:
    """The heads of one regime by mode of D8's histogram (module docstring, step 3).

    ``argmax``: heads with at most ``rule.argmax_max_attended`` attended keys per query;
    ``mean``: heads attending at least ``rule.mean_min_fraction`` of their visible keys;
    ``between``: the others; ``uniform_mean``: the ``mean`` heads whose rows are also
    within ``rule.mean_max_tv`` (total variation) of uniform, i.e. D8's mean heads.
    """

    regime: str
    n_heads: int
    mean_visible: float
    argmax: int
    mean: int
    between: int
    uniform_mean: int

    @property
    def bimodal(self) -> bool:
        """Both modes of the paper's histogram are populated."""
        return self.argmax > 0 and self.mean > 0

    @property
    def verdict(self) -> str:
        if self.bimodal:
            return (
                f"bimodal: {self.argmax} argmax-mode and {self.mean} mean-mode heads "
                f"({self.uniform_mean} of them near-uniform), {self.between} between"
            )
        missing = "mean" if self.argmax else "argmax" if self.mean else "argmax nor mean"
        return (
            f"not bimodal: no head in the {missing} mode ({self.argmax} argmax-mode, "
            f"{self.mean} mean-mode, {self.between} between)"
        )


def head_modes(heads: Sequence[HeadStats], regime: str, rule: HeadTypeRule) -> HeadModes:
    """Count the heads of ``heads`` in each mode (see :class:`HeadModes`)."""
    if not heads:
        raise HomogeneityInputError(f"regime {regime!r} has no heads to count")
    argmax = [h for h in heads if h.attended <= rule.argmax_max_attended]
    mean = [
        h
        for h in heads
        if h.attended > rule.argmax_max_attended and h.attended_fraction >= rule.mean_min_fraction
    ]
    return HeadModes(
        regime,
        len(heads),
        sum(h.visible for h in heads) / len(heads),
        len(argmax),
        len(mean),
        len(heads) - len(argmax) - len(mean),
        sum(1 for h in mean if h.tv_to_uniform <= rule.mean_max_tv),
    )


@dataclass
class TrainedHeadTypes:
    """What one E5 run measured (tables in :mod:`.trained_report`, figure in
    :mod:`.trained_plots`).

    ``saturation_steps`` / ``saturation_layers``: D14 per layer on the tracker's probe
    windows during training; ``final_levels``: D14 per layer (blocks, then logits) on the
    evaluation windows after training, float64; ``reached_at``: the first tracked step at
    which the probe's smallest layer value reached the target (None if never);
    ``heads``/``modes``: per regime of :func:`regimes`; ``norms``: ‖θ‖ of every
    parameter at the start and end of training.
    """

    config: TrainedHeadTypesConfig
    corpus: str
    vocab_size: int
    n_parameters: int
    train_seconds: float
    first_loss: float
    final_loss: float
    valid: list[tuple[int, float]]
    norms: tuple[float, float]
    saturation_steps: list[int]
    saturation_layers: list[list[float | None]]
    final_levels: tuple[float, ...]
    reached_at: int | None
    n_sequences: int
    n_queries: int
    heads: dict[str, list[HeadStats]]
    modes: dict[str, HeadModes]
    attention: str = ""
    seconds: float = 0.0

    @property
    def final_level(self) -> float:
        """The smallest layer value of D14 after training (the saturation criterion)."""
        return min(self.final_levels)

    @property
    def saturated(self) -> bool:
        return self.final_level >= self.config.target_saturation

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in ("heads", "modes", "config")}
        out["config"] = self.config.to_dict()
        out["final_level"] = self.final_level
        out["saturated"] = self.saturated
        out["heads"] = {r: [asdict(h) for h in hs] for r, hs in self.heads.items()}
        out["modes"] = {
            r: {**asdict(m), "bimodal": m.bimodal, "verdict": m.verdict}
            for r, m in self.modes.items()
        }
        return out


def evaluation_windows(stream: torch.Tensor, n: int, seq_len: int) -> torch.Tensor:
    """``n`` fixed windows of ``seq_len`` tokens of ``stream`` (seed :data:`E5_WINDOW_SEED`)."""
    ids, _ = sample_batch(stream, n, seq_len, torch.Generator().manual_seed(E5_WINDOW_SEED))
    return ids


def count_heads(
    model: CausalLM,
    ids: torch.Tensor,
    *,
    rho: float = PAPER_RHO,
    batch_size: int = 16,
    rule: HeadTypeRule | None = None,
) -> tuple[dict[str, list[HeadStats]], str]:
    """Head statistics of ``model``'s encoder on ``ids`` (n, T) in the three regimes of
    :func:`regimes` (float64; the model is not modified), and how the attention was read.
    """
    batches = [Batch.from_ids(ids[i : i + batch_size]) for i in range(0, len(ids), batch_size)]
    analysis = analyse_saturation(model.encoder, batches, rho=rho, rule=rule)
    found = (analysis.heads_at_one, analysis.heads_at_rho, analysis.heads_at_limit)
    if any(h is None for h in found):
        raise HomogeneityInputError(
            f"the encoder's attention was not captured ({analysis.attention}); E5 needs it"
        )
    return {r: list(h or []) for r, h in zip(regimes(rho), found, strict=True)}, analysis.attention


def lm_saturation(model: CausalLM, ids: torch.Tensor, rho: float) -> tuple[float, ...]:
    """D14 per layer (blocks, then logits) of the LM on ``ids``, float64, all parameters
    scaled, as E4 measures it."""
    was_training = model.training
    model.eval()
    try:
        level = saturation_level(
            model, ids, rho=rho, kwargs={"layers": True}, output=lambda out: out
        )
    finally:
        model.train(was_training)
    return tuple(level.layers)


def run_trained_head_types(cfg: TrainedHeadTypesConfig) -> tuple[TrainedHeadTypes, CausalLM]:
    """Train the LM of ``cfg.training`` and count its heads; returns the result and the
    trained model. Torch's intra-op threads are set to ``cfg.training.threads`` for the
    run and restored afterwards."""
    previous = torch.get_num_threads()
    if cfg.training.threads is not None:
        torch.set_num_threads(cfg.training.threads)
    try:
        return _run(cfg)
    finally:
        torch.set_num_threads(previous)


def _run(cfg: TrainedHeadTypesConfig) -> tuple[TrainedHeadTypes, CausalLM]:
    start = time.perf_counter()
    t = cfg.training
    corpus = make_corpus(t.corpus, n_tokens=t.corpus_tokens, seed=t.seed, text_file=t.text_file)
    model = build_model(t, corpus.vocab_size)
    tracker = lm_tracker(model, t, corpus.valid)  # saturation_every ≥ 1: D14 is on
    try:
        train = train_lm(model, corpus, t.train_config(), tracker=tracker, progress=t.progress)
        tracker.record_state()
    finally:
        tracker.close()
    records = tracker.records
    tracked = [(int(r["step"]), r["saturation"]) for r in records if r.get("saturation")]
    steps = [s for s, _ in tracked]
    layers = [list(s.get("layers") or []) for _, s in tracked]
    reached = next(
        (
            s
            for s, ls in zip(steps, layers, strict=True)
            if ls and None not in ls and min(ls) >= cfg.target_saturation
        ),
        None,
    )
    norms = [r["groups"]["all"]["norm"] for r in records]
    model.eval()
    ids = evaluation_windows(corpus.valid, cfg.eval_sequences, t.seq_len)
    final_levels = lm_saturation(model, ids, cfg.rho)
    heads, attention = count_heads(model, ids, rho=cfg.rho, batch_size=cfg.batch_size)
    rule = HeadTypeRule()
    result = TrainedHeadTypes(
        config=cfg,
        corpus=corpus.description,
        vocab_size=corpus.vocab_size,
        n_parameters=sum(p.numel() for p in model.parameters()),
        train_seconds=train.seconds,
        first_loss=train.losses[0],
        final_loss=train.losses[-1],
        valid=[(int(s), float(v)) for s, v in train.valid],
        norms=(float(norms[0]), float(norms[-1])),
        saturation_steps=steps,
        saturation_layers=layers,
        final_levels=final_levels,
        reached_at=reached,
        n_sequences=int(ids.shape[0]),
        n_queries=int(ids.numel()),
        heads=heads,
        modes={r: head_modes(h, r, rule) for r, h in heads.items()},
        attention=attention,
    )
    result.seconds = time.perf_counter() - start
    return result, model


def with_training(cfg: TrainedHeadTypesConfig, **changes: Any) -> TrainedHeadTypesConfig:
    """``cfg`` with fields of its training configuration replaced."""
    return replace(cfg, training=replace(cfg.training, **changes))


__all__ = [
    "E5_WINDOW_SEED",
    "AS_TRAINED",
    "LIMIT",
    "HeadModes",
    "TrainedHeadTypes",
    "TrainedHeadTypesConfig",
    "count_heads",
    "default_training",
    "evaluation_windows",
    "head_modes",
    "lm_saturation",
    "regimes",
    "run_trained_head_types",
    "with_training",
]
