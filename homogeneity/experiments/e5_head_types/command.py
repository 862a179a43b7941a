"""The command of E5 alone (the analysis at ρ = 1, ρ and the limit; no ρ sweep, no extra
random seeds):

    python -m homogeneity.experiments.e5_head_types --out DIR [--weights FOLDER] [--text FILE]

It takes the options of ``homogeneity saturation`` and prints only the head tables.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from homogeneity.cli.errors import run_command
from homogeneity.experiments.e3_pretrained_saturation.command import (
    build_parser as saturation_parser,
)
from homogeneity.experiments.e3_pretrained_saturation.compute import run_pretrained_saturation
from homogeneity.experiments.e3_pretrained_saturation.report import e5_result, report_dict
from homogeneity.experiments.e5_head_types.plots import write_e5_figures
from homogeneity.experiments.e5_head_types.report import format_head_types


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
    result = run_pretrained_saturation(
        args.weights,
        text=args.text,
        n_sentences=args.sentences,
        rho=args.rho,
        seed=args.seed,
        extra_seeds=(),
        batch_size=args.batch_size,
        convergence=False,
        device=args.device,
        progress=args.progress,
        backend=args.backend,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = report_dict(result)
    heads = {k: data[k] for k in ("model", "family", "model_folder", "n_sentences", "rho")}
    heads.update(
        {m: {"heads": data[m]["heads"], "head_kinds": data[m]["head_kinds"],
             "attention": data[m]["attention"]} for m in ("pretrained", "random")}
    )  # fmt: skip
    path = out / "e5_report.json"
    path.write_text(json.dumps(heads, indent=1, ensure_ascii=False), encoding="utf-8")
    paths = [path, *write_e5_figures(result, out)]
    if args.json:
        print(json.dumps(heads, indent=1, ensure_ascii=False))
    else:
        print("\n\n".join(format_head_types(e5_result(result), result.rule)))
        print("\nwrote " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
