"""The parser every ``homogeneity`` command uses.

:func:`command_parser` gives a :class:`OneLineParser` named ``homogeneity <command>``
(whichever way the command was started, ``homogeneity claims`` or
``python -m proofs_numeric``) with :class:`HelpFormatter`:

* a usage error raises :class:`~homogeneity.cli.errors.UsageError` instead of printing
  the whole usage block, so it is reported as one line, ``homogeneity: error: <message>
  (see 'homogeneity <command> --help')``, exit status 2;
* every option's help ends with its default (``(default: 3000)``; ``(default: off)`` for
  a flag; ``(required)`` for a required option) unless the help text already says what
  the default is. An option whose default is None must say in its help what None means
  ("default: all three").

Range checks with the real flag names come from the argument types of
:mod:`homogeneity.cli.arguments`. This module imports no torch.
"""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from homogeneity.cli.errors import PROGRAM, UsageError


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error raises UsageError (one line, pointer to --help)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def default_text(action: argparse.Action) -> str | None:
    """How ``action``'s default reads in the help, or None when there is nothing to show
    (no default, or an option whose help must say what None means)."""
    if action.default is None or action.default is argparse.SUPPRESS:
        return None
    if isinstance(action, argparse.BooleanOptionalAction):
        flag = next(o for o in action.option_strings if o.startswith("--"))
        return flag if action.default else "--no-" + flag[2:]
    if action.nargs == 0 and isinstance(action.default, bool):
        return "on" if action.default else "off"
    if isinstance(action.default, (list, tuple)):
        return " ".join(str(v) for v in action.default)
    return str(action.default)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs as written; each option's help ends with its default."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if text is argparse.SUPPRESS or not action.option_strings:
            return text
        if action.required:
            return text if "required" in text.lower() else f"{text} (required)"
        if "default" in text.lower():
            return text  # the help says what the default is
        shown = default_text(action)
        if shown is None:
            return text
        shown = shown.replace("%", "%%")
        return f"{text} (default: {shown})" if text else f"default: {shown}"


def command_parser(command: str, description: str, epilog: str | None = None) -> OneLineParser:
    """The parser of ``homogeneity <command>`` (see the module docstring)."""
    return OneLineParser(
        prog=f"{PROGRAM} {command}",
        description=description,
        epilog=epilog,
        formatter_class=HelpFormatter,
    )


def parser_actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The options of ``parser`` a user can give (not --help/--version, not subcommands)."""
    return [
        a
        for a in parser._actions
        if a.option_strings and not isinstance(a, (argparse._HelpAction, argparse._VersionAction))
    ]


def help_line(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    """The help text of one option as ``parser --help`` prints it (defaults included)."""
    formatter: Any = parser._get_formatter()
    return formatter._expand_help(action) if action.help else ""
