"""The small interface the saturation analyses need from a model: an adapter.

Every analysis in :mod:`homogeneity.saturation` walks the ray ρ ↦ f(x; ρθ) of some
model and reads two things off each evaluation: the hidden states of every layer and the
attention probabilities of every head. An adapter says, for one model,

1. **which parameters scale** (:attr:`ModelAdapter.scaled_parameters`, glob patterns over
   ``module.named_parameters()``; ``None`` scales all of them, the paper's choice);
2. **how to call it** on a :class:`Batch` (:meth:`ModelAdapter.arguments`);
3. **where the hidden states and attention probabilities are** in its output
   (:meth:`ModelAdapter.trace`, returning a :class:`Trace`);
4. whether the model has an **exact saturated forward** (softmax → generalised argmax,
   GeLU → ReLU, ε → 0), selected through :meth:`ModelAdapter.arguments` with
   ``saturated=True`` (:attr:`ModelAdapter.supports_saturated`).

Two adapters ship here:

* :class:`EncoderAdapter` for :class:`homogeneity.components.Encoder` (our components, and
  every pretrained checkpoint loaded by :mod:`homogeneity.pretrained`, e.g. MiniLM);
  it supports the exact saturated forward.
* :class:`FunctionAdapter` for any other ``torch.nn.Module``: give it two small functions
  (arguments, trace). The test-suite uses it on ``transformers``' ``BertModel`` to show
  that the analyses agree across implementations.

Evaluation goes through :class:`homogeneity.scaling.Ray` (functional, never modifying the
caller's module), on the module's device: CUDA works when the module lives there.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from homogeneity.components.encoder import Encoder, EncoderOutput
from homogeneity.errors import HomogeneityInputError
from homogeneity.scaling import Patterns, Ray, select_parameter_names
from homogeneity.validation import check_float_dtype


@dataclass(frozen=True)
class Batch:
    """Token ids of a batch of sequences, right-padded.

    ``ids``: (batch, seq) integer token ids. ``padding_mask``: (batch, seq) bool, True
    for real tokens. ``token_type_ids``: optional (batch, seq) segment ids.
    """

    ids: torch.Tensor
    padding_mask: torch.Tensor
    token_type_ids: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.ids.dim() != 2 or self.ids.dtype.is_floating_point or self.ids.dtype == torch.bool:
            raise HomogeneityInputError(
                f"ids must be an integer tensor of shape (batch, seq), got dtype "
                f"{self.ids.dtype} and shape {tuple(self.ids.shape)}; use ids.long()"
            )
        if self.ids.shape[1] == 0 or self.ids.shape[0] == 0:
            raise HomogeneityInputError(
                f"ids has shape {tuple(self.ids.shape)}: the batch needs at least one "
                f"sequence of at least one token"
            )
        if self.padding_mask.shape != self.ids.shape or self.padding_mask.dtype != torch.bool:
            raise HomogeneityInputError(
                f"padding_mask must be a bool tensor of the same shape as ids "
                f"{tuple(self.ids.shape)}, got {self.padding_mask.dtype} "
                f"{tuple(self.padding_mask.shape)}; build it as ids != pad_id"
            )
        if not bool(self.padding_mask.any(dim=1).all()):
            raise HomogeneityInputError(
                "padding_mask has a sequence with no real token; drop empty sequences"
            )
        if self.token_type_ids is not None and self.token_type_ids.shape != self.ids.shape:
            raise HomogeneityInputError(
                f"token_type_ids has shape {tuple(self.token_type_ids.shape)}, expected "
                f"{tuple(self.ids.shape)} like ids"
            )

    @classmethod
    def from_ids(
        cls,
        ids: torch.Tensor,
        padding_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
    ) -> Batch:
        """A batch from ids alone (no padding when ``padding_mask`` is None)."""
        ids = ids if ids.dim() == 2 else ids.reshape(1, -1)
        if padding_mask is None:
            padding_mask = torch.ones_like(ids, dtype=torch.bool)
        return cls(ids, padding_mask.bool(), token_type_ids)

    @property
    def lengths(self) -> torch.Tensor:
        """Number of real tokens per sequence."""
        return self.padding_mask.sum(dim=1)

    def to(self, device: torch.device | str) -> Batch:
        types = None if self.token_type_ids is None else self.token_type_ids.to(device)
        return Batch(self.ids.to(device), self.padding_mask.to(device), types)

    def select(self, rows: Sequence[int] | torch.Tensor) -> Batch:
        """The sub-batch of the given rows, trimmed to its longest sequence."""
        rows = torch.as_tensor(rows, dtype=torch.long, device=self.ids.device)
        mask = self.padding_mask[rows]
        n = int(mask.sum(dim=1).max())
        types = None if self.token_type_ids is None else self.token_type_ids[rows, :n]
        return Batch(self.ids[rows, :n], mask[:, :n], types)


@dataclass
class Trace:
    """What one forward pass shows the analyses.

    ``hidden_states[l]``: (batch, seq, d) output of layer l, index 0 the embedding output.
    ``attentions[l]``: (batch, heads, q, k) attention probabilities of layer l+1 (rows sum
    to 1 over the visible keys). Either may be empty for a model that has no such thing.
    """

    hidden_states: tuple[torch.Tensor, ...]
    attentions: tuple[torch.Tensor, ...] = ()


class ModelAdapter(ABC):
    """Where the saturation analyses find things in one model. See the module docstring."""

    #: the module whose parameters are scaled (its ``named_parameters`` define θ)
    module: nn.Module
    #: glob patterns over ``module.named_parameters()`` names; None: every parameter
    scaled_parameters: Patterns = None
    #: True when ``arguments(batch, saturated=True)`` makes the module compute the exact
    #: saturated network (hardmax attention, GeLU → ReLU, ε → 0)
    supports_saturated: bool = False
    #: True when attention is causal (query i sees keys j ≤ i); used to count the visible
    #: positions of each query in the head analysis
    causal: bool = False

    @abstractmethod
    def arguments(
        self, batch: Batch, saturated: bool = False, tie_tol: float = 0.0
    ) -> tuple[tuple, dict[str, Any]]:
        """(positional, keyword) arguments of ``module(...)`` for ``batch``."""

    @abstractmethod
    def trace(self, output: Any) -> Trace:
        """Hidden states and attention probabilities from the module's output."""

    # -- shared machinery --------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.module.parameters()).device

    def module_scaled_names(self) -> list[str]:
        """Names (in ``module.named_parameters()``) of the parameters that the ray scales."""
        names = [n for n, _ in self.module.named_parameters()]
        return select_parameter_names(names, self.scaled_parameters)

    def scaled_names(self) -> list[str]:
        """Names of the parameters that the ray scales, as the user knows them."""
        return self.module_scaled_names()

    def ray(
        self,
        batches: Batch | Sequence[Batch],
        *,
        saturated: bool = False,
        tie_tol: float = 0.0,
        dtype: torch.dtype = torch.float64,
    ) -> Ray:
        """The ray ρ ↦ f(x; ρθ) on one batch or on several.

        ``ray(rho)`` returns a :class:`Trace` for a single :class:`Batch`, a list of them
        (one per batch) for a sequence. Several batches share one evaluation: θ is scaled
        once per ρ, and each batch keeps its own padding.
        """
        check_float_dtype(dtype)
        if saturated and not self.supports_saturated:
            raise HomogeneityInputError(
                f"{type(self).__name__} has no exact saturated forward; use the finite-ρ "
                f"proxy (saturated=False) or an adapter with supports_saturated=True"
            )
        single = isinstance(batches, Batch)
        items = [batches] if single else list(batches)
        if not items or not all(isinstance(b, Batch) for b in items):
            raise HomogeneityInputError(
                "batches must be a homogeneity.adapters.Batch or a non-empty sequence of them"
            )
        calls = [self.arguments(b.to(self.device), saturated, tie_tol) for b in items]
        names = (
            None
            if self.scaled_parameters is None
            else [f"{_BatchLoop.PREFIX}{n}" for n in self.module_scaled_names()]
        )
        if single:

            def output(outs: list[Any]) -> Trace:
                return self.trace(outs[0])
        else:

            def output(outs: list[Any]) -> list[Trace]:
                return [self.trace(o) for o in outs]

        return Ray(
            _BatchLoop(self.module), inputs=(calls,), parameters=names, output=output, dtype=dtype
        )

    def run(
        self,
        batch: Batch,
        rho: float = 1.0,
        *,
        saturated: bool = False,
        tie_tol: float = 0.0,
        dtype: torch.dtype = torch.float64,
    ) -> Trace:
        """One evaluation f(x; ρθ) (exact saturated form if ``saturated``)."""
        return self.ray(batch, saturated=saturated, tie_tol=tie_tol, dtype=dtype)(rho)


