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
``none``         no degree at all (e.g. exp of a positive-degree input).

The algebra below is Table 1, extended to say which of the four kinds comes out:

* weight multiply k → k+1 (k if the weight is not scaled), kind kept;
* sum of degrees a and b: a = b gives a with the weaker kind; a ≠ b gives *asymptotic*
  max(a, b), the lower-degree term vanishing relatively like ρ^(−|a−b|);
* product k₁, k₂ → k₁ + k₂, weaker kind; a power z^p: k → p·k;
* ReLU k → k, kind kept (ReLU is positively 1-homogeneous);
* saturating maps (sigmoid, tanh, erf, softmax) k > 0 → *approximate* 0 (L6–L8, P3);
  a degree-0 input gives a degree-0 output of the same kind;
* GeLU and SiLU: z·s(z) with s saturating: k > 0 → approximate k, k = 0 → 0;
* the proofs' layer norm (D9, no ε) k → 0, kind kept; the standard layer norm and RMS norm
  with ε > 0 give *asymptotic* 0 for k > 0 (the ε term decays like ρ^(−2k)), and a gain
  multiplies by a degree-1 (or 0, if unscaled) parameter.

The weakness order is exact > approximate > asymptotic > none.

:func:`predict_degree` applies these rules to the operations a model actually executes
(:mod:`homogeneity.degree_engine`: one rule per aten op, run once on example inputs);
:func:`register_rule` declares a rule for a module type that then replaces the engine at
that module's boundary. The result is a :class:`DegreeDerivation` whose printout shows
every module's input and output degree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from homogeneity.errors import HomogeneityInputError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from homogeneity.scaling import OutputSelector, Patterns

DegreeKind = Literal["exact", "approximate", "asymptotic", "none"]
_STRENGTH: dict[str, int] = {"exact": 3, "approximate": 2, "asymptotic": 1, "none": 0}


