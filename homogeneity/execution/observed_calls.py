"""What a model calls, seen at the level of torch functions during a ray's first pass.

:class:`CallObserver` is a ``TorchFunctionMode``: it sees every top-level torch function
a model's Python code calls (``F.scaled_dot_product_attention``, ``F.linear``,
``F.embedding``, ``F.multi_head_attention_forward`` …). It records the attention calls
(how many, and whether they were causal) so that a report mentions only what ran, and
when a call raises it passes the failure to a diagnosis (for instance integer token ids
reaching ``F.linear``), which may replace the raw torch error by a clear one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from homogeneity.execution.module_paths import ModulePathTracker

#: diagnosis(func, args, kwargs, exc, where) -> an exception to raise instead, or None
Diagnosis = Callable[[Any, Sequence[Any], Mapping[str, Any], BaseException, str], Exception | None]


@dataclass
class AttentionCall:
    """One attention call: which function, whether it was causal, whether a mask came."""

    function: str
    causal: bool
    masked: bool
    module: str


class CallObserver(TorchFunctionMode):
    """Records the attention calls of one run; diagnoses the torch calls that raise."""

    def __init__(
        self, tracker: ModulePathTracker | None = None, diagnosis: Diagnosis | None = None
    ) -> None:
        super().__init__()
        self.tracker = tracker
        self.diagnosis = diagnosis
        self.attention: list[AttentionCall] = []

    def __torch_function__(
        self,
        func: Any,
        types: Any,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        if func is F.scaled_dot_product_attention:
            mask = kwargs.get("attn_mask", args[3] if len(args) > 3 else None)
            causal = kwargs.get("is_causal", args[5] if len(args) > 5 else False)
            self._record("scaled_dot_product_attention", bool(causal), mask is not None)
        elif func is F.multi_head_attention_forward:
            self._record(
                "multi_head_attention_forward",
                bool(kwargs.get("is_causal", False)),
                kwargs.get("attn_mask") is not None or kwargs.get("key_padding_mask") is not None,
            )
        try:
            return func(*args, **kwargs)
        except (RuntimeError, TypeError, IndexError, ValueError) as exc:
            if self.diagnosis is None:
                raise
            where = self.tracker.describe() if self.tracker is not None else ""
            clear = self.diagnosis(func, args, kwargs, exc, where)
            if clear is None:
                raise
            raise clear from exc

    def _record(self, function: str, causal: bool, masked: bool) -> None:
        module = self.tracker.current if self.tracker is not None else ""
        self.attention.append(AttentionCall(function, causal, masked, module))

    def count(self, function: str) -> int:
        """How many calls of ``function`` ran."""
        return sum(1 for c in self.attention if c.function == function)


def tensors_in(args: Sequence[Any]) -> list[torch.Tensor]:
    """The tensors among ``args`` (one level of lists/tuples deep)."""
    out: list[torch.Tensor] = []
    for a in args:
        if isinstance(a, torch.Tensor):
            out.append(a)
        elif isinstance(a, (list, tuple)):
            out.extend(t for t in a if isinstance(t, torch.Tensor))
    return out
