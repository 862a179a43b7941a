"""What a ray's evaluations actually ran on, as a few plain lines.

    output: last_hidden_state of BaseModelOutputWithPastAndCrossAttentions
    SDPA: math kernel (fused kernels have no forward-mode AD)
    float32 ops lifted to float64: 5 ops in 3 modules (layers.0.input_layernorm, …); …
    token mask: attention_mask (7 of 10 tokens are real; …)
    causal: yes (the attention modules' is_causal)

Only what occurred in the run is mentioned: the SDPA line appears when the model called
``scaled_dot_product_attention``, the fast-path line when an ``nn.MultiheadAttention``
ran, the low-precision line when an op computed below the working dtype.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from homogeneity.constants import LowPrecision
from homogeneity.execution.backends import MHA_FASTPATH_LINE, SDPA_MATH_LINE
from homogeneity.execution.low_precision import FLOAT_DTYPES, LowPrecisionOp
from homogeneity.tolerances import noise_floor as dtype_noise_floor

#: how many module paths a report line names before "…"
NAMED_MODULES = 4


def _name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


@dataclass(frozen=True)
class ExecutionReport:
    """The execution path of a ray's evaluations (recorded on its first pass).

    Attributes:
        dtype: the working dtype.
        output: which output tensor(s) the checks studied.
        sdpa_calls: calls of ``scaled_dot_product_attention`` (run on its math kernel).
        mha_calls: ``nn.MultiheadAttention`` forwards (run with the fast path off).
        low_precision: ``"lift"`` or ``"keep"``: what was done with ``low_precision_ops``.
        low_precision_ops: the ops that were asked to compute below ``dtype``, one entry
            per distinct (module, op, dtypes) site.
        token_mask: the token mask line ("" when there is no mask).
        causal: whether the model attends causally (None: nothing says).
        causal_source: where ``causal`` came from.
    """

    dtype: torch.dtype
    output: str = ""
    sdpa_calls: int = 0
    mha_calls: int = 0
    low_precision: str = LowPrecision.LIFT
    low_precision_ops: tuple[LowPrecisionOp, ...] = ()
    token_mask: str = ""
    causal: bool | None = None
    causal_source: str = ""

    # -- low precision ---------------------------------------------------------------
    @property
    def lifted(self) -> bool:
        """Whether ops below the working dtype were computed in the working dtype."""
        return bool(self.low_precision_ops) and self.low_precision == LowPrecision.LIFT

    @property
    def low_precision_modules(self) -> list[str]:
        """The module paths that ran low-precision ops, in order of first appearance."""
        return list(
            dict.fromkeys(op.module or "<outside any module>" for op in self.low_precision_ops)
        )

    @property
    def lowest_kept_dtype(self) -> torch.dtype | None:
        """The lowest-precision dtype the run kept for an op that rounds its values
        (None when the ops were lifted, or there were none)."""
        if self.low_precision != LowPrecision.KEEP:
            return None
        kept = {op.target for op in self.low_precision_ops if op.rounds}
        if not kept:
            return None
        return max(kept, key=lambda d: torch.finfo(d).eps)

    @property
    def low_precision_floor(self) -> float | None:
        """The relative noise floor the kept low-precision ops cause: 1e3·eps of the
        lowest kept dtype (the package's usual rule,
        :func:`~homogeneity.tolerances.noise_floor`); None when nothing below the working
        dtype was kept."""
        lowest = self.lowest_kept_dtype
        return None if lowest is None else dtype_noise_floor(lowest)

    @property
    def noise_floor(self) -> float:
        """Relative errors below this are rounding noise for this run: the working dtype's
        floor, raised to :attr:`low_precision_floor` when low-precision ops were kept.
        Fits of the error along the ray must be made above it."""
        floor = dtype_noise_floor(self.dtype)
        kept = self.low_precision_floor
        return floor if kept is None else max(floor, kept)

    # -- text ------------------------------------------------------------------------
    def low_precision_line(self) -> str:
        """The line on the ops below the working dtype: lifted or kept, where, and the
        noise floor kept ones cause ("" when there were none)."""
        if not self.low_precision_ops:
            return ""
        ops = self.low_precision_ops
        targets = sorted({op.target for op in ops}, key=FLOAT_DTYPES.index)
        below = "/".join(_name(d) for d in targets)
        modules = self.low_precision_modules
        named = ", ".join(modules[:NAMED_MODULES]) + (", …" if len(modules) > NAMED_MODULES else "")
        counted = (
            f"{len(ops)} site(s) in {len(modules)} module(s) ({named}), "
            f"{sum(op.is_downcast for op in ops)} of them downcasts"
        )
        if self.lifted:
            return (
                f"{below} ops lifted to {_name(self.dtype)}: {counted}; the check measures the "
                f"model's mathematics, not its rounding (low_precision='keep' keeps them)"
            )
        floor = self.low_precision_floor
        floor_text = (
            f"noise floor {floor:.1e} (relative errors below it are {below} rounding)"
            if floor is not None
            else "they cast integers only, so they round nothing"
        )
        return f"{below} ops kept in the {_name(self.dtype)} run: {counted}; {floor_text}"

    def lines(self) -> list[str]:
        """The report as plain lines."""
        out = []
        if self.output:
            out.append(f"output: {self.output}")
        if self.sdpa_calls:
            out.append(f"{SDPA_MATH_LINE}: {self.sdpa_calls} call(s)")
        if self.mha_calls:
            out.append(f"{MHA_FASTPATH_LINE}: {self.mha_calls} call(s)")
        if self.low_precision_ops:
            out.append(self.low_precision_line())
        if self.token_mask:
            out.append(self.token_mask)
        if self.causal is not None:
            out.append(f"causal: {'yes' if self.causal else 'no'} (from {self.causal_source})")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())