@dataclass(frozen=True)
class Degree:
    """The degree of a quantity in the scaled parameters, and how exactly it holds.

    ``value`` is None exactly when ``kind == "none"``. ``reason`` says why a kind weaker
    than ``exact`` came out (the first rule that weakened it, with the op and module path
    where it happened). For ``asymptotic`` degrees, ``order`` is the predicted p in
    ‖g(cθ) − c^k g(θ)‖/‖c^k g(θ)‖ = O(ρ^(−p)) along a ray.
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
        if self.value is None:  # kind "none"
            return f"no degree ({self.reason})"
        symbol = {"exact": "=", "approximate": "∼", "asymptotic": "→"}[self.kind]
        extra = f", error O(ρ^-{_fmt(self.order)})" if self.order is not None else ""
        return f"{symbol}{_fmt(self.value)} ({self.kind}{extra})"


def _combine(
    value: float, parts: Sequence[Degree], extra_order: float | None = None, extra_reason: str = ""
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


def _at(where: str) -> str:
    return f" at {where}" if where else ""


# -- the rules of D16 -----------------------------------------------------------------


def scale_by_parameter(d: Degree, scaled: bool) -> Degree:
    """Multiply by a weight: k → k+1 if the weight is scaled, else k."""
    if d.value is None or not scaled:  # value is None exactly for kind "none"
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
    if a.value is None or b.value is None:  # a kind "none"
        return _combine(0.0, [a, b])
    if a.value == b.value:
        return _combine(a.value, [a, b])
    hi = b if a.value < b.value else a
    lo_k, hi_k = min(a.value, b.value), max(a.value, b.value)
    gap = hi_k - lo_k
    reason = (
        f"{what} of a degree-{_fmt(lo_k)} and a degree-{_fmt(hi_k)} term: the "
        f"degree-{_fmt(hi_k)} term dominates, relative error O(ρ^-{_fmt(gap)})"
    )
    return _combine(hi_k, [hi], gap, reason)


def multiply(a: Degree, b: Degree) -> Degree:
    """Product of two terms: k₁, k₂ → k₁ + k₂ (weaker kind, smaller asymptotic order)."""
    if a.value is None or b.value is None:  # a kind "none"
        return _combine(0.0, [a, b])
    return _combine(a.value + b.value, [a, b])


def power(d: Degree, p: float) -> Degree:
    """z^p (p real; 1/z, √z and 1/√z are p = −1, ½, −½): k → p·k, kind and order kept
    ((c^k z(1 + O(ρ^-q)))^p = c^{pk} z^p (1 + O(ρ^-q)))."""
    if d.value is None:  # kind "none"
        return d
    return d.with_value(p * d.value)


def weakened(d: Degree, by: Sequence[Degree]) -> Degree:
    """``d`` with the kind of the weakest of ``by`` (the masks or indices that select its
    entries): an exactly scale-invariant selection keeps ``d``'s kind, one that is only
    eventually constant along the ray makes it approximate."""
    if d.value is None or not by:  # kind "none", or nothing weakens it
        return d
    return _combine(d.value, [d, *by])


def relu(d: Degree) -> Degree:
    """ReLU is positively 1-homogeneous as a map: k → k, kind kept (L2)."""
    return d


def saturating(d: Degree, name: str, where: str = "") -> Degree:
    """σ, tanh, erf, softmax: k > 0 → ∼0 (L6–L8, P3); degree-0 input keeps its kind.

    An asymptotic input ρ^k(z + O(ρ^−p)) still saturates exponentially (the gap term
    ρ^k dominates), so it also gives ∼0.
    """
    if d.value is None or d.value == 0:  # kind "none", or degree 0
        return d
    if d.value < 0:
        return Degree.none(
            f"{name} of a degree-{_fmt(d.value)} input converges to a constant only "
            f"polynomially{_at(where)}"
        )
    return Degree.approximate(0, f"{name} saturates exponentially (L6–L8){_at(where)}")


def gelu(d: Degree, name: str = "GeLU", where: str = "") -> Degree:
    """z·s(z) with s saturating (GeLU: s = Φ; SiLU: s = σ): for k > 0 it is ReLU up to an
    exponentially small tail → ∼k; a degree-0 input keeps its kind."""
    if d.value is None or d.value == 0:  # kind "none", or degree 0
        return d
    if d.value < 0:
        return Degree.none(
            f"{name} of a degree-{_fmt(d.value)} input tends to its value at 0 only "
            f"polynomially{_at(where)}"
        )
    if d.kind != "exact":
        return d
    return Degree.approximate(
        d.value, f"{name} = ReLU + a tail that vanishes exponentially{_at(where)}"
    )


def normalize(d: Degree, eps: float, name: str, where: str = "") -> Degree:
    """Layer/RMS normalisation without its affine part.

    With ε = 0 (D9): k → 0 keeping the kind (LN(c^k z) = LN(z)). With ε > 0 and k > 0:
    (c^k z)/sqrt(c^{2k} v + ε) differs from z/sqrt(v) by O(ε/(v c^{2k})): asymptotic 0 of
    order 2k.
    """
    if d.value is None or d.value == 0:  # kind "none", or degree 0
        return d
    if eps == 0:
        return _combine(0.0, [d])
    return _combine(
        0.0,
        [d],
        2 * d.value,
        f"{name} with ε={eps:g}: scale-invariant only up to O(ρ^-{_fmt(2 * d.value)}){_at(where)}",
    )


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


# -- user rules for module types ------------------------------------------------------


@dataclass
class DerivationStep:
    """One line of a degree derivation: which module, what came in, what went out."""

    path: str
    rule: str
    input_degree: Degree
    output_degree: Degree


@dataclass
class RuleContext:
    """What a user's degree rule needs to know about its surroundings.

    ``is_scaled(name)`` answers, for a fully-qualified parameter name, whether that parameter
    is part of the scaled group θ. ``prefix`` is the module's own path. A rule records its
    step in ``steps`` (:meth:`record`) so the derivation can be printed.
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


#: rule(module, input degree, context) -> output degree
ModuleRule = Callable[[Any, Degree, RuleContext], Degree]
TorchRule = ModuleRule  # the older name
_TORCH_RULES: dict[type, ModuleRule] = {}


def register_rule(module_type: type) -> Callable[[ModuleRule], ModuleRule]:
    """Declare the degree rule of a module type: it then replaces the engine for every
    module of that type (or a subclass).

    The rule receives the module, the degree of its input (its first floating-point tensor
    argument; data of degree 0 if it has none) and a :class:`RuleContext`, and returns the
    degree of every floating-point tensor the module outputs. The ops inside the module
    are run but not interpreted. Remove a rule with :func:`unregister_rule`.
    """

    def decorator(rule: ModuleRule) -> ModuleRule:
        _TORCH_RULES[module_type] = rule
        return rule

    return decorator


