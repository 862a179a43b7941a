"""The one breakdown policy: an evaluation the numbers cannot support is never a verdict.

* A check asked for at a single point of the ray where the model overflows, gives a NaN,
  or gives an exactly zero output where a ratio or a direction is needed, raises
  :class:`~homogeneity.errors.NumericalBreakdown` with ``rho`` (the point of the ray),
  ``where`` (the op and module, found by re-running that one point) and a ``suggestion``
  that fits the run (a smaller ρ; float64 only when the run is not float64 already; the
  default lifting when a kept low-precision op overflowed).
* A sweep along the ray uses :func:`sweep`: it stops at the first breakdown and records it.

    result = sweep(rhos, lambda rho: homogeneity_error(ray, 2.0, k, rho))
    result.results      # one value per ρ before the breakdown
    result.breakdown    # the NumericalBreakdown that stopped it (None if none did)
    result.stopped_at   # the ρ of the sweep where it stopped (None if it did not)
    result.stop         # the same breakdown as a SweepBreakdown record (rho, where, reason)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import torch

from homogeneity.errors import NumericalBreakdown

T = TypeVar("T")


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def overflow_suggestion(
    rho: float | None, dtype: torch.dtype, kept_low_precision: torch.dtype | None = None
) -> str:
    """What to try after a NaN/inf at ρ in a run of working dtype ``dtype``.

    ``kept_low_precision``: the lowest dtype of the ops the run kept below its working
    dtype (``low_precision='keep'``), if any.
    """
    tips = []
    if rho is not None:
        tips.append(f"a smaller rho than {rho:g} (the output grows with ρ)")
    if dtype != torch.float64:
        tips.append(f"dtype=torch.float64 (this run is {_dtype_name(dtype)})")
    if kept_low_precision is not None:
        tips.append(
            f"low_precision='lift' (the default: the model's own {_dtype_name(kept_low_precision)} "
            f"ops then compute in {_dtype_name(dtype)} instead of overflowing)"
        )
    return "try " + "; or ".join(tips) if tips else "check the model's inputs and parameters"


def non_finite_breakdown(
    rho: float | None,
    where: str,
    dtype: torch.dtype,
    *,
    what: str = "the output",
    kept_low_precision: torch.dtype | None = None,
) -> NumericalBreakdown:
    """The breakdown for a NaN or infinite ``what`` at ρ (``where``: op and module)."""
    at = f" at rho={rho:g}" if rho is not None else ""
    place = f", first at {where}" if where else ""
    suggestion = overflow_suggestion(rho, dtype, kept_low_precision)
    return NumericalBreakdown(
        f"{what} is not finite{at} in {_dtype_name(dtype)} (NaN/inf: an overflow or a NaN"
        f"{place}); this is "
        f"a limit of the arithmetic, not a property of the model: {suggestion}",
        rho=rho,
        where=where or what,
        suggestion=suggestion,
    )


def zero_output_breakdown(
    rho: float | None,
    where: str,
    needed_for: str,
    *,
    overflow: str = "",
    dtype: torch.dtype = torch.float64,
    kept_low_precision: torch.dtype | None = None,
) -> NumericalBreakdown:
    """The breakdown for an output that is exactly zero where ``needed_for`` needs it not
    to be (a ratio of norms, a relative error, a direction).

    ``overflow``: the op where an infinity appeared on the way (a norm then divides by
    it and rounds the layer to zero), if one did; the suggestion is then the overflow's.
    """
    at = f" at rho={rho:g}" if rho is not None else ""
    place = f" (first zero at {where})" if where else ""
    if overflow:
        place += f", after an overflow to infinity at {overflow}"
        suggestion = overflow_suggestion(rho, dtype, kept_low_precision)
    else:
        tips = ["other inputs or parameters (the output is zero, not small)"]
        if rho is not None and rho != 1.0:
            tips.insert(0, "a rho nearer 1 (a large ρ can round a whole layer to zero)")
        suggestion = "try " + "; or ".join(tips)
    return NumericalBreakdown(
        f"the output is exactly zero{at}{place}: {needed_for} is undefined there; {suggestion}",
        rho=rho,
        where=where or overflow or "the output",
        suggestion=suggestion,
    )


@dataclass(frozen=True)
class SweepBreakdown:
    """Where a sweep along the ray stopped: the ray point ``rho`` whose evaluation broke
    down, ``where`` it happened (the layer or op when known), ``reason`` (overflow, NaN,
    zero output) and what to try (``suggestion``)."""

    rho: float
    where: str
    reason: str
    suggestion: str = ""

    @classmethod
    def from_exception(cls, exc: NumericalBreakdown) -> SweepBreakdown:
        return cls(
            float(exc.rho) if exc.rho is not None else math.nan,
            exc.where,
            str(exc),
            exc.suggestion,
        )

    def __str__(self) -> str:
        where = f" (in {self.where})" if self.where and self.where not in self.reason else ""
        return f"the sweep stopped at ρ = {self.rho:.3g}: {self.reason}{where}"

    @property
    def message(self) -> str:
        """The breakdown's message (the same as :attr:`reason`)."""
        return self.reason


@dataclass
class SweepResult(Generic[T]):
    """What a sweep along the ray computed before its first breakdown (if any).

    ``rhos[i]`` and ``results[i]`` belong together; ``breakdown`` stopped the sweep at the
    next point of the grid, ``stopped_at``.
    """

    rhos: list[float] = field(default_factory=list)
    results: list[T] = field(default_factory=list)
    breakdown: NumericalBreakdown | None = None
    stopped_at: float | None = None

    @property
    def stop(self) -> SweepBreakdown | None:
        """The breakdown as a record (None when the sweep ran to the end); its ``rho`` is
        the breakdown's own, or the grid point where the sweep stopped when it has none."""
        if self.breakdown is None:
            return None
        record = SweepBreakdown.from_exception(self.breakdown)
        if self.breakdown.rho is None and self.stopped_at is not None:
            record = dataclasses.replace(record, rho=self.stopped_at)
        return record


def sweep(rhos: Iterable[float], evaluate: Callable[[float], T]) -> SweepResult[T]:
    """``evaluate(ρ)`` for each ρ in order, stopping at the first :class:`NumericalBreakdown`.

    The breakdown (with its own ``rho``: the point of the ray that broke, e.g. c·ρ for a
    homogeneity error, and ``where``) is recorded, not raised; any other exception
    propagates. Points after the breakdown are not evaluated.
    """
    out: SweepResult[T] = SweepResult()
    for rho in rhos:
        try:
            value = evaluate(rho)
        except NumericalBreakdown as exc:
            out.breakdown, out.stopped_at = exc, float(rho)
            return out
        out.rhos.append(float(rho))
        out.results.append(value)
    return out
