"""The small interface the saturation analyses need from a model: an adapter.

Every analysis in :mod:`homogeneity.saturation` walks the ray ρ ↦ f(x; ρθ) of some
model and reads two things off each evaluation: the hidden states of every layer and the
attention probabilities of every head. An adapter says, for one model,

1. **which parameters scale** (:attr:`ModelAdapter.scaled_parameters`, glob patterns over
   ``module.named_parameters()``; ``None`` scales all of them, the paper's choice);
2. **how to call it** on a :class:`Batch` (:meth:`ModelAdapter.arguments`);
3. **where the hidden states and attention probabilities are**
   (:meth:`ModelAdapter.trace`, returning a :class:`Trace`);
4. whether the model has an **exact saturated forward** (softmax attention → generalised
   argmax, SPEC D7; GeLU → ReLU, …), selected with ``saturated=True``
   (:attr:`ModelAdapter.supports_saturated`).

:func:`adapter_for` chooses one automatically:

==========================================  ===============================================
model                                       adapter (path taken for the attention)
==========================================  ===============================================
:class:`homogeneity.components.Encoder`     :class:`EncoderAdapter` (the components' own)
``transformers.PreTrainedModel``            :class:`HuggingFaceAdapter`
                                            (``transformers.AttentionInterface``)
``nn.TransformerEncoder``, ``…Layer``,      :class:`ModuleAdapter` (``TorchFunctionMode``:
``nn.MultiheadAttention``, any other module MHA, SDPA, softmax over scores)
==========================================  ===============================================

:class:`FunctionAdapter` takes two user functions instead. Every adapter says what it
did in :meth:`ModelAdapter.describe`, and a trace whose attention could not be captured
says so (``Trace.attention_source``) instead of giving empty head statistics.

Which output a model's hidden states are, when an adapter has to pick them from the
output, follows the package's one rule, :func:`select_output` (re-exported from
:mod:`homogeneity.execution.outputs`; ask for ``per_layer=True``).

Evaluation goes through :class:`homogeneity.scaling.Ray` (functional, never modifying the
caller's module), on the module's device.
"""

from __future__ import annotations

from torch import nn

from homogeneity.adapters.base import BatchLoop, ModelAdapter, as_batch
from homogeneity.adapters.batch import Batch, Trace
from homogeneity.adapters.encoder import EncoderAdapter
from homogeneity.adapters.function import FunctionAdapter
from homogeneity.adapters.huggingface import HuggingFaceAdapter
from homogeneity.adapters.module import ModuleAdapter, find_layer_stack
from homogeneity.components.encoder import Encoder
from homogeneity.errors import HomogeneityInputError
from homogeneity.execution.model_inputs import is_transformers_model
from homogeneity.execution.outputs import SelectedOutput, select_output
from homogeneity.scaling import Patterns

__all__ = [
    "Batch",
    "BatchLoop",
    "EncoderAdapter",
    "FunctionAdapter",
    "HuggingFaceAdapter",
    "ModelAdapter",
    "ModuleAdapter",
    "SelectedOutput",
    "Trace",
    "adapter_for",
    "as_batch",
    "find_layer_stack",
    "is_transformers_model",
    "select_output",
]


def adapter_for(model: nn.Module | ModelAdapter, parameters: Patterns = None) -> ModelAdapter:
    """The adapter of ``model``: returned as is if it is one, else chosen by its kind (table
    in the module docstring)."""
    if isinstance(model, ModelAdapter):
        if parameters is not None:
            raise HomogeneityInputError(
                "parameters= is given both here and in the adapter; set it on the adapter"
            )
        return model
    if isinstance(model, Encoder):
        return EncoderAdapter(model, parameters)
    if is_transformers_model(model):
        return HuggingFaceAdapter(model, parameters)
    if isinstance(model, nn.Module):
        return ModuleAdapter(model, parameters=parameters)
    raise HomogeneityInputError(
        f"model must be a torch.nn.Module or a homogeneity.adapters.ModelAdapter, got "
        f"{type(model).__name__}"
    )
