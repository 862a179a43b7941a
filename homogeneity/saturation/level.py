"""Saturation level (SPEC D14): how far a model's output direction is from its ρ → ∞ limit.

For token t of layer l, the cosine between the hidden state at θ and at ρθ,

    s_l(ρ) = mean over real tokens t of cos(h_l,t(x; θ), h_l,t(x; ρθ)),

with ρ = 1000 in the paper. Scaling *every* parameter (the paper's choice) is the default;
``parameters=`` picks a group instead. s_l = 1 means the direction of the layer's output
is already at its limit.

Which outputs are the layers, and which tokens are real, by default:

* our :class:`~homogeneity.components.Encoder`, a ``transformers`` model, a ``torch.nn``
  transformer (``nn.TransformerEncoder``, ``…Layer``, ``nn.MultiheadAttention``) or any
  :class:`~homogeneity.adapters.ModelAdapter`: the per-layer hidden states of the adapter
  (``output_hidden_states`` for ``transformers``), averaged over the real tokens of the
  padding mask (the ``attention_mask`` passed in ``kwargs`` or in a tokenizer's output;
  ``src_key_padding_mask`` for ``torch.nn``);
* any other module: the per-layer output picked by the package's one output rule,
  :func:`homogeneity.execution.select_output` with ``per_layer=True`` (a list of
  same-shape tensors is per layer, a tuple such as ``(out, attn_weights)`` is not),
  averaged over every position unless ``token_mask`` says otherwise.
  :attr:`SaturationLevel.output` names what was compared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from homogeneity.adapters import ModelAdapter, adapter_for, is_transformers_model
from homogeneity.components.encoder import Encoder
from homogeneity.constants import PAPER_RHO
from homogeneity.errors import HomogeneityInputError
from homogeneity.execution.breakdown import non_finite_breakdown, zero_output_breakdown
from homogeneity.execution.outputs import select_output
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
    a: torch.Tensor,
    b: torch.Tensor,
    token_mask: torch.Tensor | None = None,
    *,
    where: str = "",
    rho: float | None = None,
) -> float:
    """Mean of :func:`token_cosine` over the tokens with ``token_mask`` True (all if None).

    Raises :class:`NumericalBreakdown` if a selected token has a non-finite entry or a zero
    vector (its cosine would be meaningless; we never silently drop it), with ``rho`` as
    its point of the ray (ρ = 1 when it is ``a``, the state at θ, that broke down).
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
        place = where.removeprefix("at ").strip()
        n = int(bad.sum())
        # ``a`` is the state at ρ = 1 when ``rho`` is given (the saturation level's use)
        broke_at_theta = ~torch.isfinite(a).all(dim=-1) | (a == 0).all(dim=-1)
        if token_mask is not None:
            broke_at_theta = broke_at_theta[token_mask.bool()]
        if rho is not None and bool(broke_at_theta.any()):
            rho = 1.0
        if bool(torch.isfinite(a).all() and torch.isfinite(b).all()):
            raise zero_output_breakdown(
                rho, place, f"the cosine of a zero hidden vector ({n} token(s))", dtype=a.dtype
            )
        raise non_finite_breakdown(
            rho, place, a.dtype, what=f"a hidden state ({n} token cosine(s) undefined)"
        )
    return float(cos.mean())


# -- saturation level (D14) ------------------------------------------------------------
@dataclass(frozen=True)
class SaturationLevel:
    """D14 for one model and input: ``layers[l]`` is s_l(ρ); ``value`` the last layer's.

    ``float(level)`` gives ``value``. ``scaled`` lists the scaled parameter names,
    ``all_scaled`` says whether that is every parameter (the paper's setting),
    ``n_tokens`` is the number of tokens averaged over, ``output`` names the compared
    outputs (which are the layers), ``tokens`` which tokens were averaged over,
    ``low_precision`` what the evaluations did with ops below the working dtype (float32
    islands lifted, or kept with their noise floor; "" when the model has none).
    """

    layers: tuple[float, ...]
    rho: float
    n_tokens: int
    scaled: tuple[str, ...] = field(repr=False)
    all_scaled: bool = True
    output: str = ""
    tokens: str = ""
    low_precision: str = ""

    @property
    def value(self) -> float:
        return self.layers[-1]

    def __float__(self) -> float:
        return self.value


