"""``homogeneity train`` (= ``python -m homogeneity.experiments.norm_growth``): train the
small LM and report norm growth (E2), saturation (E4) and alignment (E7).

Three placements by default, in a process pool that Ctrl-C stops: queued runs are
cancelled, workers stopped, the logs written so far stay valid, and the command exits
with status 130 saying where they are; ``--reanalyse`` analyses such a partial run.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from homogeneity.cli.arguments import (
    check_divides,
    check_heads_divide,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)
from homogeneity.cli.errors import UsageError, report_interrupted, run_command
from homogeneity.cli.parser import OneLineParser, command_parser
from homogeneity.components.residual import PLACEMENTS
from homogeneity.experiments.corpus import CORPORA
from homogeneity.experiments.e2_e4_e7_norm_growth.compute import (
    reanalyse,
    run_norm_growth,
    run_placements,
)
from homogeneity.experiments.e2_e4_e7_norm_growth.config import LOG_FILE, NormGrowthConfig
from homogeneity.experiments.e2_e4_e7_norm_growth.report import print_rows, summary_row
from homogeneity.experiments.lm_training import DTYPES, OPTIMIZERS, SCHEDULES


def add_training_arguments(p: argparse.ArgumentParser, d: NormGrowthConfig) -> None:
    """The options of the model and its training that every command training the E2/E4
    LM takes (``homogeneity train``, E5 on a trained LM), with ``d``'s values as defaults."""
    p.add_argument(
        "--corpus-tokens", type=positive_int, default=d.corpus_tokens, help="corpus size"
    )
    p.add_argument("--d-model", type=positive_int, default=d.d_model, help="model width")
    p.add_argument("--n-heads", type=positive_int, default=d.n_heads, help="attention heads")
    p.add_argument("--d-ff", type=positive_int, default=d.d_ff, help="feed-forward width")
    p.add_argument("--n-layers", type=positive_int, default=d.n_layers, help="layers")
    p.add_argument(
        "--norm", default=d.norm, choices=("proof", "layernorm", "rmsnorm"), help="layer norm"
    )
    p.add_argument("--no-bias", action="store_true", help="bias-free model (the paper's T1)")
    p.add_argument("--steps", type=positive_int, default=d.steps, help="training steps")
    p.add_argument("--batch-size", type=positive_int, default=d.batch_size, help="batch size")
    p.add_argument("--seq-len", type=positive_int, default=d.seq_len, help="sequence length")
    p.add_argument("--optimizer", default=d.optimizer, choices=OPTIMIZERS, help="optimizer")
    p.add_argument("--lr", type=positive_float, default=d.lr, help="learning rate")
    p.add_argument(
        "--weight-decay", type=non_negative_float, default=d.weight_decay, help="weight decay λ"
    )
    p.add_argument("--schedule", default=d.schedule, choices=SCHEDULES, help="lr schedule")
    p.add_argument("--warmup", type=non_negative_int, default=d.warmup, help="warm-up steps")
    p.add_argument("--seed", type=non_negative_int, default=d.seed, help="seed of model and data")
    p.add_argument("--dtype", default=d.dtype, choices=sorted(DTYPES), help="training dtype")


def training_values(args: argparse.Namespace) -> dict[str, Any]:
    """The :class:`NormGrowthConfig` fields set by the options of
    :func:`add_training_arguments`, read from parsed ``args``."""
    return {
        "corpus_tokens": args.corpus_tokens,
        "d_model": args.d_model,
        "n_heads": args.n_heads,
        "d_ff": args.d_ff,
        "n_layers": args.n_layers,
        "norm": args.norm,
        "bias": not args.no_bias,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "seq_len": args.seq_len,
        "optimizer": args.optimizer,
        "lr": args.lr,
        "weight_decay": args.weight_decay,
        "schedule": args.schedule,
        "warmup": args.warmup,
        "seed": args.seed,
        "dtype": args.dtype,
    }


