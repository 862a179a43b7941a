"""Which part of a module's output the saturation level compares, and what it is called.

One rule, used by :func:`homogeneity.saturation.saturation_level` and the adapters:

* a :class:`~homogeneity.adapters.Trace`: its hidden states (per layer);
* a tensor: itself (one "layer");
* an object with ``hidden_states`` (a ``transformers`` output asked for them): those, per
  layer;
* a list or tuple of two or more tensors **of the same shape**: per layer;
* any other tuple or list whose first entry is a tensor, such as ``(out, attn_weights)``
  or ``(logits, loss)``: the first entry only (it is *not* per layer);
* an object with ``last_hidden_state``, ``last`` or ``logits``: that tensor.

The exec workstream's output selector in :mod:`homogeneity.scaling` picks one tensor for
the homogeneity checks; when it offers a per-layer selection this function is the one
place to delegate to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from homogeneity.adapters.batch import Trace
from homogeneity.errors import HomogeneityInputError


@dataclass(frozen=True)
class SelectedOutput:
    """The tensors compared (one per layer) and a description of what they are."""

    layers: list[torch.Tensor]
    description: str


def select_output(out: Any) -> SelectedOutput:
    """Pick the tensors to compare from a module's output (rules in the module docstring)."""
    if isinstance(out, Trace):
        return SelectedOutput(list(out.hidden_states), "hidden states of the trace (per layer)")
    if isinstance(out, torch.Tensor):
        return SelectedOutput([out], "the output tensor")
    hidden = getattr(out, "hidden_states", None)
    if (
        isinstance(hidden, (tuple, list))
        and hidden
        and all(isinstance(t, torch.Tensor) for t in hidden)
    ):
        return SelectedOutput(list(hidden), f"output.hidden_states ({len(hidden)}, per layer)")
    if isinstance(out, (tuple, list)) and out:
        if (
            len(out) >= 2
            and all(isinstance(t, torch.Tensor) for t in out)
            and len({tuple(t.shape) for t in out}) == 1
        ):
            return SelectedOutput(
                list(out), f"the {len(out)} same-shape tensors of the output (per layer)"
            )
        if isinstance(out[0], torch.Tensor):
            return SelectedOutput(
                [out[0]],
                f"output[0] of a {type(out).__name__} of {len(out)} entries of different "
                f"shapes or types (not per layer)",
            )
    for attr in ("last_hidden_state", "last", "logits"):
        value = getattr(out, attr, None)
        if isinstance(value, torch.Tensor):
            return SelectedOutput([value], f"output.{attr}")
    raise HomogeneityInputError(
        f"the model output is a {type(out).__name__}; the saturation level needs a tensor "
        f"(…, d) or a list of them (one per layer): pass output=lambda out: ..."
    )
