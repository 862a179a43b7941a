"""Degree bookkeeping (SPEC D16, the paper's Table 1), with exactness made explicit.

A quantity computed by a model is a function g(θ) of the parameters. Scaling the
*selected* parameters by c > 0 it behaves in one of four ways, which :class:`Degree`
records:

``exact``        g(cθ) = c^k g(θ) for every c > 0 (D2).
``approximate``  |g(cθ) − c^k g(θ)| ≤ exp(−d‖θ‖) for large ‖θ‖ (D3, written ∼k): the error
                 vanishes exponentially along every ray.
``asymptotic``   g(cθ)/c^k converges along rays, but only polynomially:
                 ‖g(cθ) − c^k g(θ)‖ / ‖c^k g(θ)‖ = O(‖θ‖^(−p)). This is *not* D3. It is
                 what ε in a layer norm, or a residual sum of terms of different degrees,
                 produce.
``none``         no degree at all (e.g. a rule is missing, or the input has none).

The rules below are the paper's, extended to say which of the four kinds comes out:

* weight multiply k → k+1 (k if the weight is not scaled), kind kept;
* sum of degrees a and b: a = b gives a with the weaker kind; a ≠ b gives *asymptotic*
  max(a, b), the lower-degree term vanishing relatively like ρ^(−|a−b|);
* product k₁, k₂ → k₁ + k₂, weaker kind;
* ReLU k → k, kind kept (ReLU is positively 1-homogeneous);
* saturating maps (sigmoid, tanh, softmax) k > 0 → *approximate* 0 (L6–L8, P3);
  a degree-0 input gives a degree-0 output of the same kind;
* GeLU: z·Φ(z) with Φ saturating: k > 0 → approximate k, k = 0 → 0;
* the proofs' layer norm (D9, no ε) k → 0, kind kept; the standard layer norm and RMS norm
  with ε > 0 give *asymptotic* 0 for k > 0 (the ε term decays like ρ^(−2k)), and a gain
  multiplies by a degree-1 (or 0, if unscaled) parameter.

The weakness order is exact > approximate > asymptotic > none.

Models built from :mod:`homogeneity.components` carry their rules; common ``torch.nn``
layers have rules registered here; :func:`predict_degree` composes them and returns a
:class:`DegreeDerivation` whose printout shows every step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from torch import nn

from homogeneity.errors import HomogeneityInputError
from homogeneity.scaling import select_parameter_names

DegreeKind = Literal["exact", "approximate", "asymptotic", "none"]
_STRENGTH: dict[str, int] = {"exact": 3, "approximate": 2, "asymptotic": 1, "none": 0}


@dataclass(frozen=True)
class Degree:
    """The degree of a quantity in the scaled parameters, and how exactly it holds.

    ``value`` is None exactly when ``kind == "none"``. ``reason`` says why a kind weaker
    than ``exact`` came out (the first rule that weakened it). For ``asymptotic`` degrees,
    ``order`` is the predicted p in ‖g(cθ) − c^k g(θ)‖/‖c^k g(θ)‖ = O(ρ^(−p)) along a ray.
    """

    kind: DegreeKind
    value: float | None = None
    reason: str = ""
    order: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in _STRENGTH:
            raise HomogeneityInputError(
                f"kind={self.kind!r} is not one of {sorted(_STRENGTH)}; pick one of those"
            )
        if (self.value is None) != (self.kind == "none"):
            raise HomogeneityInputError(
                "value must be None exactly when kind='none'; pass value=k with kind='exact', "
                "'approximate' or 'asymptotic'"
            )
        if (self.order is not None) != (self.kind == "asymptotic"):
            raise HomogeneityInputError(
                "order (the polynomial decay rate) is given exactly for kind='asymptotic'"
            )

    # -- constructors -------------------------------------------------------------
    @classmethod
    def exact(cls, k: float) -> Degree:
        return cls("exact", float(k))

    @classmethod
    def approximate(cls, k: float, reason: str = "") -> Degree:
        return cls("approximate", float(k), reason)

    @classmethod
    def asymptotic(cls, k: float, order: float, reason: str = "") -> Degree:
        return cls("asymptotic", float(k), reason, float(order))

    @classmethod
    def none(cls, reason: str) -> Degree:
        return cls("none", None, reason)

    # -- queries ------------------------------------------------------------------
    @property
    def is_homogeneous(self) -> bool:
        """True for exact (D2) or approximate (D3) homogeneity."""
        return self.kind in ("exact", "approximate")

    def with_value(self, value: float) -> Degree:
        return Degree(self.kind, float(value), self.reason, self.order)

    def __str__(self) -> str:
        if self.kind == "none":
            return f"no degree ({self.reason})"
        symbol = {"exact": "=", "approximate": "∼", "asymptotic": "→"}[self.kind]
        extra = f", error O(ρ^-{_fmt(self.order)})" if self.order is not None else ""
        return f"{symbol}{_fmt(self.value)} ({self.kind}{extra})"


def _combine(
    value: float, parts: list[Degree], extra_order: float | None = None, extra_reason: str = ""
) -> Degree:
    """A degree of ``value`` built from ``parts``: no degree if any part has none;
    asymptotic with the smallest order involved if any part (or ``extra_order``) is
    asymptotic; otherwise the weakest kind among the parts."""
    missing = next((p for p in parts if p.kind == "none"), None)
    if missing is not None:
        return missing
    orders = [(p.order, p.reason) for p in parts if p.order is not None]
    if extra_order is not None:
        orders.append((extra_order, extra_reason))
    if orders:
        order, reason = min(orders, key=lambda t: t[0])
        return Degree("asymptotic", value, reason, order)
    weakest = min(parts, key=lambda p: _STRENGTH[p.kind])
    return Degree(weakest.kind, value, weakest.reason)


# -- the rules of D16 -----------------------------------------------------------------


def scale_by_parameter(d: Degree, scaled: bool) -> Degree:
    """Multiply by a weight: k → k+1 if the weight is scaled, else k."""
    if d.kind == "none" or not scaled:
        return d
    return d.with_value(d.value + 1)


def parameter_degree(scaled: bool) -> Degree:
    """A parameter on its own (a bias, a gain, an embedding row): 1 if scaled, else 0."""
    return Degree.exact(1 if scaled else 0)


def add(a: Degree, b: Degree, what: str = "sum") -> Degree:
    """Sum of two terms (D16: equal degrees k → k).

    Unequal degrees a < b have no degree in the sense of D2/D3: the degree-b term
    dominates and the lower one vanishes relatively like ρ^(a−b), so the result is
    *asymptotic* of degree b with order min(b − a, order of the degree-b term).
    """
    if a.kind == "none" or b.kind == "none":
        return _combine(0.0, [a, b])
    if a.value == b.value:
        return _combine(a.value, [a, b])
    lo, hi = (a, b) if a.value < b.value else (b, a)
    gap = hi.value - lo.value
    reason = (
        f"{what} of a degree-{_fmt(lo.value)} and a degree-{_fmt(hi.value)} term: the "
        f"degree-{_fmt(hi.value)} term dominates, relative error O(ρ^-{_fmt(gap)})"
    )
    return _combine(hi.value, [hi], gap, reason)


def multiply(a: Degree, b: Degree) -> Degree:
    """Product of two terms: k₁, k₂ → k₁ + k₂ (weaker kind, smaller asymptotic order)."""
    if a.kind == "none" or b.kind == "none":
        return _combine(0.0, [a, b])
    return _combine(a.value + b.value, [a, b])


def relu(d: Degree) -> Degree:
    """ReLU is positively 1-homogeneous as a map: k → k, kind kept (L2)."""
    return d


def saturating(d: Degree, name: str) -> Degree:
    """σ, tanh, softmax: k > 0 → ∼0 (L6–L8, P3); degree-0 input keeps its kind.

    An asymptotic input ρ^k(z + O(ρ^−p)) still saturates exponentially (the gap term
    ρ^k dominates), so it also gives ∼0.
    """
    if d.kind == "none" or d.value == 0:
        return d
    if d.value < 0:
        return Degree.none(
            f"{name} of a degree-{_fmt(d.value)} input converges to a constant only polynomially"
        )
    return Degree.approximate(0, f"{name} saturates exponentially (L6–L8)")


def gelu(d: Degree) -> Degree:
    """GeLU(z) = z Φ(z): for k > 0 it behaves like ReLU up to Gaussian tails → ∼k."""
    if d.kind != "exact" or d.value == 0:
        return d
    return Degree.approximate(d.value, "GeLU = ReLU + Gaussian tail, which vanishes exponentially")


def normalize(d: Degree, eps: float, name: str) -> Degree:
    """Layer/RMS normalisation without its affine part.

    With ε = 0 (D9): k → 0 keeping the kind (LN(c^k z) = LN(z)). With ε > 0 and k > 0:
    (c^k z)/sqrt(c^{2k} v + ε) differs from z/sqrt(v) by O(ε/(v c^{2k})): asymptotic 0 of
    order 2k.
    """
    if d.kind == "none" or d.value == 0:
        return d
    if eps == 0:
        return _combine(0.0, [d])
    return _combine(
        0.0,
        [d],
        2 * d.value,
        f"{name} with ε={eps:g}: scale-invariant only up to O(ρ^-{_fmt(2 * d.value)})",
    )


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


# -- composition machinery ------------------------------------------------------------


@dataclass
class DerivationStep:
    """One line of a degree derivation: which module, what came in, what went out."""

    path: str
    rule: str
    input_degree: Degree
    output_degree: Degree


@dataclass
class RuleContext:
    """What a degree rule needs to know about its surroundings.

    ``is_scaled(name)`` answers, for a fully-qualified parameter name, whether that parameter
    is part of the scaled group θ. ``prefix`` is the module's own path. Every rule records a
    step in ``steps`` so the derivation can be printed.
    """

    is_scaled: Callable[[str], bool]
    prefix: str = ""
    steps: list[DerivationStep] = field(default_factory=list)

    def scaled(self, local_name: str) -> bool:
        return self.is_scaled(self.qualify(local_name))

    def qualify(self, local_name: str) -> str:
        return f"{self.prefix}.{local_name}" if self.prefix else local_name

    def child(self, name: str) -> RuleContext:
        return RuleContext(self.is_scaled, self.qualify(name), self.steps)

    def record(self, rule: str, din: Degree, dout: Degree) -> Degree:
        self.steps.append(DerivationStep(self.prefix or "<model>", rule, din, dout))
        return dout


@runtime_checkable
class HasDegreeRule(Protocol):
    """A module that knows how its output degree follows from its input degree."""

    def degree_rule(self, input_degree: Degree, ctx: RuleContext) -> Degree: ...


TorchRule = Callable[[nn.Module, Degree, RuleContext], Degree]
_TORCH_RULES: dict[type, TorchRule] = {}


def register_rule(module_type: type) -> Callable[[TorchRule], TorchRule]:
    """Register a degree rule for a ``torch.nn`` module type you do not own.

    The rule receives the module, its input degree and a :class:`RuleContext`.
    """

    def decorator(rule: TorchRule) -> TorchRule:
        _TORCH_RULES[module_type] = rule
        return rule

    return decorator


def module_degree(module: nn.Module, input_degree: Degree, ctx: RuleContext) -> Degree:
    """Apply the degree rule of ``module`` (its own, or one registered for its type)."""
    if isinstance(module, HasDegreeRule):
        return module.degree_rule(input_degree, ctx)
    for cls in type(module).__mro__:
        if cls in _TORCH_RULES:
            return _TORCH_RULES[cls](module, input_degree, ctx)
    out = Degree.none(
        f"no degree rule for {type(module).__name__} at '{ctx.prefix or '<model>'}'; "
        f"register one with homogeneity.rules.register_rule"
    )
    return ctx.record(type(module).__name__, input_degree, out)


@register_rule(nn.Linear)
def _linear_rule(m: nn.Linear, d: Degree, ctx: RuleContext) -> Degree:
    out = scale_by_parameter(d, ctx.scaled("weight"))
    if m.bias is not None:
        out = add(out, parameter_degree(ctx.scaled("bias")), "bias sum")
    return ctx.record("linear", d, out)


@register_rule(nn.Embedding)
def _embedding_rule(m: nn.Embedding, d: Degree, ctx: RuleContext) -> Degree:
    return ctx.record("embedding lookup", d, parameter_degree(ctx.scaled("weight")))


@register_rule(nn.ReLU)
def _relu_rule(m: nn.Module, d: Degree, ctx: RuleContext) -> Degree:
    return ctx.record("relu", d, relu(d))


@register_rule(nn.GELU)
def _gelu_rule(m: nn.Module, d: Degree, ctx: RuleContext) -> Degree:
    return ctx.record("gelu", d, gelu(d))


@register_rule(nn.Sigmoid)
def _sigmoid_rule(m: nn.Module, d: Degree, ctx: RuleContext) -> Degree:
    return ctx.record("sigmoid", d, saturating(d, "sigmoid"))


@register_rule(nn.Tanh)
def _tanh_rule(m: nn.Module, d: Degree, ctx: RuleContext) -> Degree:
    return ctx.record("tanh", d, saturating(d, "tanh"))


@register_rule(nn.Softmax)
def _softmax_rule(m: nn.Module, d: Degree, ctx: RuleContext) -> Degree:
    return ctx.record("softmax", d, saturating(d, "softmax"))


@register_rule(nn.Identity)
def _identity_rule(m: nn.Module, d: Degree, ctx: RuleContext) -> Degree:
    return ctx.record("identity", d, d)


@register_rule(nn.Dropout)
def _dropout_rule(m: nn.Module, d: Degree, ctx: RuleContext) -> Degree:
    return ctx.record("dropout (eval: identity)", d, d)


@register_rule(nn.LayerNorm)
def _layernorm_rule(m: nn.LayerNorm, d: Degree, ctx: RuleContext) -> Degree:
    out = normalize(d, m.eps, "LayerNorm")
    if m.weight is not None:
        out = multiply(out, parameter_degree(ctx.scaled("weight")))
    if getattr(m, "bias", None) is not None:
        out = add(out, parameter_degree(ctx.scaled("bias")), "layer-norm bias sum")
    return ctx.record(f"LayerNorm(eps={m.eps:g})", d, out)


@register_rule(nn.Sequential)
def _sequential_rule(m: nn.Sequential, d: Degree, ctx: RuleContext) -> Degree:
    out = d
    for name, child in m.named_children():
        out = module_degree(child, out, ctx.child(name))
    return out


# -- the public entry point -----------------------------------------------------------


def parameter_matcher(
    model: nn.Module, parameters: str | Sequence[str] | None
) -> Callable[[str], bool]:
    """Turn glob patterns over ``model.named_parameters()`` into a name predicate
    (None selects every parameter; a pattern that matches nothing is an error)."""
    chosen = set(select_parameter_names([n for n, _ in model.named_parameters()], parameters))
    return chosen.__contains__


@dataclass
class DegreeDerivation:
    """The predicted degree of a model and the steps that gave it."""

    degree: Degree
    steps: list[DerivationStep]
    input_degree: Degree

    def __str__(self) -> str:
        width = max([len(s.path) for s in self.steps] + [5])
        lines = [f"predicted degree: {self.degree}", f"input degree: {self.input_degree}"]
        for s in self.steps:
            lines.append(
                f"  {s.path:<{width}}  {s.rule:<34} {s.input_degree!s:>22} -> {s.output_degree}"
            )
        return "\n".join(lines)


def predict_degree(
    model: nn.Module,
    input_degree: Degree | float = 0,
    parameters: str | Sequence[str] | None = None,
) -> DegreeDerivation:
    """Predict the degree of ``model``'s output in the selected parameters.

    Args:
        model: a module built from :mod:`homogeneity.components`, a standard torch layer,
            or any module whose type has a rule (:func:`register_rule`).
        input_degree: the degree of the model's input in θ; plain data is exactly 0
            (the default). Token ids are handled by the embedding rule.
        parameters: glob patterns over parameter names selecting θ; None scales all.
    """
    if not isinstance(model, nn.Module):
        raise HomogeneityInputError(
            f"model must be a torch.nn.Module, got {type(model).__name__}; wrap a plain "
            f"function in a Module that declares degree_rule"
        )
    din = input_degree if isinstance(input_degree, Degree) else Degree.exact(input_degree)
    ctx = RuleContext(parameter_matcher(model, parameters))
    out = module_degree(model, din, ctx)
    return DegreeDerivation(out, ctx.steps, din)
