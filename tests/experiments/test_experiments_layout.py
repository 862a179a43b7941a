"""Experiments are found by their SPEC id, each split into compute (returns a dataclass),
report and command, with no import cycle; the former module names still work."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = {
    "e2_e4_e7_norm_growth": "norm_growth",
    "e6_homogeneity_curves": "homogeneity_curves",
    "e8_weight_decay": "weight_decay_grid",
}


@pytest.mark.parametrize("package", sorted(EXPERIMENTS))
def test_each_experiment_is_a_package_named_by_its_ids(package):
    for part in ("compute", "report", "command"):
        module = importlib.import_module(f"homogeneity.experiments.{package}.{part}")
        assert module.__doc__, f"{module.__name__} has no docstring"
    command = importlib.import_module(f"homogeneity.experiments.{package}.command")
    assert callable(command.main) and callable(command.build_parser)
    alias = importlib.import_module(f"homogeneity.experiments.{EXPERIMENTS[package]}")
    assert alias.main is command.main  # the old python -m name runs the same command


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def import_graph(packages=("homogeneity", "proofs_numeric")) -> dict[str, set[str]]:
    """Module → modules it imports (function-level imports included), within ``packages``."""
    files = [p for pkg in packages for p in (ROOT / pkg).rglob("*.py")]
    names = {_module_name(p) for p in files}
    graph: dict[str, set[str]] = {}
    for path in files:
        name = _module_name(path)
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".") if is_package else name.split(".")[:-1]
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in names else base for a in node.names
                ]
            else:
                continue
            edges |= {t for t in targets if t in names and t != name}
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


OURS = (
    "homogeneity.experiments.e2_e4_e7_norm_growth",
    "homogeneity.experiments.e6_homogeneity_curves",
    "homogeneity.experiments.e8_weight_decay",
    "homogeneity.experiments.pool",
    "homogeneity.cli",
    "proofs_numeric.command",
)


def test_no_import_cycle_through_the_experiments_or_the_command_line():
    # the finder must see a cycle where there is one (control), and none in a chain
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [{"a", "b"}]
    assert cycles({"a": {"b"}, "b": set()}) == []
    graph = import_graph()
    assert any(m.startswith(OURS[0]) for m in graph), "the experiment packages are missing"
    bad = [c for c in cycles(graph) if any(m.startswith(OURS) for m in c)]
    assert not bad, f"import cycles: {bad}"
