"""The saturation level of SPEC D14 measured during training, at given parameter values.

    sat_l(x; θ) = mean over tokens i of cos(h_l,i(x; θ), h_l,i(x; c·θ)),   c = 1000,

computed by :func:`homogeneity.saturation.saturation_level` (the package's one definition
of D14), per layer when the output selector returns one tensor per layer.

The tracker needs D14 at parameter values that are not (or no longer) in a module, and
must not touch the module it is given. So :class:`SaturationProbe` deep-copies the
module's structure once, puts the copy in eval mode, and evaluates it functionally
(:class:`homogeneity.scaling.Ray` over :func:`torch.func.functional_call`) at whatever
parameter values it is handed. No random number generator is used.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.func import functional_call

from homogeneity.errors import HomogeneityInputError
from homogeneity.saturation import NumericalBreakdown, saturation_level
from homogeneity.scaling import Patterns, Ray, default_output, select_parameter_names
from homogeneity.validation import check_positive_scale

#: Picks what to compare from the model output: a tensor, or a list of tensors (layers).
SaturationOutput = Callable[[Any], Any]


@dataclass(frozen=True)
class ProbeResult:
    """D14 at one parameter point: ``layers[l]`` per output tensor, ``level`` the last one's;
    ``error`` says why nothing was measured (e.g. an overflow at c·θ), else empty."""

    level: float | None
    layers: tuple[float, ...]
    scale: float
    error: str = ""


class SaturationProbe:
    """D14 of ``model``'s structure at given parameter values, on fixed probe inputs.

    Args:
        model: the module (deep-copied once, in eval mode; the caller's module is never
            evaluated or changed).
        inputs: positional forward inputs of the probe batch (a tensor or tuple).
        kwargs: keyword forward inputs.
        output: picks the tensor(s) to compare from the forward output; a list gives one
            level per entry (one per layer).
        parameters: glob patterns of the parameters scaled by c (None: all, as in D14).
        scale: c, 1000 in the paper.
        token_mask: optional bool mask of the tokens to average over (output shape without
            its last dimension).
        dtype: working dtype (float64 by default).
    """

    def __init__(
        self,
        model: nn.Module,
        inputs: Any,
        *,
        kwargs: Mapping[str, Any] | None = None,
        output: SaturationOutput = default_output,
        parameters: Patterns = None,
        scale: float = 1000.0,
        token_mask: torch.Tensor | None = None,
        dtype: torch.dtype = torch.float64,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise HomogeneityInputError(
                f"model must be a torch.nn.Module, got {type(model).__name__}"
            )
        self.scale = check_positive_scale(scale, "scale")
        try:
            self._skeleton = copy.deepcopy(model).eval().requires_grad_(False)
        except Exception as exc:  # noqa: BLE001 - any copy failure is reported the same way
            raise HomogeneityInputError(
                f"the model cannot be deep-copied for the saturation probe ({exc}); pass "
                f"saturation_inputs=None to track norms only"
            ) from exc
        self.inputs = inputs if isinstance(inputs, tuple) else (inputs,)
        self.kwargs = dict(kwargs or {})
        self.output = output
        self.dtype = dtype
        self.token_mask = token_mask
        self._model = model
        self.scaled_names = select_parameter_names(
            [n for n, _ in model.named_parameters()], parameters
        )
        # Floating buffers (running statistics) travel with the parameters; integer ones
        # (counters) stay as the copy has them.
        self._buffer_names = [n for n, b in model.named_buffers() if b.is_floating_point()]
        # ... and are passed as the copy has them, so the call names every tensor of the
        # module (a BERT's position_ids and token_type_ids buffers are integer)
        self._fixed_buffers = {
            n: b for n, b in self._skeleton.named_buffers() if not b.is_floating_point()
        }
        # the ray of the first measurement; later ones reuse it at new values, so its
        # first pass (which records the run under Python-level modes) runs once
        self._ray: Ray | None = None

    def _call(self, params: dict[str, torch.Tensor], *inputs: Any, **kwargs: Any) -> Any:
        values = {**self._fixed_buffers, **params}
        return functional_call(self._skeleton, values, inputs, kwargs, strict=True)

    def measure(self, params: Mapping[str, torch.Tensor]) -> ProbeResult:
        """D14 at the parameter values ``params`` (name → tensor; only read)."""
        values = {n: t.detach() for n, t in params.items()}
        buffers = dict(self._model.named_buffers())
        values.update({n: buffers[n].detach() for n in self._buffer_names if n not in values})
        if self._ray is not None and set(values) == set(self._ray.base):
            ray = self._ray.with_values(values)
        else:
            ray = self._ray = Ray(
                self._call,
                self.inputs,
                list(self.scaled_names),
                self.kwargs,
                output=self.output,
                dtype=self.dtype,
                params=values,
            )
        try:
            s = saturation_level(ray, rho=self.scale, token_mask=self.token_mask)
        except NumericalBreakdown as exc:
            return ProbeResult(None, (), self.scale, str(exc))
        return ProbeResult(s.value, tuple(s.layers), self.scale)
