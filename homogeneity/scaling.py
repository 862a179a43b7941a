"""The ray ρ ↦ f(x; ρθ): choosing a parameter group θ and evaluating along it.

A :class:`Ray` wraps a ``torch.nn.Module`` (or a plain function of a parameter dict) and a
selection of its parameters by glob patterns. Evaluating the ray never touches the
caller's module: parameters are substituted with :func:`torch.func.functional_call`, in a
working dtype (float64 by default) and on the module's device.

    ray = Ray(model, inputs=(ids,), parameters=["*.weight"])
    y = ray(10.0)             # f(x; 10·θ), θ the selected weights, the rest unchanged
    y = ray.at(params, 1.0)   # same with replacement parameter values
    f, d = ray.jvp(1.0)       # f(ρθ) and (ρθ)·∇_θ f(ρθ) from one forward-mode pass
    print(ray.execution)      # what the evaluations ran on (kernels, float32 ops, output)

Every evaluation (value and forward-mode passes) goes through one checked execution path
(:mod:`homogeneity.execution`): SDPA on its math kernel and the MHA fast path off (fused
kernels have no forward-mode AD), ops that compute below the working dtype lifted to it
(``low_precision='lift'``, the default) or kept and reported
(``low_precision='keep'``), the caller's global settings restored afterwards. An
evaluation whose output is NaN or infinite raises
:class:`~homogeneity.errors.NumericalBreakdown` naming ρ and the first op and module
where it happened.
"""

from __future__ import annotations

import copy
import fnmatch
import math
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.autograd.forward_ad as fwAD
from torch import nn
from torch.func import functional_call

from homogeneity.constants import LowPrecision
from homogeneity.errors import HomogeneityInputError, NumericalBreakdown
from homogeneity.execution.breakdown import non_finite_breakdown, zero_output_breakdown
from homogeneity.execution.executor import CheckedExecution
from homogeneity.execution.input_diagnosis import (
    diagnose_failure,
    input_kind_diagnosis,
    named_inputs,
)
from homogeneity.execution.model_inputs import (
    TokenMask,
    causality,
    is_transformers_model,
    mapping_as_keywords,
    token_mask_from_keywords,
)
from homogeneity.execution.module_hooks import hooks_restored
from homogeneity.execution.outputs import select_output
from homogeneity.execution.report import ExecutionReport
from homogeneity.execution.self_tangent import SelfTangentProducts
from homogeneity.validation import (
    check_finite,
    check_first_input,
    check_float_dtype,
    check_input_kinds,
    check_low_precision,
    check_not_meta,
    check_parameter_values,
    check_positive_scale,
)

OutputSelector = Callable[[Any], Any]
Patterns = str | Sequence[str] | None


def default_output(out: Any) -> torch.Tensor:
    """Pick the tensor to check from a model's output
    (:func:`~homogeneity.execution.select_output` without per-layer outputs): a tensor as
    is; ``last_hidden_state`` (transformers), ``last`` (our :class:`EncoderOutput`) or
    ``logits``; the last of a list of same-shape tensors; element 0 of a tuple."""
    return select_output(out, per_layer=False).tensors[0]


def select_parameter_names(names: Sequence[str], parameters: Patterns) -> list[str]:
    """Names matching the glob ``parameters`` (None: all). A pattern that matches nothing
    is an error naming the pattern and some valid names."""
    if parameters is None:
        return list(names)
    patterns = [parameters] if isinstance(parameters, str) else list(parameters)
    if not patterns:
        raise HomogeneityInputError(
            "parameters is an empty list; pass None to scale every parameter or glob "
            "patterns such as ['*.weight']"
        )
    for p in patterns:
        if not isinstance(p, str):
            raise HomogeneityInputError(f"parameters must hold glob strings, got {p!r}")
        if not any(fnmatch.fnmatchcase(n, p) for n in names):
            raise HomogeneityInputError(
                f"parameters pattern {p!r} selects nothing; known parameter names include "
                f"{list(names)[:10]} (patterns are globs: use '*' for any characters)"
            )
    return [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in patterns)]


