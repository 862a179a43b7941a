"""The adapter interface: what the saturation analyses need from one model."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, cast

import torch
from torch import nn

from homogeneity.adapters.batch import Batch, Trace
from homogeneity.constants import LowPrecision
from homogeneity.errors import HomogeneityInputError
from homogeneity.execution.executor import CheckedExecution
from homogeneity.execution.module_hooks import hooks_restored
from homogeneity.execution.report import ExecutionReport
from homogeneity.scaling import OutputSelector, Patterns, Ray, select_parameter_names
from homogeneity.validation import check_float_dtype


class ModelAdapter(ABC):
    """Where the saturation analyses find things in one model (see the package docstring)."""

    #: the module whose parameters are scaled (its ``named_parameters`` define θ)
    module: nn.Module
    #: glob patterns over ``module.named_parameters()`` names; None: every parameter
    scaled_parameters: Patterns = None
    #: True when ``arguments(batch, saturated=True)`` makes the module compute the exact
    #: saturated network (generalised-argmax attention, saturating maps at their limits)
    supports_saturated: bool = False
    #: True when attention is causal (query i sees keys j ≤ i); used to count the visible
    #: positions of each query when the trace does not carry the model's own masks
    causal: bool = False
    #: ``'lift'``: ops the model runs below the working dtype (a float32 norm in a float64
    #: run) compute in the working dtype; ``'keep'``: as written (see
    #: :class:`~homogeneity.scaling.Ray`, whose execution path does either)
    low_precision: str = LowPrecision.LIFT
    #: the execution path of the ray that ran last (for :meth:`last_forward_notes`; the
    #: ray itself is not kept, it holds a copy of every parameter)
    _last_execution: CheckedExecution | None = None

    @abstractmethod
    def arguments(
        self, batch: Batch, saturated: bool = False, tie_tol: float = 0.0
    ) -> tuple[tuple, dict[str, Any]]:
        """(positional, keyword) arguments of ``module(...)`` for ``batch``."""

    @abstractmethod
    def trace(self, output: Any) -> Trace:
        """Hidden states and attention probabilities from the module's output."""

    def describe(self) -> dict[str, str]:
        """How this adapter runs the model, in words: which path it takes for attention,
        which outputs are the per-layer hidden states, what masks it uses."""
        return {"adapter": type(self).__name__}

    def last_forward_notes(self) -> str:
        """What the last evaluation changed in the model's forward, in words ("" when
        nothing): the ops lifted to the working dtype (the line of the ray's
        :class:`~homogeneity.execution.ExecutionReport`) and, for adapters that intercept
        torch functions, the activations replaced in the saturated forward."""
        parts = []
        ex = self._last_execution
        if ex is not None and ex.lifting:
            report = ExecutionReport(
                ex.dtype, low_precision=LowPrecision.LIFT, low_precision_ops=ex.low_precision_ops
            )
            parts.append(report.low_precision_line())
        parts.append(self._interception_notes())
        return "; ".join(p for p in parts if p)

    def low_precision_description(self) -> str:
        """What the evaluations do with ops below the working dtype, in words."""
        if self.low_precision == LowPrecision.LIFT:
            return "ops below the working dtype (float32 casts) lifted to it by the ray"
        return "ops below the working dtype kept as the model has them (a noise floor)"

    def _interception_notes(self) -> str:
        """What an interception mode changed in the last forward ("" for none)."""
        return ""

    def batch_from(self, inputs: Any, kwargs: Mapping[str, Any] | None = None) -> Batch:
        """The :class:`Batch` for inputs given the way one would call the model (a tensor
        of ids, a ``Batch``, or ``(ids,)``); adapters of other models accept more."""
        if kwargs:
            raise HomogeneityInputError(
                f"{type(self).__name__} decides how to call the model; pass a "
                f"homogeneity.adapters.Batch instead of keyword inputs {sorted(kwargs)}"
            )
        return as_batch(inputs)

    # -- shared machinery --------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.module.parameters()).device

    def module_scaled_names(self) -> list[str]:
        """Names (in ``module.named_parameters()``) of the parameters that the ray scales."""
        names = [n for n, _ in self.module.named_parameters()]
        return select_parameter_names(names, self.scaled_parameters)

    def scaled_names(self) -> list[str]:
        """Names of the parameters that the ray scales, as the user knows them."""
        return self.module_scaled_names()

    def all_scaled(self) -> bool:
        """True when every parameter of the model is scaled (the paper's setting)."""
        return len(self.module_scaled_names()) == len(list(self.module.parameters()))

    def ray(
        self,
        batches: Batch | Sequence[Batch],
        *,
        saturated: bool = False,
        tie_tol: float = 0.0,
        dtype: torch.dtype = torch.float64,
    ) -> Ray:
        """The ray ρ ↦ f(x; ρθ) on one batch or on several.

        ``ray(rho)`` returns a :class:`Trace` for a single :class:`Batch`, a list of them
        (one per batch) for a sequence. Several batches share one evaluation: θ is scaled
        once per ρ, and each batch keeps its own padding.
        """
        check_float_dtype(dtype)
        if saturated and not self.supports_saturated:
            raise HomogeneityInputError(
                f"{type(self).__name__} has no exact saturated forward; use the finite-ρ "
                f"proxy (saturated=False) or an adapter with supports_saturated=True"
            )
        single = isinstance(batches, Batch)
        items: list[Batch] = [batches] if isinstance(batches, Batch) else list(batches)
        if not items or not all(isinstance(b, Batch) for b in items):
            raise HomogeneityInputError(
                "batches must be a homogeneity.adapters.Batch or a non-empty sequence of them"
            )
        calls = [self.arguments(b.to(self.device), saturated, tie_tol) for b in items]
        names = (
            None
            if self.scaled_parameters is None
            else [f"{BatchLoop.PREFIX}{n}" for n in self.module_scaled_names()]
        )
        ray: Ray

        def output(outs: list[Any]) -> Trace | list[Trace]:
            self._last_execution = ray._execution  # the path this evaluation ran on
            traces = [self.trace(o) for o in outs]
            return traces[0] if single else traces

        ray = Ray(
            BatchLoop(self.module),
            inputs=(calls,),
            parameters=names,
            output=cast(OutputSelector, output),  # this ray returns traces, not one tensor
            dtype=dtype,
            low_precision=self.low_precision,
        )
        return ray

    def run(
        self,
        batch: Batch,
        rho: float = 1.0,
        *,
        saturated: bool = False,
        tie_tol: float = 0.0,
        dtype: torch.dtype = torch.float64,
    ) -> Trace:
        """One evaluation f(x; ρθ) (exact saturated form if ``saturated``)."""
        trace = self.ray(batch, saturated=saturated, tie_tol=tie_tol, dtype=dtype)(rho)
        return cast(Trace, trace)


