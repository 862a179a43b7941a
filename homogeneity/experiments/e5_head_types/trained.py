"""E5 on a causal LM trained here (the command):

    python -m homogeneity.experiments.e5_head_types.trained --out DIR [--corpus pcfg majority]

trains the E2/E4 model (every default of ``homogeneity train``, placement paper-prenorm,
at the paper's length 83) once per corpus, checks that its saturation level (D14) reached
the target, counts the attended positions of every head as trained, at ρ = 1000 and in
the exact limit, and says whether the histogram is bimodal. It writes
``e5_trained_report.json`` and the figures of :mod:`.trained_plots` into ``--out``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from homogeneity.cli.arguments import (
    check_heads_divide,
    open_unit_interval,
    positive_int,
)
from homogeneity.cli.errors import UsageError, run_command
from homogeneity.cli.parser import OneLineParser, command_parser
from homogeneity.components.residual import PLACEMENTS
from homogeneity.experiments.corpus import CORPORA
from homogeneity.experiments.e2_e4_e7_norm_growth.command import (
    add_training_arguments,
    training_values,
)
from homogeneity.experiments.e5_head_types.trained_compute import (
    TrainedHeadTypesConfig,
    run_trained_head_types,
)
from homogeneity.experiments.e5_head_types.trained_plots import write_trained_figures
from homogeneity.experiments.e5_head_types.trained_report import format_trained, write_report
from homogeneity.experiments.report_output import print_report


def build_parser() -> OneLineParser:
    d = TrainedHeadTypesConfig()
    t = d.training
    p = command_parser(
        "e5-trained",
        "E5 as the paper ran it: train the E2/E4 causal LM until saturated (D14), then "
        "count the attended positions of every head (D8) and test the histogram for the "
        "paper's two modes.",
    )
    p.prog = "python -m homogeneity.experiments.e5_head_types.trained"
    p.add_argument(
        "--corpus",
        nargs="+",
        default=[t.corpus],
        choices=[c for c in CORPORA if c != "text"],
        help="training corpora, one run each",
    )
    p.add_argument("--placement", default=t.placement, choices=PLACEMENTS, help="placement")
    add_training_arguments(p, t)
    p.add_argument(
        "--saturation-every",
        type=positive_int,
        default=t.saturation_every,
        help="steps between D14 measurements during training (a multiple of 5)",
    )
    p.add_argument(
        "--eval-sequences",
        type=positive_int,
        default=d.eval_sequences,
        help="validation windows on which D14 and the heads are measured",
    )
    p.add_argument(
        "--target",
        type=open_unit_interval,
        default=d.target_saturation,
        help="D14 level (smallest over layers) from which the model counts as saturated",
    )
    p.add_argument("--threads", type=positive_int, default=1, help="torch threads")
    p.add_argument("--out", default="runs/e5_trained", help="output folder")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    return p


def configs(args: argparse.Namespace) -> list[TrainedHeadTypesConfig]:
    """The runs the parsed command line asks for, one per corpus (usage errors raised)."""
    check_heads_divide(args.d_model, args.n_heads, heads_flag="--n-heads")
    base = TrainedHeadTypesConfig()
    every = base.training.track_every
    if args.saturation_every % every:
        raise UsageError(
            f"--saturation-every {args.saturation_every} must be a multiple of {every} (the "
            f"tracker records every {every} steps)"
        )
    training = replace(
        base.training,
        placement=args.placement,
        **training_values(args),
        saturation_every=args.saturation_every,
        progress=not args.no_progress,
        threads=args.threads,
    )
    if len(set(args.corpus)) != len(args.corpus):
        raise UsageError(f"--corpus names a corpus twice: {' '.join(args.corpus)}")
    return [
        replace(
            base,
            training=replace(training, corpus=c),
            eval_sequences=args.eval_sequences,
            target_saturation=args.target,
        )
        for c in args.corpus
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Returns the exit status (errors one line on stderr)."""
    return run_command(_run, argv)


def _run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    runs = [run_trained_head_types(cfg)[0] for cfg in configs(args)]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [write_report(runs, out), *write_trained_figures(runs, out)]
    text = "\n\n".join(format_trained(r) for r in runs)
    print_report([r.to_dict() for r in runs], text, paths, as_json=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
