"""``homogeneity weight-decay`` (= ``python -m homogeneity.experiments.weight_decay_grid``):
the η × λ grid of E8. Ctrl-C cancels the queued cells, stops the workers and exits with
status 130 (a grid writes its results only when every cell is done)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from homogeneity.cli.arguments import (
    non_negative_float,
    non_negative_int,
    open_unit_interval,
    positive_float,
    positive_int,
)
from homogeneity.cli.errors import UsageError, report_interrupted, run_command
from homogeneity.cli.parser import OneLineParser, command_parser
from homogeneity.components.residual import PLACEMENTS
from homogeneity.experiments.corpus import CORPORA
from homogeneity.experiments.e8_weight_decay.compute import (
    WeightDecayGridConfig,
    reanalyse_grid,
    run_weight_decay_grid,
)
from homogeneity.experiments.e8_weight_decay.report import format_grid


def build_parser() -> OneLineParser:
    d = WeightDecayGridConfig()
    p = command_parser("weight-decay", "E8: η × λ grid of AdamW runs of the small LM.")
    p.add_argument(
        "--lrs", type=positive_float, nargs="+", default=list(d.lrs), help="learning rates η"
    )
    p.add_argument(
        "--weight-decays",
        type=non_negative_float,
        nargs="+",
        default=list(d.weight_decays),
        help="weight decays λ",
    )
    p.add_argument("--steps", type=positive_int, default=d.steps, help="steps per cell")
    p.add_argument("--placement", default=d.base.placement, choices=PLACEMENTS, help="placement")
    p.add_argument("--corpus", default=d.base.corpus, choices=CORPORA, help="training corpus")
    p.add_argument(
        "--text-file", default=None, help="UTF-8 text file for --corpus text (default: none)"
    )
    p.add_argument("--seed", type=non_negative_int, default=d.base.seed, help="seed of every cell")
    p.add_argument(
        "--tolerance",
        type=open_unit_interval,
        default=d.tolerance,
        help="a ratio within 1 ± tolerance is 'flat'",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="processes (default: one per CPU)",
    )
    p.add_argument("--out", default=d.out, help="output folder")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--reanalyse",
        metavar="GRID_DIR",
        default=None,
        help="recompute predictions, table and plots of a finished grid (no training; "
        "default: train)",
    )
    return p


def _run(argv: list[str]) -> int:
    d = WeightDecayGridConfig()
    args = build_parser().parse_args(argv)
    if args.reanalyse:
        print(format_grid(reanalyse_grid(args.reanalyse)))
        return 0
    if args.corpus == "text" and args.text_file is None:
        raise UsageError("--corpus text needs --text-file FILE (a UTF-8 text file)")
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
    try:
        grid = run_weight_decay_grid(cfg, max_workers=args.workers, progress=not args.no_progress)
    except KeyboardInterrupt:
        return report_interrupted("the grid's results are written only when every cell is done")
    print(format_grid(grid))
    print(f"results in {args.out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``homogeneity weight-decay``: returns the exit status (errors one line on stderr)."""
    return run_command(_run, argv)
