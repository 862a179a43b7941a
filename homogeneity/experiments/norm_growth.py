"""E2, E4, E7 scaled down: train the small LM and watch its norm, alignment, saturation.

One command per run (three placements by default, in parallel processes)::

    python -m homogeneity.experiments.norm_growth --steps 3000 --seed 0 --out runs/norm_growth

For each placement it trains :class:`~homogeneity.experiments.lm_model.CausalLM` on the
generated corpus (or ``--corpus text --text-file F``), tracks every parameter group with
:class:`~homogeneity.dynamics.tracker.NormTracker`, and writes into ``<out>/<placement>/``:

``dynamics.jsonl``  the tracker records, one per line as they come;
``results.json``    config, losses, fitted growth law with R², alignment, step size,
                    saturation, A1 slope, running time;
``norm.png``, ``alignment.png``, ``saturation.png``.

With several placements, ``<out>/summary.json`` and ``<out>/placements.png`` compare
them. Runs go through a ``concurrent.futures.Executor`` (a process pool by default), so a
Dask or Ray executor can be passed to :func:`run_placements` instead.

Library use: ``run_norm_growth(NormGrowthConfig(...)) -> dict`` and ``main(argv)``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from homogeneity.components.residual import PLACEMENTS
from homogeneity.constants import PROBE_SEED
from homogeneity.dynamics.tracker import NormTracker, read_records
from homogeneity.errors import HomogeneityInputError
from homogeneity.experiments.corpus import CORPORA, make_corpus, sample_batch
from homogeneity.experiments.lm_model import CausalLM, LMConfig, parameter_groups
from homogeneity.experiments.lm_training import (
    DTYPES,
    OPTIMIZERS,
    SCHEDULES,
    TrainConfig,
    effective_lrs,
    train_lm,
)
from homogeneity.experiments.norm_growth_analysis import (
    a1_summary,
    alignment_summary,
    growth_summary,
    norm_curve,
    saturation_summary,
)

MAIN_GROUP = "encoder-no-emb"


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


def run_norm_growth(cfg: NormGrowthConfig, *, position: int = 0) -> dict[str, Any]:
    """Train one LM, track it, analyse the log; returns (and writes) the results dict.

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


def _run(cfg: NormGrowthConfig, position: int) -> dict[str, Any]:
    start = time.perf_counter()
    corpus = make_corpus(
        cfg.corpus, n_tokens=cfg.corpus_tokens, seed=cfg.seed, text_file=cfg.text_file
    )
    model = build_model(cfg, corpus.vocab_size)
    model_initial = _group_sizes(model)
    train_cfg = cfg.train_config()
    probe, _ = sample_batch(
        corpus.valid, cfg.probe_sequences, cfg.seq_len, torch.Generator().manual_seed(PROBE_SEED)
    )
    out_dir = None if cfg.out is None else Path(cfg.out)
    log_path = None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        log_path = out_dir / "dynamics.jsonl"
        if log_path.exists():
            log_path.unlink()  # a fresh run owns its log
    tracker = NormTracker(
        model,
        groups=parameter_groups(model),
        every=cfg.track_every,
        dense_until=cfg.dense_until,
        path=log_path,
        saturation_inputs=probe if cfg.saturation_every else None,
        saturation_every=cfg.saturation_every or cfg.track_every,
        saturation_kwargs={"layers": True},
        saturation_output=lambda out: out,
    )
    label = f"{cfg.placement}/{cfg.optimizer}"
    try:
        train = train_lm(
            model,
            corpus,
            train_cfg,
            tracker=tracker,
            progress=cfg.progress,
            desc=label,
            position=position,
        )
        tracker.record_state()
    finally:
        tracker.close()
    run_info = {
        "corpus": corpus.description,
        "vocab_size": corpus.vocab_size,
        "n_parameters": sum(p.numel() for p in model.parameters()),
        "train_seconds": train.seconds,
        "first_loss": train.losses[0],
        "final_loss": train.losses[-1],
        "valid": train.valid,
        "initial_rms": {g: _rms(model_initial, g) for g in (MAIN_GROUP, "all")},
    }
    results = analyse(tracker.records, cfg, run_info)
    results["seconds"] = time.perf_counter() - start
    if out_dir is not None:
        write_outputs(tracker.records, results, out_dir)
    return results


