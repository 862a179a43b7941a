"""The ``homogeneity`` command: parser, dispatch and error reporting.

Subcommands::

    homogeneity claims      the proof checker (= python -m proofs_numeric)
    homogeneity degree      predicted vs measured degree of a model, or the full table
    homogeneity curves      E6: cos(f(x; cθ), f(x; 1000θ)), c = 1..10, random-init encoders
    homogeneity saturation  E3/E5 on the pretrained MiniLM
    homogeneity train       the small-LM norm-growth run (E2, E4, E7)
    homogeneity weight-decay  the η × λ weight-decay grid (E8)

``degree`` is parsed here; the others hand their arguments to their module's
``main(argv)`` (see :mod:`homogeneity.cli.delegate`), so ``homogeneity claims --json`` is
exactly ``python -m proofs_numeric --json``. Errors, exit statuses and help follow the
conventions of :mod:`homogeneity.cli.errors` and ``homogeneity.cli.parser``.
"""

from __future__ import annotations

from collections.abc import Sequence

from homogeneity.cli import degree_command
from homogeneity.cli.delegate import DELEGATES
from homogeneity.cli.errors import PROGRAM, USAGE_ERROR, UsageError, run_command
from homogeneity.cli.parser import HelpFormatter, OneLineParser

PROG = PROGRAM

DESCRIPTION = """\
Numerical and property-based checks of Merrill et al., "Effects of Parameter Norm Growth
During Transformer Training" (EMNLP 2021): homogeneity of transformer parts along the ray
ρ ↦ f(x; ρθ), saturation, degree bookkeeping and norm growth."""

EPILOG = """\
exit status: 0 success; 1 a check failed (a claim refuted, a degree that disagrees with its
prediction); 2 a usage error (bad option, bad input, missing file or feature); 130
interrupted (Ctrl-C). Run 'homogeneity COMMAND --help' for the options of a command."""


def build_parser() -> OneLineParser:
    parser = OneLineParser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    degree = sub.add_parser(
        "degree",
        help="predicted (rules, SPEC D16) vs measured degree of a model",
        description=degree_command.DESCRIPTION,
        formatter_class=HelpFormatter,
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
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        prog = PROG if args.command is None else f"{PROG} {args.command}"
        raise UsageError(f"unrecognized arguments: {' '.join(unknown)} (see '{prog} --help')")
    if args.command is None:
        parser.print_help()
        return USAGE_ERROR
    return args.handler(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    return run_command(dispatch, argv)
