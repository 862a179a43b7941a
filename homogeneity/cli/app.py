"""The ``homogeneity`` command: parser, dispatch and error reporting.

Subcommands::

    homogeneity claims      the proof checker (= python -m proofs_numeric)
    homogeneity degree      predicted vs measured degree of a model, or the full table
    homogeneity curves      E6: cos(f(x; cθ), f(x; 1000θ)), c = 1..10, random-init encoders
    homogeneity saturation  E3/E5 on the pretrained MiniLM
    homogeneity train       the small-LM norm-growth run (E2, E4, E7)

``degree`` is parsed here; the others hand their arguments to their module's
``main(argv)`` (see :mod:`homogeneity.cli.delegate`), so ``homogeneity claims --json`` is
exactly ``python -m proofs_numeric --json``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from homogeneity.cli import degree_command
from homogeneity.cli.delegate import DELEGATES
from homogeneity.cli.errors import USER_MISTAKES, one_line, report
from homogeneity.cli.parser import OneLineParser

PROG = "homogeneity"

DESCRIPTION = """\
Numerical and property-based checks of Merrill et al., "Effects of Parameter Norm Growth
During Transformer Training" (EMNLP 2021): homogeneity of transformer parts along the ray
ρ ↦ f(x; ρθ), saturation, degree bookkeeping and norm growth."""

EPILOG = """\
exit status: 0 success; 1 a check failed (a claim refuted, a degree that disagrees with its
prediction); 2 a usage error (bad option, bad input, missing file or feature).
Run 'homogeneity COMMAND --help' for the options of a command."""


def build_parser() -> OneLineParser:
    parser = OneLineParser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    degree = sub.add_parser(
        "degree",
        help="predicted (rules, SPEC D16) vs measured degree of a model",
        description=degree_command.DESCRIPTION,
    )
    degree_command.add_arguments(degree)
    degree.set_defaults(handler=degree_command.run)
    for d in DELEGATES.values():
        # Listed for the top-level help; main() hands their arguments over unparsed.
        sub.add_parser(d.name, help=f"{d.summary} (= {d.equivalent})", add_help=False)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("homogeneity")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "(not installed)"


def dispatch(argv: Sequence[str]) -> int:
    if argv and argv[0] in DELEGATES:
        return DELEGATES[argv[0]].run(argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    if args.command is None:
        parser.print_help()
        return 2
    return args.handler(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return dispatch(argv)
    except USER_MISTAKES as exc:
        return report(exc, PROG)
    except ArithmeticError as exc:  # e.g. saturation.NumericalBreakdown: says what to try
        print(f"{PROG}: numerical failure: {one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
