"""Shared benchmark helpers: every figure is a ratio against a baseline timed in the same
run, collected with the ``report_ratio`` fixture and printed in the terminal summary.

Run all benchmarks with ``python -m pytest benchmarks --benchmark-enable``.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

_RATIOS = pytest.StashKey[list]()


@dataclass
class Ratio:
    name: str
    value: float
    target: str
    detail: str


def median_seconds(fn: Callable[[], object], repeats: int = 15, warmup: int = 2) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def paired_medians(
    fns: dict[str, Callable[[], object]], repeats: int = 15, warmup: int = 2
) -> dict[str, float]:
    """Median wall time of each function, timed in interleaved rounds so that load from
    other processes affects every function alike (ratios stay meaningful)."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def load_average() -> float:
    """The machine's 1-minute load average (what else was running while we measured)."""
    return os.getloadavg()[0]


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch on ``n`` intra-op threads inside the block (restored afterwards)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture
def single_thread():
    """Run torch on one thread for the test (restored afterwards): ratios then measure
    the algorithmic cost, not how two threads share a loaded machine."""
    with torch_threads(1):
        yield


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_RATIOS] = []


@pytest.fixture
def report_ratio(request: pytest.FixtureRequest) -> Callable[..., None]:
    """Record a figure: ``report_ratio(name, value, target="≤ 3×", detail="...")``."""

    def report(name: str, value: float, target: str = "", detail: str = "") -> None:
        request.config.stash[_RATIOS].append(Ratio(name, value, target, detail))

    return report


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    ratios = config.stash.get(_RATIOS, [])
    if not ratios:
        return
    terminalreporter.section("figures (ratios against a baseline measured in the same run)")
    for r in ratios:
        terminalreporter.write_line(
            f"{r.name:<64} {r.value:>9.4g}   target {r.target or '-':<10} {r.detail}"
        )