def _as_layers(out: Any) -> list[torch.Tensor]:
    """What a user's ``output=`` selector returned: a tensor, or one tensor per layer."""
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (list, tuple)) and out and all(isinstance(t, torch.Tensor) for t in out):
        return list(out)
    return select_output(out, per_layer=True).layers


def _layer_levels(
    base: list[torch.Tensor],
    scaled: list[torch.Tensor],
    token_mask: torch.Tensor | None,
    rho: float,
) -> tuple[float, ...]:
    """D14 of every layer. Non-finite outputs never get here: the Ray (and, for adapters,
    :meth:`~homogeneity.saturation.walk.RayWalk.evaluate`) raises the breakdown first,
    with ρ and where; a zero hidden vector raises in :func:`mean_token_cosine`."""
    levels = []
    for layer, (a, b) in enumerate(zip(base, scaled, strict=True)):
        mask = token_mask
        if mask is not None and mask.shape != a.shape[:-1]:
            mask = None if a.shape[:-1] == () else mask  # scalar outputs have no tokens
        levels.append(mean_token_cosine(a, b, mask, where=f"at layer {layer}", rho=rho))
    return tuple(levels)


def _scales_everything(ray: Ray) -> bool:
    if isinstance(ray.model, nn.Module):
        every = {n for n, _ in ray.model.named_parameters()}
    else:
        every = set(ray.params or {})
    return set(ray.scaled_names) == every


def _uses_adapter(model: Any) -> bool:
    """Models whose per-layer hidden states and padding an adapter knows."""
    return (
        isinstance(model, (ModelAdapter, Encoder))
        or is_transformers_model(model)
        or isinstance(
            model, (nn.TransformerEncoder, nn.TransformerEncoderLayer, nn.MultiheadAttention)
        )
    )


