"""``check_homogeneity``: the gradcheck-style entry point of the degree checks.

In the style of :func:`torch.autograd.gradcheck`: float64 by default, named tolerances,
raises :class:`HomogeneityCheckError` on failure unless ``raise_exception=False``, and
returns a :class:`HomogeneityReport` that prints well.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from homogeneity.constants import LowPrecision
from homogeneity.degree import DecayProfile, decay_profile
from homogeneity.errors import NumericalBreakdown
from homogeneity.euler_identity import EulerResult, euler
from homogeneity.execution.report import ExecutionReport
from homogeneity.scale_error import ScaleError, homogeneity_curve
from homogeneity.scaling import OutputSelector, Patterns, Ray, default_output
from homogeneity.tolerances import (
    check_degree_value,
    check_tolerance,
    default_tolerance,
    round_degree,
)


class HomogeneityCheckError(AssertionError):
    """Raised by :func:`check_homogeneity` when the check fails and raise_exception=True.

    ``report`` holds the full :class:`HomogeneityReport`.
    """

    def __init__(self, report: HomogeneityReport) -> None:
        super().__init__(str(report))
        self.report = report


@dataclass
class HomogeneityReport:
    """Everything :func:`check_homogeneity` measured, and whether the check passed."""

    passed: bool
    degree: float
    approximate: bool
    euler: EulerResult
    curve: list[ScaleError]
    rtol: float
    dtype: torch.dtype
    parameters: list[str]
    profile: DecayProfile | None = None
    failures: list[str] = field(default_factory=list)
    execution: ExecutionReport | None = None

    def __str__(self) -> str:
        mode = "approximately (D3)" if self.approximate else "exactly (D2)"
        head = "PASSED" if self.passed else "FAILED"
        names = ", ".join(self.parameters[:6]) + (" …" if len(self.parameters) > 6 else "")
        lines = [
            f"homogeneity check {head}: {self.degree:g}-homogeneous {mode} in "
            f"{len(self.parameters)} parameter tensor(s) [{names}], dtype {self.dtype}",
            f"  Euler at ρ={self.euler.rho:g}: k̂ = {self.euler.degree_estimate:.10g}, "
            f"‖θ·∇f − k f‖/‖f‖ = {self.euler.residual:.3e}",
        ]
        for e in self.curve:
            lines.append(
                f"  c = {e.c:<8g} ‖f(cθ) − c^k f(θ)‖ = {e.absolute:.3e} (relative {e.relative:.3e})"
            )
        if self.profile is not None:
            lines.append(
                f"  decay along the ray (c={self.profile.c:g}, degree "
                f"{self.profile.degree_source}): {self.profile.fit}"
            )
            lines += [f"  {line}" for line in self.profile.breakdown_lines()]
            d3 = self.profile.d3_rate()
            if d3 is not None:
                lines.append(
                    f"  D3 rate: error ≈ exp(−{d3:.3g}·‖θ‖^{self.profile.fit.exponent:.2f})"
                )
        lines.append(f"  tolerance rtol = {self.rtol:.1e}")
        lines += [f"  failure: {f}" for f in self.failures]
        if self.execution is not None:
            lines += [f"  {line}" for line in self.execution.lines()]
        return "\n".join(lines)


def check_homogeneity(
    model: nn.Module | Callable[..., Any],
    inputs: Any = (),
    degree: float | None = None,
    *,
    approximate: bool = False,
    parameters: Patterns = None,
    kwargs: Mapping[str, Any] | None = None,
    params: Mapping[str, torch.Tensor] | None = None,
    output: OutputSelector = default_output,
    cs: Sequence[float] = (0.5, 2.0, 3.0),
    rho: float = 1.0,
    rtol: float | None = None,
    euler_rtol: float | None = None,
    dtype: torch.dtype = torch.float64,
    raise_exception: bool = True,
    low_precision: str = LowPrecision.LIFT,
) -> HomogeneityReport:
    """Check that ``model`` is ``degree``-homogeneous in the selected parameters.

    In the style of :func:`torch.autograd.gradcheck`: float64 by default, named
    tolerances, raises :class:`HomogeneityCheckError` on failure unless
    ``raise_exception=False``, and returns a :class:`HomogeneityReport` that prints well.

    Exact mode (default, SPEC D2): passes when the relative error
    ‖f(cθ) − c^k f(θ)‖/‖c^k f(θ)‖ ≤ ``rtol`` for every c in ``cs`` and the Euler residual
    ‖θ·∇f − k f‖/‖f‖ ≤ ``euler_rtol``.

    Approximate mode (``approximate=True``, SPEC D3): passes when the error along the ray
    decays exponentially (or is exact) for the given degree; polynomial decay fails, and so
    does a decay the numbers cannot classify (undetermined, with the reason). Without a
    degree, approximate mode reads it off the ray's tail (the largest ρ the sweep reaches),
    as :func:`~homogeneity.degree.decay_profile` does, not from Euler at ρ = 1: k̂(1) of an
    approximately homogeneous map is not its degree. The report says where it was read.

    Args:
        model: a Module, or a function ``fn(params, *inputs, **kwargs)`` with ``params``.
        inputs: forward inputs (a tensor or a tuple).
        degree: k; None estimates it (exact mode: Euler k̂ at ``rho``; approximate mode: read
            off the ray's tail) and checks the rounded value.
        parameters: glob patterns selecting θ (None: all parameters).
        rtol, euler_rtol: default 1e3·eps of ``dtype`` (1e-10 in float64). In approximate
            mode an error at or below ``rtol`` counts as zero for the decay fit (default
            1e3·eps); the floor that kept low-precision ops cause is fitted above.
        dtype: working dtype (floating only); the caller's module is not converted.
        low_precision: ``'lift'`` (default) computes the model's ops below ``dtype`` (a
            float32 cast in a float64 run) in ``dtype``; ``'keep'`` runs them as written
            (see :class:`~homogeneity.scaling.Ray`).

    Raises :class:`~homogeneity.errors.NumericalBreakdown` (not a verdict) when the model
    overflows, gives a NaN, or gives an exactly zero output at ρ or at one of the c·ρ.
    """
    ray = Ray(
        model,
        inputs if isinstance(inputs, tuple) else (inputs,),
        parameters,
        kwargs or {},
        output,
        dtype,
        params,
        low_precision=low_precision,
    )
    floor_given = rtol
    rtol = default_tolerance(dtype) if rtol is None else check_tolerance(rtol, "rtol")
    if euler_rtol is not None:
        check_tolerance(euler_rtol, "euler_rtol")
    euler_rtol = rtol if euler_rtol is None else euler_rtol
    profile = None
    if approximate and degree is None:
        profile = decay_profile(ray, None, max(max(cs), 1.5), precision_floor=floor_given)
        if profile.breakdown is not None and not profile.rhos:
            stop = profile.breakdown
            raise NumericalBreakdown(
                f"no degree can be read off the ray: {stop}",
                rho=stop.rho,
                where=stop.where,
                suggestion=stop.suggestion,
            )
        degree = profile.degree
    if degree is None:
        degree = round_degree(euler(ray, None, rho).degree_estimate)
    degree = check_degree_value(degree)
    eul = euler(ray, degree, rho)
    curve = homogeneity_curve(ray, cs, degree, rho)
    if curve.breakdown is not None:
        raise curve.breakdown
    failures: list[str] = []
    if approximate:
        if profile is None:
            # rtol, when given, counts as zero; the floor of kept float32 islands
            # (ray.noise_floor) is taken by decay_profile as a noise floor to fit above
            profile = decay_profile(ray, degree, max(max(cs), 1.5), precision_floor=floor_given)
        if profile.fit.kind == "undetermined":
            failures.append(f"cannot tell whether the error along the ray decays: {profile.fit}")
        elif profile.fit.kind not in ("exact", "exponential"):
            failures.append(f"error along the ray is not exponentially decaying: {profile.fit}")
    else:
        bad = [e for e in curve if not e.relative <= rtol]
        if bad:
            worst = max(bad, key=lambda e: e.relative)
            failures.append(
                f"relative error {worst.relative:.3e} at c={worst.c:g} exceeds rtol={rtol:.1e}"
            )
        if not eul.residual <= euler_rtol:
            failures.append(
                f"Euler residual {eul.residual:.3e} exceeds euler_rtol="
                f"{euler_rtol:.1e} (θ·∇f ≠ {degree:g}·f)"
            )
    report = HomogeneityReport(
        not failures,
        degree,
        approximate,
        eul,
        curve,
        rtol,
        dtype,
        ray.scaled_names,
        profile,
        failures,
        ray.execution,
    )
    if failures and raise_exception:
        raise HomogeneityCheckError(report)
    return report