def _cast_input(x: Any, dtype: torch.dtype, device: torch.device | None, argument: str) -> Any:
    if isinstance(x, torch.Tensor):
        check_finite(x, argument)
        if x.numel() == 0:
            raise HomogeneityInputError(
                f"{argument} is empty (shape {tuple(x.shape)}): there is nothing to evaluate; "
                f"pass at least one batch element and one sequence position"
            )
        if x.is_floating_point():
            return x.to(dtype=dtype, device=device)
        return x.to(device=device)
    if isinstance(x, (tuple, list)):
        return type(x)(_cast_input(v, dtype, device, f"{argument}[{i}]") for i, v in enumerate(x))
    if isinstance(x, dict):
        return {k: _cast_input(v, dtype, device, f"{argument}[{k!r}]") for k, v in x.items()}
    return x


def _check_no_active_dropout(model: nn.Module) -> None:
    for name, m in model.named_modules():
        if isinstance(m, nn.modules.dropout._DropoutNd) and m.training and m.p > 0:
            raise HomogeneityInputError(
                f"model has active dropout at '{name}' (training mode): checks need a "
                f"deterministic function; call model.eval() first (it is not changed for you)"
            )


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for t in value if isinstance(t, torch.Tensor)]
    return []


def _finite(value: Any) -> bool:
    return all(
        bool(torch.isfinite(t).all())
        for t in _tensors(value)
        if t.is_floating_point() or t.is_complex()
    )


def _norms_finite(tensors: Sequence[torch.Tensor]) -> bool:
    """Whether every tensor's 2-norm is finite (one fused ``torch._foreach_norm``). True
    implies every entry is finite; False means an entry is NaN or infinite, or a norm of
    finite entries overflowed (callers then check entry by entry)."""
    if not tensors:
        return True
    norms = torch._foreach_norm(list(tensors), 2)
    if len({n.dtype for n in norms}) == 1 and len({n.device for n in norms}) == 1:
        return bool(torch.stack(norms).isfinite().all())
    return all(math.isfinite(float(n)) for n in norms)


def _selector_name(output: Callable[..., Any]) -> str:
    name = getattr(output, "__qualname__", None) or type(output).__name__
    return f"the tensor picked by output={name}"