def saturation_level(
    model: nn.Module | ModelAdapter | Ray,
    inputs: Any = None,
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
        model: an :class:`~homogeneity.components.Encoder`, a ``transformers`` model, a
            ``torch.nn`` transformer or a :class:`~homogeneity.adapters.ModelAdapter`
            (every layer is reported, padding excluded); any other ``nn.Module`` (the
            output picked by ``output``, or by
            :func:`~homogeneity.adapters.select_output`); or a
            :class:`~homogeneity.scaling.Ray` (then ``inputs``/``parameters`` are its own).
        inputs: a :class:`~homogeneity.adapters.Batch`, token ids, or a tokenizer's output
            (``input_ids``, ``attention_mask``) for adapter models; the input vectors for
            a ``torch.nn`` transformer; the positional inputs (a tensor or tuple) for a
            plain module.
        rho: the scale ρ (> 0), 1000 in the paper.
        parameters: glob patterns of the scaled parameters; None scales all (the paper).
        token_mask: bool, True for the tokens to average over, shaped like the output
            without its last dimension; by default the padding mask: the adapter's for
            adapter models, for plain modules and Rays the one their keyword inputs carry
            (``attention_mask``, ``src_key_padding_mask``) when it fits the output, else
            every position.
        kwargs: keyword inputs: for a ``transformers`` model ``attention_mask`` and
            ``token_type_ids``; for a ``torch.nn`` transformer ``src_key_padding_mask``
            (True = padding) and ``is_causal``; anything for a plain module.
        output: for a plain module, picks what to compare from its output (a tensor, or
            a list with one tensor per layer).
        dtype: working dtype (float64 default).

    The caller's module is never modified. Raises :class:`NumericalBreakdown` (with
    ``rho`` and the layer) when an evaluation overflows or gives a zero vector.
    """
    rho = check_positive_scale(rho, "rho")
    if isinstance(model, Ray):
        if inputs is not None or parameters is not None or kwargs or output is not None:
            raise HomogeneityInputError(
                "model is already a Ray: it fixes inputs, parameters, kwargs and output; "
                "drop those arguments"
            )
        return _ray_level(model, rho, token_mask, "the ray's output")
    if _uses_adapter(model) and output is None:
        return _adapter_level(model, inputs, rho, parameters, token_mask, kwargs, dtype)
    if not isinstance(model, nn.Module):
        raise HomogeneityInputError(
            f"model must be a torch.nn.Module, a ModelAdapter or a Ray, got {type(model).__name__}"
        )
    if isinstance(model, (ModelAdapter, Encoder)):
        raise HomogeneityInputError(
            "output= is for plain modules; an adapter decides where its hidden states are"
        )
    args = () if inputs is None else (inputs if isinstance(inputs, tuple) else (inputs,))
    ray = Ray(
        model,
        inputs=args,
        parameters=parameters,
        kwargs=dict(kwargs or {}),
        output=default_output if output is None else (lambda out: _as_layers(output(out))),
        dtype=dtype,
        per_layer=output is None,
    )
    return _ray_level(
        ray, rho, token_mask, "" if output is None else "the output selected by output="
    )


def _ray_level(
    ray: Ray, rho: float, token_mask: torch.Tensor | None, output: str
) -> SaturationLevel:
    """D14 along a Ray whose evaluations give one tensor or one per layer; ``output``
    names them ("": the ray's own description of the output it selected)."""
    base, scaled = _as_layers(ray(1.0)), _as_layers(ray(rho))
    mask, tokens = _plain_module_tokens(ray, token_mask, base[-1])
    levels = _layer_levels(base, scaled, mask, rho)
    n_tokens = int(mask.sum()) if mask is not None else int(base[-1][..., 0].numel())
    return SaturationLevel(
        levels,
        rho,
        n_tokens,
        tuple(ray.scaled_names),
        _scales_everything(ray),
        output or ray.output_description,
        tokens,
        ray.execution.low_precision_line(),
    )


def _plain_module_tokens(
    ray: Ray, token_mask: torch.Tensor | None, last: torch.Tensor
) -> tuple[torch.Tensor | None, str]:
    """The tokens to average over and their description: ``token_mask`` if given, else the
    padding mask the ray reads from the model's own inputs (``attention_mask``,
    ``src_key_padding_mask``) when it fits the output, else every position."""
    if token_mask is not None:
        return token_mask.to(ray.device).bool(), "the token_mask"
    own = ray.token_mask
    if own is not None and tuple(own.shape) == tuple(last.shape[:-1]):
        return own.to(ray.device), "the real tokens of the padding mask in the inputs"
    return None, "every position (pass token_mask to exclude padding)"


def _adapter_level(
    model: Any,
    inputs: Any,
    rho: float,
    parameters: Patterns,
    token_mask: torch.Tensor | None,
    kwargs: dict | None,
    dtype: torch.dtype,
) -> SaturationLevel:
    from homogeneity.saturation.walk import RayWalk

    adapter = adapter_for(model, parameters)
    batch = adapter.batch_from(inputs, kwargs)
    walk = RayWalk(adapter, [batch], dtype=dtype)
    base, scaled = walk.evaluate(1.0)[0], walk.evaluate(rho)[0]
    if token_mask is None:
        mask = walk.masks[0]
        tokens = "the real tokens of the padding mask"
    else:
        mask = token_mask.to(adapter.device).bool()
        tokens = "the token_mask"
    levels = _layer_levels(list(base.hidden_states), list(scaled.hidden_states), mask, rho)
    description = adapter.describe()
    return SaturationLevel(
        levels,
        rho,
        int(mask.sum()),
        tuple(adapter.scaled_names()),
        adapter.all_scaled(),
        f"{description.get('adapter', '')}: {description.get('hidden_states', '')}",
        tokens,
        walk.low_precision_note(),
    )
