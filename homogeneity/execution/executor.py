"""The checked execution path every evaluation of a ray goes through.

:class:`CheckedExecution` runs a forward (a value pass or a forward-mode pass) inside
:func:`~homogeneity.execution.backends.checked_backends` (SDPA math kernel, MHA fast path
off). Its **first** pass also runs under

* a :class:`~homogeneity.execution.module_paths.ModulePathTracker` (module paths),
* a :class:`~homogeneity.execution.observed_calls.CallObserver` (attention calls; clear
  errors for inputs of the wrong kind),
* a :class:`~homogeneity.execution.low_precision.LowPrecisionMode` that records (and, by
  default, lifts) the ops asked to compute below the working dtype.

Later passes run under the lifting mode only when the first pass found something to lift,
and under no mode at all otherwise, so a model without low-precision ops pays nothing per
op. After a breakdown, :meth:`CheckedExecution.locate_non_finite` and
:meth:`CheckedExecution.locate_zero` re-run one pass to name the op or module.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import TypeVar

import torch
from torch import nn

from homogeneity.constants import LowPrecision
from homogeneity.execution.backends import checked_backends
from homogeneity.execution.locate import non_finite_origin, trace_breakdown, zero_origin
from homogeneity.execution.low_precision import LowPrecisionMode, LowPrecisionOp
from homogeneity.execution.module_paths import ModulePathTracker
from homogeneity.execution.observed_calls import AttentionCall, CallObserver, Diagnosis

T = TypeVar("T")


class CheckedExecution:
    """Runs the passes of one ray; remembers what its first pass saw.

    Args:
        root: the model (for module paths; None for a plain function).
        dtype: the working dtype.
        low_precision: ``"lift"`` (default) or ``"keep"``.
        diagnosis: turns a failing torch call of the first pass into a clear error.
        failure: turns any other exception of the first pass into a clear error (or None
            to let it through).
    """

    def __init__(
        self,
        root: nn.Module | None,
        dtype: torch.dtype,
        low_precision: str = LowPrecision.LIFT,
        diagnosis: Diagnosis | None = None,
        failure: Callable[[BaseException], Exception | None] | None = None,
    ) -> None:
        self.root = root
        self.dtype = dtype
        self.lift = low_precision == LowPrecision.LIFT
        self.diagnosis = diagnosis
        self.failure = failure
        self.probed = False
        self.low_precision_ops: tuple[LowPrecisionOp, ...] = ()
        self.attention_calls: tuple[AttentionCall, ...] = ()
        self.mha_calls = 0

    @property
    def lifting(self) -> bool:
        """Whether later passes run under the lifting mode."""
        return self.lift and bool(self.low_precision_ops)

    def run(self, forward: Callable[[], T]) -> T:
        """``forward()`` on the checked path (the first call also records the run)."""
        with checked_backends():
            if not self.probed:
                return self._first_pass(forward)
            if self.lifting:
                with LowPrecisionMode(self.dtype, lift=True):
                    return forward()
            return forward()

    def _first_pass(self, forward: Callable[[], T]) -> T:
        tracker = ModulePathTracker(self.root)
        precision = LowPrecisionMode(self.dtype, lift=self.lift, tracker=tracker)
        observer = CallObserver(tracker, self.diagnosis)
        try:
            with tracker, observer, precision:
                out = forward()
        except Exception as exc:
            clear = self.failure(exc) if self.failure is not None else None
            if clear is None:
                raise
            raise clear from exc
        # one entry per site: a forward-mode pass runs each cast for the value and again
        # for its tangent
        self.low_precision_ops = tuple(dict.fromkeys(precision.ops))
        self.attention_calls = tuple(observer.attention)
        self.mha_calls = tracker.called_any(nn.MultiheadAttention)
        self.probed = True
        return out

    # -- after a breakdown -----------------------------------------------------------
    def _same_path(self, stack: ExitStack) -> None:
        stack.enter_context(checked_backends())
        if self.lifting:
            stack.enter_context(LowPrecisionMode(self.dtype, lift=True))

    def locate_non_finite(self, forward: Callable[[], object]) -> str:
        """Re-run ``forward`` on the same path: the op and module where the first NaN/inf
        that reached a module's output was created ("" if none is found)."""
        with ExitStack() as stack:
            self._same_path(stack)
            return non_finite_origin(trace_breakdown(self.root, forward))

    def locate_zero(self, forward: Callable[[], object]) -> tuple[str, str]:
        """Re-run ``forward`` on the same path: (the first module with an identically
        zero output, the overflow inside it that caused it or "")."""
        with ExitStack() as stack:
            self._same_path(stack)
            return zero_origin(trace_breakdown(self.root, forward))
