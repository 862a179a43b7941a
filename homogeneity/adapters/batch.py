"""What the saturation analyses feed a model (:class:`Batch`) and what they read off one
forward pass (:class:`Trace`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from homogeneity.errors import HomogeneityInputError


@dataclass(frozen=True)
class Batch:
    """A batch of sequences: token ids or input vectors, with the mask of real tokens.

    ``ids``: (batch, seq) integer token ids, or None when the model takes vectors.
    ``padding_mask``: (batch, seq) bool, True for real tokens (padding may be on either
    side). ``token_type_ids``: optional (batch, seq) segment ids. ``embeddings``:
    (batch, seq, d) floating inputs for models that take vectors (``torch.nn``
    transformer layers); exactly one of ``ids`` and ``embeddings`` is given.
    """

    ids: torch.Tensor | None
    padding_mask: torch.Tensor
    token_type_ids: torch.Tensor | None = None
    embeddings: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if (self.ids is None) == (self.embeddings is None):
            raise HomogeneityInputError(
                "a Batch holds either token ids (ids=...) or input vectors (embeddings=...), "
                "exactly one of them; use Batch.from_ids or Batch.from_embeddings"
            )
        if self.ids is not None:
            ids = self.ids
            if ids.dim() != 2 or ids.dtype.is_floating_point or ids.dtype == torch.bool:
                raise HomogeneityInputError(
                    f"ids must be an integer tensor of shape (batch, seq), got dtype "
                    f"{ids.dtype} and shape {tuple(ids.shape)}; use ids.long()"
                )
            shape = tuple(ids.shape)
        else:
            x = self.embeddings
            assert x is not None
            if x.dim() != 3 or not x.is_floating_point():
                raise HomogeneityInputError(
                    f"embeddings must be a floating tensor of shape (batch, seq, d), got dtype "
                    f"{x.dtype} and shape {tuple(x.shape)}"
                )
            shape = tuple(x.shape[:2])
        if 0 in shape:
            raise HomogeneityInputError(
                f"the batch has shape {shape}: it needs at least one sequence of at least one token"
            )
        if tuple(self.padding_mask.shape) != shape or self.padding_mask.dtype != torch.bool:
            raise HomogeneityInputError(
                f"padding_mask must be a bool tensor of shape (batch, seq) = {shape}, got "
                f"{self.padding_mask.dtype} {tuple(self.padding_mask.shape)}; build it as "
                f"ids != pad_id (True for real tokens)"
            )
        if not bool(self.padding_mask.any(dim=1).all()):
            raise HomogeneityInputError(
                "padding_mask has a sequence with no real token; drop empty sequences"
            )
        if self.token_type_ids is not None and tuple(self.token_type_ids.shape) != shape:
            raise HomogeneityInputError(
                f"token_type_ids has shape {tuple(self.token_type_ids.shape)}, expected "
                f"{shape} like ids"
            )

    @classmethod
    def from_ids(
        cls,
        ids: torch.Tensor,
        padding_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
    ) -> Batch:
        """A batch from ids alone (no padding when ``padding_mask`` is None)."""
        if not isinstance(ids, torch.Tensor):
            raise HomogeneityInputError(
                f"ids must be a tensor of token ids, got {type(ids).__name__}; use "
                f"torch.tensor(ids)"
            )
        ids = ids if ids.dim() == 2 else ids.reshape(1, -1)
        if padding_mask is None:
            padding_mask = torch.ones_like(ids, dtype=torch.bool)
        elif padding_mask.dim() == 1:
            padding_mask = padding_mask.reshape(1, -1)
        return cls(ids, padding_mask.bool(), token_type_ids)

    @classmethod
    def from_embeddings(cls, x: torch.Tensor, padding_mask: torch.Tensor | None = None) -> Batch:
        """A batch of input vectors (batch, seq, d); ``padding_mask`` True for real tokens."""
        if not isinstance(x, torch.Tensor):
            raise HomogeneityInputError(
                f"embeddings must be a tensor (batch, seq, d), got {type(x).__name__}"
            )
        x = x if x.dim() == 3 else x.reshape(1, *x.shape)
        if padding_mask is None:
            padding_mask = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
        return cls(None, padding_mask.bool(), None, x)

    @property
    def inputs(self) -> torch.Tensor:
        """The model input: the ids, or the input vectors."""
        return self.ids if self.ids is not None else self.embeddings  # type: ignore[return-value]

    @property
    def shape(self) -> tuple[int, int]:
        """(batch, seq)."""
        return tuple(self.padding_mask.shape)  # type: ignore[return-value]

    @property
    def device(self) -> torch.device:
        return self.padding_mask.device

    @property
    def lengths(self) -> torch.Tensor:
        """Number of real tokens per sequence."""
        return self.padding_mask.sum(dim=1)

    @property
    def n_tokens(self) -> int:
        """Number of real tokens in the batch."""
        return int(self.padding_mask.sum())

    @property
    def is_right_padded(self) -> bool:
        """True when every sequence's real tokens come first."""
        m = self.padding_mask
        return bool((m.cummin(dim=1).values == m).all())

    def to(self, device: torch.device | str) -> Batch:
        def move(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(device)

        return Batch(
            move(self.ids),
            self.padding_mask.to(device),
            move(self.token_type_ids),
            move(self.embeddings),
        )

    def select(self, rows: Sequence[int] | torch.Tensor) -> Batch:
        """The sub-batch of the given rows, trimmed to its longest sequence (right padding;
        a left-padded batch is kept at full length)."""
        rows = torch.as_tensor(rows, dtype=torch.long, device=self.device)
        mask = self.padding_mask[rows]
        n = int(mask.sum(dim=1).max()) if self.is_right_padded else mask.shape[1]

        def cut(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t[rows, :n]

        return Batch(cut(self.ids), mask[:, :n], cut(self.token_type_ids), cut(self.embeddings))


@dataclass
class Trace:
    """What one forward pass shows the analyses.

    ``hidden_states[l]``: (batch, seq, d) output of layer l, index 0 the embedding output.
    ``attentions[l]``: (batch, heads, q, k) attention probabilities of attention layer
    l + 1 (rows sum to 1 over the visible keys). ``visible[l]``: bool, broadcastable to
    ``attentions[l]``, True where a query may see a key, as the model's own mask says
    (empty: derive it from the batch's padding and the adapter's causality).
    ``attention_source``: how the attention maps were obtained, or why there are none.
    """

    hidden_states: tuple[torch.Tensor, ...]
    attentions: tuple[torch.Tensor, ...] = ()
    visible: tuple[torch.Tensor, ...] = ()
    attention_source: str = ""

    def __post_init__(self) -> None:
        self.hidden_states = tuple(self.hidden_states)
        self.attentions = tuple(self.attentions)
        self.visible = tuple(self.visible)
        for name, items in (("hidden_states", self.hidden_states), ("attentions", self.attentions)):
            for i, t in enumerate(items):
                if not isinstance(t, torch.Tensor):
                    raise HomogeneityInputError(
                        f"Trace.{name}[{i}] is {type(t).__name__}, not a tensor; a model "
                        f"that returns no attention maps (e.g. transformers with SDPA) gives "
                        f"attentions=() and the analyses say so; use adapter_for(model) to "
                        f"capture them"
                    )
        if self.visible and len(self.visible) != len(self.attentions):
            raise HomogeneityInputError(
                f"Trace has {len(self.visible)} visibility masks for {len(self.attentions)} "
                f"attention maps; give one per attention layer or none"
            )
