"""Running the checker leaves no ``.hypothesis/`` folder in the user's working directory:
Hypothesis's files go to a per-user cache (or where HYPOTHESIS_STORAGE_DIRECTORY says).

Each run is a fresh interpreter started in an empty temporary directory, with HOME and
XDG_CACHE_HOME pointing into the temporary tree, as a user's shell would have them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from proofs_numeric.storage import hypothesis_storage_directory, user_cache_directory

REPO = Path(__file__).resolve().parents[2]

CLAIM_FROM_USER_CODE = """
from proofs_numeric.claim import CheckContext, registry
from proofs_numeric.runner import run_claim
result = run_claim(registry()["L3"], CheckContext())  # a Hypothesis search
assert result.ok, result.problems()
"""

BARE_HYPOTHESIS = """
import homogeneity.errors  # a local module: Hypothesis caches its constants
from hypothesis import find, settings, strategies as st
from hypothesis.errors import NoSuchExample
try:  # a condition that never holds: the search runs all its examples
    find(st.floats(0, 1e6), lambda x: False, settings=settings(database=None, max_examples=300))
except NoSuchExample:
    pass
"""


def _run(code: list[str], cwd: Path, home: Path, **extra: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPOTHESIS_")}
    env.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        PYTHONPATH=str(REPO),
        HYPOTHESIS_PROFILE="ci",
        **extra,
    )
    done = subprocess.run(
        [sys.executable, *code], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


@pytest.fixture
def places(tmp_path: Path) -> tuple[Path, Path]:
    cwd, home = tmp_path / "work", tmp_path / "home"
    cwd.mkdir()
    home.mkdir()
    return cwd, home


def test_the_command_line_checker_writes_nothing_into_the_working_directory(places) -> None:
    cwd, home = places
    # L3 is checked by a Hypothesis search (L6 is proved by a certificate and needs none)
    _run(["-m", "proofs_numeric", "--claim", "L3", "--quiet"], cwd, home)
    assert list(cwd.iterdir()) == []
    assert (home / ".cache" / "homogeneity" / "hypothesis" / "constants").is_dir()


def test_a_claim_search_from_user_code_writes_nothing_into_the_working_directory(
    places,
) -> None:
    cwd, home = places
    _run(["-c", CLAIM_FROM_USER_CODE], cwd, home)
    assert not (cwd / ".hypothesis").exists()
    assert (home / ".cache" / "homogeneity" / "hypothesis").is_dir()


def test_the_users_choice_of_storage_directory_is_kept(places) -> None:
    cwd, home = places
    chosen = home / "mine"
    _run(["-c", CLAIM_FROM_USER_CODE], cwd, home, HYPOTHESIS_STORAGE_DIRECTORY=str(chosen))
    assert not (cwd / ".hypothesis").exists()
    assert (chosen / "constants").is_dir()
    assert not (home / ".cache" / "homogeneity").exists()


def test_the_probe_sees_hypothesis_files_in_the_working_directory(places) -> None:
    """Negative control: without proofs_numeric, Hypothesis writes .hypothesis/ into the
    working directory even with database=None, and the probe above sees it."""
    cwd, home = places
    _run(["-c", BARE_HYPOTHESIS], cwd, home)
    assert (cwd / ".hypothesis").is_dir()


def test_cache_directory_follows_xdg_and_home() -> None:
    assert user_cache_directory({"XDG_CACHE_HOME": "/c", "HOME": "/h"}) == Path(
        "/c/homogeneity/hypothesis"
    )
    assert user_cache_directory({"HOME": "/h"}) == Path("/h/.cache/homogeneity/hypothesis")
    assert hypothesis_storage_directory({"HYPOTHESIS_STORAGE_DIRECTORY": "/x", "HOME": "/h"}) == (
        Path("/x")
    )