def analyse(
    records: list[dict[str, Any]], cfg: NormGrowthConfig, run_info: dict[str, Any]
) -> dict[str, Any]:
    """E2, E4, E7 and A1 figures from a tracker log (see norm_growth_analysis)."""
    lrs = effective_lrs(cfg.train_config())
    label = f"{cfg.placement}/{cfg.optimizer}"
    return {
        "experiment": "norm_growth (E2, E4, E7)",
        "label": label,
        "title": (
            f"{label}, d={cfg.d_model}, L={cfg.n_layers}, {cfg.norm}, "
            f"bias={cfg.bias}, lr={cfg.lr:g}, wd={cfg.weight_decay:g}, seed={cfg.seed}"
        ),
        "config": cfg.to_dict(),
        **run_info,
        "norm": growth_summary(records, MAIN_GROUP, lrs),
        "norm_all": growth_summary(records, "all", lrs),
        "alignment": alignment_summary(records, MAIN_GROUP),
        "alignment_all": alignment_summary(records, "all"),
        "a1": a1_summary(records, MAIN_GROUP, lrs),
        "saturation": saturation_summary(records),
        "block_norm_ratios": {
            g: _ratio(records, g) for g in records[0]["groups"] if g.startswith("layer.")
        },
        "curves": {
            g: dict(
                zip(("steps", "norms"), (c.tolist() for c in norm_curve(records, g)), strict=True)
            )
            for g in (MAIN_GROUP, "all")
        },
    }


