"""How a ray's evaluations run: kernels that have forward-mode AD, low-precision ops
lifted (or kept and reported), breakdowns located, outputs and token masks chosen.

* :func:`checked_backends`: SDPA on its math kernel and the MHA fast path off, restored.
* :class:`CheckedExecution`: the path every evaluation of a
  :class:`~homogeneity.scaling.Ray` takes; its first pass records an :class:`ExecutionReport`.
* :class:`LowPrecisionMode`, :class:`LowPrecisionOp`: ops computing below the working dtype.
* :func:`sweep`, :class:`SweepResult`, :class:`SweepBreakdown`,
  :func:`non_finite_breakdown`, :func:`zero_output_breakdown`: the breakdown policy
  (every sweep along the ray and every single-point check of the package uses them).
* :func:`select_output`, :class:`SelectedOutput`: which output tensor(s) a check studies.
* :func:`token_mask_from_keywords`, :func:`causality`: padding and causality from the
  model's own inputs and configuration.
"""

from homogeneity.execution.backends import checked_backends
from homogeneity.execution.breakdown import (
    SweepBreakdown,
    SweepResult,
    non_finite_breakdown,
    overflow_suggestion,
    sweep,
    zero_output_breakdown,
)
from homogeneity.execution.executor import CheckedExecution
from homogeneity.execution.low_precision import LowPrecisionMode, LowPrecisionOp
from homogeneity.execution.model_inputs import (
    TokenMask,
    causality,
    is_transformers_model,
    mapping_as_keywords,
    token_mask_from_keywords,
)
from homogeneity.execution.outputs import SelectedOutput, select_output
from homogeneity.execution.report import ExecutionReport

__all__ = [
    "CheckedExecution",
    "ExecutionReport",
    "LowPrecisionMode",
    "LowPrecisionOp",
    "SelectedOutput",
    "SweepBreakdown",
    "SweepResult",
    "TokenMask",
    "causality",
    "checked_backends",
    "is_transformers_model",
    "mapping_as_keywords",
    "non_finite_breakdown",
    "overflow_suggestion",
    "select_output",
    "sweep",
    "token_mask_from_keywords",
    "zero_output_breakdown",
]
