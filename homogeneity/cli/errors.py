"""What counts as a user mistake on the command line, and how it is reported.

Every ``homogeneity`` command, and every ``python -m`` module behind one, reports the same
way (:func:`run_command` applies it):

* a user mistake (bad option value, bad input to a check, a missing file, a feature that
  is not installed) prints ``homogeneity: error: <one line>`` on stderr, exit status 2;
* a numerical failure the numbers cannot get past (an ``ArithmeticError`` such as
  ``NumericalBreakdown``) prints ``homogeneity: numerical failure: <one line>``, status 1;
* Ctrl-C prints ``homogeneity: interrupted`` on stderr, status 130 (128 + SIGINT, as a
  shell reports it).

Anything else is a bug and keeps its traceback. This module imports no torch.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from homogeneity.errors import HomogeneityInputError

#: the name every command reports under
PROGRAM = "homogeneity"
#: exit status of a check that failed (a refuted claim, a degree that disagrees, …)
FAILURE = 1
#: exit status of a user mistake (the same as argparse's)
USAGE_ERROR = 2
#: exit status after Ctrl-C (128 + SIGINT)
INTERRUPTED = 130


class UsageError(Exception):
    """A mistake in how the command was called; the message says how to fix it."""


#: exception types whose message is shown as a one-line error
USER_MISTAKES: tuple[type[BaseException], ...] = (
    UsageError,
    HomogeneityInputError,
    FileNotFoundError,
    NotADirectoryError,
    IsADirectoryError,
    PermissionError,
    FileExistsError,
)


def one_line(exc: BaseException) -> str:
    """The exception as one line: its message with newlines folded, or its type."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.strerror}: {exc.filename}"
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def report(exc: BaseException, program: str = PROGRAM) -> int:
    """Print a user mistake as one line on stderr and return the exit status."""
    print(f"{program}: error: {one_line(exc)}", file=sys.stderr)
    return USAGE_ERROR


def report_interrupted(detail: str = "", program: str = PROGRAM) -> int:
    """Say on stderr that the command was interrupted; returns :data:`INTERRUPTED`."""
    print(f"{program}: interrupted" + (f"; {detail}" if detail else ""), file=sys.stderr)
    return INTERRUPTED


Command = Callable[[list[str]], "int | str | None"]


def exit_status(code: object) -> int:
    """A command's return value (or ``SystemExit`` code) as an exit status: None is 0, an
    int is itself, a message (the ``sys.exit("message")`` convention) is a usage error."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(f"{PROGRAM}: error: {' '.join(str(code).split())}", file=sys.stderr)
    return USAGE_ERROR


def run_command(command: Command, argv: Sequence[str] | None = None) -> int:
    """Run ``command(argv)`` under the conventions above and return the exit status.

    ``argv`` defaults to ``sys.argv[1:]``. ``--help`` (argparse's ``SystemExit(0)``) returns
    0. Every ``main(argv)`` of a command module is ``run_command(<its body>, argv)``, so
    calling ``main`` from Python gives the same status and stderr as the shell.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        code = command(args)
    except SystemExit as exc:
        return exit_status(exc.code)
    except USER_MISTAKES as exc:
        return report(exc)
    except KeyboardInterrupt:
        return report_interrupted()
    except ArithmeticError as exc:  # e.g. NumericalBreakdown: its message says what to try
        print(f"{PROGRAM}: numerical failure: {one_line(exc)}", file=sys.stderr)
        return FAILURE
    return exit_status(code)