def build_parser() -> OneLineParser:
    d = NormGrowthConfig()
    p = command_parser(
        "train",
        "Train the small LM and measure norm growth (E2), saturation (E4) and alignment "
        "(E7). Ctrl-C stops every run and keeps the logs written so far; --reanalyse "
        "analyses them.",
    )
    p.add_argument(
        "--placement",
        default="all",
        choices=PLACEMENTS + ("all",),
        help="residual placement (default: all three, in parallel processes)",
    )
    p.add_argument("--corpus", default=d.corpus, choices=CORPORA, help="training corpus")
    p.add_argument(
        "--text-file", default=None, help="UTF-8 text file for --corpus text (default: none)"
    )
    add_training_arguments(p, d)
    p.add_argument(
        "--track-every", type=positive_int, default=d.track_every, help="steps between records"
    )
    p.add_argument(
        "--saturation-every",
        type=non_negative_int,
        default=d.saturation_every,
        help="steps between saturation levels (D14), a multiple of --track-every; 0: off",
    )
    p.add_argument("--out", default=d.out, help="output folder")
    p.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="processes for several placements (default: one per placement, at most one per CPU)",
    )
    p.add_argument("--threads", type=positive_int, default=1, help="torch threads per run")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
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
        help="recompute results.json and plots of runs, finished or interrupted, from their "
        "dynamics.jsonl (no training), then print the summary (default: train)",
    )
    return p


def check_options(args: argparse.Namespace) -> None:
    """Refuse option combinations the model or the tracker cannot use (real flag names)."""
    check_heads_divide(args.d_model, args.n_heads, heads_flag="--n-heads")
    check_divides(
        args.track_every, "--track-every", args.saturation_every, "--saturation-every", "is off"
    )
    if args.corpus == "text" and args.text_file is None:
        raise UsageError("--corpus text needs --text-file FILE (a UTF-8 text file)")
    if args.text_file is not None and args.corpus != "text":
        raise UsageError(f"--text-file is read only with --corpus text (not {args.corpus})")


def config_from_args(args: argparse.Namespace, placement: str) -> NormGrowthConfig:
    return NormGrowthConfig(
        placement=placement,
        corpus=args.corpus,
        text_file=args.text_file,
        **training_values(args),
        track_every=args.track_every,
        saturation_every=args.saturation_every,
        out=args.out,
        progress=not args.no_progress,
        threads=args.threads,
    )


def _run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    start = time.perf_counter()
    if args.reanalyse:
        runs = [reanalyse(d) for d in args.reanalyse]
        print_rows([summary_row(r) for r in runs], args.json)
        return 0
    check_options(args)
    try:
        if args.placement == "all":
            base = config_from_args(args, PLACEMENTS[0])
            runs = run_placements(base, PLACEMENTS, max_workers=args.workers)
        else:
            runs = [run_norm_growth(config_from_args(args, args.placement))]
    except KeyboardInterrupt:
        return report_interrupted(_partial_logs(args))
    print_rows(
        [summary_row(r) for r in runs],
        args.json,
        f"total wall-clock time: {time.perf_counter() - start:.1f} s; results in {args.out}",
    )
    return 0


def _partial_logs(args: argparse.Namespace) -> str:
    """Where an interrupted command left its logs, and how to analyse them."""
    if args.out is None:
        return "nothing was written"
    out = Path(args.out)
    placements = PLACEMENTS if args.placement == "all" else (args.placement,)
    logs = [out / p for p in placements if (out / p / LOG_FILE).is_file()]
    if args.placement != "all" and (out / LOG_FILE).is_file():
        logs = [out]
    if not logs:
        return "no run had started writing its log"
    return (
        f"the logs written so far are in {', '.join(str(p / LOG_FILE) for p in logs)}; "
        f"analyse them with: homogeneity train --reanalyse {' '.join(map(str, logs))}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``homogeneity train``: returns the exit status (errors one line on stderr)."""
    return run_command(_run, argv)
