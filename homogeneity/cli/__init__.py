"""The ``homogeneity`` command line (console script ``homogeneity``, or
``python -m homogeneity``). See :mod:`homogeneity.cli.app` for the subcommands."""

from homogeneity.cli.app import build_parser, main

__all__ = ["build_parser", "main"]
