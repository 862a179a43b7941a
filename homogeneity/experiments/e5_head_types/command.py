"""The command of E5 alone (the analysis at ρ = 1, ρ and the limit; no ρ sweep, no extra
random seeds):

    python -m homogeneity.experiments.e5_head_types --out DIR [--weights FOLDER] [--text FILE]

It takes the options of ``homogeneity saturation`` and prints only the head tables.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from homogeneity.cli.errors import run_command
from homogeneity.experiments.e3_pretrained_saturation.command import (
    build_parser as saturation_parser,
)
from homogeneity.experiments.e3_pretrained_saturation.command import run_from_arguments
from homogeneity.experiments.e3_pretrained_saturation.report import e5_result, report_dict
from homogeneity.experiments.e5_head_types.plots import write_e5_figures
from homogeneity.experiments.e5_head_types.report import format_head_types
from homogeneity.experiments.report_output import print_report, write_report_json


def build_parser() -> argparse.ArgumentParser:
    """``homogeneity saturation``'s parser, described as E5 alone."""
    parser = saturation_parser()
    parser.prog = "python -m homogeneity.experiments.e5_head_types"
    parser.description = (
        "E5/D8: head types of a pretrained checkpoint (all-MiniLM-L6-v2 by default) as it "
        "is, at ρ and in the exact limit, and of a random-init copy."
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """E5 alone: returns the exit status (errors one line on stderr)."""
    return run_command(_run, argv)


def _run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    result = run_from_arguments(args, heads_only=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = report_dict(result)
    heads = {k: data[k] for k in ("model", "family", "model_folder", "n_sentences", "rho")}
    heads.update(
        {m: {"heads": data[m]["heads"], "head_kinds": data[m]["head_kinds"],
             "attention": data[m]["attention"]} for m in ("pretrained", "random")}
    )  # fmt: skip
    paths = [write_report_json(out / "e5_report.json", heads), *write_e5_figures(result, out)]
    text = "\n\n".join(format_head_types(e5_result(result), result.rule))
    print_report(heads, text, paths, as_json=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
