"""Training the small LM and analysing its log: E2 (norm growth), E4 (saturation), E7
(alignment), A1.

:func:`run_norm_growth` trains one :class:`~homogeneity.experiments.lm_model.CausalLM`
on the generated corpus (or a text file), tracks every parameter group with
:class:`~homogeneity.dynamics.tracker.NormTracker` and returns a
:class:`~.results.NormGrowthRun`. With ``cfg.out`` set it writes into that folder, in
this order: ``config.json`` (before training), ``dynamics.jsonl`` (one record per line as
they come, so an interrupted run leaves a valid log), then ``results.json`` and the
figures (:func:`~.report.write_outputs`).

:func:`run_placements` runs several placements through :func:`homogeneity.experiments.pool.map_jobs`
(a process pool that Ctrl-C stops, or any ``concurrent.futures.Executor``).
:func:`load_run` re-analyses a run folder from its log, finished or interrupted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from homogeneity.components.residual import PLACEMENTS
from homogeneity.dynamics.tracker import read_records
from homogeneity.errors import HomogeneityInputError
from homogeneity.experiments.corpus import make_corpus
from homogeneity.experiments.e2_e4_e7_norm_growth import report
from homogeneity.experiments.e2_e4_e7_norm_growth.analysis import (
    a1_summary,
    alignment_summary,
    growth_summary,
    norm_curve,
    saturation_summary,
)
from homogeneity.experiments.e2_e4_e7_norm_growth.config import (
    CONFIG_FILE,
    LOG_FILE,
    MAIN_GROUP,
    RESULTS_FILE,
    NormGrowthConfig,
    build_model,
    lm_tracker,
)
from homogeneity.experiments.e2_e4_e7_norm_growth.results import (
    NormGrowthAnalysis,
    NormGrowthRun,
    TrainingInfo,
)
from homogeneity.experiments.lm_model import CausalLM, parameter_groups
from homogeneity.experiments.lm_training import effective_lrs, train_lm
from homogeneity.experiments.pool import map_jobs


def run_norm_growth(cfg: NormGrowthConfig, *, position: int = 0) -> NormGrowthRun:
    """Train one LM, track it, analyse the log; returns (and, with ``cfg.out``, writes)
    the run.

    ``cfg.threads`` sets torch's intra-op threads for the run (1 by default: this model is
    too small to gain from more, and on a shared CPU extra threads slow it down many
    times); the previous setting is restored afterwards. None leaves it alone.
    """
    previous_threads = torch.get_num_threads()
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    try:
        return _run(cfg, position)
    finally:
        torch.set_num_threads(previous_threads)


def _run(cfg: NormGrowthConfig, position: int) -> NormGrowthRun:
    start = time.perf_counter()
    corpus = make_corpus(
        cfg.corpus, n_tokens=cfg.corpus_tokens, seed=cfg.seed, text_file=cfg.text_file
    )
    model = build_model(cfg, corpus.vocab_size)
    initial_rms = initial_group_rms(model)
    out_dir = None if cfg.out is None else Path(cfg.out)
    log_path = None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / CONFIG_FILE).write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
        log_path = out_dir / LOG_FILE
        if log_path.exists():
            log_path.unlink()  # a fresh run owns its log
    tracker = lm_tracker(model, cfg, corpus.valid, path=log_path)
    try:
        train = train_lm(
            model,
            corpus,
            cfg.train_config(),
            tracker=tracker,
            progress=cfg.progress,
            desc=cfg.label,
            position=position,
        )
        tracker.record_state()
    finally:
        tracker.close()  # also on Ctrl-C: every record written so far is a whole line
    training = TrainingInfo(
        corpus=corpus.description,
        vocab_size=corpus.vocab_size,
        n_parameters=sum(p.numel() for p in model.parameters()),
        train_seconds=train.seconds,
        first_loss=train.losses[0],
        final_loss=train.losses[-1],
        valid=train.valid,
        initial_rms=initial_rms,
    )
    run = NormGrowthRun(cfg, training, analyse(tracker.records, cfg), None, records=tracker.records)
    run.seconds = time.perf_counter() - start
    if out_dir is not None:
        report.write_outputs(run, out_dir)
    return run


def analyse(records: list[dict[str, Any]], cfg: NormGrowthConfig) -> NormGrowthAnalysis:
    """E2, E4, E7 and A1 figures from a tracker log (see :mod:`.analysis`)."""
    lrs = effective_lrs(cfg.train_config())
    return NormGrowthAnalysis(
        norm=growth_summary(records, MAIN_GROUP, lrs),
        norm_all=growth_summary(records, "all", lrs),
        alignment=alignment_summary(records, MAIN_GROUP),
        alignment_all=alignment_summary(records, "all"),
        a1=a1_summary(records, MAIN_GROUP, lrs),
        saturation=saturation_summary(records),
        block_norm_ratios={
            g: _ratio(records, g) for g in records[0]["groups"] if g.startswith("layer.")
        },
        curves={
            g: dict(
                zip(("steps", "norms"), (c.tolist() for c in norm_curve(records, g)), strict=True)
            )
            for g in (MAIN_GROUP, "all")
        },
    )


def load_run(out_dir: str | Path) -> NormGrowthRun:
    """Re-analyse a run folder from its ``dynamics.jsonl`` (no training).

    A finished run keeps its measured times and losses (from ``results.json``). A run
    interrupted before it finished has only ``config.json`` and its log: it is analysed
    from the records written so far, its training facts that do not depend on training
    are rebuilt from the configuration (corpus, sizes, initial norms), and it is marked
    ``partial``."""
    out = Path(out_dir)
    if not out.is_dir():
        raise HomogeneityInputError(f"{out} is not a run folder (written by homogeneity train)")
    log = out / LOG_FILE
    if not log.is_file():
        raise HomogeneityInputError(f"{out} has no {LOG_FILE}: nothing was recorded there")
    records = read_records(log)
    results_path, config_path = out / RESULTS_FILE, out / CONFIG_FILE
    if results_path.is_file() and not json.loads(results_path.read_text()).get("partial"):
        old = json.loads(results_path.read_text())
        cfg = NormGrowthConfig(**old["config"])
        training = TrainingInfo.from_dict(old)
        return NormGrowthRun(cfg, training, analyse(records, cfg), old["seconds"], records)
    if not config_path.is_file():
        raise HomogeneityInputError(
            f"{out} has neither {RESULTS_FILE} nor {CONFIG_FILE}; it was not written by "
            f"homogeneity train"
        )
    cfg = NormGrowthConfig(**json.loads(config_path.read_text()))
    corpus = make_corpus(
        cfg.corpus, n_tokens=cfg.corpus_tokens, seed=cfg.seed, text_file=cfg.text_file
    )
    model = build_model(cfg, corpus.vocab_size)
    training = TrainingInfo(
        corpus=corpus.description,
        vocab_size=corpus.vocab_size,
        n_parameters=sum(p.numel() for p in model.parameters()),
        train_seconds=None,
        first_loss=None,
        final_loss=None,
        valid=None,
        initial_rms=initial_group_rms(model),
    )
    return NormGrowthRun(cfg, training, analyse(records, cfg), None, records, partial=True)


def reanalyse(out_dir: str | Path) -> NormGrowthRun:
    """:func:`load_run`, then rewrite the folder's ``results.json`` and figures."""
    run = load_run(out_dir)
    report.write_outputs(run, Path(out_dir))
    return run


