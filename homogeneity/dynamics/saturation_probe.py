"""The saturation level of SPEC D14, as the training tracker measures it.

For a model f, probe inputs x and a large scale c (1000 in the paper):

    sat(x; θ) = mean over tokens i of cos(f_i(x; θ), f_i(x; c·θ)),

where f_i is the output vector at token i (the last dimension is the feature dimension).
A value of 1 means the network already computes its saturated form (up to scale); random
networks sit near 0. If the model's output selector returns several tensors (for example
one hidden state per layer), the level is given per tensor: "per layer" in D14.

The scaled evaluation goes through :class:`homogeneity.scaling.Ray` on a frozen,
eval-mode copy of the module structure, with the parameter values passed in, so neither
the caller's module nor any random number generator is touched.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import torch
from torch import nn
from torch.func import functional_call

from homogeneity.scaling import Patterns, Ray, select_parameter_names
from homogeneity.validation import HomogeneityInputError, check_positive_scale

#: Picks what to compare from the model output: a tensor, or a sequence / dict of tensors.
SaturationOutput = Callable[[Any], Any]


def _default_saturation_output(out: Any) -> Any:
    if isinstance(out, torch.Tensor):
        return out
    for attr in ("logits", "last", "last_hidden_state"):
        if hasattr(out, attr):
            return getattr(out, attr)
    if isinstance(out, (tuple, list, dict)):
        return out
    raise HomogeneityInputError(
        f"cannot find a tensor in the model output of type {type(out).__name__}; pass "
        f"saturation_output=lambda out: <tensor or list of tensors>")


def _as_named(outputs: Any) -> dict[str, torch.Tensor]:
    if isinstance(outputs, torch.Tensor):
        return {"output": outputs}
    if isinstance(outputs, Mapping):
        return {str(k): v for k, v in outputs.items()}
    if isinstance(outputs, (tuple, list)):
        return {str(i): v for i, v in enumerate(outputs)}
    raise HomogeneityInputError(
        f"the saturation output is a {type(outputs).__name__}; return a tensor, a list of "
        f"tensors or a dict of tensors")


def token_cosines(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """cos(a_i, b_i) along the last dimension for every token i (NaN where a vector is 0)."""
    a64, b64 = a.to(torch.float64), b.to(torch.float64)
    if a64.dim() == 1:
        a64, b64 = a64[None], b64[None]
    dot = (a64 * b64).sum(-1)
    norms = torch.linalg.vector_norm(a64, dim=-1) * torch.linalg.vector_norm(b64, dim=-1)
    return torch.where(norms > 0, dot / norms, torch.full_like(dot, math.nan))


def mean_cosine(a: torch.Tensor, b: torch.Tensor, token_mask: torch.Tensor | None = None) -> float:
    """Average of :func:`token_cosines` over tokens kept by ``token_mask`` (True = keep)."""
    cos = token_cosines(a, b)
    keep = torch.isfinite(cos)
    if token_mask is not None:
        keep = keep & token_mask.to(cos.device).expand_as(cos)
    if not bool(keep.any()):
        return math.nan
    return float(cos[keep].mean())


@dataclass(frozen=True)
class SaturationLevel:
    """D14 at one parameter point: the mean over outputs and each output's level."""

    level: float
    per_output: dict[str, float]
    scale: float


class SaturationProbe:
    """Measures D14 for given parameter values of ``model`` on fixed probe inputs.

    Args:
        model: the module (only its structure is used: it is deep-copied once, put in eval
            mode, and never receives the caller's parameters in place).
        inputs: positional forward inputs of the probe batch.
        kwargs: keyword forward inputs.
        output: picks the tensor(s) to compare; a list gives one level per entry.
        parameters: glob patterns of the parameters scaled by c (None: all of them).
        scale: c, 1000 in the paper.
        token_mask: optional boolean (batch, seq) mask of the tokens to average over.
        dtype: working dtype of the comparison (float64 by default).
    """

    def __init__(self, model: nn.Module, inputs: Any, *, kwargs: Mapping[str, Any] | None = None,
                 output: SaturationOutput = _default_saturation_output,
                 parameters: Patterns = None, scale: float = 1000.0,
                 token_mask: torch.Tensor | None = None,
                 dtype: torch.dtype = torch.float64) -> None:
        if not isinstance(model, nn.Module):
            raise HomogeneityInputError(
                f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.scale = check_positive_scale(scale, "scale")
        try:
            self._skeleton = copy.deepcopy(model).eval().requires_grad_(False)
        except Exception as exc:  # noqa: BLE001 - report any copy failure the same way
            raise HomogeneityInputError(
                f"the model cannot be deep-copied for the saturation probe ({exc}); pass "
                f"saturation_inputs=None to track norms only") from exc
        self.inputs = inputs if isinstance(inputs, tuple) else (inputs,)
        self.kwargs = dict(kwargs or {})
        self.output = output
        self.dtype = dtype
        self.token_mask = token_mask
        names = [n for n, _ in model.named_parameters()]
        self.scaled_names = select_parameter_names(names, parameters)
        # Floating buffers (running statistics) travel with the parameters; integer ones
        # (counters) stay as the copy has them.
        self._model = model
        self._buffer_names = [n for n, b in model.named_buffers() if b.is_floating_point()]

    def _call(self, params: dict[str, torch.Tensor], *inputs: Any, **kwargs: Any) -> Any:
        return functional_call(self._skeleton, params, inputs, kwargs, strict=False)

    def measure(self, params: Mapping[str, torch.Tensor]) -> SaturationLevel:
        """D14 at the parameter values ``params`` (name -> tensor; copies are used)."""
        values = {n: t.detach() for n, t in params.items()}
        buffers = dict(self._model.named_buffers())
        values.update({n: buffers[n].detach() for n in self._buffer_names if n not in values})
        ray = Ray(self._call, self.inputs, list(self.scaled_names), self.kwargs,
                  output=lambda out: out, dtype=self.dtype, params=values)
        base = _as_named(self.output(ray(1.0)))
        scaled = _as_named(self.output(ray(self.scale)))
        per = {k: mean_cosine(base[k], scaled[k], self.token_mask) for k in base}
        finite = [v for v in per.values() if math.isfinite(v)]
        level = float(sum(finite) / len(finite)) if finite else math.nan
        return SaturationLevel(level, per, self.scale)


def saturation_level(model: nn.Module, inputs: Any, *, scale: float = 1000.0,
                     parameters: Patterns = None, output: SaturationOutput = _default_saturation_output,
                     kwargs: Mapping[str, Any] | None = None,
                     token_mask: torch.Tensor | None = None,
                     dtype: torch.dtype = torch.float64) -> SaturationLevel:
    """D14 for ``model`` at its current parameters (the module is not modified)."""
    probe = SaturationProbe(model, inputs, kwargs=kwargs, output=output, parameters=parameters,
                            scale=scale, token_mask=token_mask, dtype=dtype)
    return probe.measure(dict(model.named_parameters()))
