"""Saturation level (SPEC D14): how far a model's output direction is from its ρ → ∞ limit.

For token t of layer l, the cosine between the hidden state at θ and at ρθ,

    s_l(ρ) = mean over real tokens t of cos(h_l,t(x; θ), h_l,t(x; ρθ)),

with ρ = 1000 in the paper. Scaling *every* parameter (the paper's choice) is the default;
``parameters=`` picks a group instead. s_l = 1 means the direction of the layer's output
is already at its limit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from homogeneity.adapters import Batch, ModelAdapter, Trace, adapter_for
from homogeneity.components.encoder import Encoder
from homogeneity.constants import PAPER_RHO
from homogeneity.errors import HomogeneityInputError, NumericalBreakdown
from homogeneity.scaling import Patterns, Ray, default_output
from homogeneity.validation import check_positive_scale


# -- cosines ---------------------------------------------------------------------------
def token_cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """cos(a_t, b_t) over the last dimension, for every leading index t.

    NaN where either vector is zero (the direction is undefined there).
    """
    if a.shape != b.shape:
        raise HomogeneityInputError(
            f"cannot compare hidden states of shapes {tuple(a.shape)} and {tuple(b.shape)}"
        )
    tiny = torch.finfo(a.dtype).tiny

    def unit(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # divide by the largest entry first, so that no square overflows or underflows
        top = x.abs().amax(dim=-1, keepdim=True)
        y = x / top.clamp_min(tiny)
        return y / torch.linalg.vector_norm(y, dim=-1, keepdim=True).clamp_min(tiny), top > 0

    ua, da = unit(a)
    ub, db = unit(b)
    cos = (ua * ub).sum(dim=-1)
    defined = (da & db).squeeze(-1)
    return torch.where(defined, cos, torch.full_like(cos, float("nan")))


def mean_token_cosine(
    a: torch.Tensor, b: torch.Tensor, token_mask: torch.Tensor | None = None, *, where: str = ""
) -> float:
    """Mean of :func:`token_cosine` over the tokens with ``token_mask`` True (all if None).

    Raises :class:`NumericalBreakdown` if a selected token has a non-finite entry or a zero
    vector (its cosine would be meaningless; we never silently drop it).
    """
    cos = token_cosine(a, b)
    if token_mask is not None:
        if token_mask.shape != cos.shape:
            raise HomogeneityInputError(
                f"token_mask has shape {tuple(token_mask.shape)}, expected {tuple(cos.shape)} "
                f"(the hidden state's shape without its feature dimension)"
            )
        cos = cos[token_mask.bool()]
    if cos.numel() == 0:
        raise HomogeneityInputError("token_mask selects no token; keep at least one")
    bad = ~torch.isfinite(cos)
    if bool(bad.any()):
        finite_inputs = bool(torch.isfinite(a).all() and torch.isfinite(b).all())
        what = "a zero hidden vector" if finite_inputs else "NaN/inf hidden values (overflow)"
        raise NumericalBreakdown(
            f"{int(bad.sum())} token cosine(s) are undefined {where}: {what}; use float64, "
            f"a smaller ρ, or exclude those tokens with token_mask"
        )
    return float(cos.mean())


# -- saturation level (D14) ------------------------------------------------------------
@dataclass(frozen=True)
class SaturationLevel:
    """D14 for one model and input: ``layers[l]`` is s_l(ρ); ``value`` the last layer's.

    ``float(level)`` gives ``value``. ``scaled`` lists the scaled parameter names,
    ``all_scaled`` says whether that is every parameter (the paper's setting),
    ``n_tokens`` is the number of tokens averaged over.
    """

    layers: tuple[float, ...]
    rho: float
    n_tokens: int
    scaled: tuple[str, ...] = field(repr=False)
    all_scaled: bool = True

    @property
    def value(self) -> float:
        return self.layers[-1]

    def __float__(self) -> float:
        return self.value


def _as_layers(out: Any) -> list[torch.Tensor]:
    if isinstance(out, Trace):
        return list(out.hidden_states)
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (list, tuple)) and out and all(isinstance(t, torch.Tensor) for t in out):
        return list(out)
    raise HomogeneityInputError(
        f"the model output selected for the saturation level is a {type(out).__name__}; it "
        f"must be a tensor (…, d) or a list of them (one per layer): pass output=…"
    )


def _layer_levels(
    base: list[torch.Tensor],
    scaled: list[torch.Tensor],
    token_mask: torch.Tensor | None,
    rho: float,
) -> tuple[float, ...]:
    levels = []
    for layer, (a, b) in enumerate(zip(base, scaled, strict=True)):
        mask = token_mask
        if mask is not None and mask.shape != a.shape[:-1]:
            mask = None if a.shape[:-1] == () else mask  # scalar outputs have no tokens
        levels.append(mean_token_cosine(a, b, mask, where=f"at layer {layer}, rho={rho:g}"))
    return tuple(levels)


def _ray_for(
    model: Any,
    inputs: Any,
    parameters: Patterns,
    kwargs: dict | None,
    output: Callable[[Any], Any] | None,
    dtype: torch.dtype,
) -> tuple[Ray, torch.Tensor | None, list[str]]:
    """A ray and the token mask to average over, for any of the accepted model kinds."""
    if isinstance(model, Ray):
        if inputs is not None or parameters is not None or kwargs or output is not None:
            raise HomogeneityInputError(
                "model is already a Ray: it fixes inputs, parameters, kwargs and output; "
                "drop those arguments"
            )
        return model, None, list(model.scaled_names)
    if isinstance(model, (ModelAdapter, Encoder)):
        if kwargs or output is not None:
            raise HomogeneityInputError(
                "kwargs/output are for plain modules; an adapter decides how to call the "
                "model and where its hidden states are"
            )
        adapter = adapter_for(model, parameters)
        batch = _as_batch(inputs)
        ray = adapter.ray(batch, dtype=dtype)
        return ray, batch.padding_mask.to(adapter.device), adapter.scaled_names()
    if isinstance(model, nn.Module):
        args = () if inputs is None else (inputs if isinstance(inputs, tuple) else (inputs,))
        ray = Ray(
            model,
            inputs=args,
            parameters=parameters,
            kwargs=dict(kwargs or {}),
            output=output or default_output,
            dtype=dtype,
        )
        return ray, None, list(ray.scaled_names)
    raise HomogeneityInputError(
        f"model must be a torch.nn.Module, a ModelAdapter or a Ray, got {type(model).__name__}"
    )


def _as_batch(inputs: Any) -> Batch:
    if isinstance(inputs, Batch):
        return inputs
    if isinstance(inputs, torch.Tensor):
        return Batch.from_ids(inputs)
    if (
        isinstance(inputs, (tuple, list))
        and len(inputs) == 1
        and isinstance(inputs[0], (Batch, torch.Tensor))
    ):
        return _as_batch(inputs[0])  # (ids,), the form the module-level API takes
    raise HomogeneityInputError(
        f"inputs for an adapter must be a homogeneity.adapters.Batch or a tensor of token "
        f"ids, got {type(inputs).__name__}"
    )


def saturation_level(
    model: nn.Module | ModelAdapter | Ray,
    inputs: Batch | torch.Tensor | tuple | None = None,
    *,
    rho: float = PAPER_RHO,
    parameters: Patterns = None,
    token_mask: torch.Tensor | None = None,
    kwargs: dict | None = None,
    output: Callable[[Any], Any] | None = None,
    dtype: torch.dtype = torch.float64,
) -> SaturationLevel:
    """Saturation level (SPEC D14): mean over tokens of cos(f(x; θ), f(x; ρθ)), per layer.

    Args:
        model: an :class:`~homogeneity.components.Encoder` (every layer is reported), a
            :class:`~homogeneity.adapters.ModelAdapter`, any ``nn.Module`` (its output as
            picked by ``output``; a list of tensors counts as one per layer), or a
            :class:`~homogeneity.scaling.Ray` (then ``inputs``/``parameters`` are its own).
        inputs: a :class:`Batch` or token ids for encoders/adapters; the positional
            inputs (a tensor or tuple) for a plain module.
        rho: the scale ρ (> 0), 1000 in the paper.
        parameters: glob patterns of the scaled parameters; None scales all (the paper).
        token_mask: bool, True for the tokens to average over, shaped like the output
            without its last dimension; for encoders/adapters the padding mask is used.
        kwargs, output: keyword inputs and output selector of a plain module.
        dtype: working dtype (float64 default).

    The caller's module is never modified. Raises :class:`NumericalBreakdown` when an
    evaluation overflows or gives a zero vector.
    """
    rho = check_positive_scale(rho, "rho")
    ray, mask, names = _ray_for(model, inputs, parameters, kwargs, output, dtype)
    if token_mask is not None:
        mask = token_mask.to(ray.device).bool()
    base, scaled = _as_layers(ray(1.0)), _as_layers(ray(rho))
    levels = _layer_levels(base, scaled, mask, rho)
    n_tokens = int(mask.sum()) if mask is not None else int(base[-1][..., 0].numel())
    return SaturationLevel(levels, rho, n_tokens, tuple(names), _scales_everything(ray))


def _scales_everything(ray: Ray) -> bool:
    if isinstance(ray.model, nn.Module):
        every = {n for n, _ in ray.model.named_parameters()}
    else:
        every = set(ray.params or {})
    return set(ray.scaled_names) == every
