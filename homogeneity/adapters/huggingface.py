"""The adapter of any ``transformers`` model with attention (GPT-2, BERT, RoBERTa, T5,
Llama, …), used as the user has it: default attention implementation (SDPA), no flags.

**Attention** goes through the library's own dispatch point. For the duration of one
forward call an attention function and a mask function are registered with
``transformers.AttentionInterface`` / ``AttentionMaskInterface`` under a name of their
own, and every config of the model is switched to that name; both are undone in a
``finally`` (the model, its configs and the registries are left as they were, bit for bit).
The function computes eager attention in the working dtype (grouped-query heads, masks,
scaling, T5's position bias; softcapping for the finite form) and records the
probabilities, or replaces them by the generalised argmax of SPEC D7 in the saturated
forward. The mask function is transformers' own boolean ``sdpa_mask`` with its shortcuts
off, so every layer receives the model's exact mask (padding from the ``attention_mask``,
causality and sliding windows from the config), which is also what the head statistics
count as the visible keys. A model class that does not dispatch through
``AttentionInterface`` falls back to the torch-function path of
:mod:`homogeneity.adapters.interception` (SDPA and softmax over scores).

**Padding and causality** come from the one place that reads them off a transformers
model's own inputs and configuration, :mod:`homogeneity.execution.model_inputs` (the
``attention_mask``; ``config.is_decoder``/``is_causal`` and the attention modules'
``is_causal``), as for every :class:`~homogeneity.scaling.Ray`.

**Hidden states** are the model's ``output_hidden_states`` (the embedding output, then
every layer), the per-layer outputs of D14. For an encoder–decoder model (T5) the encoder
is analysed. Token averages use the padding mask of the ``attention_mask``.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from typing import Any

import torch
from torch import nn

from homogeneity.adapters.attention_math import (
    AttentionRecorder,
    causal_keep,
    dot_product_attention,
    read_mask,
)
from homogeneity.adapters.base import ModelAdapter, as_batch
from homogeneity.adapters.batch import Batch, Trace
from homogeneity.adapters.interception import ForwardInterception
from homogeneity.constants import LowPrecision
from homogeneity.errors import HomogeneityInputError
from homogeneity.execution.model_inputs import (
    causality,
    is_transformers_model,
    token_mask_from_keywords,
)
from homogeneity.scaling import Patterns

_NAMES = itertools.count()


def _configs(model: nn.Module) -> list[Any]:
    """Every transformers config reachable from the model (sub-configs included), once."""
    from transformers import PretrainedConfig

    seen: dict[int, Any] = {}
    stack = [getattr(m, "config", None) for m in model.modules()]
    while stack:
        c = stack.pop()
        if isinstance(c, PretrainedConfig) and id(c) not in seen:
            seen[id(c)] = c
            stack.extend(getattr(c, key, None) for key in getattr(c, "sub_configs", {}) or {})
    return list(seen.values())


def _attention_function(recorder: AttentionRecorder) -> Any:
    """An ``AttentionInterface`` function: eager attention in the working dtype, recorded."""

    def attention(
        module: nn.Module,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        attention_mask: torch.Tensor | None,
        scaling: float | None = None,
        dropout: float = 0.0,
        **kwargs: Any,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        where = type(module).__name__
        if dropout:
            raise HomogeneityInputError(
                f"{where} runs attention dropout {dropout}: the model is in training mode; "
                f"call model.eval() first"
            )
        if kwargs.get("s_aux") is not None:
            raise HomogeneityInputError(
                f"{where} uses attention sinks (s_aux), which the saturation adapters do "
                f"not implement"
            )
        quiet = recorder.quiet() if recorder.quiet is not None else nullcontext()
        with quiet:
            keep, bias = read_mask(attention_mask, keep_is_true=True)
            if attention_mask is None and kwargs.get(
                "is_causal", getattr(module, "is_causal", False)
            ):
                keep = causal_keep(query.shape[-2], key.shape[-2], query.device)
            position_bias = kwargs.get("position_bias")
            if position_bias is not None:
                bias = position_bias if bias is None else bias + position_bias
            scale = query.shape[-1] ** -0.5 if scaling is None else scaling
            softcap = kwargs.get("softcap")
            if softcap is not None and recorder.saturated:
                raise HomogeneityInputError(
                    f"{where} caps its attention scores (softcap={softcap}): the capped "
                    f"scores stay bounded along the ray, so the attention has no "
                    f"argmax limit; use the finite-ρ proxy"
                )
            out, probs = dot_product_attention(
                recorder,
                query,
                key,
                value,
                scale=scale,
                keep=keep,
                bias=bias,
                source=f"transformers AttentionInterface ({where})",
                softcap=softcap,
            )
            return out.transpose(1, 2).contiguous(), probs

    return attention


def _exact_mask(*args: Any, **kwargs: Any) -> torch.Tensor | None:
    """transformers' boolean mask with its shortcuts off: every layer gets the full mask."""
    from transformers.masking_utils import sdpa_mask

    kwargs["allow_is_causal_skip"] = False
    kwargs["allow_is_bidirectional_skip"] = False
    return sdpa_mask(*args, **kwargs)


