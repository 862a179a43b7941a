"""Homogeneity checks along the ray ρ ↦ f(x; ρθ): Euler residual, homogeneity error,
approximate-homogeneity decay, and a gradcheck-style entry point.

Definitions (θ the selected parameter group, f evaluated at fixed inputs x):

* **Euler.** If f is k-homogeneous in θ then θ·∇_θ f = k f (differentiate f(cθ) = c^k f(θ)
  at c = 1). One forward-mode pass gives D = θ·∇_θ f = d/dρ f(ρθ)|_{ρ=1} (a Jacobian-
  vector product with the tangent θ). The degree estimate is the least-squares
  k̂ = ⟨f, D⟩ / ⟨f, f⟩ and the Euler
  residual is ‖D − k f‖ / ‖f‖.
* **Homogeneity error.** ‖f(x; cθ) − c^k f(x; θ)‖ (absolute) and the same divided by
  ‖c^k f(x; θ)‖ (relative), for a scale c > 0.
* **Approximate homogeneity (SPEC D3).** The error at scale c along the ray,
  e(ρ) = ‖f(cρθ) − c^k f(ρθ)‖ / ‖c^k f(ρθ)‖, should vanish exponentially in ρ (in ‖ρθ‖).
  :func:`decay_profile` samples it and :mod:`homogeneity.decay` tells exponential decay
  (D3 holds) from polynomial decay (the limit exists but D3 fails) and from no decay.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.autograd.forward_ad as fwAD
from torch import nn

from homogeneity.constants import DEGREE_TOLERANCE, ORDER_RELATIVE_TOLERANCE, RAY_RHOS
from homogeneity.decay import DecayFit, classify_decay, refine_grid
from homogeneity.errors import HomogeneityInputError
from homogeneity.rules import Degree, DegreeDerivation, predict_degree
from homogeneity.scaling import OutputSelector, Patterns, Ray, default_output
from homogeneity.validation import (
    check_positive_scale,
    check_positive_scales,
)


class HomogeneityCheckError(AssertionError):
    """Raised by :func:`check_homogeneity` when the check fails and raise_exception=True.

    ``report`` holds the full :class:`HomogeneityReport`.
    """

    def __init__(self, report: HomogeneityReport) -> None:
        super().__init__(str(report))
        self.report = report


def noise_floor(dtype: torch.dtype) -> float:
    """Relative errors below 1e3 · machine epsilon are rounding noise."""
    return 1e3 * torch.finfo(dtype).eps


def default_tolerance(dtype: torch.dtype) -> float:
    """Relative tolerance of the exact checks in ``dtype``: 1e3 · machine epsilon, loosened
    to 1e-10 in float64 for deep compositions."""
    return max(noise_floor(dtype), 1e-10 if dtype == torch.float64 else 0.0)


def _flat(t: torch.Tensor) -> torch.Tensor:
    return t.reshape(-1).to(torch.float64)


# -- Euler -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EulerResult:
    """θ·∇f = k f at one point of the ray.

    ``degree_estimate`` is k̂ = ⟨f, θ·∇f⟩/‖f‖²; ``residual`` is ‖θ·∇f − k f‖/‖f‖ for the
    degree ``degree`` that was tested (k̂ when none was given).
    """

    degree_estimate: float
    degree: float
    residual: float
    output_norm: float
    rho: float


def directional_derivative(ray: Ray, rho: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """(f(ρθ), (ρθ)·∇_θ f(ρθ)) from one forward-mode pass.

    Uses dual tensors (``torch.autograd.forward_ad``) with tangent ρθ on the selected
    parameters: d/ds f((ρ + sρ)θ) at s = 0. This costs about 2–3 forward passes;
    ``torch.func.jvp`` gives the same numbers at roughly twice the cost (wrapper overhead).
    """
    rho = check_positive_scale(rho, "rho")
    with fwAD.dual_level():
        params = ray.scaled_params(rho)
        for n in ray.scaled_names:
            params[n] = fwAD.make_dual(params[n], params[n])
        value, tangent = fwAD.unpack_dual(ray.call(params))
    if tangent is None:  # the output does not depend on the selected parameters
        tangent = torch.zeros_like(value)
    return value.detach(), tangent.detach()


def euler(ray: Ray, degree: float | None = None, rho: float = 1.0) -> EulerResult:
    """Euler residual and degree estimate at the point ρθ of the ray."""
    value, derivative = directional_derivative(ray, rho)
    v, d = _flat(value), _flat(derivative)
    norm_sq = float(v @ v)
    if norm_sq == 0.0:
        raise HomogeneityInputError(
            "the output is identically zero at this point: no degree can be read from "
            "θ·∇f = k f; use other inputs or parameters"
        )
    k_hat = float(v @ d) / norm_sq
    k = k_hat if degree is None else float(degree)
    residual = float(torch.linalg.vector_norm(d - k * v)) / math.sqrt(norm_sq)
    return EulerResult(k_hat, k, residual, math.sqrt(norm_sq), rho)


# -- homogeneity error ---------------------------------------------------------------


@dataclass(frozen=True)
class ScaleError:
    """‖f(cρθ) − c^k f(ρθ)‖, absolute and relative to ‖c^k f(ρθ)‖."""

    c: float
    rho: float
    absolute: float
    relative: float


def homogeneity_error(ray: Ray, c: float, degree: float, rho: float = 1.0) -> ScaleError:
    """The homogeneity error at scale c and ray point ρ (c ≤ 0 is refused)."""
    c = check_positive_scale(c, "c")
    rho = check_positive_scale(rho, "rho")
    base = ray(rho)
    scaled = ray(c * rho)
    reference = (c**degree) * base
    absolute = float(torch.linalg.vector_norm(_flat(scaled) - _flat(reference)))
    denom = float(torch.linalg.vector_norm(_flat(reference)))
    relative = absolute / denom if denom > 0 else (0.0 if absolute == 0 else math.inf)
    return ScaleError(c, rho, absolute, relative)


def homogeneity_curve(
    ray: Ray, cs: Sequence[float], degree: float, rho: float = 1.0
) -> list[ScaleError]:
    """:func:`homogeneity_error` for every c in ``cs``."""
    return [homogeneity_error(ray, c, degree, rho) for c in check_positive_scales(cs, "cs")]


def degree_from_ratio(ray: Ray, c: float = 2.0, rho: float = 1.0) -> float:
    """k̂ = ln(‖f(cρθ)‖ / ‖f(ρθ)‖) / ln c: the degree read off two points of the ray."""
    c = check_positive_scale(c, "c")
    if c == 1.0:
        raise HomogeneityInputError("c=1 gives no information on the degree; pass c=2.0")
    a = float(torch.linalg.vector_norm(_flat(ray(rho))))
    b = float(torch.linalg.vector_norm(_flat(ray(c * rho))))
    if a == 0 or b == 0:
        raise HomogeneityInputError("the output is zero on the ray; no degree can be read")
    return math.log(b / a) / math.log(c)


def check_degree_value(degree: object, argument: str = "degree") -> float:
    """A degree must be a finite real number."""
    try:
        value = float(degree)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise HomogeneityInputError(
            f"{argument}={degree!r} is not a number; pass the degree k as a float, or None "
            f"to estimate it"
        ) from exc
    if not math.isfinite(value):
        raise HomogeneityInputError(f"{argument}={degree!r} must be finite; pass e.g. 1.0")
    return value


def check_tolerance(value: float, argument: str) -> float:
    """Tolerances are finite numbers ≥ 0."""
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
        raise HomogeneityInputError(
            f"{argument}={value!r} must be a finite number ≥ 0, e.g. {argument}=1e-10"
        )
    return float(value)


def round_degree(k: float, tol: float = DEGREE_TOLERANCE) -> float:
    """Snap a measured degree to the nearest integer when within ``tol``."""
    return float(round(k)) if abs(k - round(k)) < tol else k


# -- decay along the ray -------------------------------------------------------------

DEFAULT_RHOS: tuple[float, ...] = RAY_RHOS


@dataclass
class DecayProfile:
    """Homogeneity error at scale ``c`` along the ray, and the decay law fitted to it.

    ``theta_norms[i] = ρ_i ‖θ‖``. ``relative`` and ``absolute`` are the errors of
    :func:`homogeneity_error`. ``fit`` classifies the relative error's decay.
    """

    degree: float
    c: float
    rhos: list[float]
    theta_norms: list[float]
    relative: list[float]
    absolute: list[float]
    fit: DecayFit
    dtype: torch.dtype

    @property
    def kind(self) -> str:
        """The degree kind this decay implies: exact / approximate / asymptotic / none."""
        return {
            "exact": "exact",
            "exponential": "approximate",
            "polynomial": "asymptotic",
            "none": "none",
        }.get(self.fit.kind, "undetermined")

    def d3_rate(self) -> float | None:
        """d in |error| ≲ exp(−d‖θ‖^m) (SPEC D3 has m = 1), for exponential decay."""
        if self.fit.kind != "exponential" or not self.theta_norms:
            return None
        scale = self.theta_norms[0] / self.rhos[0]
        return self.fit.rate / scale**self.fit.exponent


def decay_profile(
    ray: Ray,
    degree: float | None = None,
    c: float = 2.0,
    rhos: Sequence[float] | None = None,
    floor: float | None = None,
    refine: bool = True,
) -> DecayProfile:
    """Sample e(ρ) = ‖f(cρθ) − c^k f(ρθ)‖/‖c^k f(ρθ)‖ and classify its decay.

    Args:
        ray: the ray to study.
        degree: k; None reads it off the two largest-ρ points of the ray.
        c: the scale factor (> 1 is the D3 regime).
        rhos: increasing ray points; default 49 points from 0.1 to 1e5 (slow exponential
            decays, e.g. a sigmoid of pre-activations near 0, need the long range).
        floor: errors below are noise; default :func:`noise_floor` of the working dtype.
        refine: resample between the peak and the floor when too few points lie there.
    """
    c = check_positive_scale(c, "c")
    grid = sorted(check_positive_scales(DEFAULT_RHOS if rhos is None else rhos, "rhos"))
    floor = noise_floor(ray.dtype) if floor is None else floor
    if degree is None:
        degree = round_degree(degree_from_ratio(ray, c, grid[-1]))
    norm = ray.theta_norm()

    def sample(points: Sequence[float]) -> list[ScaleError]:
        return [homogeneity_error(ray, c, degree, r) for r in points]

    errors = sample(grid)
    fit = classify_decay(grid, [e.relative for e in errors], floor)
    if refine and fit.kind == "undetermined":
        extra = refine_grid(grid, [e.relative for e in errors], floor)
        if extra:
            merged = sorted(set(grid) | set(extra))
            by_rho = {e.rho: e for e in errors + sample(extra)}
            grid, errors = merged, [by_rho[r] for r in merged]
            fit = classify_decay(grid, [e.relative for e in errors], floor)
    return DecayProfile(
        float(degree),
        c,
        list(grid),
        [r * norm for r in grid],
        [e.relative for e in errors],
        [e.absolute for e in errors],
        fit,
        ray.dtype,
    )


# -- measured degree vs prediction ---------------------------------------------------


@dataclass
class MeasuredDegree:
    """What the numbers say: the degree and its kind, with the evidence."""

    kind: str
    value: float | None
    profile: DecayProfile
    euler: EulerResult

    def __str__(self) -> str:
        k = "?" if self.value is None else f"{self.value:g}"
        return (
            f"measured: degree {k}, {self.kind} ({self.profile.fit}); Euler at ρ=1: "
            f"k̂={self.euler.degree_estimate:.6g}, residual {self.euler.residual:.2e}"
        )


def measure_degree(ray: Ray, c: float = 2.0, rhos: Sequence[float] | None = None) -> MeasuredDegree:
    """Measure the degree along the ray and classify how exactly it holds."""
    profile = decay_profile(ray, None, c, rhos)
    value = profile.degree if profile.kind != "none" else None
    return MeasuredDegree(profile.kind, value, profile, euler(ray, value))


@dataclass
class DegreeAgreement:
    """A model's predicted degree (rules, SPEC D16) set against its measured degree."""

    predicted: DegreeDerivation
    measured: MeasuredDegree

    @property
    def agree(self) -> bool:
        p, m = self.predicted.degree, self.measured
        if p.kind != m.kind:
            return False
        if p.kind == "none":
            return True
        if m.value is None or abs(p.value - m.value) >= DEGREE_TOLERANCE:
            return False
        if p.kind == "asymptotic":
            return abs(m.profile.fit.rate - p.order) <= ORDER_RELATIVE_TOLERANCE * p.order
        return True

    def __str__(self) -> str:
        verdict = "AGREE" if self.agree else "DISAGREE"
        return f"predicted: {self.predicted.degree}\n{self.measured}\n=> {verdict}"


