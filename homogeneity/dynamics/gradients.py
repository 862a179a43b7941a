"""Where the gradient points relative to θ, per parameter group (SPEC EU, D6).

For a scalar objective L(θ) = ℓ(f(x; θ)) and a parameter group θ_G (the other parameters
held fixed), three identities follow from homogeneity of f in θ_G:

1. **Euler for a loss.** If f is k-homogeneous in θ_G then, by the chain rule and
   θ_G·∇_{θ_G} f = k f,

       θ_G · ∇_{θ_G} L = ⟨∂ℓ/∂f, θ_G·∇_{θ_G} f⟩ = k ⟨∂ℓ/∂f, f⟩.

   :func:`loss_euler` computes both sides (one backward pass) and k̂ = left / ⟨∂ℓ/∂f, f⟩.
2. **Scale-invariant groups.** If f (hence L) is 0-homogeneous in θ_G, the right side is 0:
   the gradient is orthogonal to the group, cos(θ_G, ∇_{θ_G} L) = 0. Plain gradient descent
   then cannot shrink ‖θ_G‖: ‖θ_G − η∇L‖² = ‖θ_G‖² + η²‖∇L‖² (SPEC G2, known results).
   :func:`scale_invariance_orthogonality` measures the cosine.
3. **Gradient degree.** If a scalar g is k-homogeneous in θ_G then ∇_{θ_G} g is
   (k−1)-homogeneous: ∇g(cθ_G) = c^{k−1} ∇g(θ_G) (SPEC EU). :func:`gradient_scaling`
   measures ‖∇g(cθ_G) − c^{k−1}∇g(θ_G)‖ / ‖c^{k−1}∇g(θ_G)‖ and the exponent
   log(‖∇g(cθ_G)‖/‖∇g(θ_G)‖)/log c.

All three work on a copy of the parameters in a working dtype (float64 by default) through
:class:`homogeneity.scaling.Ray`: the caller's module, its parameters and their ``.grad``
are never touched.

Degrees: pass ``degrees={group: k}``; when omitted they come from the degree rules
(:func:`homogeneity.rules.predict_degree`, SPEC D16) for the model's own output, and a
group without an exact or approximate degree is reported as such.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from homogeneity.dynamics.groups import (
    ResolvedGroups,
    cosine,
    group_dot,
    group_norm,
    resolve_groups,
)
from homogeneity.errors import HomogeneityInputError
from homogeneity.rules import Degree, predict_degree
from homogeneity.scaling import OutputSelector, Patterns, Ray, default_output
from homogeneity.tolerances import default_tolerance
from homogeneity.validation import check_positive_scales

Objective = Callable[[torch.Tensor], torch.Tensor]


# -- shared plumbing ------------------------------------------------------------------


def _ray_and_groups(
    model: nn.Module | Callable[..., Any],
    inputs: Any,
    groups: Mapping[str, Patterns] | None,
    kwargs: Mapping[str, Any] | None,
    output: OutputSelector,
    dtype: torch.dtype,
    params: Mapping[str, torch.Tensor] | None,
) -> tuple[Ray, ResolvedGroups]:
    """The ray through the model's parameters in ``dtype``, and ``groups`` resolved against
    its parameter names."""
    ray = Ray(
        model,
        inputs if isinstance(inputs, tuple) else (inputs,),
        None,
        kwargs or {},
        output,
        dtype,
        params,
    )
    return ray, resolve_groups(_parameter_names(ray), groups)


def _parameter_names(ray: Ray) -> list[str]:
    if isinstance(ray.model, nn.Module):
        return [n for n, _ in ray.model.named_parameters()]
    return list(ray.params or {})


def _scalar(value: torch.Tensor, argument: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        raise HomogeneityInputError(
            f"{argument} must return a scalar tensor (e.g. a mean loss), got "
            f"{type(value).__name__} of shape {getattr(value, 'shape', None)}; reduce it "
            f"with .sum() or .mean()"
        )
    return value.reshape(())


def _point(ray: Ray, names: Sequence[str], scale: float = 1.0) -> dict[str, torch.Tensor]:
    """Leaves for autograd: every base tensor, with ``names`` multiplied by ``scale``."""
    point = dict(ray.base)
    for n in names:
        point[n] = (scale * ray.base[n]).detach().clone().requires_grad_(True)
    return point


@dataclass(frozen=True)
class _Gradient:
    """g = objective(f) at one point, with ∂g/∂f and ∇g in the parameters that were leaves
    (zero where g does not depend on one); f, θ and the gradients are detached."""

    value: float
    output: torch.Tensor
    output_grad: torch.Tensor
    theta: dict[str, torch.Tensor]
    grads: dict[str, torch.Tensor]


def _gradient(
    ray: Ray, names: Sequence[str], objective: Objective, argument: str, scale: float = 1.0
) -> _Gradient:
    """One backward pass of ``objective`` through the model at the base point with ``names``
    (the leaves) scaled by ``scale``; ``argument`` names the objective in errors."""
    point = _point(ray, names, scale)
    with torch.enable_grad():
        f = ray.call(point)
        if not f.requires_grad:
            raise HomogeneityInputError(
                "the selected output does not depend on the parameters; check output="
            )
        value = _scalar(objective(f), argument)
        grads = torch.autograd.grad(value, [f] + [point[n] for n in names], allow_unused=True)
    return _Gradient(
        float(value.detach()),
        f.detach(),
        grads[0],
        {n: point[n].detach() for n in names},
        {
            n: (torch.zeros_like(point[n]) if gr is None else gr.detach())
            for n, gr in zip(names, grads[1:], strict=True)
        },
    )


def _all_names(groups: ResolvedGroups) -> list[str]:
    """Every parameter name of every group, once, sorted."""
    return sorted({n for names in groups.values() for n in names})


def _rule_degree(model: nn.Module, patterns: Sequence[str]) -> Degree:
    try:
        return predict_degree(model, 0, list(patterns)).degree
    except HomogeneityInputError as exc:
        return Degree.none(f"no degree rule: {exc}")


def _degrees_for(
    ray: Ray, groups: ResolvedGroups, degrees: Mapping[str, float] | None, from_rules: bool
) -> dict[str, tuple[float | None, str, bool]]:
    """(k, where k came from, whether k is exact) per group."""
    out: dict[str, tuple[float | None, str, bool]] = {}
    if degrees is not None:
        unknown = set(degrees) - set(groups)
        if unknown:
            raise HomogeneityInputError(
                f"degrees names groups {sorted(unknown)} that are not in groups "
                f"{sorted(groups)}; use the same keys"
            )
    for g, names in groups.items():
        if degrees is not None and g in degrees:
            out[g] = (float(degrees[g]), "given", True)
        elif from_rules and isinstance(ray.model, nn.Module):
            d = _rule_degree(ray.model, names)
            if d.kind in ("exact", "approximate") and d.value is not None:
                out[g] = (float(d.value), f"rules: {d}", d.kind == "exact")
            else:
                out[g] = (None, f"rules: {d}", False)
        else:
            out[g] = (None, "unknown (pass degrees={group: k})", False)
    return out


# -- 1. Euler identity for a loss ------------------------------------------------------


@dataclass(frozen=True)
class GroupEuler:
    """θ_G·∇_{θ_G}L against k⟨∂ℓ/∂f, f⟩ for one group.

    ``residual`` = |θ·∇L − k⟨∂ℓ/∂f, f⟩| / (‖θ_G‖‖∇_{θ_G}L‖ + |k⟨∂ℓ/∂f, f⟩|), a number in
    [0, 1] up to rounding (the first term bounds |θ·∇L| by Cauchy–Schwarz).
    ``degree_estimate`` = θ·∇L / ⟨∂ℓ/∂f, f⟩ (NaN when the output term vanishes).
    ``judged``: the identity is exact for this group (degree given, or exact by the rules)
    and the residual was held to the tolerance. For an approximate degree (D3) it holds
    only as ‖θ_G‖ → ∞, so the residual at the current point is reported, not judged.
    """

    group: str
    degree: float | None
    degree_source: str
    theta_dot_grad: float
    output_term: float
    predicted: float | None
    degree_estimate: float
    residual: float | None
    theta_norm: float
    grad_norm: float
    judged: bool


@dataclass
class LossEulerReport:
    """:func:`loss_euler` per group, with the tolerance used and the groups that failed."""

    groups: dict[str, GroupEuler]
    loss: float
    rtol: float
    dtype: torch.dtype
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def __str__(self) -> str:
        lines = [
            f"Euler for the loss (θ_G·∇L = k⟨∂ℓ/∂f, f⟩), L = {self.loss:.6g}, "
            f"{self.dtype}, rtol {self.rtol:.1e}: {'PASSED' if self.passed else 'FAILED'}"
        ]
        for r in self.groups.values():
            k = "?" if r.degree is None else f"{r.degree:g}"
            res = "n/a" if r.residual is None else f"{r.residual:.2e}"
            res += "" if r.judged or r.residual is None else " (not judged: approximate)"
            lines.append(
                f"  {r.group:<28} k={k:<4} k̂={r.degree_estimate:<12.8g} "
                f"θ·∇L={r.theta_dot_grad:<12.5g} residual {res}  ({r.degree_source})"
            )
        lines += [f"  failure: {f}" for f in self.failures]
        return "\n".join(lines)


def loss_euler(
    model: nn.Module | Callable[..., Any],
    inputs: Any,
    loss: Objective,
    groups: Mapping[str, Patterns] | None = None,
    degrees: Mapping[str, float] | None = None,
    *,
    kwargs: Mapping[str, Any] | None = None,
    output: OutputSelector = default_output,
    params: Mapping[str, torch.Tensor] | None = None,
    dtype: torch.dtype = torch.float64,
    rtol: float | None = None,
) -> LossEulerReport:
    """θ_G·∇_{θ_G}L and its Euler prediction k_G⟨∂ℓ/∂f, f⟩ for every group G.

    Args:
        model: a Module, or ``fn(params, *inputs, **kwargs)`` together with ``params``.
        inputs: forward inputs (tensor or tuple).
        loss: ℓ, mapping the selected output tensor f to a scalar.
        groups: ``{name: glob patterns}``; None is one group of all parameters.
        degrees: k_G per group (degree of f in θ_G); missing ones come from the degree
            rules (only meaningful with the default ``output``).
        rtol: residual tolerance; default 1e3·eps of ``dtype`` (1e-10 in float64).
    Returns a :class:`LossEulerReport`; a group fails when its residual exceeds ``rtol``.
    Groups with no degree are reported (k̂ is still measured) but not judged.
    """
    ray, resolved = _ray_and_groups(model, inputs, groups, kwargs, output, dtype, params)
    ks = _degrees_for(ray, resolved, degrees, from_rules=output is default_output)
    rtol = default_tolerance(dtype) if rtol is None else float(rtol)
    at = _gradient(ray, _all_names(resolved), loss, "loss")
    theta, g = at.theta, at.grads
    output_term = float(torch.sum(at.output_grad.to(torch.float64) * at.output.to(torch.float64)))
    report = LossEulerReport({}, at.value, rtol, dtype)
    for name, names in resolved.items():
        k, source, exact = ks[name]
        tdg = group_dot(theta, g, names)
        tn, gn = group_norm(theta, names), group_norm(g, names)
        k_hat = tdg / output_term if output_term != 0 else math.nan
        predicted = None if k is None else k * output_term
        residual = None
        if predicted is not None:
            scale = tn * gn + abs(predicted)
            residual = abs(tdg - predicted) / scale if scale > 0 else 0.0
            if exact and not residual <= rtol:
                report.failures.append(
                    f"group {name!r}: θ·∇L = {tdg:.6g} but k⟨∂ℓ/∂f, f⟩ = {predicted:.6g} "
                    f"(k={k:g}, residual {residual:.2e} > rtol {rtol:.1e}); k̂ = {k_hat:.6g}"
                )
        report.groups[name] = GroupEuler(
            name,
            k,
            source,
            tdg,
            output_term,
            predicted,
            k_hat,
            residual,
            tn,
            gn,
            exact and predicted is not None,
        )
    return report


# -- 2. orthogonality of scale-invariant groups -----------------------------------------


@dataclass(frozen=True)
class GroupOrthogonality:
    """cos(θ_G, ∇_{θ_G}L) for one group; ``orthogonal`` iff |cos| ≤ ``atol``."""

    group: str
    cosine: float
    theta_dot_grad: float
    theta_norm: float
    grad_norm: float
    orthogonal: bool


@dataclass
class OrthogonalityReport:
    groups: dict[str, GroupOrthogonality]
    loss: float
    atol: float
    dtype: torch.dtype

    @property
    def passed(self) -> bool:
        """True when every group's gradient is orthogonal to the group."""
        return all(r.orthogonal for r in self.groups.values())

    @property
    def failures(self) -> list[str]:
        return [
            f"group {r.group!r}: cos(θ, ∇L) = {r.cosine:.3e} (|cos| > {self.atol:.1e}); "
            f"the loss is not scale-invariant in this group"
            for r in self.groups.values()
            if not r.orthogonal
        ]

    def __str__(self) -> str:
        lines = [
            f"orthogonality of scale-invariant groups, {self.dtype}, atol {self.atol:.1e}:"
            f" {'PASSED' if self.passed else 'FAILED'}"
        ]
        for r in self.groups.values():
            lines.append(
                f"  {r.group:<28} cos(θ, ∇L) = {r.cosine:+.3e}  "
                f"{'orthogonal' if r.orthogonal else 'NOT orthogonal'}"
            )
        return "\n".join(lines)


