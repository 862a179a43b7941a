"""Which tensor(s) of a model's output a check studies, and a sentence saying which: the
one output rule of the package, used by :class:`~homogeneity.scaling.Ray`, the saturation
level and the adapters.

:func:`select_output` reads the common output shapes:

* a tensor: that tensor;
* a Hugging Face ``ModelOutput`` (or any object with ``last_hidden_state``):
  ``last_hidden_state`` (``logits`` when there is none); with ``per_layer=True`` its
  ``hidden_states`` (the embeddings and every layer, which needs the model to have been
  called with ``output_hidden_states=True``; :class:`~homogeneity.scaling.Ray` passes it);
* the package's ``EncoderOutput`` and an adapter's ``Trace``: ``last``, or
  ``hidden_states`` per layer;
* a list of two or more tensors of one shape: per-layer outputs (all of them with
  ``per_layer=True``, else the last);
* a tuple such as ``(out, attn_weights)``, or a list of tensors of different shapes:
  element 0, read as above. A tuple is never taken for per-layer outputs.

The description ("output[0] of a tuple of 2", "last_hidden_state of
BaseModelOutputWithPastAndCrossAttentions") goes into every report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from homogeneity.errors import HomogeneityInputError


@dataclass(frozen=True)
class SelectedOutput:
    """The tensors a check studies and a sentence saying what they are.

    ``per_layer`` says whether ``tensors`` are one per layer (possibly a single one, when
    the model has no per-layer outputs); otherwise ``tensors`` holds exactly one tensor.
    """

    tensors: tuple[torch.Tensor, ...]
    description: str
    per_layer: bool = False

    @property
    def value(self) -> torch.Tensor | list[torch.Tensor]:
        """The list of per-layer tensors, or the one tensor."""
        return list(self.tensors) if self.per_layer else self.tensors[0]

    @property
    def layers(self) -> list[torch.Tensor]:
        """The selected tensors as a list (one per layer when :attr:`per_layer`)."""
        return list(self.tensors)


def _is_model_output(out: Any) -> bool:
    return any(cls.__name__ == "ModelOutput" for cls in type(out).__mro__)


def _same_shape_tensors(seq: Any) -> bool:
    return (
        len(seq) >= 2
        and all(isinstance(t, torch.Tensor) for t in seq)
        and len({tuple(t.shape) for t in seq}) == 1
    )


def _per_layer_fields(out: Any, per_layer: bool) -> SelectedOutput | None:
    """ModelOutput-like objects and EncoderOutput."""
    name = type(out).__name__
    last_name = next(
        (a for a in ("last_hidden_state", "last") if getattr(out, a, None) is not None), None
    )
    if per_layer:
        states = getattr(out, "hidden_states", None)
        if isinstance(states, (list, tuple)) and states:
            tensors = tuple(states)
            if not all(isinstance(t, torch.Tensor) for t in tensors):
                raise HomogeneityInputError(
                    f"hidden_states of {name} holds non-tensors; pass output=… to pick the "
                    f"per-layer tensors"
                )
            return SelectedOutput(
                tensors,
                f"hidden_states of {name} ({len(tensors)} tensors: the embeddings and "
                f"{len(tensors) - 1} layers)",
                per_layer=True,
            )
        if _is_model_output(out):
            raise HomogeneityInputError(
                f"per-layer outputs were asked for but {name} has no hidden_states; call the "
                f"model with output_hidden_states=True (kwargs={{'output_hidden_states': True}})"
            )
    for attr in (last_name, "logits"):
        if attr is not None and isinstance(getattr(out, attr, None), torch.Tensor):
            t = getattr(out, attr)
            note = " (the model returns no per-layer outputs)" if per_layer else ""
            return SelectedOutput((t,), f"{attr} of {name}{note}", per_layer=per_layer)
    return None


def select_output(out: Any, per_layer: bool = False) -> SelectedOutput:
    """The tensor(s) of ``out`` to check (see the module docstring for the rules)."""
    if isinstance(out, torch.Tensor):
        note = " (the model returns no per-layer outputs)" if per_layer else ""
        return SelectedOutput((out,), f"the output tensor{note}", per_layer=per_layer)
    fields = _per_layer_fields(out, per_layer)
    if fields is not None:
        return fields
    if isinstance(out, list) and _same_shape_tensors(out):
        n = len(out)
        if per_layer:
            return SelectedOutput(
                tuple(out), f"the {n} tensors of a list of same-shape tensors (one per layer)", True
            )
        return SelectedOutput(
            (out[-1],), f"output[-1] of a list of {n} same-shape tensors (the last layer)"
        )
    if isinstance(out, (tuple, list)) and out and not isinstance(out, Mapping):
        kind = type(out).__name__
        inner = select_output(out[0], per_layer)
        description = f"output[0] of a {kind} of {len(out)}"
        if not isinstance(out[0], torch.Tensor):
            description += f" ({inner.description})"
        elif per_layer:
            description += f" (a {kind} is not read as per-layer outputs)"
        return SelectedOutput(inner.tensors, description, per_layer=per_layer)
    raise HomogeneityInputError(
        f"cannot find a tensor in the model output of type {type(out).__name__}; pass "
        f"output=lambda out: <the tensor to check>"
    )