def _ratio(records: list[dict[str, Any]], group: str) -> float:
    _, norms = norm_curve(records, group)
    return float(norms[-1] / norms[0])


def initial_group_rms(model: CausalLM) -> dict[str, float]:
    """RMS of the coordinates of the main group and of all parameters, at initialisation."""
    from homogeneity.dynamics.groups import resolve_groups

    params = dict(model.named_parameters())
    sizes = {}
    for g, names in resolve_groups(list(params), parameter_groups(model)).items():
        sizes[g] = (
            sum(params[n].numel() for n in names),
            float(sum(float((params[n].detach().double() ** 2).sum()) for n in names)),
        )
    return {g: (sizes[g][1] / sizes[g][0]) ** 0.5 for g in (MAIN_GROUP, "all")}


def _placement_run(cfg: NormGrowthConfig, position: int) -> NormGrowthRun:
    run = run_norm_growth(cfg, position=position)
    run.records = []  # in dynamics.jsonl: not sent back through the pool
    return run


def run_placements(
    base: NormGrowthConfig,
    placements: Sequence[str] = PLACEMENTS,
    *,
    executor: Executor | None = None,
    max_workers: int | None = None,
) -> list[NormGrowthRun]:
    """One run per placement through ``executor`` (a process pool that Ctrl-C stops if
    None); each writes to ``<base.out>/<placement>``, and a comparison goes to
    ``<base.out>`` (``summary.json``, ``placements.png``)."""
    configs = [
        replace(base, placement=p, out=None if base.out is None else str(Path(base.out) / p))
        for p in placements
    ]
    runs = map_jobs(
        _placement_run,
        [(c, i) for i, c in enumerate(configs)],
        executor=executor,
        max_workers=max_workers,
    )
    if base.out is not None:
        for run in runs:
            run.records = read_records(Path(str(run.config.out)) / LOG_FILE)
        if len(runs) > 1:
            report.write_comparison(runs, Path(base.out))
    return runs
