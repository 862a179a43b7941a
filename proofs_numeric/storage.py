"""Where Hypothesis keeps its files when the checker runs: a per-user cache, never the
user's working directory.

Hypothesis writes ``.hypothesis/`` into the current directory by default, and even with
``database=None`` it caches the constants it reads from the loaded modules there
(``.hypothesis/constants``). It reads ``HYPOTHESIS_STORAGE_DIRECTORY`` on its first
access to storage, so :func:`keep_hypothesis_files_out_of_cwd` sets that variable (when
the user has not) as soon as :mod:`proofs_numeric.claim` is imported (every claim,
search and runner imports it first): to
``$XDG_CACHE_HOME/homogeneity/hypothesis``, or ``~/.cache/homogeneity/hypothesis``.

A user who wants the files elsewhere sets ``HYPOTHESIS_STORAGE_DIRECTORY`` themselves.
If Hypothesis already touched its storage before :mod:`proofs_numeric` was imported (a
Hypothesis test ran earlier in the same process), its choice stands.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

#: The variable Hypothesis reads for its storage directory.
STORAGE_VARIABLE = "HYPOTHESIS_STORAGE_DIRECTORY"


def user_cache_directory(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/homogeneity/hypothesis``, else ``~/.cache/homogeneity/hypothesis``."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".cache")
    return Path(base) / "homogeneity" / "hypothesis"


def hypothesis_storage_directory(environ: Mapping[str, str] | None = None) -> Path:
    """Where Hypothesis's files go: ``$HYPOTHESIS_STORAGE_DIRECTORY`` if set, else
    :func:`user_cache_directory`."""
    env = os.environ if environ is None else environ
    chosen = env.get(STORAGE_VARIABLE)
    return Path(chosen) if chosen else user_cache_directory(env)


def keep_hypothesis_files_out_of_cwd() -> Path:
    """Point Hypothesis at :func:`hypothesis_storage_directory` unless the user chose a
    directory; returns the directory."""
    where = hypothesis_storage_directory()
    os.environ.setdefault(STORAGE_VARIABLE, str(where))
    return where
