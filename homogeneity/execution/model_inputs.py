"""What a model's own inputs and configuration say about the tokens and about causality.

* :func:`mapping_as_keywords`: a ``BatchEncoding`` or dict passed as the inputs becomes
  the keyword inputs (``model(**encoding)``) when its keys are arguments of ``forward``.
* :func:`token_mask_from_keywords`: the token mask (True for real tokens) from
  ``attention_mask`` (Hugging Face: 1 = real, 0 = padding) or ``src_key_padding_mask`` /
  ``key_padding_mask`` (torch: True = padding), so that averages over tokens leave
  padding out by default (the Ray and the adapters' batches both read it here).
* :func:`causality`: whether the model attends causally, from a Hugging Face config and
  attention modules (``config.is_decoder``, ``config.is_causal``, the attention modules'
  ``is_causal``), or else from the attention calls the first pass observed
  (``scaled_dot_product_attention(is_causal=True)`` …); None when nothing says.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeGuard

import torch
from torch import nn

from homogeneity.errors import HomogeneityInputError
from homogeneity.execution.observed_calls import AttentionCall

if TYPE_CHECKING:
    from transformers import PreTrainedModel


def is_transformers_model(model: object) -> TypeGuard[PreTrainedModel]:
    """Whether ``model`` is a ``transformers.PreTrainedModel`` (a whole Hugging Face model,
    with a config and ``output_hidden_states``), without importing transformers."""
    transformers = sys.modules.get("transformers")
    base = getattr(transformers, "PreTrainedModel", None) if transformers is not None else None
    return base is not None and isinstance(model, base)


def _is_transformers_module(model: object) -> bool:
    """Whether ``model``'s class comes from ``transformers`` (a whole model or one block)."""
    return any(cls.__module__.startswith("transformers.") for cls in type(model).__mro__)


def _takes_keywords(model: nn.Module, keys: set[str]) -> bool:
    """Whether ``model.forward`` accepts every name in ``keys`` as a keyword."""
    try:
        params = inspect.signature(model.forward).parameters.values()
    except (TypeError, ValueError):
        return False
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return True
    named = {p.name for p in params if p.kind is not inspect.Parameter.POSITIONAL_ONLY}
    return keys <= named


def mapping_as_keywords(
    model: object, inputs: tuple, kwargs: Mapping[str, Any]
) -> tuple[tuple, dict[str, Any]]:
    """``(inputs, kwargs)`` with a lone mapping of forward arguments moved into kwargs.

    ``check_homogeneity(model, tokenizer(texts, return_tensors='pt'))`` then calls
    ``model(**encoding)``, as the user would. A mapping whose keys are not keyword
    arguments of ``model.forward`` stays a positional input.
    """
    if len(inputs) != 1 or not isinstance(inputs[0], Mapping) or not isinstance(model, nn.Module):
        return inputs, dict(kwargs)
    mapping = inputs[0]
    if not mapping or not all(isinstance(k, str) for k in mapping):
        return inputs, dict(kwargs)
    if not _takes_keywords(model, set(mapping)):
        return inputs, dict(kwargs)
    clash = sorted(set(mapping) & set(kwargs))
    if clash:
        raise HomogeneityInputError(
            f"inputs and kwargs both give {clash}; pass each keyword input once"
        )
    return (), {**dict(mapping), **dict(kwargs)}


@dataclass(frozen=True)
class TokenMask:
    """True for the real tokens (shape: batch × sequence), and where it came from."""

    mask: torch.Tensor
    source: str

    def describe(self) -> str:
        real, total = int(self.mask.sum()), self.mask.numel()
        return (
            f"token mask: {self.source} ({real} of {total} tokens are real; averages over "
            f"tokens leave the padding out)"
        )


def token_mask_from_keywords(kwargs: Mapping[str, Any]) -> TokenMask | None:
    """The token mask from ``attention_mask``, ``src_key_padding_mask`` or
    ``key_padding_mask`` (2-D only; the latter two: True or non-zero = padding)."""
    mask = kwargs.get("attention_mask")
    if isinstance(mask, torch.Tensor) and mask.dim() == 2:
        return TokenMask(mask != 0, "attention_mask")
    for name in ("src_key_padding_mask", "key_padding_mask"):
        padding = kwargs.get(name)
        if isinstance(padding, torch.Tensor) and padding.dim() == 2:
            keep = ~padding if padding.dtype == torch.bool else padding == 0
            return TokenMask(keep, f"{name} (True = padding)")
    return None


def _config_causality(model: nn.Module) -> tuple[bool | None, str]:
    config = getattr(model, "config", None)
    if config is not None:
        if getattr(config, "is_decoder", False):
            return True, "config.is_decoder"
        if getattr(config, "is_causal", None) is True:
            return True, "config.is_causal"
    flags = [
        m.is_causal
        for m in model.modules()
        if type(m).__name__.endswith("Attention")
        and isinstance(getattr(m, "is_causal", None), bool)
        and not getattr(m, "is_cross_attention", False)
    ]
    if flags:
        if all(flags):
            return True, "the attention modules' is_causal"
        if not any(flags):
            return False, "the attention modules' is_causal and the config"
    return None, ""


def _observed_causality(calls: Sequence[AttentionCall]) -> tuple[bool | None, str]:
    if not calls:
        return None, ""
    if all(c.causal for c in calls):
        return True, f"{calls[0].function}(is_causal=True) in the run"
    if not any(c.causal or c.masked for c in calls):
        return False, f"{calls[0].function} without a mask in the run"
    return None, ""


def causality(model: object, calls: Sequence[AttentionCall]) -> tuple[bool | None, str]:
    """(causal, where that came from); (None, "") when neither the configuration nor the
    observed attention calls say."""
    if isinstance(model, nn.Module) and _is_transformers_module(model):
        causal, source = _config_causality(model)
        if causal is not None:
            return causal, source
    return _observed_causality(calls)
