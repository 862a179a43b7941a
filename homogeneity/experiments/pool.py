"""Running experiment jobs in a process pool that Ctrl-C stops.

A terminal's Ctrl-C sends SIGINT to the whole process group: the parent and every
worker. :func:`map_jobs` makes that end the work promptly and cleanly:

* a worker running a job gets ``KeyboardInterrupt`` there, so the job's ``finally``
  blocks run (a tracker closes its JSON-lines log, whose every line is complete), and then
  the worker exits instead of taking the next queued job;
* an idle worker exits at once;
* the parent cancels every job that has not started, stops the workers that are left
  (SIGINT, then SIGTERM, then SIGKILL after a grace period) and re-raises
  ``KeyboardInterrupt``, which the command reports as ``homogeneity: interrupted`` with
  exit status 130.

``concurrent.futures.ProcessPoolExecutor.shutdown()`` would instead wait for every queued
job, so a run queued behind the interrupted ones would start after the signal. A caller's
own :class:`~concurrent.futures.Executor` (Dask, Ray, …) is used as it is: its futures
are cancelled on interrupt, its workers are its owner's business.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")

#: exit status of a worker that was interrupted (128 + SIGINT)
INTERRUPTED_EXIT = 130
#: seconds a stopped worker gets to close its files before it is terminated
GRACE_SECONDS = 5.0


def _exit_when_idle(signum: int, frame: Any) -> None:
    os._exit(INTERRUPTED_EXIT)


def _init_worker() -> None:
    """In each worker: Ctrl-C while waiting for a job ends the worker at once."""
    signal.signal(signal.SIGINT, _exit_when_idle)


def _run_job(fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    """In a worker: run one job with Ctrl-C raising KeyboardInterrupt inside it (so its
    cleanup runs); after an interrupt the worker exits rather than take another job."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return fn(*args)
    except KeyboardInterrupt:
        os._exit(INTERRUPTED_EXIT)
    finally:
        signal.signal(signal.SIGINT, _exit_when_idle)


def _workers(executor: ProcessPoolExecutor) -> list[Any]:
    """The worker processes of a ProcessPoolExecutor (CPython keeps them in
    ``_processes``; there is no public accessor before Python 3.14)."""
    processes = getattr(executor, "_processes", None) or {}
    return list(processes.values())


def stop_pool(executor: ProcessPoolExecutor, grace: float = GRACE_SECONDS) -> None:
    """Cancel queued jobs and stop every worker now (interrupt, then terminate, then kill)."""
    workers = _workers(executor)
    executor.shutdown(wait=False, cancel_futures=True)
    for process in workers:
        if process.is_alive() and process.pid is not None:
            try:
                os.kill(process.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace
    for process in workers:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in workers:
        if process.is_alive():
            process.terminate()
            process.join(1.0)
        if process.is_alive():
            process.kill()
            process.join(1.0)


def map_jobs(
    fn: Callable[..., T],
    jobs: Sequence[tuple[Any, ...]],
    *,
    executor: Executor | None = None,
    max_workers: int | None = None,
    gather: Callable[[list[Future[T]]], Iterable[Future[T]]] = lambda futures: futures,
) -> list[T]:
    """``[fn(*job) for job in jobs]``, run in parallel, in the order of ``jobs``.

    With ``executor=None`` the jobs run in a process pool of ``max_workers`` (default: one
    per job, at most one per CPU) that Ctrl-C stops as described above. ``gather`` may
    wrap the futures (e.g. in a progress bar) while their results are collected; it must
    yield them in order.
    """
    own = executor is None
    processes: list[Any] = []
    if own:
        workers = max_workers or min(len(jobs), max(1, os.cpu_count() or 1))
        pool = ProcessPoolExecutor(max_workers=max(1, workers), initializer=_init_worker)
        futures = [pool.submit(_run_job, fn, tuple(job)) for job in jobs]
        processes = _workers(pool)
    else:
        assert executor is not None
        futures = [executor.submit(fn, *job) for job in jobs]
    try:
        results = [f.result() for f in gather(futures)]
    except BaseException as exc:
        for f in futures:
            f.cancel()
        if own:
            stop_pool(pool)
        if isinstance(exc, BrokenProcessPool) and any(
            p.exitcode == INTERRUPTED_EXIT for p in processes
        ):
            # only a worker got the signal (kill -INT <pid>): still an interruption
            raise KeyboardInterrupt from exc
        raise
    if own:
        pool.shutdown()
    return results
