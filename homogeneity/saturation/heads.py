"""Head types (SPEC D8, E5): attended positions per query, argmax-like / in-between /
mean-like classification, and where the attended keys lie."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from homogeneity.adapters import Batch
from homogeneity.constants import ATTENDED_THRESHOLD
from homogeneity.errors import HomogeneityInputError
from homogeneity.saturation.attention import attention_entropy, visible_keys

#: where an attended key lies relative to its query (special tokens take precedence)
POSITION_KINDS = ("same", "previous", "next", "far")
HEAD_KINDS = ("argmax-like", "in-between", "mean-like")


@dataclass(frozen=True)
class HeadTypeRule:
    """How a head is classified from its statistics (averaged over real queries).

    * **argmax-like**: at most ``argmax_max_attended`` attended keys per query on average
      (D8 proxy: weight > ``threshold``), i.e. (almost) all weight on one position.
    * **mean-like**: attends at least ``mean_min_fraction`` of its visible keys on average
      *and* its rows are close to uniform over the visible keys: mean total-variation
      distance to uniform at most ``mean_max_tv``. (The count alone is not enough: any
      unsaturated softmax gives every key weight above 10⁻⁵.)
    * **in-between**: everything else.
    """

    threshold: float = ATTENDED_THRESHOLD
    argmax_max_attended: float = 1.5
    mean_min_fraction: float = 0.9
    mean_max_tv: float = 0.25

    def classify(self, attended: float, attended_fraction: float, tv_to_uniform: float) -> str:
        if attended <= self.argmax_max_attended:
            return "argmax-like"
        if attended_fraction >= self.mean_min_fraction and tv_to_uniform <= self.mean_max_tv:
            return "mean-like"
        return "in-between"


@dataclass(frozen=True)
class HeadStats:
    """One head's attention, averaged over all real query tokens of all sequences.

    ``attended``: keys with weight > threshold per query (D8 proxy); ``visible``: keys the
    query may see; ``attended_fraction``: mean of attended/visible; ``max_weight``: mean
    largest weight; ``tv_to_uniform``: mean total-variation distance to the uniform row
    over visible keys; ``entropy``: mean row entropy (nats); ``locations``: mean attention
    mass on each kind of key (special tokens by name, then same/previous/next/far);
    ``attended_locations``: the same split of the attended keys' *count*.
    ``top_token``: the token id that receives the most attention mass (summed over every
    occurrence as a key), and ``top_token_mass`` the share of the head's mass it gets
    (e.g. a head that always looks at the sentence-final "." is "far" by position but
    has ``top_token`` = id of ".").
    ``top_key_share``: per sequence, the share of all its queries' attention mass that
    goes to the single most attended key, averaged over sequences (weighted by their
    query counts). Near 1: a "sink" or broadcast head, every query reads the same
    position of the sentence, whichever token that is.
    """

    layer: int
    head: int
    attended: float
    visible: float
    attended_fraction: float
    max_weight: float
    tv_to_uniform: float
    entropy: float
    locations: dict[str, float]
    attended_locations: dict[str, float]
    kind: str
    top_token: int = -1
    top_token_mass: float = 0.0
    top_key_share: float = 0.0

    @property
    def dominant_location(self) -> str:
        """The kind of key with the most mass ("n/a" when locations were not recorded)."""
        locations = self.locations
        return max(locations, key=lambda name: locations[name]) if locations else "n/a"


def key_locations(
    batch: Batch, special_tokens: Mapping[str, int] | None = None
) -> tuple[torch.Tensor, tuple[str, ...]]:
    """(batch, q, k) int codes of where key k lies for query q, and the code names.

    Keys that are special tokens (``special_tokens``: name → id, e.g. {"[CLS]": 101,
    "[SEP]": 102}) get their name; other keys are ``same`` (k = q), ``previous``
    (k = q − 1), ``next`` (k = q + 1) or ``far``.
    """
    special_tokens = dict(special_tokens or {})
    names = tuple(special_tokens) + POSITION_KINDS
    n_batch, n = batch.shape
    q = torch.arange(n, device=batch.device)
    offset = q[None, :] - q[:, None]  # k − q, (q, k)
    by_offset = torch.full((n, n), len(special_tokens) + 3, dtype=torch.long, device=batch.device)
    for code, off in ((0, 0), (1, -1), (2, 1)):
        by_offset[offset == off] = len(special_tokens) + code
    codes = by_offset[None].expand(n_batch, -1, -1).clone()
    if batch.ids is not None:
        for i, tid in enumerate(special_tokens.values()):
            is_special = (batch.ids == tid)[:, None, :].expand(-1, n, -1)
            codes[is_special] = i
    return codes, names


class HeadStatistics:
    """Accumulates :class:`HeadStats` for every head over batches of attention maps.

    ``detail=False`` skips the location split and the top-token table (enough to
    classify heads; used along the ρ grid).
    """

    def __init__(
        self,
        rule: HeadTypeRule = HeadTypeRule(),
        special_tokens: Mapping[str, int] | None = None,
        causal: bool = False,
        detail: bool = True,
    ) -> None:
        self.rule = rule
        self.special_tokens = dict(special_tokens or {})
        self.causal = causal
        self.detail = detail
        self._sums: dict[str, list[torch.Tensor]] = {}
        self._queries = 0
        self._token_mass: list[torch.Tensor] = []  # per layer (heads, max token id + 1)
        self.location_names: tuple[str, ...] = tuple(self.special_tokens) + POSITION_KINDS

    def add(
        self,
        attentions: Sequence[torch.Tensor],
        batch: Batch,
        visible: Sequence[torch.Tensor] = (),
    ) -> None:
        """Add one batch: ``attentions[i]`` is (batch, heads, q, k) for attention layer i + 1.

        ``visible[i]`` (bool, broadcastable to it) is the model's own mask of the keys each
        query may see; without it the visible keys are the real tokens (and k ≤ q when
        ``causal``)."""
        derived = visible_keys(batch, self.causal)[:, None]  # (B, 1, Q, K)
        qmask = batch.padding_mask[:, None, :].to(torch.float64)  # (B, 1, Q)
        codes = key_locations(batch, self.special_tokens)[0][:, None] if self.detail else None
        n_kinds = len(self.location_names)
        for layer, attn in enumerate(attentions):
            a = attn.to(torch.float64)
            keep = (
                torch.broadcast_to(visible[layer], a.shape) if visible else derived.expand(a.shape)
            )
            n_visible = keep.sum(-1).to(a.dtype).clamp_min(1.0)  # (B, H, Q)
            attended = (a > self.rule.threshold) & keep
            n_att = attended.sum(-1).to(a.dtype)
            tv = 0.5 * (a - keep.to(a.dtype) / n_visible[..., None]).abs().sum(-1)
            per_row = {
                "attended": n_att,
                "visible": n_visible.expand_as(n_att),
                "attended_fraction": n_att / n_visible,
                "max_weight": a.amax(-1),
                "tv_to_uniform": tv,
                "entropy": attention_entropy(a),
            }
            totals = {k: (v * qmask).sum(dim=(0, 2)) for k, v in per_row.items()}  # (H,)
            if codes is not None:  # self.detail
                index = codes.expand(a.shape)
                for key, values in (("loc", a), ("att", attended.to(a.dtype))):
                    split = torch.zeros(
                        *a.shape[:-1], n_kinds, dtype=a.dtype, device=a.device
                    ).scatter_add_(-1, index, values)
                    totals[key] = (split * qmask[..., None]).sum(dim=(0, 2))  # (H, kinds)
                self._add_token_mass(layer, a, batch, qmask)
            for key, total in totals.items():
                layers = self._sums.setdefault(key, [])
                if layer == len(layers):
                    layers.append(total)
                else:
                    layers[layer] = layers[layer] + total
        self._queries += int(batch.padding_mask.sum())

    def _add_token_mass(
        self, layer: int, a: torch.Tensor, batch: Batch, qmask: torch.Tensor
    ) -> None:
        """Attention mass per key token id, summed over real queries: (heads, ids)."""
        mass = (a * qmask[..., None]).sum(dim=-2)  # (B, H, K)
        n_heads = mass.shape[1]
        share = self._sums.setdefault("sink", [])
        top = mass.amax(dim=-1).sum(dim=0)  # (H,)
        if layer == len(share):
            share.append(top)
        else:
            share[layer] = share[layer] + top
        if batch.ids is None:  # input vectors: no token ids to attribute mass to
            return
        ids = batch.ids.reshape(-1)
        size = int(ids.max()) + 1
        if layer == len(self._token_mass):
            self._token_mass.append(
                torch.zeros(n_heads, size, dtype=mass.dtype, device=mass.device)
            )
        table = self._token_mass[layer]
        if table.shape[1] < size:
            table = torch.nn.functional.pad(table, (0, size - table.shape[1]))
        table.index_add_(1, ids, mass.permute(1, 0, 2).reshape(n_heads, -1))
        self._token_mass[layer] = table

    @property
    def has_data(self) -> bool:
        return self._queries > 0

    def result(self) -> list[HeadStats]:
        """One :class:`HeadStats` per (layer, head), in order."""
        if not self._queries:
            raise HomogeneityInputError("no attention was added; call add(...) first")
        if "attended" not in self._sums:  # the model has no attention layers
            return []
        out = []
        n_layers = len(self._sums["attended"])
        for layer in range(n_layers):
            n_heads = self._sums["attended"][layer].shape[0]
            for h in range(n_heads):
                m = {
                    k: float(v[layer][h]) / self._queries
                    for k, v in self._sums.items()
                    if k not in ("loc", "att", "sink")
                }
                kind = self.rule.classify(m["attended"], m["attended_fraction"], m["tv_to_uniform"])
                if self.detail:
                    loc, att = (self._sums[k][layer][h] / self._queries for k in ("loc", "att"))
                    locations = {n: float(loc[i]) for i, n in enumerate(self.location_names)}
                    attended_at = {n: float(att[i]) for i, n in enumerate(self.location_names)}
                    if self._token_mass:
                        tokens = self._token_mass[layer][h]
                        top = int(tokens.argmax())
                        top_mass = float(tokens[top]) / self._queries
                    else:  # a batch of input vectors has no token ids
                        top, top_mass = -1, 0.0
                    sink = float(self._sums["sink"][layer][h]) / self._queries
                else:
                    locations, attended_at, top, top_mass, sink = {}, {}, -1, 0.0, 0.0
                out.append(
                    HeadStats(
                        layer + 1,
                        h,
                        m["attended"],
                        m["visible"],
                        m["attended_fraction"],
                        m["max_weight"],
                        m["tv_to_uniform"],
                        m["entropy"],
                        locations,
                        attended_at,
                        kind,
                        top,
                        top_mass,
                        sink,
                    )
                )
        return out


def head_type_counts(heads: Sequence[HeadStats]) -> dict[str, int]:
    """How many heads of each kind (argmax-like, in-between, mean-like)."""
    counts = {k: 0 for k in HEAD_KINDS}
    for h in heads:
        counts[h.kind] += 1
    return counts