def check_degree(
    model: nn.Module,
    inputs: Any = (),
    parameters: Patterns = None,
    *,
    input_degree: Degree | float = 0,
    kwargs: Mapping[str, Any] | None = None,
    output: OutputSelector = default_output,
    dtype: torch.dtype = torch.float64,
    c: float = 2.0,
    rhos: Sequence[float] | None = None,
) -> DegreeAgreement:
    """Predict the degree of ``model`` from its rules and measure it along the ray."""
    ray = Ray(
        model,
        inputs if isinstance(inputs, tuple) else (inputs,),
        parameters,
        kwargs or {},
        output,
        dtype,
    )
    return DegreeAgreement(
        predict_degree(model, input_degree, parameters), measure_degree(ray, c, rhos)
    )


# -- gradcheck-style entry point -----------------------------------------------------


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
            lines.append(f"  decay along the ray (c={self.profile.c:g}): {self.profile.fit}")
            d3 = self.profile.d3_rate()
            if d3 is not None:
                lines.append(
                    f"  D3 rate: error ≈ exp(−{d3:.3g}·‖θ‖^{self.profile.fit.exponent:.2f})"
                )
        lines.append(f"  tolerance rtol = {self.rtol:.1e}")
        lines += [f"  failure: {f}" for f in self.failures]
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
) -> HomogeneityReport:
    """Check that ``model`` is ``degree``-homogeneous in the selected parameters.

    In the style of :func:`torch.autograd.gradcheck`: float64 by default, named
    tolerances, raises :class:`HomogeneityCheckError` on failure unless
    ``raise_exception=False``, and returns a :class:`HomogeneityReport` that prints well.

    Exact mode (default, SPEC D2): passes when the relative error
    ‖f(cθ) − c^k f(θ)‖/‖c^k f(θ)‖ ≤ ``rtol`` for every c in ``cs`` and the Euler residual
    ‖θ·∇f − k f‖/‖f‖ ≤ ``euler_rtol``.

    Approximate mode (``approximate=True``, SPEC D3): passes when the error along the ray
    decays exponentially (or is exact) for the given degree; polynomial decay fails.

    Args:
        model: a Module, or a function ``fn(params, *inputs, **kwargs)`` with ``params``.
        inputs: forward inputs (a tensor or a tuple).
        degree: k; None estimates it by Euler (k̂) and checks the rounded value.
        parameters: glob patterns selecting θ (None: all parameters).
        rtol, euler_rtol: default 1e3·eps of ``dtype`` (1e-10 in float64). In approximate
            mode ``rtol`` is the noise floor of the decay fit (default 1e3·eps).
        dtype: working dtype (floating only); the caller's module is not converted.
    """
    ray = Ray(
        model,
        inputs if isinstance(inputs, tuple) else (inputs,),
        parameters,
        kwargs or {},
        output,
        dtype,
        params,
    )
    floor = noise_floor(dtype) if rtol is None else rtol
    rtol = default_tolerance(dtype) if rtol is None else check_tolerance(rtol, "rtol")
    if euler_rtol is not None:
        check_tolerance(euler_rtol, "euler_rtol")
    euler_rtol = rtol if euler_rtol is None else euler_rtol
    if degree is None:
        degree = round_degree(euler(ray, None, rho).degree_estimate)
    degree = check_degree_value(degree)
    eul = euler(ray, degree, rho)
    curve = homogeneity_curve(ray, cs, degree, rho)
    failures: list[str] = []
    profile = None
    if approximate:
        profile = decay_profile(ray, degree, max(max(cs), 1.5), floor=floor)
        if profile.fit.kind not in ("exact", "exponential"):
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
    )
    if failures and raise_exception:
        raise HomogeneityCheckError(report)
    return report
