"""The adapter of ``torch.nn`` transformers (``nn.TransformerEncoder``,
``nn.TransformerEncoderLayer``, ``nn.MultiheadAttention``) and of a user's own module
(e.g. a nanoGPT-style GPT calling ``F.scaled_dot_product_attention``), used as the user
has it: fast paths on, no wrappers.

**Attention** is captured by :class:`~homogeneity.adapters.interception.ForwardInterception`
(``F.multi_head_attention_forward``, ``F.scaled_dot_product_attention``, a softmax over
(batch, heads, q, k) scores), which also gives the exact saturated forward. While it is
active torch skips its fused fast paths, so the attention of ``nn.TransformerEncoder`` is
visible without changing any global setting.

**Hidden states** are the input of the first layer and the output of every layer of the
model's layer stack (forward hooks, added inside the call and removed in a ``finally``):
``layers`` names the stack (a ``ModuleList``); by default it is
``nn.TransformerEncoder.layers``, else the longest ``ModuleList`` of blocks of one class
(nanoGPT's ``transformer.h``). The model's own output is appended when it is a (batch,
seq, ·) tensor other than the last layer's output (a final norm or the logits). Without a
stack the hidden states are the per-layer output picked by
:func:`homogeneity.execution.outputs.select_output` (``per_layer=True``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

import torch
from torch import nn

from homogeneity.adapters.attention_math import AttentionRecorder
from homogeneity.adapters.base import ModelAdapter
from homogeneity.adapters.batch import Batch, Trace
from homogeneity.adapters.interception import ForwardInterception
from homogeneity.constants import LowPrecision
from homogeneity.errors import HomogeneityInputError
from homogeneity.execution.model_inputs import token_mask_from_keywords
from homogeneity.execution.outputs import select_output
from homogeneity.scaling import Patterns

_TORCH_TRANSFORMERS = (nn.TransformerEncoder, nn.TransformerEncoderLayer)


def find_layer_stack(module: nn.Module) -> str | None:
    """The name of the module's layer stack: ``layers`` of an ``nn.TransformerEncoder``,
    else the longest ``ModuleList`` whose entries are all of one class (None if none)."""
    if isinstance(module, nn.TransformerEncoder):
        return "layers"
    best, size = None, 0
    for name, m in module.named_modules():
        if isinstance(m, nn.ModuleList) and len(m) > size:
            kinds = {type(c) for c in m}
            if len(kinds) == 1 and not issubclass(next(iter(kinds)), (nn.Linear, nn.Embedding)):
                best, size = name, len(m)
    return best


def _first_tensor(x: Any) -> torch.Tensor | None:
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, (tuple, list)) and x and isinstance(x[0], torch.Tensor):
        return x[0]
    return None


def _causal_float_mask(n: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    return torch.full((n, n), float("-inf"), device=device, dtype=dtype).triu(1)


class _Traced(nn.Module):
    """Runs the wrapped module under the interception mode, with hooks on its layer stack,
    and returns a :class:`Trace`."""

    def __init__(self, model: nn.Module, layers: str | None) -> None:
        super().__init__()
        self.model = model
        self.layers = layers
        self.summary = ""  # what the interception changed in the last forward
        self.selection = ""  # what the last forward's hidden states are

    def forward(
        self, args: tuple, kwargs: dict[str, Any], *, saturated: bool = False, tie_tol: float = 0.0
    ) -> Trace:
        recorder = AttentionRecorder(saturated=saturated, tie_tol=tie_tol)
        mode = ForwardInterception(recorder, capture_attention=True, saturated=saturated)
        states: list[torch.Tensor] = []
        handles = []
        if self.layers is not None:
            stack = self.model.get_submodule(self.layers)
            blocks = list(cast(nn.ModuleList, stack))

            def before(_m: nn.Module, inputs: tuple) -> None:
                if not states and inputs and isinstance(inputs[0], torch.Tensor):
                    states.append(inputs[0])

            def after(_m: nn.Module, _inputs: tuple, output: Any) -> None:
                t = _first_tensor(output)
                if t is not None:
                    states.append(t)

            handles.append(blocks[0].register_forward_pre_hook(before))
            handles += [b.register_forward_hook(after) for b in blocks]
        try:
            with mode:
                out = self.model(*args, **kwargs)
        finally:
            for h in handles:
                h.remove()
        if states:
            hidden, what = self._with_output(states, out)
        else:
            picked = select_output(out, per_layer=True)
            hidden, what = picked.layers, picked.description
        self.selection = what
        self.summary = mode.summary()
        records = recorder.records
        source = (
            ", ".join(sorted({r.source for r in records}))
            if records
            else f"not captured: {type(self.model).__name__} called no MultiheadAttention, "
            f"scaled_dot_product_attention or softmax over (batch, heads, q, k) scores"
        )
        return recorder.trace(hidden, source)

    def _with_output(self, states: list[torch.Tensor], out: Any) -> tuple[list, str]:
        n = len(states) - 1
        what = f"input of {self.layers}[0] + outputs of its {n} layers (forward hooks)"
        final = _first_tensor(out) if not isinstance(out, torch.Tensor) else out
        last = states[-1]
        if (
            final is not None
            and final.dim() == last.dim()
            and final.shape[:-1] == last.shape[:-1]
            and final is not last
            and not (final.shape == last.shape and torch.equal(final, last))
        ):
            return [*states, final], what + " + the module output"
        return states, what


class ModuleAdapter(ModelAdapter):
    """Adapter for ``torch.nn`` transformers and any other module (module docstring).

    Args:
        module: the model, in eval mode.
        arguments: ``arguments(batch) -> (args, kwargs)`` for the call; by default
            ``nn.TransformerEncoder``/``…Layer``: ``(x,)`` with ``src_key_padding_mask``
            from the padding and, if ``causal``, a causal ``mask``;
            ``nn.MultiheadAttention``: ``(x, x, x)`` with ``key_padding_mask``; any other
            module: ``(ids,)`` (or ``(x,)`` for a batch of vectors).
        layers: the name of the layer stack whose outputs are the per-layer hidden states;
            ``"auto"`` (default) finds it (:func:`find_layer_stack`), None uses the output.
        causal: the model's attention is causal (a nanoGPT-style GPT): the default call
            passes a causal mask to ``torch.nn`` layers, and the visible-key counts use it
            where the captured masks do not say (they do whenever attention is captured).
        parameters: glob patterns over the module's parameter names (None: all).
        lift: compute the ops the module runs below the working dtype in the working dtype
            (default True), or keep them as written (False); see
            :attr:`ModelAdapter.low_precision`.
    """

    supports_saturated = True

    def __init__(
        self,
        module: nn.Module,
        *,
        arguments: Callable[[Batch], tuple[tuple, dict]] | None = None,
        layers: str | None = "auto",
        causal: bool = False,
        parameters: Patterns = None,
        lift: bool = True,
    ) -> None:
        if not isinstance(module, nn.Module):
            raise HomogeneityInputError(
                f"module must be a torch.nn.Module, got {type(module).__name__}"
            )
        self.original = module
        self.causal = causal
        self._arguments = arguments
        stack = find_layer_stack(module) if layers == "auto" else layers
        if stack is not None:
            try:
                list(cast(nn.ModuleList, module.get_submodule(stack)))
            except (AttributeError, TypeError) as exc:
                raise HomogeneityInputError(
                    f"layers={stack!r} is not a ModuleList of the module; name its layer "
                    f"stack (e.g. 'transformer.h') or pass layers=None"
                ) from exc
        self.layers = stack
        self.traced = _Traced(module, stack)
        self.low_precision = LowPrecision.LIFT if lift else LowPrecision.KEEP
        self.module = self.traced
        self.scaled_parameters = (
            None
            if parameters is None
            else [f"model.{n}" for n in self._own_names(module, parameters)]
        )

    @staticmethod
    def _own_names(module: nn.Module, parameters: Patterns) -> list[str]:
        from homogeneity.scaling import select_parameter_names

        return select_parameter_names([n for n, _ in module.named_parameters()], parameters)

    def arguments(
        self, batch: Batch, saturated: bool = False, tie_tol: float = 0.0
    ) -> tuple[tuple, dict[str, Any]]:
        if self._arguments is not None:
            args, kwargs = self._arguments(batch)
        else:
            args, kwargs = self._default_arguments(batch)
        return (tuple(args), dict(kwargs)), {"saturated": saturated, "tie_tol": tie_tol}

    def _default_arguments(self, batch: Batch) -> tuple[tuple, dict[str, Any]]:
        m = self.original
        if isinstance(m, (*_TORCH_TRANSFORMERS, nn.MultiheadAttention)):
            if batch.embeddings is None:
                raise HomogeneityInputError(
                    f"{type(m).__name__} takes input vectors: build the batch with "
                    f"Batch.from_embeddings(x, padding_mask)"
                )
            x = batch.embeddings if self._batch_first() else batch.embeddings.transpose(0, 1)
            pad = ~batch.padding_mask if not bool(batch.padding_mask.all()) else None
            n = batch.shape[1]
            causal = _causal_float_mask(n, x.device, x.dtype) if self.causal else None
            if isinstance(m, nn.MultiheadAttention):
                return (x, x, x), {
                    "key_padding_mask": pad,
                    "attn_mask": causal,
                    "need_weights": False,
                }
            kwargs: dict[str, Any] = {"src_key_padding_mask": pad}
            if causal is not None:
                kwargs.update(mask=causal, is_causal=True)
            return (x,), kwargs
        return (batch.inputs,), {}

    def _first_layer(self) -> Any:
        m = self.original
        if isinstance(m, nn.TransformerEncoder):
            return m.layers[0]
        return m

    def _batch_first(self) -> bool:
        first = self._first_layer()
        attention = first if isinstance(first, nn.MultiheadAttention) else first.self_attn
        return bool(attention.batch_first)

    def trace(self, output: Trace) -> Trace:
        if isinstance(self.original, (*_TORCH_TRANSFORMERS, nn.MultiheadAttention)):
            if not self._batch_first():  # hidden states (seq, batch, d) -> (batch, seq, d)
                output.hidden_states = tuple(h.transpose(0, 1) for h in output.hidden_states)
        return output

    def scaled_names(self) -> list[str]:
        return [n.removeprefix("model.") for n in self.module_scaled_names()]

    def batch_from(self, inputs: Any, kwargs: Mapping[str, Any] | None = None) -> Batch:
        """A batch from the module's inputs: for ``torch.nn`` transformers a tensor x with
        ``src_key_padding_mask``/``key_padding_mask`` (True = padding) in ``kwargs`` and
        ``is_causal``/a causal ``mask``; else ids (or vectors) as for :func:`as_batch`."""
        kwargs = dict(kwargs or {})
        m = self.original
        if not isinstance(m, (*_TORCH_TRANSFORMERS, nn.MultiheadAttention)):
            return ModelAdapter.batch_from(self, inputs, kwargs)
        if isinstance(inputs, Batch):
            return ModelAdapter.batch_from(self, inputs, kwargs)
        if isinstance(inputs, (tuple, list)):
            inputs = inputs[0]
        if not isinstance(inputs, torch.Tensor) or not inputs.is_floating_point():
            raise HomogeneityInputError(
                f"{type(m).__name__} takes a float tensor of input vectors; got "
                f"{type(inputs).__name__}"
            )
        x = inputs if self._batch_first() else inputs.transpose(0, 1)
        pad = kwargs.pop("src_key_padding_mask", kwargs.pop("key_padding_mask", None))
        mask = kwargs.pop("mask", kwargs.pop("attn_mask", None))
        is_causal = bool(kwargs.pop("is_causal", False))
        if kwargs:
            raise HomogeneityInputError(
                f"unsupported keyword inputs {sorted(kwargs)} for {type(m).__name__}"
            )
        if mask is not None:
            n = x.shape[1]
            expected = _causal_float_mask(n, mask.device, torch.float64)
            as_keep = ~mask if mask.dtype == torch.bool else mask > float("-inf")
            if not torch.equal(as_keep.cpu(), (expected == 0).cpu()):
                raise HomogeneityInputError(
                    "only a causal mask (nn.Transformer.generate_square_subsequent_mask) is "
                    "supported as mask=; pass the padding as src_key_padding_mask"
                )
            is_causal = True
        if is_causal and not self.causal:
            raise HomogeneityInputError(
                "the inputs ask for causal attention: build the adapter with "
                "ModuleAdapter(model, causal=True)"
            )
        if pad is None:
            return Batch.from_embeddings(x, None)
        own = token_mask_from_keywords({"key_padding_mask": torch.as_tensor(pad)})
        if own is None:
            raise HomogeneityInputError(
                f"src_key_padding_mask must be (batch, seq), got shape "
                f"{tuple(torch.as_tensor(pad).shape)}"
            )
        return Batch.from_embeddings(x, own.mask)

    def _interception_notes(self) -> str:
        return self.traced.summary

    def describe(self) -> dict[str, str]:
        selected = (
            self.traced.selection
            if self.traced.selection
            else (
                f"input + layer outputs of {self.layers}" if self.layers else "the selected output"
            )
        )
        return {
            "adapter": f"ModuleAdapter ({type(self.original).__name__})",
            "attention": "torch functions intercepted (F.multi_head_attention_forward, "
            "F.scaled_dot_product_attention, softmax over (batch, heads, q, k) scores); "
            "torch's fused fast paths are skipped while they are",
            "hidden_states": selected,
            "masks": "padding mask of the batch; visible keys from the captured masks"
            + (", causal" if self.causal else ""),
            "saturated": "generalised argmax (D7) in every captured attention; GeLU/SiLU → "
            "ReLU, tanh → sign, sigmoid → step",
            "dtype": self.low_precision_description(),
        }