def write_outputs(records: list[dict[str, Any]], results: dict[str, Any], out_dir: Path) -> None:
    """results.json and the three PNGs into ``out_dir``."""
    from homogeneity.experiments.norm_growth_plots import (
        plot_alignment,
        plot_norm,
        plot_saturation,
    )

    results["plots"] = [
        str(p)
        for p in (
            plot_norm(records, results, out_dir / "norm.png"),
            plot_alignment(records, results, out_dir / "alignment.png"),
            plot_saturation(results, out_dir / "saturation.png"),
        )
        if p is not None
    ]
    (out_dir / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")


def reanalyse(out_dir: str | Path) -> dict[str, Any]:
    """Recompute results.json and the plots of a finished run from its dynamics.jsonl
    (no training). Keeps the run's measured times and losses."""
    out = Path(out_dir)
    old = json.loads((out / "results.json").read_text())
    cfg = NormGrowthConfig(**old["config"])
    keys = (
        "corpus",
        "vocab_size",
        "n_parameters",
        "train_seconds",
        "first_loss",
        "final_loss",
        "valid",
        "initial_rms",
    )
    records = read_records(out / "dynamics.jsonl")
    results = analyse(records, cfg, {k: old[k] for k in keys})
    results["seconds"] = old["seconds"]
    write_outputs(records, results, out)
    return results


def _ratio(records: list[dict[str, Any]], group: str) -> float:
    _, norms = norm_curve(records, group)
    return float(norms[-1] / norms[0])


def _group_sizes(model: CausalLM) -> dict[str, tuple[int, float]]:
    """(number of coordinates, ‖θ‖²) per tracked group at initialisation."""
    from homogeneity.dynamics.groups import resolve_groups

    params = dict(model.named_parameters())
    out = {}
    for g, names in resolve_groups(list(params), parameter_groups(model)).items():
        out[g] = (
            sum(params[n].numel() for n in names),
            float(sum(float((params[n].detach().double() ** 2).sum()) for n in names)),
        )
    return out


def _rms(sizes: dict[str, tuple[int, float]], group: str) -> float:
    n, sq = sizes[group]
    return (sq / n) ** 0.5


def _worker(cfg: NormGrowthConfig, position: int) -> dict[str, Any]:
    return run_norm_growth(cfg, position=position)


def run_placements(
    base: NormGrowthConfig,
    placements: Sequence[str] = PLACEMENTS,
    *,
    executor: Executor | None = None,
    max_workers: int | None = None,
) -> list[dict[str, Any]]:
    """One run per placement through ``executor`` (a process pool if None); each writes to
    ``<base.out>/<placement>``, and a comparison goes to ``<base.out>``."""
    configs = [
        replace(base, placement=p, out=None if base.out is None else str(Path(base.out) / p))
        for p in placements
    ]
    own = executor is None
    if own:
        workers = max_workers or min(len(configs), max(1, (os.cpu_count() or 1)))
        executor = ProcessPoolExecutor(max_workers=workers)
    try:
        futures = [executor.submit(_worker, c, i) for i, c in enumerate(configs)]
        results = [f.result() for f in futures]
    finally:
        if own:
            executor.shutdown()
    if base.out is not None and len(results) > 1:
        from homogeneity.experiments.norm_growth_plots import plot_placements

        out = Path(base.out)
        records = [read_records(Path(c.out) / "dynamics.jsonl") for c in configs]
        plot_placements(results, records, out / "placements.png")
        (out / "summary.json").write_text(
            json.dumps([summary_row(r) for r in results], indent=2) + "\n"
        )
    return results


def summary_row(res: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers of one run."""
    law, al, sat = res["norm"]["law"], res["alignment"], res["saturation"] or {}
    offset, affine = law["power"].get("offset"), law["power"].get("affine")
    best = next(f for f in law["fits"] if f["name"] == law["best"])
    sqrt_fit = next((f for f in law["fits"] if f["name"] == "sqrt(t)"), None)
    return {
        "run": res["label"],
        "norm_initial": res["norm"]["initial"],
        "norm_final": res["norm"]["final"],
        "norm_ratio": res["norm"]["ratio"],
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
        "a1_slope": res["a1"]["slope"],
        "final_loss": res["final_loss"],
        "seconds": res["seconds"],
    }


def format_summary(rows: Sequence[dict[str, Any]]) -> str:
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
        lines += [
            f"== {r['run']}  ({r['seconds']:.0f} s, final loss {r['final_loss']:.3f})",
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


def build_parser() -> argparse.ArgumentParser:
    d = NormGrowthConfig()
    p = argparse.ArgumentParser(
        prog="python -m homogeneity.experiments.norm_growth",
        description="Train the small LM and measure norm growth (E2), saturation (E4) and "
        "alignment (E7).",
    )
    p.add_argument(
        "--placement",
        default="all",
        choices=PLACEMENTS + ("all",),
        help="residual placement (default: all three, in parallel processes)",
    )
    p.add_argument("--corpus", default=d.corpus, choices=CORPORA)
    p.add_argument("--text-file", default=None, help="UTF-8 text file for --corpus text")
    p.add_argument("--corpus-tokens", type=int, default=d.corpus_tokens)
    p.add_argument("--d-model", type=int, default=d.d_model)
    p.add_argument("--n-heads", type=int, default=d.n_heads)
    p.add_argument("--d-ff", type=int, default=d.d_ff)
    p.add_argument("--n-layers", type=int, default=d.n_layers)
    p.add_argument("--norm", default=d.norm, choices=("proof", "layernorm", "rmsnorm"))
    p.add_argument("--no-bias", action="store_true", help="bias-free model (the paper's T1)")
    p.add_argument("--steps", type=int, default=d.steps)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--seq-len", type=int, default=d.seq_len)
    p.add_argument("--optimizer", default=d.optimizer, choices=OPTIMIZERS)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--schedule", default=d.schedule, choices=SCHEDULES)
    p.add_argument("--warmup", type=int, default=d.warmup)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--dtype", default=d.dtype, choices=sorted(DTYPES))
    p.add_argument("--track-every", type=int, default=d.track_every)
    p.add_argument("--saturation-every", type=int, default=d.saturation_every)
    p.add_argument("--out", default=d.out, help="output folder (default runs/norm_growth)")
    p.add_argument("--workers", type=int, default=None, help="processes for several placements")
    p.add_argument("--threads", type=int, default=1, help="torch threads per run (default 1)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument(
        "--json",
        action="store_true",
        help="print the headline numbers of every run as JSON on stdout "
        "(each run's full results.json is in its folder under --out)",
    )
    p.add_argument(
        "--reanalyse",
        metavar="RUN_DIR",
        nargs="+",
        default=None,
        help="recompute results.json and plots of finished runs from their "
        "dynamics.jsonl (no training), then print the summary",
    )
    return p


def config_from_args(args: argparse.Namespace, placement: str) -> NormGrowthConfig:
    return NormGrowthConfig(
        placement=placement,
        corpus=args.corpus,
        text_file=args.text_file,
        corpus_tokens=args.corpus_tokens,
        d_model=args.d_model,
        n_heads=args.n_heads,
        d_ff=args.d_ff,
        n_layers=args.n_layers,
        norm=args.norm,
        bias=not args.no_bias,
        steps=args.steps,
        batch_size=args.batch_size,
        seq_len=args.seq_len,
        optimizer=args.optimizer,
        lr=args.lr,
        weight_decay=args.weight_decay,
        schedule=args.schedule,
        warmup=args.warmup,
        seed=args.seed,
        dtype=args.dtype,
        track_every=args.track_every,
        saturation_every=args.saturation_every,
        out=args.out,
        progress=not args.no_progress,
        threads=args.threads,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    start = time.perf_counter()
    if args.reanalyse:
        try:
            results = [reanalyse(d) for d in args.reanalyse]
        except (HomogeneityInputError, FileNotFoundError) as exc:
            print(f"error: {exc}")
            return 2
        _print_rows([summary_row(r) for r in results], args.json)
        return 0
    try:
        if args.placement == "all":
            base = config_from_args(args, PLACEMENTS[0])
            results = run_placements(base, PLACEMENTS, max_workers=args.workers)
        else:
            results = [run_norm_growth(config_from_args(args, args.placement))]
    except HomogeneityInputError as exc:
        print(f"error: {exc}")
        return 2
    _print_rows(
        [summary_row(r) for r in results],
        args.json,
        f"total wall-clock time: {time.perf_counter() - start:.1f} s; results in {args.out}",
    )
    return 0


def _print_rows(rows: list[dict[str, Any]], as_json: bool, footer: str = "") -> None:
    if as_json:
        print(json.dumps(rows, indent=1))
        return
    print(format_summary(rows))
    if footer:
        print(footer)


if __name__ == "__main__":
    raise SystemExit(main())