@contextmanager
def transformers_attention(model: nn.Module, recorder: AttentionRecorder) -> Iterator[str]:
    """Inside, ``model`` dispatches attention to the recording function; restored after."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    name = f"homogeneity_recorded_{next(_NAMES)}"
    configs = _configs(model)
    saved = [(c, c.__dict__.get("_attn_implementation_internal")) for c in configs]
    AttentionInterface.register(name, _attention_function(recorder))
    AttentionMaskInterface.register(name, _exact_mask)
    try:
        for c, _ in saved:
            c._attn_implementation_internal = name
        yield name
    finally:
        for c, value in saved:
            c._attn_implementation_internal = value
        AttentionInterface._global_mapping.pop(name, None)
        AttentionMaskInterface._global_mapping.pop(name, None)


class _Traced(nn.Module):
    """Calls the transformers model with hidden states on and attention captured, and
    returns a :class:`Trace`."""

    def __init__(self, model: nn.Module, dispatch: bool) -> None:
        super().__init__()
        self.model = model
        self.dispatch = dispatch
        params = inspect.signature(model.forward).parameters
        self.accepts = set(params)
        self.summary = ""  # what the interception changed in the last forward

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        *,
        saturated: bool = False,
        tie_tol: float = 0.0,
    ) -> Trace:
        recorder = AttentionRecorder(saturated=saturated, tie_tol=tie_tol)
        mode = ForwardInterception(
            recorder, capture_attention=not self.dispatch, saturated=saturated
        )
        kwargs: dict[str, Any] = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "output_hidden_states": True,
            "return_dict": True,
        }
        if token_type_ids is not None and "token_type_ids" in self.accepts:
            kwargs["token_type_ids"] = token_type_ids
        if "use_cache" in self.accepts:
            kwargs["use_cache"] = False
        dispatch = transformers_attention(self.model, recorder) if self.dispatch else nullcontext()
        with dispatch, mode:
            out = self.model(**kwargs)
        hidden = getattr(out, "hidden_states", None)
        if hidden is None:
            raise HomogeneityInputError(
                f"{type(self.model).__name__} returned no hidden_states with "
                f"output_hidden_states=True; wrap it in FunctionAdapter"
            )
        self.summary = mode.summary()
        records = recorder.records
        source = (
            records[0].source.split(" (")[0]
            if records
            else (
                f"not captured: {type(self.model).__name__} ran no attention through "
                f"{'AttentionInterface' if self.dispatch else 'SDPA or a softmax over scores'}"
            )
        )
        return recorder.trace(hidden, source)


class HuggingFaceAdapter(ModelAdapter):
    """Adapter for a ``transformers`` model (see the module docstring).

    Args:
        model: a ``transformers.PreTrainedModel`` in eval mode (any head; for an
            encoder–decoder model the encoder is analysed).
        parameters: glob patterns over the analysed model's parameter names (None: all).
        lift: compute the ops the model runs below the working dtype (T5's and Llama's
            float32 norms, Llama's rotary tables) in the working dtype (default True), or
            keep them as written (False); the ray's execution path does either
            (:attr:`ModelAdapter.low_precision`).
    """

    supports_saturated = True

    def __init__(self, model: nn.Module, parameters: Patterns = None, *, lift: bool = True) -> None:
        if not is_transformers_model(model):
            raise HomogeneityInputError(
                f"model must be a transformers.PreTrainedModel, got {type(model).__name__}"
            )
        self.original = model
        config = model.config
        self.encoder_only = bool(getattr(config, "is_encoder_decoder", False))
        target = model.get_encoder() if self.encoder_only else model
        self.model = target
        self.dispatch = bool(type(target)._can_set_attn_implementation())
        self.traced = _Traced(target, self.dispatch)
        self.low_precision = LowPrecision.LIFT if lift else LowPrecision.KEEP
        self.module = self.traced
        causal, self.causal_source = causality(target, ())
        self.causal = bool(causal)
        if parameters is None:
            self.scaled_parameters = None
        else:
            from homogeneity.scaling import select_parameter_names

            own = select_parameter_names([n for n, _ in target.named_parameters()], parameters)
            self.scaled_parameters = [f"model.{n}" for n in own]

    def arguments(
        self, batch: Batch, saturated: bool = False, tie_tol: float = 0.0
    ) -> tuple[tuple, dict[str, Any]]:
        if batch.ids is None:
            raise HomogeneityInputError(
                "a transformers model takes token ids: build the batch with Batch.from_ids"
            )
        mask = batch.padding_mask.long()
        return (batch.ids, mask, batch.token_type_ids), {"saturated": saturated, "tie_tol": tie_tol}

    def trace(self, output: Trace) -> Trace:
        return output

    def scaled_names(self) -> list[str]:
        return [n.removeprefix("model.") for n in self.module_scaled_names()]

    def batch_from(self, inputs: Any, kwargs: Mapping[str, Any] | None = None) -> Batch:
        """A batch from ``input_ids`` (a tensor, a ``Batch``, or a tokenizer's output
        mapping) and the ``attention_mask``/``token_type_ids`` in it or in ``kwargs``."""
        kwargs = dict(kwargs or {})
        if isinstance(inputs, Mapping):
            kwargs = {**dict(inputs), **kwargs}
            inputs = kwargs.pop("input_ids", None)
        if isinstance(inputs, Batch):
            if kwargs:
                raise HomogeneityInputError(
                    f"inputs is a Batch: it carries its own masks; drop {sorted(kwargs)}"
                )
            return inputs
        attention_mask = kwargs.pop("attention_mask", None)
        types = kwargs.pop("token_type_ids", None)
        if kwargs:
            raise HomogeneityInputError(
                f"unsupported keyword inputs {sorted(kwargs)} for a transformers model; the "
                f"adapter passes input_ids, attention_mask and token_type_ids"
            )
        if inputs is None:
            raise HomogeneityInputError("pass the token ids (input_ids) of the batch")
        if not isinstance(inputs, torch.Tensor):
            return as_batch(inputs)
        ids = inputs if inputs.dim() == 2 else inputs.reshape(1, -1)
        mask = None
        if attention_mask is not None:
            own = token_mask_from_keywords(
                {"attention_mask": torch.as_tensor(attention_mask).reshape(ids.shape)}
            )
            mask = None if own is None else own.mask
        if types is not None:
            types = torch.as_tensor(types).reshape(ids.shape)
        return Batch.from_ids(ids, mask, types)

    def _interception_notes(self) -> str:
        return self.traced.summary

    def describe(self) -> dict[str, str]:
        name = type(self.original).__name__
        n_hidden = getattr(self.model.config, "num_hidden_layers", None)
        return {
            "adapter": f"HuggingFaceAdapter ({name})",
            "attention": (
                "transformers AttentionInterface: eager attention in the working dtype, "
                "probabilities recorded"
                if self.dispatch
                else "torch functions (SDPA / softmax over scores) intercepted: the class "
                "does not dispatch through AttentionInterface"
            ),
            "hidden_states": "output_hidden_states"
            + (f" (embedding output + {n_hidden} layers)" if n_hidden else "")
            + (" of the encoder" if self.encoder_only else ""),
            "masks": "padding from the attention_mask; visible keys from the model's own "
            "masks" + (f" (causal, from {self.causal_source})" if self.causal else ""),
            "saturated": "generalised argmax (D7) in every attention call; GeLU/SiLU → ReLU, "
            "tanh → sign, sigmoid → step",
            "dtype": self.low_precision_description(),
        }