def scale_invariance_orthogonality(
    model: nn.Module | Callable[..., Any],
    inputs: Any,
    loss: Objective,
    groups: Mapping[str, Patterns] | None = None,
    *,
    kwargs: Mapping[str, Any] | None = None,
    output: OutputSelector = default_output,
    params: Mapping[str, torch.Tensor] | None = None,
    dtype: torch.dtype = torch.float64,
    atol: float | None = None,
) -> OrthogonalityReport:
    """cos(θ_G, ∇_{θ_G}L) for every group: 0 (up to rounding) iff L is scale-invariant in θ_G
    at this point to first order (θ_G·∇L = d/dc L(cθ_G) at c = 1).

    ``atol`` defaults to 1e3·eps of ``dtype`` (1e-10 in float64). A group whose gradient
    vanishes entirely has cosine NaN and is reported as not orthogonal (no evidence).
    """
    ray, resolved = _ray_and_groups(model, inputs, groups, kwargs, output, dtype, params)
    atol = default_tolerance(dtype) if atol is None else float(atol)
    at = _gradient(ray, _all_names(resolved), loss, "loss")
    theta, g = at.theta, at.grads
    out: dict[str, GroupOrthogonality] = {}
    for name, names in resolved.items():
        dot = group_dot(theta, g, names)
        tn, gn = group_norm(theta, names), group_norm(g, names)
        cos = cosine(dot, tn, gn)
        out[name] = GroupOrthogonality(name, cos, dot, tn, gn, bool(abs(cos) <= atol))
    return OrthogonalityReport(out, at.value, atol, dtype)