class _BatchLoop(nn.Module):
    """Calls the wrapped module once per (args, kwargs) pair, so that one functional call
    (one scaling of θ) serves several batches. Its parameter names are the wrapped
    module's with the prefix ``model.``."""

    PREFIX = "model."

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, calls: list[tuple[tuple, dict[str, Any]]]) -> list[Any]:
        return [self.model(*args, **kwargs) for args, kwargs in calls]


class _TracedEncoder(nn.Module):
    """Calls :meth:`Encoder.run` with ``collect=True`` so a functional call sees every layer."""

    def __init__(self, encoder: Encoder) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(
        self,
        ids: torch.Tensor,
        padding_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        *,
        saturated: bool = False,
        tie_tol: float = 0.0,
    ) -> EncoderOutput:
        return self.encoder.run(
            ids,
            padding_mask,
            token_type_ids=token_type_ids,
            saturated=saturated,
            tie_tol=tie_tol,
            collect=True,
        )


class EncoderAdapter(ModelAdapter):
    """Adapter for :class:`homogeneity.components.Encoder` (also every ported checkpoint).

    ``parameters``: glob patterns over the *encoder's* parameter names
    (``tokens.weight``, ``layers.0.attention.sublayer.query.weight``, ...); None scales all
    of them. The hidden states are ``EncoderOutput.hidden_states`` (embedding output, then
    every layer); a final norm, if configured, is appended as one more "layer".
    """

    supports_saturated = True

    def __init__(self, encoder: Encoder, parameters: Patterns = None) -> None:
        if not isinstance(encoder, Encoder):
            raise HomogeneityInputError(
                f"encoder must be a homogeneity.components.Encoder, got "
                f"{type(encoder).__name__}; for other modules use FunctionAdapter"
            )
        self.encoder = encoder
        self.module = _TracedEncoder(encoder)
        self.causal = encoder.config.causal
        names = [n for n, _ in encoder.named_parameters()]
        if parameters is None:
            self.scaled_parameters = None
        else:
            own = select_parameter_names(names, parameters)  # validates against own names
            self.scaled_parameters = [f"encoder.{n}" for n in own]

    def arguments(
        self, batch: Batch, saturated: bool = False, tie_tol: float = 0.0
    ) -> tuple[tuple, dict[str, Any]]:
        types = batch.token_type_ids
        return (batch.ids, batch.padding_mask, types), {"saturated": saturated, "tie_tol": tie_tol}

    def trace(self, output: EncoderOutput) -> Trace:
        hidden = list(output.hidden_states)
        if self.encoder.final_norm is not None:
            hidden.append(output.last)
        return Trace(tuple(hidden), tuple(output.attentions))

    def scaled_names(self) -> list[str]:
        return [n.removeprefix("encoder.") for n in self.module_scaled_names()]