class BatchLoop(nn.Module):
    """Calls the wrapped module once per (args, kwargs) pair, so that one functional call
    (one scaling of θ) serves several batches. Its parameter names are the wrapped
    module's with the prefix ``model.``."""

    PREFIX = "model."

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, calls: list[tuple[tuple, dict[str, Any]]]) -> list[Any]:
        # transformers installs output-capturing hooks on the user's model the first time
        # it is asked for hidden states; they are taken off again after each call
        with hooks_restored(self.model):
            return [self.model(*args, **kwargs) for args, kwargs in calls]


def as_batch(inputs: Any) -> Batch:
    """A :class:`Batch` from a Batch, a tensor of token ids, or a 1-tuple of either."""
    if isinstance(inputs, Batch):
        return inputs
    if isinstance(inputs, torch.Tensor):
        if inputs.is_floating_point():
            return Batch.from_embeddings(inputs)
        return Batch.from_ids(inputs)
    if (
        isinstance(inputs, (tuple, list))
        and len(inputs) == 1
        and isinstance(inputs[0], (Batch, torch.Tensor))
    ):
        return as_batch(inputs[0])  # (ids,), the form the module-level API takes
    raise HomogeneityInputError(
        f"inputs for an adapter must be a homogeneity.adapters.Batch or a tensor of token "
        f"ids, got {type(inputs).__name__}"
    )
