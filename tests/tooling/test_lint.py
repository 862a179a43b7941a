"""The tree lints clean, as CI (.ci/run) and the pre-commit hooks require: ruff's rules,
ruff's formatting, and mypy on the files that pyproject.toml's ``[tool.mypy]`` lists (the
whole tree), strict on the modules of its strict override and in default mode elsewhere.

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
from typing import Any

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


def mypy_config() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]


def strict_override(config: dict[str, Any]) -> dict[str, Any]:
    """The override that makes the strict modules strict (the one naming proofs_numeric.claim)."""
    found = [o for o in config["overrides"] if "proofs_numeric.claim" in o["module"]]
    assert len(found) == 1, "one [[tool.mypy.overrides]] must list the strict modules"
    return found[0]


def strict_flags() -> list[str]:
    """The flags ``mypy --strict`` enables, as this mypy's ``--help`` lists them, spelt as
    configuration keys (``--no-implicit-reexport`` → ``no_implicit_reexport``)."""
    text = run(tool("mypy"), "--help").stdout
    lines = text[text.index("enables the following flags:") :].splitlines()
    joined = lines[0].split(":", 1)[1].strip()
    for line in lines[1:]:
        if not line.startswith("      "):
            break  # the next option (the description's lines are indented deeper)
        joined += ("" if joined.endswith("-") else " ") + line.strip()
    flags = [f.strip().removeprefix("--").replace("-", "_") for f in joined.split(",")]
    assert "disallow_untyped_defs" in flags and "strict_equality" in flags, flags
    return flags


#: flags of --strict that mypy accepts only in the global section (they hold for the run)
GLOBAL_ONLY = {"warn_redundant_casts", "warn_unused_configs"}
#: flags of --strict left off on purpose, each with its reason in pyproject.toml
NOT_ENABLED = {"warn_return_any"}


def test_mypy_checks_the_whole_tree():
    """``mypy`` with no arguments checks both packages and the benchmarks, in paths that
    exist, and is not globally strict (strict holds for the override's modules only)."""
    config = mypy_config()
    assert {"homogeneity", "proofs_numeric", "benchmarks", "tests"} <= set(config["files"])
    missing = [f for f in config["files"] if not (ROOT / f).exists()]
    assert not missing, f"[tool.mypy] files lists paths that do not exist: {missing}"
    assert "strict" not in config, "mypy's strict is global: name the flags in the override"


def test_mypy_checks_the_listed_modules_strictly():
    """The strict override sets every flag of --strict (the global-only ones are set in
    the global section, warn_return_any is left off with its reason), on modules that
    exist."""
    config = mypy_config()
    override = strict_override(config)
    for flag in strict_flags():
        if flag in GLOBAL_ONLY:
            assert config.get(flag) is True, f"{flag} (global only) must be set in [tool.mypy]"
        elif flag not in NOT_ENABLED:
            assert override.get(flag) is True, f"the strict override does not set {flag}"
    modules = override["module"]
    assert "homogeneity.scaling" in modules and "proofs_numeric.claim" in modules
    missing = [m for m in modules if not module_exists(m)]
    assert not missing, f"the strict override names modules that do not exist: {missing}"


def module_exists(module: str) -> bool:
    """A module name of the tree (``a.b``: a/b.py or a/b/__init__.py; ``a.b.*``: the
    package a/b) names something that exists."""
    if module.endswith(".*"):
        return (ROOT / module.removesuffix(".*").replace(".", "/") / "__init__.py").is_file()
    base = ROOT / module.replace(".", "/")
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


#: in every probe module: an unannotated function (reported only under the strict flags:
#: no-untyped-def, and its body's error under check_untyped_defs) and an annotated one
#: whose error any mode reports
PROBE = """\
def untyped(x):
    y: int = "text"
    return y


def wrong(x: int) -> str:
    return x
"""
#: probe paths: strict ones (listed, or under proofs_numeric.precision.*) and default ones
STRICT_PROBES = ["homogeneity/scaling.py", "proofs_numeric/precision/norms.py"]
DEFAULT_PROBES = ["homogeneity/experiments/table.py", "proofs_numeric/campaign/probe.py"]
DEFAULT_PROBES += ["benchmarks/bench_probe.py"]


@pytest.fixture(scope="module")
def probe_findings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """The project's configuration run on probe modules laid out like the tree: each path's
    error codes (so which mode a module gets is the configuration's, tested, not assumed)."""
    root = tmp_path_factory.mktemp("mypy_probe")
    for name in STRICT_PROBES + DEFAULT_PROBES:
        path = root / name
        for folder in [path.parent, *path.parent.parents]:
            if folder == root:
                break
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "__init__.py").touch()
        path.write_text(PROBE, encoding="utf-8")
    command = [tool("mypy"), "--config-file", str(ROOT / "pyproject.toml")]
    command += ["--cache-dir", str(root / ".mypy_cache"), *STRICT_PROBES, *DEFAULT_PROBES]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=900)
    assert done.returncode == 1, done.stdout + done.stderr
    found: dict[str, set[str]] = {name: set() for name in STRICT_PROBES + DEFAULT_PROBES}
    for line in done.stdout.splitlines():
        match = re.match(r"(\S+\.py):\d+: error: .*\[([a-z-]+)\]$", line)
        if match and match.group(1) in found:
            found[match.group(1)].add(match.group(2))
    return found


@pytest.mark.parametrize("name", STRICT_PROBES)
def test_a_strict_module_is_checked_strictly(probe_findings, name):
    assert probe_findings[name] == {"no-untyped-def", "assignment", "return-value"}


@pytest.mark.parametrize("name", DEFAULT_PROBES)
def test_the_mypy_run_can_fail_in_a_default_mode_module(probe_findings, name):
    """Outside the strict list mypy runs in default mode: an unannotated function is let
    be, but a type error is a finding (so a clean whole-tree run means something)."""
    assert probe_findings[name] == {"return-value"}


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
