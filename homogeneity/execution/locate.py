"""Where an evaluation broke down: re-run one point of the ray and find the culprit.

One re-run records two kinds of events:

* **op events** (a ``TorchDispatchMode``): an aten op whose output holds a NaN or ±inf
  although every tensor input was finite and no argument asked for a non-finite value
  (``masked_fill(mask, -inf)``, ``full(..., -inf)`` and the −inf causal masks of
  attention kernels are deliberate and are passed over), with the stack of modules that
  were running;
* **module events** (global forward hooks): a module returning an output with a NaN/inf,
  or one that is identically zero. Modules return innermost first, so the first event is
  the deepest module where it happened.

:func:`non_finite_origin` is the first module whose output went non-finite with an op
event inside it, and that op (an op event outside every bad module, such as the
``log(0) = -inf`` that T5's relative position buckets compute and then discard, is not
blamed). :func:`zero_origin` is the first module whose output was identically zero, and
the overflow inside it that caused the zero, if any (a norm that divides by an infinite
variance returns zeros).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from homogeneity.execution.module_paths import ModulePathTracker


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in _leaves(v)]
    if isinstance(value, Mapping):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    return [value]


def _floating(value: Any) -> list[torch.Tensor]:
    """The floating tensors with values among the leaves of ``value``: not the meta
    tensors forward-mode AD computes shapes with, nor its zero tensors
    (``_efficientzerotensor``: all zero, and reading them inside a dispatch mode crashes
    torch)."""
    return [
        t
        for t in _leaves(value)
        if isinstance(t, torch.Tensor)
        and (t.is_floating_point() or t.is_complex())
        and not t.is_meta
        and not t._is_zerotensor()
    ]


def _non_finite(t: torch.Tensor) -> bool:
    return t.numel() > 0 and not bool(torch.isfinite(t).all())


def _all_zero(value: Any) -> bool:
    tensors = [t for t in _floating(value) if t.numel() > 0]
    return bool(tensors) and all(not bool(t.any()) for t in tensors)


def _asks_for_non_finite(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


@dataclass
class OpEvent:
    """An op that created a NaN/inf from finite inputs."""

    description: str
    modules: tuple[str, ...]


@dataclass
class ModuleEvent:
    """A module that returned a non-finite or an identically zero output."""

    path: str
    description: str
    kind: str  # "non-finite" or "zero"


@dataclass
class BreakdownTrace:
    """The events of one locating re-run."""

    ops: list[OpEvent] = field(default_factory=list)
    modules: list[ModuleEvent] = field(default_factory=list)


class NonFiniteOps(TorchDispatchMode):
    """Records every op that creates a NaN or an infinity from finite inputs."""

    def __init__(self, tracker: ModulePathTracker, trace: BreakdownTrace) -> None:
        super().__init__()
        self.tracker = tracker
        self.trace = trace

    def __torch_dispatch__(
        self,
        func: Any,
        types: Any,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        produced = [t for t in _floating(out) if _non_finite(t)]
        if produced:
            inputs = _leaves(list(args)) + _leaves(dict(kwargs))
            deliberate = any(_asks_for_non_finite(a) for a in inputs)
            if not deliberate and not any(_non_finite(t) for t in _floating(inputs)):
                dtypes = sorted({str(t.dtype).removeprefix("torch.") for t in produced})
                self.trace.ops.append(
                    OpEvent(
                        f"aten.{func.overloadpacket.__name__} ({'/'.join(dtypes)}) "
                        f"{self.tracker.describe()}",
                        self.tracker.paths,
                    )
                )
        return out


def trace_breakdown(root: nn.Module | None, run: Callable[[], Any]) -> BreakdownTrace:
    """Re-run ``run`` once, recording the op and module events (a failure of the re-run
    itself ends it; the events so far are kept)."""
    trace = BreakdownTrace()

    def on_output(path: str, module: nn.Module, output: Any) -> None:
        tensors = _floating(output)
        if any(_non_finite(t) for t in tensors):
            kind = "non-finite"
        elif _all_zero(output):
            kind = "zero"
        else:
            return
        trace.modules.append(ModuleEvent(path, f"module '{path}' ({type(module).__name__})", kind))

    tracker = ModulePathTracker(root, on_output=on_output)
    try:
        with tracker, NonFiniteOps(tracker, trace):
            run()
    except Exception:  # the re-run only serves to locate: keep what it saw
        pass
    return trace


def _ops_inside(trace: BreakdownTrace, path: str) -> list[OpEvent]:
    return [op for op in trace.ops if path in op.modules]


def non_finite_origin(trace: BreakdownTrace) -> str:
    """The op and module where the first NaN/inf that reached a module's output was
    created ("" when the trace shows none)."""
    for event in trace.modules:
        if event.kind == "non-finite":
            inside = _ops_inside(trace, event.path)
            if inside:
                return inside[0].description
    return trace.ops[0].description if trace.ops and not trace.modules else ""


def zero_origin(trace: BreakdownTrace) -> tuple[str, str]:
    """(the first module whose output was identically zero, the overflow inside it that
    caused the zero or ""); ("", "") when no module output was zero."""
    for event in trace.modules:
        if event.kind == "zero":
            inside = _ops_inside(trace, event.path)
            return event.description, inside[0].description if inside else ""
    return "", ""