# -- 3. ∇g(cθ) = c^{k−1}∇g(θ) ---------------------------------------------------------


@dataclass(frozen=True)
class GroupGradientScaling:
    """∇g(cθ_G) against c^{k−1}∇g(θ_G) for one group, at each scale c.

    ``relative_errors[i]`` = ‖∇g(c_iθ) − c_i^{k−1}∇g(θ)‖ / ‖c_i^{k−1}∇g(θ)‖ (None without
    a degree); ``exponents[i]`` = log(‖∇g(c_iθ)‖/‖∇g(θ)‖)/log c_i, which is k − 1 for a
    k-homogeneous g whatever k is. ``judged``: the degree is exact (given, exact by the
    rules, or estimated for an objective), so the errors were held to the tolerance.
    """

    group: str
    degree: float | None
    degree_source: str
    scales: tuple[float, ...]
    relative_errors: tuple[float, ...] | None
    exponents: tuple[float, ...]
    judged: bool

    @property
    def worst_error(self) -> float | None:
        return None if self.relative_errors is None else max(self.relative_errors)


@dataclass
class GradientScalingReport:
    groups: dict[str, GroupGradientScaling]
    rtol: float
    dtype: torch.dtype
    objective: str
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def __str__(self) -> str:
        lines = [
            f"gradient degree ∇g(cθ) = c^(k−1)∇g(θ), g = {self.objective}, {self.dtype}, "
            f"rtol {self.rtol:.1e}: {'PASSED' if self.passed else 'FAILED'}"
        ]
        for r in self.groups.values():
            k = "?" if r.degree is None else f"{r.degree:g}"
            err = "n/a" if r.worst_error is None else f"{r.worst_error:.2e}"
            err += "" if r.judged or r.worst_error is None else " (not judged: approximate)"
            exps = ", ".join(f"{e:.6g}" for e in r.exponents)
            lines.append(
                f"  {r.group:<28} k={k:<4} measured k−1: [{exps}]  worst error {err}"
                f"  ({r.degree_source})"
            )
        lines += [f"  failure: {f}" for f in self.failures]
        return "\n".join(lines)