@dataclass
class Ray:
    """ρ ↦ f(x; ρθ) for a module (or a function of a parameter dict) and fixed inputs.

    Args:
        model: a ``torch.nn.Module``, or a callable ``fn(params: dict, *inputs, **kw)``
            together with ``params``.
        inputs: positional inputs of the forward call (floating tensors are cast to
            ``dtype``; integer tensors such as token ids are kept). A lone mapping of
            forward arguments (a ``BatchEncoding``) is passed as keywords.
        parameters: glob patterns over parameter names selecting θ; None selects all.
            Parameters outside the selection may have any dtype (an int64 counter).
        kwargs: keyword inputs of the forward call.
        output: picks what to study from the model's output; the default
            (:func:`default_output`) uses :func:`~homogeneity.execution.select_output`
            and records which output it took.
        dtype: working dtype, float64 by default.
        params: the parameter dict when ``model`` is a plain function.
        per_layer: with the default ``output``, study the per-layer outputs (the hidden
            states of a Hugging Face model, which is then called with
            ``output_hidden_states=True``); evaluations return a list of tensors.
        low_precision: ``'lift'`` (default) computes ops that the model runs below
            ``dtype`` (a float32 cast in a float64 run) in ``dtype``; ``'keep'`` runs them
            as written and reports the noise floor they cause (:attr:`noise_floor`).
    """

    model: nn.Module | Callable[..., Any]
    inputs: tuple[Any, ...] = ()
    parameters: Patterns = None
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    output: OutputSelector = default_output
    dtype: torch.dtype = torch.float64
    params: Mapping[str, torch.Tensor] | None = None
    per_layer: bool = False
    low_precision: str = LowPrecision.LIFT

    def __post_init__(self) -> None:
        check_float_dtype(self.dtype)
        self.low_precision = check_low_precision(self.low_precision)
        if self.inputs is None:
            raise HomogeneityInputError(
                "inputs is None; pass the model's input tensor(s), or inputs=() for a model "
                "that takes only keyword inputs"
            )
        if not isinstance(self.inputs, tuple):
            self.inputs = (self.inputs,)
        self.inputs, kwargs = mapping_as_keywords(self.model, self.inputs, self.kwargs)
        check_first_input(self.inputs)
        check_input_kinds(self.inputs, "inputs")
        check_input_kinds(kwargs, "kwargs")
        if isinstance(self.model, nn.Module):
            if self.params is not None:
                raise HomogeneityInputError(
                    "params is only for plain functions; for a Module its own parameters are "
                    "used: drop params="
                )
            _check_no_active_dropout(self.model)
            named: dict[str, torch.Tensor] = dict(self.model.named_parameters())
            buffers = dict(self.model.named_buffers())
            check_not_meta(named, "parameter")
            check_not_meta(buffers, "buffer")
        elif callable(self.model):
            if self.params is None:
                raise HomogeneityInputError(
                    "model is a plain function: pass params={name: tensor} with the parameters "
                    "it takes as its first argument"
                )
            named, buffers = check_parameter_values(self.params), {}
            check_not_meta(named, "params")
        else:
            raise HomogeneityInputError(
                f"model must be a torch.nn.Module or a callable, got {type(self.model).__name__}"
            )
        if not named:
            raise HomogeneityInputError("model has no parameters to scale")
        self.scaled_names = select_parameter_names(list(named), self.parameters)
        selected = set(self.scaled_names)
        device = next(iter(named.values())).device
        self.device = device
        base: dict[str, torch.Tensor] = {}
        for name, p in named.items():
            if not p.is_floating_point():
                if name in selected:
                    raise HomogeneityInputError(
                        f"parameter '{name}' has integer dtype {p.dtype}; only floating "
                        f"parameters can be scaled: exclude it with parameters=[...] or convert "
                        f"the model with .double()"
                    )
                base[name] = p.detach()  # kept as it is, like an integer buffer
                continue
            check_finite(p.detach(), f"parameter '{name}'")
            base[name] = p.detach().to(self.dtype)
        for name, b in buffers.items():
            # copies: a forward in training mode updates buffers in place (BatchNorm's
            # running statistics), which must not reach the caller's module
            base[name] = (
                b.detach().to(self.dtype, copy=True)
                if b.is_floating_point()
                else b.detach().clone()
            )
        self.base = base
        self.inputs = _cast_input(self.inputs, self.dtype, device, "inputs")
        kwargs = _cast_input(kwargs, self.dtype, device, "kwargs")
        hugging_face = isinstance(self.model, nn.Module) and is_transformers_model(self.model)
        if self.per_layer and hugging_face and self.output is default_output:
            kwargs.setdefault("output_hidden_states", True)
        self.kwargs = kwargs
        self._restore_hooks = hugging_face and bool(kwargs.get("output_hidden_states"))
        self._token_mask: TokenMask | None = token_mask_from_keywords(kwargs)
        leaves = named_inputs(self.inputs, self.kwargs)
        self._execution = CheckedExecution(
            self.model if isinstance(self.model, nn.Module) else None,
            self.dtype,
            self.low_precision,
            input_kind_diagnosis(leaves),
            lambda exc: diagnose_failure(exc, leaves),
        )
        self._output_description = ""
        self._parameters_read_only = False  # known after the first pass (:meth:`_run`)

    # -- evaluation ------------------------------------------------------------------
    @property
    def theta(self) -> dict[str, torch.Tensor]:
        """The selected parameters θ (working dtype copies)."""
        return {n: self.base[n] for n in self.scaled_names}

    def theta_norm(self) -> float:
        """‖θ‖₂ over the selected group."""
        squares = [(t.double() ** 2).sum() for t in self.theta.values()]
        return float(torch.sqrt(torch.stack(squares).sum()))

    def scaled_params(
        self, rho: float | torch.Tensor, theta: Mapping[str, torch.Tensor] | None = None
    ) -> dict[str, torch.Tensor]:
        """All parameters, with the selected ones (or ``theta`` if given) times ρ.

        At ρ = 1 on θ's own values the selected entries are θ's tensors themselves
        (1·θ = θ exactly) once the first evaluation has shown that the model writes none
        of them in place: a copy of every parameter of GPT-2 small costs about a quarter
        of its forward pass.
        """
        shared = (
            theta is None
            and self._parameters_read_only
            and not isinstance(rho, torch.Tensor)
            and rho == 1.0
        )
        theta = self.theta if theta is None else theta
        params = dict(self.base)
        for n in self.scaled_names:
            params[n] = theta[n] if shared else rho * theta[n]
        return params

    def _versions(self, params: Mapping[str, torch.Tensor]) -> tuple[int, ...] | None:
        """The version counters of the selected entries of ``params`` (None when a tensor
        has none, as functorch's wrappers)."""
        try:
            return tuple(params[n]._version for n in self.scaled_names)
        except (RuntimeError, AttributeError):
            return None

    def _run(self, params: Mapping[str, torch.Tensor]) -> Any:
        """One pass on the checked path. After the first pass it is known whether the
        model writes its selected parameters in place (``F.embedding`` with ``max_norm``
        does): only if it writes none may later passes share θ's memory."""
        first = not self._execution.probed
        before = self._versions(params) if first else None
        out = self._execution.run(lambda: self._evaluate(params))
        if first:
            after = self._versions(params)
            self._parameters_read_only = before is not None and before == after
        return out

    def _forward(self, params: Mapping[str, torch.Tensor]) -> Any:
        """The model's raw output for a full parameter dict (no checks, no selection)."""
        restore = (
            hooks_restored(self.model)
            if self._restore_hooks and isinstance(self.model, nn.Module)
            else nullcontext()
        )
        with restore:
            if isinstance(self.model, nn.Module):
                return functional_call(
                    self.model, dict(params), self.inputs, dict(self.kwargs), strict=True
                )
            return self.model(dict(params), *self.inputs, **self.kwargs)

    def _select(self, out: Any) -> Any:
        if self.output is default_output:
            selected = select_output(out, self.per_layer)
            self._output_description = selected.description
            return selected.value
        self._output_description = _selector_name(self.output)
        return self.output(out)

    def _evaluate(self, params: Mapping[str, torch.Tensor]) -> Any:
        return self._select(self._forward(params))

    def _breakdown(
        self, params: Mapping[str, torch.Tensor], rho: float | None, what: str
    ) -> NumericalBreakdown:
        """The breakdown for a non-finite ``what`` of the pass at ``params``, located by
        re-running that one pass."""
        overflowed = [n for n in self.scaled_names if not bool(torch.isfinite(params[n]).all())]
        if overflowed:
            where = (
                f"the scaled parameters themselves (ρ·θ is not finite in "
                f"{str(self.dtype).removeprefix('torch.')} for '{overflowed[0]}')"
            )
        else:
            where = self._execution.locate_non_finite(lambda: self._evaluate(params))
        report = self.execution
        return non_finite_breakdown(
            rho,
            where,
            self.dtype,
            what=what,
            kept_low_precision=report.lowest_kept_dtype,
        )

    def zero_output_breakdown(self, rho: float, needed_for: str) -> NumericalBreakdown:
        """The breakdown for an output that is exactly zero at ρ where ``needed_for`` needs
        it not to be, naming the first module whose output was identically zero (found by
        re-running that one point)."""
        params = self.scaled_params(rho)

        def run() -> Any:
            return self._evaluate(params)

        where, overflow = self._execution.locate_zero(run)
        return zero_output_breakdown(
            rho,
            where,
            needed_for,
            overflow=overflow,
            dtype=self.dtype,
            kept_low_precision=self.execution.lowest_kept_dtype,
        )

    def call(self, params: Mapping[str, torch.Tensor], *, rho: float | None = None) -> Any:
        """f(x; params): the selected output for a full parameter dict.

        Raises :class:`NumericalBreakdown` (naming ``rho`` when given) if the output has a
        NaN or an infinity.
        """
        out = self._run(params)
        if not _finite(out):
            raise self._breakdown(params, rho, "the output")
        return out

    def with_values(self, values: Mapping[str, torch.Tensor]) -> Ray:
        """This ray with some parameter (or buffer) values replaced: the same model,
        inputs, selection and output, and the same execution path, whose first pass (the
        one that records the run under Python-level modes) is not repeated. For
        evaluations at a sequence of parameter values, such as a training run's states.

        ``values`` maps parameter names (keys of ``ray.base``) to tensors of the same
        shapes; floating ones are cast to the working dtype and must be finite, as at
        construction.
        """
        unknown = [n for n in values if n not in self.base]
        if unknown:
            raise HomogeneityInputError(
                f"values has names this ray does not have: {unknown[:5]}; known names "
                f"include {list(self.base)[:10]}"
            )
        base = dict(self.base)
        floating = []
        for name, value in values.items():
            if not isinstance(value, torch.Tensor) or value.shape != base[name].shape:
                shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value)
                raise HomogeneityInputError(
                    f"values[{name!r}] must be a tensor of shape {tuple(base[name].shape)}, "
                    f"got {shape}"
                )
            if value.is_floating_point():
                floating.append(value.detach())
                base[name] = value.detach().to(self.dtype)
            elif name in self.scaled_names:
                raise HomogeneityInputError(
                    f"values[{name!r}] has integer dtype {value.dtype}, but '{name}' is scaled"
                )
            else:
                base[name] = value.detach()
        if not _norms_finite(floating):  # a NaN or inf entry, or a norm that overflowed
            for name, value in values.items():
                check_finite(value.detach(), f"parameter '{name}'")
        ray = copy.copy(self)
        ray.base = base
        return ray

    def at(self, theta: Mapping[str, torch.Tensor], rho: float = 1.0) -> Any:
        """f(x; ρ·θ') with θ' given for the selected names, the rest at their values."""
        return self.call(self.scaled_params(rho, theta), rho=rho)

    def __call__(self, rho: float) -> Any:
        """f(x; ρθ)."""
        rho = check_positive_scale(rho, "rho")
        with torch.no_grad():
            return self.call(self.scaled_params(rho), rho=rho)

    def jvp(
        self, rho: float = 1.0, *, self_tangent_products: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(f(ρθ), (ρθ)·∇_θ f(ρθ)) from one forward-mode pass.

        Dual tensors (``torch.autograd.forward_ad``) with tangent ρθ on the selected
        parameters: d/ds f((ρ + sρ)θ) at s = 0. Each selected parameter's tangent is the
        parameter itself, so a product x·W with it has the tangent (x + ẋ)·W, one product
        where forward-mode AD makes two (:mod:`homogeneity.execution.self_tangent`; exact,
        the same numbers to rounding); ``self_tangent_products=False`` runs plain
        forward-mode AD throughout. Raises :class:`NumericalBreakdown` if the value or the
        derivative is not finite.
        """
        rho = check_positive_scale(rho, "rho")
        products = SelfTangentProducts() if self_tangent_products else nullcontext()
        with fwAD.dual_level(), products:
            params = self.scaled_params(rho)
            for n in self.scaled_names:
                params[n] = fwAD.make_dual(params[n], params[n])
            out = self._run(params)
            if not isinstance(out, torch.Tensor):
                raise HomogeneityInputError(
                    f"the forward-mode pass needs one output tensor, got {type(out).__name__} "
                    f"({self._output_description}); pass output=lambda out: <a tensor>"
                )
            value, tangent = fwAD.unpack_dual(out)
            if tangent is None:  # the output does not depend on the selected parameters
                tangent = torch.zeros_like(value)
            if not _finite(value):
                raise self._breakdown(params, rho, "the output")
            if not _finite(tangent):
                raise self._breakdown(params, rho, "the derivative θ·∇f")
        return value.detach(), tangent.detach()

    # -- what the evaluations ran on -------------------------------------------------
    def _ensure_probed(self) -> None:
        if not self._execution.probed:
            try:
                self(1.0)
            except NumericalBreakdown:
                pass  # the first pass recorded the run before its output was checked

    @property
    def execution(self) -> ExecutionReport:
        """What the evaluations ran on (kernels, low-precision ops, output, token mask,
        causality). Runs one evaluation at ρ = 1 if none has run yet."""
        self._ensure_probed()
        ex = self._execution
        causal, source = self._causality()
        return ExecutionReport(
            dtype=self.dtype,
            output=self._output_description,
            sdpa_calls=sum(
                c.function == "scaled_dot_product_attention" for c in ex.attention_calls
            ),
            mha_calls=ex.mha_calls,
            low_precision=self.low_precision,
            low_precision_ops=ex.low_precision_ops,
            token_mask=self._token_mask.describe() if self._token_mask is not None else "",
            causal=causal,
            causal_source=source,
        )

    def _causality(self) -> tuple[bool | None, str]:
        return causality(self.model, self._execution.attention_calls)

    @property
    def token_mask(self) -> torch.Tensor | None:
        """True for the real tokens (batch × sequence), from ``attention_mask`` (or
        ``src_key_padding_mask``) in the inputs; None when the inputs carry no mask.
        Averages over tokens should leave the other positions out."""
        return None if self._token_mask is None else self._token_mask.mask

    @property
    def causal(self) -> bool | None:
        """Whether the model attends causally: from a Hugging Face model's config and
        attention modules, else from the attention calls of the first pass; None when
        nothing says."""
        self._ensure_probed()
        return self._causality()[0]

    @property
    def noise_floor(self) -> float:
        """Relative errors below this are rounding noise for this ray's evaluations:
        1e3·eps of the working dtype, or of the lowest dtype of the ops it keeps below
        the working dtype (``low_precision='keep'``). Decay fits must be made above it."""
        return self.execution.noise_floor

    @property
    def output_description(self) -> str:
        """Which output the evaluations study (e.g. "output[0] of a tuple of 2")."""
        self._ensure_probed()
        return self._output_description
