"""The ray ρ ↦ f(x; ρθ): choosing a parameter group θ and evaluating along it.

A :class:`Ray` wraps a ``torch.nn.Module`` (or a plain function of a parameter dict) and a
selection of its parameters by glob patterns. Evaluating the ray never touches the
caller's module: parameters are substituted with :func:`torch.func.functional_call`, in a
working dtype (float64 by default) and on the module's device.

    ray = Ray(model, inputs=(ids,), parameters=["*.weight"])
    y = ray(10.0)             # f(x; 10·θ), θ the selected weights, the rest unchanged
    y = ray.at(params, 1.0)   # same with replacement parameter values
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.func import functional_call

from homogeneity.errors import HomogeneityInputError
from homogeneity.validation import (
    check_finite,
    check_float_dtype,
    check_positive_scale,
)

OutputSelector = Callable[[Any], torch.Tensor]
Patterns = str | Sequence[str] | None


def default_output(out: Any) -> torch.Tensor:
    """Pick the tensor to check from a model's output.

    A tensor is used as is; a tuple/list gives its first element; an object with
    ``last_hidden_state`` (transformers) or ``last`` (our :class:`EncoderOutput`) gives that.
    """
    if isinstance(out, torch.Tensor):
        return out
    for attr in ("last_hidden_state", "last", "logits"):
        if hasattr(out, attr):
            return getattr(out, attr)
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    raise HomogeneityInputError(
        f"cannot find a tensor in the model output of type {type(out).__name__}; pass "
        f"output=lambda out: <the tensor to check>"
    )


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


@dataclass
class Ray:
    """ρ ↦ f(x; ρθ) for a module (or a function of a parameter dict) and fixed inputs.

    Args:
        model: a ``torch.nn.Module``, or a callable ``fn(params: dict, *inputs, **kw)``
            together with ``params``.
        inputs: positional inputs of the forward call (floating tensors are cast to
            ``dtype``; integer tensors such as token ids are kept).
        parameters: glob patterns over parameter names selecting θ; None selects all.
        kwargs: keyword inputs of the forward call.
        output: picks the tensor to study from the model's output.
        dtype: working dtype, float64 by default.
        params: the parameter dict when ``model`` is a plain function.
    """

    model: nn.Module | Callable[..., Any]
    inputs: tuple = ()
    parameters: Patterns = None
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    output: OutputSelector = default_output
    dtype: torch.dtype = torch.float64
    params: Mapping[str, torch.Tensor] | None = None

    def __post_init__(self) -> None:
        check_float_dtype(self.dtype)
        if not isinstance(self.inputs, tuple):
            self.inputs = (self.inputs,)
        if isinstance(self.model, nn.Module):
            if self.params is not None:
                raise HomogeneityInputError(
                    "params is only for plain functions; for a Module its own parameters are "
                    "used: drop params="
                )
            _check_no_active_dropout(self.model)
            named = dict(self.model.named_parameters())
            buffers = dict(self.model.named_buffers())
        elif callable(self.model):
            if self.params is None:
                raise HomogeneityInputError(
                    "model is a plain function: pass params={name: tensor} with the parameters "
                    "it takes as its first argument"
                )
            named, buffers = dict(self.params), {}
        else:
            raise HomogeneityInputError(
                f"model must be a torch.nn.Module or a callable, got {type(self.model).__name__}"
            )
        if not named:
            raise HomogeneityInputError("model has no parameters to scale")
        device = next(iter(named.values())).device
        self.device = device
        base: dict[str, torch.Tensor] = {}
        for name, p in named.items():
            if not p.is_floating_point():
                raise HomogeneityInputError(
                    f"parameter '{name}' has integer dtype {p.dtype}; only floating parameters "
                    f"can be scaled: convert the model with .double()"
                )
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
        self.scaled_names = select_parameter_names(list(named), self.parameters)
        self.inputs = _cast_input(self.inputs, self.dtype, device, "inputs")
        self.kwargs = _cast_input(dict(self.kwargs), self.dtype, device, "kwargs")

    # -- evaluation ------------------------------------------------------------------
    @property
    def theta(self) -> dict[str, torch.Tensor]:
        """The selected parameters θ (working dtype copies)."""
        return {n: self.base[n] for n in self.scaled_names}

    def theta_norm(self) -> float:
        """‖θ‖₂ over the selected group."""
        return float(torch.sqrt(sum((t.double() ** 2).sum() for t in self.theta.values())))

    def scaled_params(
        self, rho: float | torch.Tensor, theta: Mapping[str, torch.Tensor] | None = None
    ) -> dict[str, torch.Tensor]:
        """All parameters, with the selected ones (or ``theta`` if given) times ρ."""
        theta = self.theta if theta is None else theta
        params = dict(self.base)
        for n in self.scaled_names:
            params[n] = rho * theta[n]
        return params

    def call(self, params: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """f(x; params): the selected output tensor for a full parameter dict."""
        if isinstance(self.model, nn.Module):
            out = functional_call(
                self.model, dict(params), self.inputs, dict(self.kwargs), strict=True
            )
        else:
            out = self.model(dict(params), *self.inputs, **self.kwargs)
        return self.output(out)

    def at(self, theta: Mapping[str, torch.Tensor], rho: float = 1.0) -> torch.Tensor:
        """f(x; ρ·θ') with θ' given for the selected names, the rest at their values."""
        return self.call(self.scaled_params(rho, theta))

    def __call__(self, rho: float) -> torch.Tensor:
        """f(x; ρθ)."""
        rho = check_positive_scale(rho, "rho")
        with torch.no_grad():
            return self.call(self.scaled_params(rho))
