"""An ``argparse`` parser whose usage errors are one line.

argparse normally prints the whole usage block and then the error; on a wide command that
buries the one line that matters. :class:`OneLineParser` raises
:class:`~homogeneity.cli.errors.UsageError` instead, which ``homogeneity``'s entry point
prints as ``homogeneity: error: <message> (see '<prog> --help')`` with exit status 2.
"""

from __future__ import annotations

import argparse
from typing import NoReturn

from homogeneity.cli.errors import UsageError


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error raises UsageError (one line, pointer to --help)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")
