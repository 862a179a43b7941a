"""The tree lints clean, as CI (.ci/run) and the pre-commit hooks require: ruff's rules,
ruff's formatting, and mypy on the modules that pyproject.toml's ``[tool.mypy]`` lists.

So a plain ``pytest`` run catches a finding too. mypy keeps its cache in .mypy_cache, so
a run after the first takes seconds. Each tool is skipped, with how to get it, when the
environment lacks it (it comes with the ``dev`` extra that scripts/setup.sh installs).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRE_COMMIT = ROOT / ".pre-commit-config.yaml"
CI = ROOT / ".ci" / "run"
INSTALL = "install the dev extra (pip install -e '.[dev]', or bash scripts/setup.sh)"


def tool(name: str) -> str:
    """The tool's executable beside this interpreter (the project's venv), else on PATH."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed: {INSTALL}")
    return found


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)


def test_ruff_finds_nothing():
    done = run(tool("ruff"), "check", ".")
    assert done.returncode == 0, f"ruff check . found:\n{done.stdout[-6000:]}{done.stderr}"


def test_ruff_format_changes_nothing():
    done = run(tool("ruff"), "format", "--check", ".")
    assert done.returncode == 0, (
        f"ruff format --check . (run `ruff format .`):\n{done.stdout[-6000:]}{done.stderr}"
    )


def test_mypy_finds_nothing():
    done = run(tool("mypy"))
    assert done.returncode == 0, f"mypy found:\n{done.stdout[-6000:]}{done.stderr}"


def test_mypy_checks_the_listed_modules_strictly():
    """The configuration is what CONTRIBUTING.md says: strict, on files that exist."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    mypy = config["mypy"]
    assert mypy["strict"] is True
    missing = [f for f in mypy["files"] if not (ROOT / f).exists()]
    assert not missing, f"[tool.mypy] files lists paths that do not exist: {missing}"
    assert "homogeneity/scaling.py" in mypy["files"] and "proofs_numeric/claim.py" in mypy["files"]


def test_the_mypy_run_can_fail(tmp_path):
    """The same configuration reports a type error (so a clean run means something)."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f(x: int) -> str:\n    return x\n", encoding="utf-8")
    done = run(tool("mypy"), "--config-file", str(ROOT / "pyproject.toml"), str(bad))
    assert done.returncode == 1 and "incompatible return value" in done.stdout.lower(), (
        done.stdout + done.stderr
    )


def test_ci_and_pre_commit_run_the_same_checks():
    yaml = pytest.importorskip("yaml")
    hooks = [h for repo in yaml.safe_load(PRE_COMMIT.read_text())["repos"] for h in repo["hooks"]]
    assert all(repo["repo"] == "local" for repo in yaml.safe_load(PRE_COMMIT.read_text())["repos"])
    entries = [h["entry"] for h in hooks]
    ci = CI.read_text(encoding="utf-8").splitlines()
    tests = ci.index(".venv/bin/python -m pytest")
    for command in (".venv/bin/ruff check", ".venv/bin/ruff format --check", ".venv/bin/mypy"):
        assert any(e.startswith(command) for e in entries), f"no pre-commit hook runs {command}"
        runs = [i for i, line in enumerate(ci) if line.startswith(command)]
        assert runs and runs[0] < tests, f".ci/run must run {command} before the tests"


#: "issue 3", "Issue 5, item 6", "issue #12": a tracker's number says nothing to a reader
ISSUE_NUMBER = re.compile(r"\b[Ii]ssues?\s+#?\d")


def test_the_issue_number_scan_catches_one():
    assert ISSUE_NUMBER.search('"""Issue 4, item 2: the tracker."""')
    assert ISSUE_NUMBER.search("# see issue #12")
    assert not ISSUE_NUMBER.search("# the issue's budget: 60 s")


def test_no_issue_numbers_in_code():
    """Docstrings and comments say what a thing does, not which ticket asked for it."""
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for folder in ("homogeneity", "proofs_numeric", "benchmarks", "tests", "docs/hooks")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != Path(__file__).resolve()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if ISSUE_NUMBER.search(line)
    ]
    assert not found, "issue numbers in code (say what it does instead):\n" + "\n".join(found)
