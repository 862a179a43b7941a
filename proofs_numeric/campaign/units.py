"""The work a campaign hands to an executor: one unit = one shard of a claim's check, or
a claim's negative controls; :func:`run_unit` runs it in whatever process receives it.

A unit and its outcome are plain picklable data (claim id, profile, shard; verdict,
control outcomes, seconds, traceback), so a unit runs in a thread, a spawned process or a
Dask worker alike. The claim itself (with its functions) is looked up in the receiving
process's registry.

Why a unit's result does not depend on where it runs:

* **The same modules are loaded.** Hypothesis draws a share of its examples from the
  literals of the local (non-test) modules the process has imported, so a search's path
  depends on what else the process loaded: a claim checked in a fresh process can find
  another worst margin than the same claim checked after others. :func:`prepare_process`
  therefore imports every module of ``proofs_numeric`` and ``homogeneity`` before the
  first unit, in every worker and in the caller's process alike. (What it cannot remove
  are other local modules the caller has loaded itself, e.g. a script calling a campaign
  in-process: their literals reach the searches of a thread pool or an in-process
  executor, not those of a process pool.)
* **One unit at a time per process.** mpmath's working precision, torch's thread count
  and Hypothesis's constants are process-wide, so :func:`run_unit` holds a process-wide
  lock while it runs: a thread pool (or a Dask worker with several threads) runs the
  units of one process one after the other. Parallelism comes from processes.
* **One torch thread.** Each unit runs with ``torch.set_num_threads(1)`` (restored
  afterwards): float64 reductions then add in the same order everywhere, and workers do
  not oversubscribe the cores.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
import time
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

from proofs_numeric.campaign.shard import LedgerEntry, SearchShard
from proofs_numeric.claim import CheckContext, ControlOutcome, Verdict, registry
from proofs_numeric.profiles import Profile
from proofs_numeric.runner import run_claim, run_controls

UnitKind = Literal["check", "controls"]

#: The packages whose every module :func:`prepare_process` imports.
CANONICAL_PACKAGES: tuple[str, ...] = ("proofs_numeric", "homogeneity")

# mpmath's precision, torch's threads and Hypothesis's module constants are process-wide:
# one unit at a time per process (see the module docstring)
_PROCESS_LOCK = threading.Lock()


@dataclass(frozen=True)
class WorkUnit:
    """One piece of a campaign: the check of ``claim_id`` (whole, or one ``shard`` of
    it), or its negative controls, under ``profile``."""

    claim_id: str
    profile: Profile
    kind: UnitKind = "check"
    shard: SearchShard | None = None

    @property
    def label(self) -> str:
        if self.kind == "controls":
            return f"{self.claim_id} controls"
        return self.claim_id + ("" if self.shard is None else f" {self.shard.label}")


@dataclass(frozen=True)
class UnitOutcome:
    """What came back from a unit: the verdict (check units) or the control outcomes in
    the claim's order (control units), the seconds it took where it ran, the traceback
    if it raised, and the ledger of the searches that ran as its shard."""

    unit: WorkUnit
    verdict: Verdict | None = None
    controls: tuple[ControlOutcome, ...] = ()
    seconds: float = 0.0
    error: str | None = None
    ledger: tuple[LedgerEntry, ...] = field(default_factory=tuple)
    worker: str = ""


def canonical_modules(packages: tuple[str, ...] = CANONICAL_PACKAGES) -> list[str]:
    """Every module of ``packages`` (their ``__main__`` modules too: they only run under
    ``python -m``), sorted."""
    names: set[str] = set()
    for package in packages:
        pkg = importlib.import_module(package)
        names.add(package)
        names.update(m.name for m in pkgutil.walk_packages(pkg.__path__, f"{package}."))
    return sorted(names)


def prepare_process(packages: tuple[str, ...] = CANONICAL_PACKAGES) -> int:
    """Import every module of ``packages`` and build the claim registry (the first call
    in a process takes seconds, later ones nothing). Returns the number of modules. Use
    it as a process pool's ``initializer``; :func:`run_unit` calls it too."""
    return _prepared(tuple(packages))


@cache
def _prepared(packages: tuple[str, ...]) -> int:
    modules = canonical_modules(packages)
    for name in modules:
        importlib.import_module(name)
    registry()
    return len(modules)


@contextmanager
def _one_torch_thread() -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _worker_name() -> str:
    import os

    return f"pid {os.getpid()} {threading.current_thread().name}"


@contextmanager
def _quiet_about_other_threads_random() -> Iterator[None]:
    """Hypothesis warns when the global ``random`` state changes while it draws; in a
    Dask worker the worker's own threads use ``random`` meanwhile. The searches never use
    the global ``random`` (each draws from its own seeded generator), so the warning says
    nothing about them and is silenced for the unit."""
    from hypothesis.errors import HypothesisDeprecationWarning

    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message="Do not use the `random` module inside strategies",
            category=HypothesisDeprecationWarning,
        )
        yield


@contextmanager
def unit_conditions() -> Iterator[None]:
    """The conditions every unit runs under (see the module docstring): the canonical
    modules loaded, this process's lock held, one torch thread. The pytest plugin runs
    its claims under them too, so a test session finds what a campaign finds."""
    prepare_process()
    with _PROCESS_LOCK, _one_torch_thread(), _quiet_about_other_threads_random():
        yield


def run_unit(unit: WorkUnit) -> UnitOutcome:
    """Run one unit here (in a worker process, a thread or the caller's process)."""
    with unit_conditions():
        claim = registry()[unit.claim_id]
        start = time.perf_counter()
        if unit.kind == "controls":
            outcomes = run_controls(claim, CheckContext(unit.profile))
            return UnitOutcome(
                unit,
                controls=tuple(o for _, o in outcomes),
                seconds=time.perf_counter() - start,
                worker=_worker_name(),
            )
        shard = None
        if unit.shard is not None:  # a fresh ledger: the unit's own shard is never reused
            shard = SearchShard(unit.claim_id, unit.shard.index, unit.shard.count, unit.shard.seed)
        result = run_claim(claim, CheckContext(unit.profile, shard=shard), controls=False)
        return UnitOutcome(
            unit,
            verdict=result.verdict,
            seconds=time.perf_counter() - start,
            error=result.error,
            ledger=tuple(shard.ledger) if shard is not None else (),
            worker=_worker_name(),
        )


def unit_failure(unit: WorkUnit, exc: BaseException) -> UnitOutcome:
    """The outcome of a unit the executor could not run (a worker died, the unit could not
    be sent): an error, never a verdict."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return UnitOutcome(unit, error=f"the executor could not run {unit.label}:\n{text}")