def random_projection(
    output_shape: torch.Size, dtype: torch.dtype, device: torch.device, seed: int
) -> torch.Tensor:
    """A fixed unit vector v (seeded, independent of the global RNG) for g = ⟨v, f⟩."""
    gen = torch.Generator().manual_seed(seed)
    v = torch.randn(output_shape, generator=gen, dtype=torch.float64)
    return (v / torch.linalg.vector_norm(v)).to(dtype=dtype, device=device)


def gradient_scaling(
    model: nn.Module | Callable[..., Any],
    inputs: Any,
    groups: Mapping[str, Patterns] | None = None,
    degrees: Mapping[str, float] | None = None,
    *,
    objective: Objective | None = None,
    scales: Sequence[float] = (0.5, 2.0, 10.0),
    kwargs: Mapping[str, Any] | None = None,
    output: OutputSelector = default_output,
    params: Mapping[str, torch.Tensor] | None = None,
    dtype: torch.dtype = torch.float64,
    rtol: float | None = None,
    seed: int = 0,
) -> GradientScalingReport:
    """Check ∇_{θ_G} g(cθ_G) = c^{k−1} ∇_{θ_G} g(θ_G) for each group G and scale c.

    g is ``objective(f)`` if given (its degree k_G must then be passed in ``degrees``, or is
    estimated as the rounded θ·∇g/g), otherwise the random projection g = ⟨v, f⟩ with a
    fixed seeded v, whose degree is f's (from ``degrees`` or the rules).
    """
    cs = check_positive_scales(scales, "scales")
    if any(c == 1.0 for c in cs):
        raise HomogeneityInputError("scales contains 1.0, which tests nothing; drop it")
    ray, resolved = _ray_and_groups(model, inputs, groups, kwargs, output, dtype, params)
    rtol = default_tolerance(dtype) if rtol is None else float(rtol)
    if objective is None:
        with torch.no_grad():
            f0 = ray.call(ray.base)
        v = random_projection(f0.shape, f0.dtype, f0.device, seed)
        fn: Objective = lambda f: torch.sum(v * f)  # noqa: E731
        label = f"⟨v, f⟩ (v random unit, seed {seed})"
        ks = _degrees_for(ray, resolved, degrees, from_rules=output is default_output)
    else:
        fn, label = objective, "the given objective"
        ks = _degrees_for(ray, resolved, degrees, from_rules=False)

    report = GradientScalingReport({}, rtol, dtype, label)
    for name, names in resolved.items():
        k, source, exact = ks[name]
        at_1 = _gradient(ray, names, fn, "objective")
        value0, g0 = at_1.value, at_1.grads
        if k is None and objective is not None:
            tdg = group_dot({n: ray.base[n] for n in names}, g0, names)
            if value0 != 0:
                k, exact = float(round(tdg / value0)), True
                source = f"estimated θ·∇g/g = {tdg / value0:.6g}, rounded"
        n0 = group_norm(g0, names)
        errors, exponents = [], []
        for c in cs:
            gc = _gradient(ray, names, fn, "objective", c).grads
            nc = group_norm(gc, names)
            exponents.append(math.log(nc / n0) / math.log(c) if n0 > 0 and nc > 0 else math.nan)
            if k is not None:
                ref = {n: (c ** (k - 1)) * g0[n] for n in names}
                diff = {n: gc[n] - ref[n] for n in names}
                denom = group_norm(ref, names)
                errors.append(group_norm(diff, names) / denom if denom > 0 else math.inf)
        result = GroupGradientScaling(
            name,
            k,
            source,
            tuple(cs),
            tuple(errors) if k is not None else None,
            tuple(exponents),
            exact and k is not None,
        )
        if n0 == 0:
            report.failures.append(f"group {name!r}: the gradient is zero at θ; no evidence")
        elif result.judged and (worst := result.worst_error) is not None and not worst <= rtol:
            report.failures.append(
                f"group {name!r}: ‖∇g(cθ) − c^(k−1)∇g(θ)‖/‖c^(k−1)∇g(θ)‖ = "
                f"{worst:.2e} > rtol {rtol:.1e} for k={k:g}; measured k−1 = "
                f"{exponents}"
            )
        report.groups[name] = result
    return report