def unregister_rule(module_type: type) -> None:
    """Remove the rule :func:`register_rule` declared for ``module_type`` (if any)."""
    _TORCH_RULES.pop(module_type, None)


def registered_rule(module: object) -> ModuleRule | None:
    """The user rule for ``module``'s type, looked up along its MRO, or None."""
    for cls in type(module).__mro__:
        rule = _TORCH_RULES.get(cls)
        if rule is not None:
            return rule
    return None


# -- the derivation -------------------------------------------------------------------


@dataclass(frozen=True)
class MissingRule:
    """Why there is no prediction: an op with no degree rule, and where it ran."""

    op: str
    path: str
    detail: str = ""

    def __str__(self) -> str:
        text = f"no degree rule for {self.op} at '{self.path}'"
        return f"{text} ({self.detail})" if self.detail else text


Outcome = Literal["exact", "approximate", "asymptotic", "none", "no prediction"]


@dataclass
class DegreeDerivation:
    """The predicted degree of a model and the steps that gave it.

    ``missing`` is set when there is *no prediction*: an op without a rule (named with its
    module path) fed the output; ``degree`` is then ``Degree.none`` with that reason.
    ``execution`` says how the model was run (dtype, attention kernel, example inputs).
    """

    degree: Degree
    steps: list[DerivationStep]
    input_degree: Degree
    missing: MissingRule | None = None
    execution: str = ""

    @property
    def predicted(self) -> bool:
        """False when the rules could not say anything (see ``missing``)."""
        return self.missing is None

    @property
    def outcome(self) -> Outcome:
        """``exact`` / ``approximate`` / ``asymptotic`` / ``none`` (no degree: the degrees
        mixed where ``degree.reason`` says) or ``no prediction``."""
        return "no prediction" if self.missing is not None else self.degree.kind

    def __str__(self) -> str:
        width = max([len(s.path) for s in self.steps] + [5])
        head = (
            f"no prediction: {self.missing}"
            if self.missing is not None
            else f"predicted degree: {self.degree}"
        )
        lines = [head, f"input degree: {self.input_degree}"]
        if self.execution:
            lines.append(f"run: {self.execution}")
        for s in self.steps:
            lines.append(
                f"  {s.path:<{width}}  {s.rule:<34} {s.input_degree!s:>22} -> {s.output_degree}"
            )
        return "\n".join(lines)


def as_degree(d: Degree | float) -> Degree:
    """A number k is the exact degree k."""
    if isinstance(d, Degree):
        return d
    if isinstance(d, bool) or not isinstance(d, int | float):
        raise HomogeneityInputError(
            f"input_degree must be a number or a Degree, got {type(d).__name__}; pass e.g. "
            f"input_degree=0 (plain data) or Degree.approximate(1)"
        )
    return Degree.exact(d)


def predict_degree(
    model: nn.Module,
    input_degree: Degree | float = 0,
    parameters: Patterns = None,
    *,
    inputs: Any = None,
    kwargs: Mapping[str, Any] | None = None,
    output: OutputSelector | None = None,
    dtype: torch.dtype | None = None,
) -> DegreeDerivation:
    """Predict the degree of ``model``'s output in the selected parameters.

    The model is run once, functionally (the caller's module is not changed), on
    ``inputs`` and ``kwargs``, and Table 1 is applied to every aten op it executes
    (:mod:`homogeneity.degree_engine`); rules declared with :func:`register_rule` replace
    the engine for modules of their type.

    Args:
        model: any ``torch.nn.Module``.
        input_degree: the degree in θ of the model's floating-point inputs; plain data is
            exactly 0 (the default). Integer and boolean inputs (token ids, masks) are data.
        parameters: glob patterns over parameter names selecting θ; None scales all.
        inputs: positional inputs of one forward call (a tensor or a tuple). None: the
            package's components and standard torch layers build small example inputs
            themselves; any other model needs them.
        kwargs: keyword inputs of the forward call.
        output: picks the tensor whose degree is predicted from the model's output
            (default: :func:`homogeneity.scaling.default_output`, as every check).
        dtype: the floating dtype of the run (default float64; the parameters are copied
            only when they have another dtype).
    """
    from homogeneity.degree_engine.predict import predict_model_degree

    return predict_model_degree(
        model,
        input_degree=as_degree(input_degree),
        parameters=parameters,
        inputs=inputs,
        kwargs=kwargs,
        output=output,
        dtype=dtype,
    )
