"""pytest-xdist: a parallel test session prints one claims table, the serial one's.

A small session (two claims, their verdict and controls tests) runs in a subprocess,
once serially and once with ``-n 2``; the parallel run must print the claims section
exactly once, with every claim's row, and the same table as the serial run (all but the
total time in its last line).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("xdist")

ROOT = Path(__file__).resolve().parents[2]
CLAIMS = ("D3", "L2")

CONFTEST = 'pytest_plugins = ["proofs_numeric.pytest_plugin"]\n'
TESTS = f"""
import os
from pathlib import Path

import pytest

def _note_worker(claim_id):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "serial")
    (Path(__file__).parent / f"ran-on-{{worker}}-{{claim_id}}").touch()

@pytest.mark.parametrize("claim_id", {list(CLAIMS)!r})
def test_verdict(claim_result, claim_id):
    _note_worker(claim_id)
    result = claim_result(claim_id)
    assert result.verdict.status == result.claim.expected

@pytest.mark.parametrize("claim_id", {list(CLAIMS)!r})
def test_controls(claim_result, claim_id):
    _note_worker(claim_id)
    assert claim_result(claim_id).controls_rejected
"""


def _session(directory: Path, *args: str) -> str:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout


def _claims_section(stdout: str) -> str:
    """The claims table, from below the section header to its last line (time blanked)."""
    lines = stdout[stdout.index("claims checked (profile") :].splitlines()[1:]
    last = next(i for i, line in enumerate(lines) if re.match(r"\d+ claims checked in", line))
    return "\n".join([*lines[:last], re.sub(r"in [0-9.]+ s", "in … s", lines[last])])


def test_a_parallel_session_prints_the_serial_claims_table_once(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (tmp_path / "test_two_claims.py").write_text(TESTS, encoding="utf-8")
    serial = _session(tmp_path)
    parallel = _session(tmp_path, "-n", "2")
    workers = {p.name.split("-")[2] for p in tmp_path.glob("ran-on-*")} - {"serial"}
    assert workers == {"gw0", "gw1"}  # the claims really were checked in two workers
    assert parallel.count("claims checked (profile ci)") == 1, parallel
    table = _claims_section(parallel)
    for claim_id in CLAIMS:
        assert re.search(rf"^\| {re.escape(claim_id)} +\|", table, re.M), table
    assert f"{len(CLAIMS)} claims checked" in table
    assert table == _claims_section(serial)