class FunctionAdapter(ModelAdapter):
    """Adapter for any module, from two functions.

    ``arguments(batch) -> (args, kwargs)`` builds the call; ``trace(output) -> Trace``
    reads hidden states and attentions off the output. Example for ``transformers``'
    ``BertModel``::

        FunctionAdapter(
            bert,
            arguments=lambda b: ((), dict(input_ids=b.ids, attention_mask=b.padding_mask.long(),
                                         output_hidden_states=True, output_attentions=True)),
            trace=lambda out: Trace(tuple(out.hidden_states), tuple(out.attentions)))

    No exact saturated forward is assumed (``supports_saturated`` False).
    """

    def __init__(
        self,
        module: nn.Module,
        arguments: Callable[[Batch], tuple[tuple, dict]],
        trace: Callable[[Any], Trace],
        parameters: Patterns = None,
        causal: bool = False,
    ) -> None:
        if not isinstance(module, nn.Module):
            raise HomogeneityInputError(
                f"module must be a torch.nn.Module, got {type(module).__name__}"
            )
        self.module = module
        self.causal = causal
        self.scaled_parameters = parameters
        self._arguments = arguments
        self._trace = trace
        self.scaled_names()  # validate the patterns now

    def arguments(
        self, batch: Batch, saturated: bool = False, tie_tol: float = 0.0
    ) -> tuple[tuple, dict[str, Any]]:
        args, kwargs = self._arguments(batch)
        return tuple(args), dict(kwargs)

    def trace(self, output: Any) -> Trace:
        out = self._trace(output)
        if not isinstance(out, Trace):
            raise HomogeneityInputError(
                f"trace function returned {type(out).__name__}; it must return "
                f"homogeneity.adapters.Trace(hidden_states=..., attentions=...)"
            )
        return out


def adapter_for(model: nn.Module | ModelAdapter, parameters: Patterns = None) -> ModelAdapter:
    """An adapter for ``model``: returned as is if it is one, wrapped if it is an Encoder."""
    if isinstance(model, ModelAdapter):
        if parameters is not None:
            raise HomogeneityInputError(
                "parameters= is given both here and in the adapter; set it on the adapter"
            )
        return model
    if isinstance(model, Encoder):
        return EncoderAdapter(model, parameters)
    raise HomogeneityInputError(
        f"no adapter is known for {type(model).__name__}; wrap it in "
        f"homogeneity.adapters.FunctionAdapter(module, arguments=..., trace=...)"
    )
