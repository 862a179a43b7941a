"""The ``homogeneity`` command line (console script ``homogeneity``, or
``python -m homogeneity``). See :mod:`homogeneity.cli.app` for the subcommands.

The conventions every command follows live in small modules that load no torch, so the
mpmath proof checker's command can use them too:

* :mod:`homogeneity.cli.errors`: what a user mistake is, the one-line ``homogeneity:
  error: …`` report with exit status 2, Ctrl-C as ``homogeneity: interrupted`` with exit
  status 130, and :func:`~homogeneity.cli.errors.run_command`, which applies them;
* :mod:`homogeneity.cli.parser`: :func:`~homogeneity.cli.parser.command_parser`, a parser
  named ``homogeneity <command>`` whose usage errors are one line and whose help shows
  every option's default;
* :mod:`homogeneity.cli.arguments`: argument types that refuse out-of-range values with
  the real flag name (``positive_int``, ``device``, …) and cross-option checks.

``main`` and ``build_parser`` are loaded on first use (PEP 562).
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_parser", "main"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from homogeneity.cli import app

        value = getattr(app, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'homogeneity.cli' has no attribute {name!r}")
