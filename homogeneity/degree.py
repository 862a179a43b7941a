"""The measured degree along the ray ρ ↦ f(x; ρθ): the decay profile of the homogeneity
error and the degree it implies (exact, approximate, asymptotic or none).

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
  (D3 holds) from polynomial decay (the limit exists but D3 fails) and from no decay,
  fitting the law on the asymptotic tail only and saying "undetermined" when the
  numbers cannot support a verdict.
* **The degree read off the ray.** k̂(ρ) = ln(‖f(cρθ)‖/‖f(ρθ)‖)/ln c at the largest ρ the
  sweep reached (before any breakdown): for an asymptotically k-homogeneous f it tends to
  k as ρ → ∞, so the tail, not ρ = 1, says what the degree is.

**Breakdowns.** The sweep follows the package's one breakdown policy: it stops at the first
ρ where an evaluation overflows, is NaN or is exactly zero, records ρ and where it happened
(:class:`SweepBreakdown`), and the law is fitted on the points before it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from homogeneity.constants import DEGREE_TOLERANCE, RAY_RHOS
from homogeneity.decay import DecayFit, classify_decay, refine_grid
from homogeneity.errors import NumericalBreakdown
from homogeneity.euler_identity import EulerResult, euler
from homogeneity.execution.breakdown import SweepBreakdown, non_finite_breakdown
from homogeneity.execution.breakdown import sweep as sweep_until_breakdown
from homogeneity.scaling import Ray
from homogeneity.tolerances import check_tolerance, flat64, noise_floor, round_degree
from homogeneity.validation import check_positive_scale, check_positive_scales

DEFAULT_RHOS: tuple[float, ...] = RAY_RHOS
#: ρ points added where the tail is too thinly sampled (one refinement per profile)
REFINE_POINTS = 16


# -- evaluating the ray, with breakdowns ---------------------------------------------------


#: what the sweep needs the output for, as breakdowns name it
NEEDED_FOR = "the homogeneity error along the ray"


def evaluate_on_ray(ray: Ray, rho: float) -> torch.Tensor:
    """f(x; ρθ) as a flat float64 vector, or :class:`NumericalBreakdown`.

    The ray raises it for a NaN or infinite output (naming the op or module where it
    first happened); an exactly zero output is a breakdown too, located by
    ``Ray.zero_output_breakdown``.
    """
    out = flat64(ray(rho))
    if not bool(out.any()):
        raise ray.zero_output_breakdown(rho, NEEDED_FOR)
    return out


def _scaled_norm(x: torch.Tensor) -> float:
    """‖x‖₂ without overflow in the squares (x is float64 and finite)."""
    top = float(x.abs().max()) if x.numel() else 0.0
    if top == 0.0:
        return 0.0
    return top * float(torch.linalg.vector_norm(x / top))


@dataclass(frozen=True)
class RayPoint:
    """One point of the sweep: the homogeneity error at ρ (relative and absolute) and the
    degree read there, k̂(ρ) = ln(‖f(cρθ)‖/‖f(ρθ)‖)/ln c."""

    rho: float
    relative: float
    absolute: float
    degree_estimate: float


def _norms(ray: Ray, c: float, rho: float) -> tuple[torch.Tensor, torch.Tensor, float, float]:
    base = evaluate_on_ray(ray, rho)
    scaled = evaluate_on_ray(ray, c * rho)
    return base, scaled, _scaled_norm(base), _scaled_norm(scaled)


def ray_point(ray: Ray, c: float, degree: float, rho: float) -> RayPoint:
    """The error at one point and the degree read there, or :class:`NumericalBreakdown`
    (also when c^k f(ρθ) overflows)."""
    base, scaled, nb, ns = _norms(ray, c, rho)
    factor = c**degree
    reference = factor * base
    if not (math.isfinite(factor) and bool(torch.isfinite(reference).all())):
        raise non_finite_breakdown(
            rho,
            f"c^k·f(ρθ) with c={c:g}, k={degree:g} (c^k = {factor:.3g})",
            torch.float64,
            what="the reference c^k·f(ρθ)",
        )
    top = max(float(reference.abs().max()), float(scaled.abs().max()))
    absolute = top * float(torch.linalg.vector_norm((scaled - reference) / top))
    denom = _scaled_norm(reference)
    relative = absolute / denom if denom > 0 else (0.0 if absolute == 0 else math.inf)
    return RayPoint(rho, relative, absolute, math.log(ns / nb) / math.log(c))


def sweep(
    ray: Ray, c: float, degree: float, rhos: Sequence[float]
) -> tuple[list[RayPoint], SweepBreakdown | None]:
    """:func:`ray_point` at increasing ``rhos``, stopping at the first breakdown (the
    package's shared sweep, ``homogeneity.execution.breakdown.sweep``)."""
    result = sweep_until_breakdown(rhos, lambda rho: ray_point(ray, c, degree, rho))
    stop = None if result.breakdown is None else SweepBreakdown.from_exception(result.breakdown)
    return list(result.results), stop


def stable_top(estimates: Sequence[float]) -> int | None:
    """Index of the largest-ρ point whose k̂ agrees with its left neighbour's within
    DEGREE_TOLERANCE (where the degree read off the ray has settled), or None."""
    for i in range(len(estimates) - 1, 0, -1):
        a, b = estimates[i], estimates[i - 1]
        if math.isfinite(a) and math.isfinite(b) and abs(a - b) <= DEGREE_TOLERANCE:
            return i
    return None


def read_degree(ray: Ray, c: float, rhos: Sequence[float]) -> tuple[float, float] | None:
    """(ρ, k̂(ρ)) at the largest ρ of ``rhos`` where the ray evaluates without a breakdown
    and k̂ has settled (it agrees with k̂ at the next smaller ρ within DEGREE_TOLERANCE);
    failing that, at the largest ρ that evaluates; None when it breaks down everywhere."""
    grid = list(rhos)
    fallback: tuple[float, float] | None = None
    upper: tuple[float, float] | None = None
    for rho in reversed(grid):
        try:
            _, _, nb, ns = _norms(ray, c, rho)
        except NumericalBreakdown:
            upper = None
            continue
        here = (rho, math.log(ns / nb) / math.log(c))
        if upper is not None and abs(upper[1] - here[1]) <= DEGREE_TOLERANCE:
            return upper
        fallback = fallback or here
        upper = here
    return fallback


def _drop_unsettled_top(points: list[RayPoint]) -> tuple[list[RayPoint], float | None]:
    """Before a breakdown the last points can already be wrong (an overflow reaching some
    rows first): k̂ jumps there. Keep the points up to the last settled one; return them and
    the first ρ left out (None when nothing is)."""
    top = stable_top([p.degree_estimate for p in points])
    if top is None or top == len(points) - 1:
        return points, None
    return points[: top + 1], points[top + 1].rho


# -- the profile ----------------------------------------------------------------------------


@dataclass
class DecayProfile:
    """Homogeneity error at scale ``c`` along the ray, and the decay law fitted to it.

    ``rhos`` are the points evaluated (up to a breakdown), ``theta_norms[i] = ρ_i ‖θ‖``;
    ``relative`` and ``absolute`` the errors; ``degree_estimates`` k̂(ρ) at each point.
    ``fit`` classifies the relative error's decay (on the tail only; see
    :class:`homogeneity.decay.DecayFit` for the points used, R² and the floor).
    ``breakdown`` says where the sweep stopped early, if it did. ``degree_rho`` is where the
    degree was read (None when it was given) and ``degree_estimate`` the k̂ read there
    before rounding; ``given_floor`` the known noise floor the fit was made above (the
    ``floor`` passed in or the ray's kept low-precision floor, the larger), if any.
    ``unsettled_from``: when the sweep stopped at a breakdown and k̂ jumped on the points
    just before it, the first ρ left out of the fit for that reason.
    """

    degree: float
    c: float
    rhos: list[float]
    theta_norms: list[float]
    relative: list[float]
    absolute: list[float]
    fit: DecayFit
    dtype: torch.dtype
    breakdown: SweepBreakdown | None = None
    degree_rho: float | None = None
    degree_estimate: float | None = None
    given_floor: float | None = None
    degree_estimates: list[float] = field(default_factory=list)
    unsettled_from: float | None = None

    @property
    def kind(self) -> str:
        """The degree kind this decay implies: exact / approximate / asymptotic / none, or
        undetermined."""
        return {
            "exact": "exact",
            "exponential": "approximate",
            "polynomial": "asymptotic",
            "none": "none",
        }.get(self.fit.kind, "undetermined")

    @property
    def degree_source(self) -> str:
        """Where the degree came from, as text."""
        if self.degree_rho is None:
            return "given"
        return f"read off the ray at ρ = {self.degree_rho:.3g}, k̂ = {self.degree_estimate:.6g}"

    def d3_rate(self) -> float | None:
        """d in |error| ≲ exp(−d‖θ‖^m) (SPEC D3 has m = 1), for exponential decay."""
        if self.fit.kind != "exponential" or not self.theta_norms or self.fit.rate is None:
            return None
        scale = self.theta_norms[0] / self.rhos[0]
        return self.fit.rate / scale ** (self.fit.exponent or 0.0)

    def __str__(self) -> str:
        span = (
            f"{len(self.rhos)} points, ρ from {self.rhos[0]:.3g} to {self.rhos[-1]:.3g}"
            if self.rhos
            else "no points"
        )
        lines = [
            f"decay of ‖f(cρθ) − c^k f(ρθ)‖/‖c^k f(ρθ)‖ at c = {self.c:g}, k = {self.degree:g} "
            f"({self.degree_source}); {span}, {str(self.dtype).removeprefix('torch.')}",
            f"  {self.fit}",
        ]
        lines += [f"  {line}" for line in self.breakdown_lines()]
        return "\n".join(lines)

    def breakdown_lines(self) -> list[str]:
        """The breakdown and the points left out before it, as text lines (none if no
        breakdown)."""
        lines = [] if self.breakdown is None else [str(self.breakdown)]
        if self.unsettled_from is not None:
            lines.append(
                f"points from ρ = {self.unsettled_from:.3g} on left out: the degree read there "
                f"jumps just before the breakdown"
            )
        return lines


def decay_profile(
    ray: Ray,
    degree: float | None = None,
    c: float = 2.0,
    rhos: Sequence[float] | None = None,
    floor: float | None = None,
    refine: bool = True,
    *,
    precision_floor: float | None = None,
) -> DecayProfile:
    """Sample e(ρ) = ‖f(cρθ) − c^k f(ρθ)‖/‖c^k f(ρθ)‖ and classify its decay on the tail.

    Args:
        ray: the ray to study.
        degree: k; None reads it off the ray at the largest ρ the sweep reaches before a
            breakdown (``degree_rho`` in the result says where).
        c: the scale factor (> 1 is the D3 regime).
        rhos: increasing ray points; default 49 points from 0.1 to 1e5 (slow exponential
            decays, e.g. a sigmoid of pre-activations near 0, need the long range).
        floor: a noise floor known from how the ray is evaluated: the law is fitted above
            max(floor, ``ray.noise_floor``, FLOOR_MARGIN × the floor detected in the data),
            and a curve at or below it everywhere is undetermined, not exact.
            ``ray.noise_floor`` counts when it is above the working dtype's floor, i.e.
            when the ray keeps ops below the working dtype (``low_precision='keep'``,
            e.g. a float32 variance in a float64 run). None: those two only.
        refine: resample (once) where too few points lie in the tail.
        precision_floor: errors at or below count as zero (a curve at or below it everywhere
            is exact); default :func:`noise_floor` of the working dtype (1e3·eps).
    """
    c = check_positive_scale(c, "c")
    grid = sorted(check_positive_scales(DEFAULT_RHOS if rhos is None else rhos, "rhos"))
    exact_below = (
        noise_floor(ray.dtype)
        if precision_floor is None
        else check_tolerance(precision_floor, "precision_floor")
    )
    kept = ray.noise_floor  # raised above the dtype's own floor by kept low-precision ops
    known = max(
        0.0 if floor is None else check_tolerance(floor, "floor"),
        kept if kept > noise_floor(ray.dtype) else 0.0,
    )
    given = known or None
    norm = ray.theta_norm()

    degree_rho: float | None = None
    estimate: float | None = None
    if degree is None:
        read = read_degree(ray, c, grid)
        if read is not None:
            degree_rho, estimate = read
            k = round_degree(estimate)
        else:
            k = math.nan
    else:
        k = float(degree)
    points, stop, unsettled = _sweep_settled(ray, c, k, grid)
    if degree is None and points:
        # read the degree where k̂ has settled at the top of what the sweep reached; redo
        # the sweep if that changes the degree
        top = stable_top([p.degree_estimate for p in points])
        top = len(points) - 1 if top is None else top
        degree_rho, estimate = points[top].rho, points[top].degree_estimate
        if round_degree(estimate) != k:
            k = round_degree(estimate)
            points, stop, unsettled = _sweep_settled(ray, c, k, grid)
    if not math.isfinite(k) and stop is None:
        try:
            evaluate_on_ray(ray, grid[0])
        except NumericalBreakdown as exc:
            stop = SweepBreakdown.from_exception(exc)

    fit = _classify(points, stop, exact_below, known)
    if refine and fit.kind == "undetermined" and len(points) >= 3:
        extra = refine_grid(
            [p.rho for p in points],
            [p.relative for p in points],
            exact_below,
            REFINE_POINTS,
            known_floor=known,
        )
        if extra:
            new, new_stop = sweep(ray, c, k, extra)
            if new_stop is not None:  # a breakdown between points that evaluated: stop there
                stop = new_stop
                points = [p for p in points if p.rho < new_stop.rho]
                unsettled = None
            merged = {p.rho: p for p in points + new}
            points = [merged[r] for r in sorted(merged)]
            fit = _classify(points, stop, exact_below, known)
    return DecayProfile(
        float(k),
        c,
        [p.rho for p in points],
        [p.rho * norm for p in points],
        [p.relative for p in points],
        [p.absolute for p in points],
        fit,
        ray.dtype,
        stop,
        degree_rho,
        estimate,
        given,
        [p.degree_estimate for p in points],
        unsettled,
    )


def _sweep_settled(
    ray: Ray, c: float, k: float, grid: Sequence[float]
) -> tuple[list[RayPoint], SweepBreakdown | None, float | None]:
    """:func:`sweep`, and when it stopped at a breakdown, without the unsettled points
    just before it (see :func:`_drop_unsettled_top`)."""
    if not math.isfinite(k):
        return [], None, None
    points, stop = sweep(ray, c, k, grid)
    unsettled = None
    if stop is not None:
        points, unsettled = _drop_unsettled_top(points)
    return points, stop, unsettled


def _classify(
    points: list[RayPoint], stop: SweepBreakdown | None, exact_below: float, known: float
) -> DecayFit:
    stopped_by = "" if stop is None else str(stop)
    if len(points) < 3:
        detail = f"only {len(points)} points of the sweep evaluated"
        detail += f" ({stopped_by})" if stop is not None else ""
        suggestion = stop.suggestion if stop is not None and stop.suggestion else "sample more ρ"
        return DecayFit(
            "undetermined",
            n_points=len(points),
            floor=max(exact_below, known),
            floor_source="given" if known > exact_below else "precision",
            precision_floor=exact_below,
            detail=f"{detail}; {suggestion}",
        )
    return classify_decay(
        [p.rho for p in points],
        [p.relative for p in points],
        exact_below,
        known_floor=known,
        stopped_by=stopped_by,
    )


# -- the measured degree -------------------------------------------------------------------


@dataclass
class MeasuredDegree:
    """What the numbers say: the degree and its kind, with the evidence."""

    kind: str
    value: float | None
    profile: DecayProfile
    euler: EulerResult

    def __str__(self) -> str:
        k = "?" if self.value is None else f"{self.value:g}"
        where = self.profile.degree_source
        lines = [
            f"measured: degree {k} ({where}), {self.kind}: {self.profile.fit}",
            f"  Euler at ρ = 1: k̂ = {self.euler.degree_estimate:.6g}, residual "
            f"{self.euler.residual:.2e}",
        ]
        lines += [f"  {line}" for line in self.profile.breakdown_lines()]
        return "\n".join(lines)


def measure_degree(
    ray: Ray, c: float = 2.0, rhos: Sequence[float] | None = None, floor: float | None = None
) -> MeasuredDegree:
    """Measure the degree along the ray and classify how exactly it holds.

    The degree is read off the ray at the largest ρ the sweep reaches (see
    :func:`decay_profile`, whose ``floor`` this passes on); the Euler check at ρ = 1 is
    reported next to it.
    """
    profile = decay_profile(ray, None, c, rhos, floor)
    value = profile.degree if profile.kind != "none" and math.isfinite(profile.degree) else None
    return MeasuredDegree(profile.kind, value, profile, euler(ray, value))
