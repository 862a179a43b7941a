"""Ops that compute below the working dtype ("float32 islands" in a float64 run).

Many real models cast on purpose: Hugging Face's ``T5LayerNorm`` computes its variance
as ``x.to(torch.float32).pow(2).mean(-1)``, ``LlamaRMSNorm`` normalises in float32,
rotary embeddings compute their angles in float32, eager attention runs
``softmax(..., dtype=torch.float32)``. In a float64 check each such op rounds to about
1e-7 relative, which puts a noise floor under every homogeneity error, and a float32
cast overflows (at 3.4e38) long before float64 does.

Every such op reaches the dispatcher as an aten op with a ``dtype=`` keyword below the
working dtype: ``_to_copy`` (``.to``, ``.float()``, ``.type``, ``softmax(dtype=)``),
reductions with ``dtype=``, factories (``empty``, ``zeros``, ``arange``) with ``dtype=``.
:class:`LowPrecisionMode` sees each of them (primal and forward-mode tangent ops alike,
since the tangent formulas dispatch the same ops) and either **lifts** it (runs it with
``dtype=<working dtype>``) or keeps it, and records what it saw when asked to. An op
without a ``dtype=`` keyword costs one dictionary lookup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from homogeneity.execution.module_paths import ModulePathTracker

#: the floating dtypes torch knows, lowest precision last
FLOAT_DTYPES: tuple[torch.dtype, ...] = tuple(
    d
    for d in (
        torch.float64,
        torch.float32,
        torch.float16,
        torch.bfloat16,
        getattr(torch, "float8_e4m3fn", None),
        getattr(torch, "float8_e5m2", None),
    )
    if d is not None
)


def lower_precision_dtypes(working: torch.dtype) -> frozenset[torch.dtype]:
    """The floating dtypes with a larger machine epsilon than ``working``."""
    eps = torch.finfo(working).eps
    return frozenset(d for d in FLOAT_DTYPES if torch.finfo(d).eps > eps)


@dataclass(frozen=True)
class LowPrecisionOp:
    """One op that was asked to compute in ``target``, a dtype below the working dtype.

    ``source`` is the dtype of its first tensor input (None for a new tensor, e.g.
    ``torch.empty(..., dtype=torch.float32)``); ``module`` the path of the module that
    ran it.
    """

    module: str
    op: str
    source: torch.dtype | None
    target: torch.dtype

    @property
    def is_downcast(self) -> bool:
        """A floating tensor rounded to fewer bits."""
        return self.source is not None and self.source.is_floating_point

    @property
    def rounds(self) -> bool:
        """Whether the op rounds values the computation depends on: a downcast, or a new
        low-precision tensor that results are written into. Casts of integers (positions,
        bucket indices) are exact for the sizes models use."""
        return self.source is None or self.source.is_floating_point


def _input_dtype(args: Sequence[Any]) -> torch.dtype | None:
    for a in args:
        if isinstance(a, torch.Tensor):
            return a.dtype
        if isinstance(a, (list, tuple)):
            inner = _input_dtype(a)
            if inner is not None:
                return inner
    return None


class LowPrecisionMode(TorchDispatchMode):
    """Lift (``lift=True``) or keep the ops asked to compute below ``working``.

    With a ``tracker`` every such op is recorded in ``ops`` with the module that ran it
    (the first pass of a ray does this; later passes run without a tracker, or without
    this mode at all when the first pass found nothing).
    """

    def __init__(
        self, working: torch.dtype, *, lift: bool, tracker: ModulePathTracker | None = None
    ) -> None:
        super().__init__()
        self.working = working
        self.lift = lift
        self.tracker = tracker
        self.ops: list[LowPrecisionOp] = []
        self._below = lower_precision_dtypes(working)

    def __torch_dispatch__(
        self,
        func: Any,
        types: Any,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        target = kwargs.get("dtype")
        if target is None or target not in self._below:
            return func(*args, **kwargs)
        if self.tracker is not None:
            self.ops.append(
                LowPrecisionOp(
                    self.tracker.current,
                    f"aten.{func.overloadpacket.__name__}",
                    _input_dtype(args),
                    target,
                )
            )
        if self.lift:
            kwargs = {**kwargs, "dtype": self.working}
        return func(*args, **kwargs)
