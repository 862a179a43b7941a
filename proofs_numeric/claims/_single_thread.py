"""One torch intra-op thread while a claim evaluates small tensors (restored afterwards).

The claims' tensors are tiny; on a shared machine several threads fight over the cores
and make every op many times slower than one thread alone.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import torch

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def single_thread() -> Iterator[None]:
    """``torch.set_num_threads(1)`` inside the block; the caller's setting is restored."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def one_thread(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator form of :func:`single_thread`."""

    @functools.wraps(fn)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        with single_thread():
            return fn(*args, **kwargs)

    return wrapped
