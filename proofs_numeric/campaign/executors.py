"""Executors for a campaign: any :class:`concurrent.futures.Executor` works; these are the
ones the command line and the tests name.

``process``  a :class:`~concurrent.futures.ProcessPoolExecutor` whose workers are
             *spawned* (never forked: a fork copies the caller's torch and Hypothesis
             state and is unsafe with threads), each prepared once
             (:func:`~proofs_numeric.campaign.units.prepare_process`); the default;
``thread``   a :class:`~concurrent.futures.ThreadPoolExecutor` (its threads take turns:
             the numeric state a unit changes is process-wide);
``serial``   :class:`InlineExecutor`, every unit in the caller's thread as it is
             submitted (the baseline, and for debugging);
``dask``     the executor of a Dask ``Client`` (``Client.get_executor()``): on the
             scheduler at ``scheduler`` (``tcp://host:8786``), or on a
             ``LocalCluster`` of ``workers`` single-threaded worker processes. The
             workers must be able to import this package (same code, ``PYTHONPATH``).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Literal

from homogeneity.errors import HomogeneityInputError
from proofs_numeric.campaign.units import prepare_process

ExecutorKind = Literal["process", "thread", "serial", "dask"]
EXECUTOR_KINDS: tuple[str, ...] = ("process", "thread", "serial", "dask")


class InlineExecutor(Executor):
    """An executor that runs each call at once, in the caller's thread."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # the caller reads it from the future
            future.set_exception(exc)
        return future


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes, each prepared once for claim units."""
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=prepare_process,
    )


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def warm_up(executor: Executor, workers: int, timeout: float = 300.0) -> set[int]:
    """Start and prepare the workers of a process pool before timing it: submit short
    tasks until ``workers`` different processes have answered (a worker answers only once
    its initializer has run) or ``timeout`` seconds have passed. Returns their ids."""
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < workers and time.monotonic() < deadline:
        futures = [executor.submit(_pid_after, 0.2) for _ in range(workers)]
        seen.update(f.result() for f in futures)
    return seen


def _check_workers(workers: int) -> None:
    if not isinstance(workers, int) or workers < 1:
        raise HomogeneityInputError(f"workers={workers!r} must be an integer ≥ 1")


@contextmanager
def open_executor(
    kind: str = "process", workers: int = 2, scheduler: str | None = None
) -> Iterator[Executor]:
    """The executor ``kind`` (see the module docstring), shut down on exit."""
    if kind not in EXECUTOR_KINDS:
        raise HomogeneityInputError(f"executor={kind!r} must be one of {EXECUTOR_KINDS}")
    if scheduler is not None and kind != "dask":
        raise HomogeneityInputError(
            f"scheduler={scheduler!r} is a Dask scheduler address; pass executor='dask'"
        )
    _check_workers(workers)
    if kind == "serial":
        yield InlineExecutor()
    elif kind == "thread":
        with ThreadPoolExecutor(max_workers=workers) as pool:
            yield pool
    elif kind == "process":
        with process_pool(workers) as pool:
            yield pool
    else:
        with dask_executor(workers, scheduler) as pool:
            yield pool


@contextmanager
def dask_executor(workers: int = 2, scheduler: str | None = None) -> Iterator[Executor]:
    """``Client.get_executor()`` of a Dask client on ``scheduler``, or on a fresh
    ``LocalCluster(n_workers=workers, processes=True, threads_per_worker=1)`` (no
    dashboard) that is closed on exit."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - dask is a declared dependency
        raise HomogeneityInputError(
            "executor='dask' needs dask.distributed; install dask[distributed]"
        ) from None
    if scheduler is not None:
        with Client(scheduler) as client:
            yield client.get_executor()
        return
    _check_workers(workers)
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client.get_executor()
