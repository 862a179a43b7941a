"""What counts as a user mistake on the command line, and how it is reported.

A user mistake (bad option value, bad input to a check, a missing file, a feature that is
not installed) prints ``homogeneity: error: <one line>`` on stderr and exits with status 2.
Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys

from homogeneity.errors import HomogeneityInputError

#: exit status of a user mistake (the same as argparse's)
USAGE_ERROR = 2


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


def report(exc: BaseException, program: str = "homogeneity") -> int:
    """Print a user mistake as one line on stderr and return the exit status."""
    print(f"{program}: error: {one_line(exc)}", file=sys.stderr)
    return USAGE_ERROR
