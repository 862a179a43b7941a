"""Saturation of a model along the ray ρ ↦ f(x; ρθ) (SPEC D1, D7, D8, D14).

Saturation level (D14)
    For token t of layer l, the cosine between the hidden state at θ and at ρθ,

        s_l(ρ) = mean over real tokens t of cos(h_l,t(x; θ), h_l,t(x; ρθ)),

    with ρ = 1000 in the paper. Scaling *every* parameter (the paper's choice) is the
    default; ``parameters=`` picks a group instead. s_l = 1 means the direction of the
    layer's output is already at its ρ → ∞ limit.

This module only needs the adapter interface of :mod:`homogeneity.adapters`, so it works
for our components, for ported checkpoints, and for any ``torch.nn.Module``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import torch
from torch import nn

from homogeneity.adapters import Batch, ModelAdapter, Trace, adapter_for
from homogeneity.components.encoder import Encoder
from homogeneity.scaling import Patterns, Ray, default_output
from homogeneity.validation import HomogeneityInputError, check_positive_scale

#: ρ of the paper's saturation level (D14)
PAPER_RHO = 1000.0


class NumericalBreakdown(ArithmeticError):
    """A forward pass along the ray produced NaN/inf, or a zero vector whose direction (and
    so whose cosine) is undefined. The message says where (ρ, layer) and what to try."""


# -- cosines ---------------------------------------------------------------------------
def token_cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """cos(a_t, b_t) over the last dimension, for every leading index t.

    NaN where either vector is zero (the direction is undefined there).
    """
    if a.shape != b.shape:
        raise HomogeneityInputError(
            f"cannot compare hidden states of shapes {tuple(a.shape)} and {tuple(b.shape)}")
    dot = (a * b).sum(dim=-1)
    norms = torch.linalg.vector_norm(a, dim=-1) * torch.linalg.vector_norm(b, dim=-1)
    return torch.where(norms > 0, dot / norms.clamp_min(torch.finfo(a.dtype).tiny),
                       torch.full_like(dot, float("nan")))


def mean_token_cosine(a: torch.Tensor, b: torch.Tensor, token_mask: torch.Tensor | None = None,
                      *, where: str = "") -> float:
    """Mean of :func:`token_cosine` over the tokens with ``token_mask`` True (all if None).

    Raises :class:`NumericalBreakdown` if a selected token has a non-finite entry or a zero
    vector (its cosine would be meaningless; we never silently drop it).
    """
    cos = token_cosine(a, b)
    if token_mask is not None:
        if token_mask.shape != cos.shape:
            raise HomogeneityInputError(
                f"token_mask has shape {tuple(token_mask.shape)}, expected {tuple(cos.shape)} "
                f"(the hidden state's shape without its feature dimension)")
        cos = cos[token_mask.bool()]
    if cos.numel() == 0:
        raise HomogeneityInputError("token_mask selects no token; keep at least one")
    bad = ~torch.isfinite(cos)
    if bool(bad.any()):
        finite_inputs = bool(torch.isfinite(a).all() and torch.isfinite(b).all())
        what = "a zero hidden vector" if finite_inputs else "NaN/inf hidden values (overflow)"
        raise NumericalBreakdown(
            f"{int(bad.sum())} token cosine(s) are undefined {where}: {what}; use float64, "
            f"a smaller ρ, or exclude those tokens with token_mask")
    return float(cos.mean())


# -- saturation level (D14) ------------------------------------------------------------
@dataclass(frozen=True)
class SaturationLevel:
    """D14 for one model and input: ``layers[l]`` is s_l(ρ); ``value`` the last layer's.

    ``float(level)`` gives ``value``. ``scaled`` lists the scaled parameter names,
    ``all_scaled`` says whether that is every parameter (the paper's setting),
    ``n_tokens`` is the number of tokens averaged over.
    """

    layers: tuple[float, ...]
    rho: float
    n_tokens: int
    scaled: tuple[str, ...] = field(repr=False)
    all_scaled: bool = True

    @property
    def value(self) -> float:
        return self.layers[-1]

    def __float__(self) -> float:
        return self.value


def _as_layers(out: Any) -> list[torch.Tensor]:
    if isinstance(out, Trace):
        return list(out.hidden_states)
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (list, tuple)) and out and all(isinstance(t, torch.Tensor) for t in out):
        return list(out)
    raise HomogeneityInputError(
        f"the model output selected for the saturation level is a {type(out).__name__}; it "
        f"must be a tensor (…, d) or a list of them (one per layer): pass output=…")


def _layer_levels(base: list[torch.Tensor], scaled: list[torch.Tensor],
                  token_mask: torch.Tensor | None, rho: float) -> tuple[float, ...]:
    levels = []
    for l, (a, b) in enumerate(zip(base, scaled)):
        mask = token_mask
        if mask is not None and mask.shape != a.shape[:-1]:
            mask = None if a.shape[:-1] == () else mask  # scalar outputs have no tokens
        levels.append(mean_token_cosine(a, b, mask, where=f"at layer {l}, rho={rho:g}"))
    return tuple(levels)


def _ray_for(model: Any, inputs: Any, parameters: Patterns, kwargs: dict | None,
             output: Callable[[Any], Any] | None, dtype: torch.dtype
             ) -> tuple[Ray, torch.Tensor | None, list[str]]:
    """A ray and the token mask to average over, for any of the accepted model kinds."""
    if isinstance(model, Ray):
        if inputs is not None or parameters is not None or kwargs or output is not None:
            raise HomogeneityInputError(
                "model is already a Ray: it fixes inputs, parameters, kwargs and output; "
                "drop those arguments")
        return model, None, list(model.scaled_names)
    if isinstance(model, (ModelAdapter, Encoder)):
        if kwargs or output is not None:
            raise HomogeneityInputError(
                "kwargs/output are for plain modules; an adapter decides how to call the "
                "model and where its hidden states are")
        adapter = adapter_for(model, parameters)
        batch = _as_batch(inputs)
        ray = adapter.ray(batch, dtype=dtype)
        return ray, batch.padding_mask.to(adapter.device), adapter.scaled_names()
    if isinstance(model, nn.Module):
        args = () if inputs is None else (inputs if isinstance(inputs, tuple) else (inputs,))
        ray = Ray(model, inputs=args, parameters=parameters, kwargs=dict(kwargs or {}),
                  output=output or default_output, dtype=dtype)
        return ray, None, list(ray.scaled_names)
    raise HomogeneityInputError(
        f"model must be a torch.nn.Module, a ModelAdapter or a Ray, got {type(model).__name__}")


def _as_batch(inputs: Any) -> Batch:
    if isinstance(inputs, Batch):
        return inputs
    if isinstance(inputs, torch.Tensor):
        return Batch.from_ids(inputs)
    raise HomogeneityInputError(
        f"inputs for an adapter must be a homogeneity.adapters.Batch or a tensor of token "
        f"ids, got {type(inputs).__name__}")


def saturation_level(
    model: nn.Module | ModelAdapter | Ray,
    inputs: Batch | torch.Tensor | tuple | None = None,
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
        model: an :class:`~homogeneity.components.Encoder` (every layer is reported), a
            :class:`~homogeneity.adapters.ModelAdapter`, any ``nn.Module`` (its output as
            picked by ``output``; a list of tensors counts as one per layer), or a
            :class:`~homogeneity.scaling.Ray` (then ``inputs``/``parameters`` are its own).
        inputs: a :class:`Batch` or token ids for encoders/adapters; the positional
            inputs (a tensor or tuple) for a plain module.
        rho: the scale ρ (> 0), 1000 in the paper.
        parameters: glob patterns of the scaled parameters; None scales all (the paper).
        token_mask: bool, True for the tokens to average over, shaped like the output
            without its last dimension; for encoders/adapters the padding mask is used.
        kwargs, output: keyword inputs and output selector of a plain module.
        dtype: working dtype (float64 default).

    The caller's module is never modified. Raises :class:`NumericalBreakdown` when an
    evaluation overflows or gives a zero vector.
    """
    rho = check_positive_scale(rho, "rho")
    ray, mask, names = _ray_for(model, inputs, parameters, kwargs, output, dtype)
    if token_mask is not None:
        mask = token_mask.to(ray.device).bool()
    base, scaled = _as_layers(ray(1.0)), _as_layers(ray(rho))
    levels = _layer_levels(base, scaled, mask, rho)
    n_tokens = int(mask.sum()) if mask is not None else int(base[-1][..., 0].numel())
    return SaturationLevel(levels, rho, n_tokens, tuple(names), _scales_everything(ray))


def _scales_everything(ray: Ray) -> bool:
    if isinstance(ray.model, nn.Module):
        every = {n for n, _ in ray.model.named_parameters()}
    else:
        every = set(ray.params or {})
    return set(ray.scaled_names) == every


# -- batching --------------------------------------------------------------------------
def length_buckets(batch: Batch, batch_size: int = 16) -> list[tuple[torch.Tensor, Batch]]:
    """Split ``batch`` into sub-batches of similar length (sorted by length, each trimmed
    to its longest sequence), so little compute goes to padding. Returns (rows, sub-batch)
    pairs; ``rows`` index the original batch."""
    if batch_size < 1:
        raise HomogeneityInputError(f"batch_size={batch_size} must be ≥ 1")
    order = torch.argsort(batch.lengths.cpu(), stable=True)
    return [(order[i:i + batch_size], batch.select(order[i:i + batch_size]))
            for i in range(0, len(order), batch_size)]


def visible_keys(batch: Batch, causal: bool = False) -> torch.Tensor:
    """(batch, q, k) bool: key k is visible to query q (a real token; k ≤ q if causal)."""
    n = batch.ids.shape[1]
    keep = batch.padding_mask[:, None, :].expand(-1, n, -1)
    if causal:
        keep = keep & torch.ones(n, n, dtype=torch.bool, device=keep.device).tril()
    return keep


# -- attention statistics --------------------------------------------------------------
def attention_entropy(attn: torch.Tensor) -> torch.Tensor:
    """Entropy −Σ_k p_k ln p_k of every attention row (nats), with 0 ln 0 = 0.

    ``attn``: (..., q, k) probabilities; returns (..., q). A one-hot row has entropy 0, a
    uniform row over n positions ln n.
    """
    logs = torch.where(attn > 0, torch.log(attn.clamp_min(torch.finfo(attn.dtype).tiny)),
                       torch.zeros_like(attn))
    return -(attn * logs).sum(dim=-1)


class _TokenMean:
    """Running token-weighted means per layer, across batches."""

    def __init__(self) -> None:
        self.sums: list[float] = []
        self.count = 0

    def add(self, values: Sequence[float], n: int) -> None:
        if not self.sums:
            self.sums = [0.0] * len(values)
        self.sums = [s + v * n for s, v in zip(self.sums, values)]
        self.count += n

    def means(self) -> tuple[float, ...]:
        return tuple(s / self.count for s in self.sums)


def _cosines(a: list[torch.Tensor], b: list[torch.Tensor], mask: torch.Tensor,
             where: str) -> list[float]:
    return [mean_token_cosine(x, y, mask, where=f"{where}, layer {l}")
            for l, (x, y) in enumerate(zip(a, b))]


def _argmax_on_support(attentions: Sequence[torch.Tensor], reference: Sequence[torch.Tensor],
                       query_mask: torch.Tensor) -> list[float]:
    """Per layer, the fraction of (head, real query) rows whose largest weight lies on a
    key where the reference row is maximal (its hardmax support)."""
    out = []
    for a, r in zip(attentions, reference):
        top = a.argmax(dim=-1, keepdim=True)
        hit = torch.gather(r, -1, top).squeeze(-1) >= r.amax(dim=-1) * (1 - 1e-12)
        rows = query_mask[:, None, :].expand_as(hit)
        out.append(float(hit[rows].double().mean()))
    return out


def _row_entropy_mean(attentions: Sequence[torch.Tensor], query_mask: torch.Tensor
                      ) -> list[float]:
    """Mean attention entropy per layer over heads and real queries."""
    out = []
    for attn in attentions:
        h = attention_entropy(attn)                         # (B, H, Q)
        m = query_mask[:, None, :].expand_as(h)
        out.append(float(h[m].mean()))
    return out


# -- convergence along the ray ----------------------------------------------------------
#: ρ grid of the convergence diagnostics: 1 to 10⁴, three points per decade
DEFAULT_RHOS: tuple[float, ...] = tuple(float(10 ** (k / 3)) for k in range(13))
#: ρ at which the exact saturated forward stands in for its own ρ → ∞ limit (see
#: :func:`limit_trace`)
LIMIT_RHO = 1e8


@dataclass
class ConvergenceCurves:
    """Saturation diagnostics along the ray, per layer (token-weighted over all batches).

    ``saturation[i][l]``: mean cos(h_l(θ), h_l(ρ_i θ)) (D14 as a function of ρ).
    ``to_limit[i][l]``: mean cos(h_l(ρ_i θ), h_l^∞), h^∞ the limit direction of
    :func:`limit_trace` (None when the model has no exact saturated forward; then the
    reference is the last ρ of the grid and ``reference`` says so).
    ``entropy[i][l]``: mean attention entropy (nats) of layer l+1 at ρ_i, over heads and
    real queries; ``limit_entropy[l]`` the same for the limit attention.
    ``argmax_to_limit[i][l]``: fraction of (head, real query) rows of attention layer l+1
    whose largest weight at ρ_i falls on a key of the reference's hardmax support: the
    attention has "switched" to its limit choice. Argmax choices keep switching along
    the ray while the lower-degree terms (biases, the residual stream) still compete with
    the top-degree ones, which is what slows the convergence of later layers.
    ``head_kinds[i]``: how many heads are argmax-like / in-between / mean-like at ρ_i
    (:class:`HeadTypeRule`).
    ``breakdowns``: (ρ, message) for evaluations that overflowed (their entries are NaN).
    """

    rhos: tuple[float, ...]
    saturation: list[list[float]]
    to_limit: list[list[float]]
    entropy: list[list[float]]
    limit_entropy: list[float]
    reference: str
    argmax_to_limit: list[list[float]] = field(default_factory=list)
    head_kinds: list[dict[str, int]] = field(default_factory=list)
    breakdowns: list[tuple[float, str]] = field(default_factory=list)

    def converged_at(self, tol: float = 1e-3) -> list[float | None]:
        """Per layer, the smallest grid ρ from which on 1 − cos(h(ρθ), h^∞) ≤ ``tol`` at
        every larger grid ρ (None: not within the grid)."""
        return _first_from_which(self.rhos, [[1 - c for c in row] for row in self.to_limit],
                                 tol)

    def entropy_converged_at(self, tol: float = 1e-2) -> list[float | None]:
        """Per attention layer, the smallest grid ρ from which on the mean entropy stays
        within ``tol`` nats of its value at the largest grid ρ (a Cauchy criterion on the
        grid).

        Not the limit attention's entropy: where the top-degree scores of two keys tie
        exactly (tokens whose representations became identical once the lower-degree
        residual dropped out), the ray breaks the tie through lower-degree terms that the
        limit evaluation cannot resolve in float64, so the limit's entropy there is log of
        the tie size while the ray's goes to 0. ``limit_entropy`` is reported beside it.
        """
        last = self.entropy[-1]
        gaps = [[abs(h - h0) for h, h0 in zip(row, last)] for row in self.entropy]
        return _first_from_which(self.rhos, gaps, tol)


def _first_from_which(rhos: Sequence[float], gaps: list[list[float]], tol: float
                      ) -> list[float | None]:
    n_layers = len(gaps[0]) if gaps else 0
    out: list[float | None] = []
    for l in range(n_layers):
        first = None
        for i in range(len(rhos) - 1, -1, -1):
            g = gaps[i][l]
            if math.isfinite(g) and g <= tol:
                first = rhos[i]
            else:
                break
        out.append(first)
    return out


def limit_trace(adapter: ModelAdapter, batch: Batch, *, limit_rho: float = LIMIT_RHO,
                tie_tol: float = 0.0, dtype: torch.dtype = torch.float64) -> Trace:
    """The ρ → ∞ limit direction of every layer, from the exact saturated forward.

    The saturated forward s (hardmax attention, ReLU for GeLU, ε = 0) removes every
    *exponentially* vanishing difference between f(x; ρθ) and its limit, but when biases
    and residual sums mix degrees (BERT: a residual of degree 1 beside a branch of degree
    3, biases of lower degree than the weights they join), s(x; ρθ) still depends on ρ,
    with corrections of relative size O(1/ρ). Evaluated at ``limit_rho`` = 10⁸ those are
    below 10⁻⁸, which is what "the limit" means here; ties among the top-degree attention
    scores are broken by the lower-degree terms exactly as along the ray.
    """
    return adapter.ray(batch, saturated=True, tie_tol=tie_tol, dtype=dtype)(limit_rho)


def _check_finite_trace(trace: Trace) -> str | None:
    """None if every hidden state and attention map is finite, else what is not."""
    for l, h in enumerate(trace.hidden_states):
        if not bool(torch.isfinite(h).all()):
            return f"hidden state {l} has NaN/inf"
    for l, a in enumerate(trace.attentions):
        if not bool(torch.isfinite(a).all()):
            return f"attention of layer {l + 1} has NaN/inf"
    return None


def convergence_curves(model: ModelAdapter | Encoder, batches: Sequence[Batch],
                       rhos: Sequence[float] = DEFAULT_RHOS, *,
                       limit_rho: float = LIMIT_RHO, rule: HeadTypeRule | None = None,
                       dtype: torch.dtype = torch.float64) -> ConvergenceCurves:
    """Saturation level, distance to the limit and attention entropy along the ray.

    For each ρ in ``rhos`` (increasing) and each layer: D14 against ρ = 1, the cosine to
    the limit direction (:func:`limit_trace`, or the largest ρ of the grid when the model
    has no exact saturated forward), and the mean attention entropy. An evaluation that
    overflows is recorded in ``breakdowns`` with NaN entries instead of stopping the sweep.
    """
    adapter = adapter_for(model)
    rhos = [check_positive_scale(r, "rhos") for r in rhos]
    if not rhos or any(b <= a for a, b in zip(rhos, rhos[1:])):
        raise HomogeneityInputError("rhos must be a non-empty increasing sequence of ρ > 0")
    check_positive_scale(limit_rho, "limit_rho")
    sat = [_TokenMean() for _ in rhos]
    lim = [_TokenMean() for _ in rhos]
    ent = [_TokenMean() for _ in rhos]
    switched = [_TokenMean() for _ in rhos]
    lim_ent = _TokenMean()
    rule = rule or HeadTypeRule()
    kinds = [HeadStatistics(rule, None, adapter.causal, detail=False) for _ in rhos]
    breakdowns: list[tuple[float, str]] = []
    exact = adapter.supports_saturated
    batches = [b.to(adapter.device) for b in batches]
    if not batches:
        raise HomogeneityInputError("batches is empty; pass at least one Batch")
    ray = adapter.ray(batches, dtype=dtype)
    masks = [b.padding_mask for b in batches]
    n_toks = [int(m.sum()) for m in masks]
    bases = ray(1.0)
    if exact:
        references = adapter.ray(batches, saturated=True, dtype=dtype)(limit_rho)
    else:
        references = ray(rhos[-1])
    for reference, mask, n_tok in zip(references, masks, n_toks):
        problem = _check_finite_trace(reference)
        if problem:
            raise NumericalBreakdown(
                f"the reference evaluation at rho={limit_rho if exact else rhos[-1]:g} broke "
                f"down: {problem}")
        lim_ent.add(_row_entropy_mean(reference.attentions, mask), n_tok)
    for i, rho in enumerate(rhos):
        traces = ray(rho)
        where = f"rho={rho:g}"
        for batch, base, trace, reference, mask, n_tok in zip(
                batches, bases, traces, references, masks, n_toks):
            problem = _check_finite_trace(trace)
            n_l, n_a = len(trace.hidden_states), len(trace.attentions)
            if problem:
                breakdowns.append((rho, f"{problem} at rho={rho:g}"))
                sat[i].add([math.nan] * n_l, n_tok)
                lim[i].add([math.nan] * n_l, n_tok)
                ent[i].add([math.nan] * n_a, n_tok)
                switched[i].add([math.nan] * n_a, n_tok)
                continue
            sat[i].add(_cosines(base.hidden_states, trace.hidden_states, mask, where), n_tok)
            lim[i].add(_cosines(trace.hidden_states, reference.hidden_states, mask, where),
                       n_tok)
            ent[i].add(_row_entropy_mean(trace.attentions, mask), n_tok)
            switched[i].add(_argmax_on_support(trace.attentions, reference.attentions, mask),
                            n_tok)
            kinds[i].add(trace.attentions, batch)
        del traces
    head_kinds = [head_type_counts(k.result()) if k.has_data else {} for k in kinds]
    return ConvergenceCurves(
        tuple(rhos), [list(s.means()) for s in sat], [list(s.means()) for s in lim],
        [list(s.means()) for s in ent], list(lim_ent.means()),
        f"limit (exact saturated forward at rho={limit_rho:g})" if exact
        else f"largest grid rho={rhos[-1]:g}", [list(s.means()) for s in switched],
        head_kinds, breakdowns)


# -- head types (D8, E5) ---------------------------------------------------------------
#: D8's proxy: a key counts as attended when its weight exceeds this
ATTENDED_THRESHOLD = 1e-5
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
        return max(self.locations, key=self.locations.get) if self.locations else "n/a"


def key_locations(batch: Batch, special_tokens: Mapping[str, int] | None = None
                  ) -> tuple[torch.Tensor, tuple[str, ...]]:
    """(batch, q, k) int codes of where key k lies for query q, and the code names.

    Keys that are special tokens (``special_tokens``: name → id, e.g. {"[CLS]": 101,
    "[SEP]": 102}) get their name; other keys are ``same`` (k = q), ``previous``
    (k = q − 1), ``next`` (k = q + 1) or ``far``.
    """
    special_tokens = dict(special_tokens or {})
    names = tuple(special_tokens) + POSITION_KINDS
    n = batch.ids.shape[1]
    q = torch.arange(n, device=batch.ids.device)
    offset = q[None, :] - q[:, None]                         # k − q, (q, k)
    by_offset = torch.full((n, n), len(special_tokens) + 3, dtype=torch.long,
                           device=batch.ids.device)
    for code, off in ((0, 0), (1, -1), (2, 1)):
        by_offset[offset == off] = len(special_tokens) + code
    codes = by_offset[None].expand(batch.ids.shape[0], -1, -1).clone()
    for i, tid in enumerate(special_tokens.values()):
        is_special = (batch.ids == tid)[:, None, :].expand(-1, n, -1)
        codes[is_special] = i
    return codes, names


class HeadStatistics:
    """Accumulates :class:`HeadStats` for every head over batches of attention maps.

    ``detail=False`` skips the location split and the top-token table (enough to
    classify heads; used along the ρ grid).
    """

    def __init__(self, rule: HeadTypeRule = HeadTypeRule(),
                 special_tokens: Mapping[str, int] | None = None, causal: bool = False,
                 detail: bool = True) -> None:
        self.rule = rule
        self.special_tokens = dict(special_tokens or {})
        self.causal = causal
        self.detail = detail
        self._sums: dict[str, list[torch.Tensor]] = {}
        self._queries = 0
        self._token_mass: list[torch.Tensor] = []   # per layer (heads, max token id + 1)
        self.location_names: tuple[str, ...] = tuple(self.special_tokens) + POSITION_KINDS

    def add(self, attentions: Sequence[torch.Tensor], batch: Batch) -> None:
        """Add one batch: ``attentions[l]`` is (batch, heads, q, k) for layer l + 1."""
        keep = visible_keys(batch, self.causal)[:, None]          # (B, 1, Q, K)
        qmask = batch.padding_mask[:, None, :].to(torch.float64)  # (B, 1, Q)
        codes = key_locations(batch, self.special_tokens)[0][:, None] if self.detail else None
        n_kinds = len(self.location_names)
        for l, attn in enumerate(attentions):
            a = attn.to(torch.float64)
            n_visible = keep.sum(-1).to(a.dtype)                   # (B, 1, Q)
            attended = (a > self.rule.threshold) & keep
            n_att = attended.sum(-1).to(a.dtype)
            tv = 0.5 * (a - keep.to(a.dtype) / n_visible[..., None]).abs().sum(-1)
            per_row = {
                "attended": n_att, "visible": n_visible.expand_as(n_att),
                "attended_fraction": n_att / n_visible, "max_weight": a.amax(-1),
                "tv_to_uniform": tv, "entropy": attention_entropy(a),
            }
            totals = {k: (v * qmask).sum(dim=(0, 2)) for k, v in per_row.items()}   # (H,)
            if self.detail:
                index = codes.expand(a.shape)
                for key, values in (("loc", a), ("att", attended.to(a.dtype))):
                    split = torch.zeros(*a.shape[:-1], n_kinds, dtype=a.dtype,
                                        device=a.device).scatter_add_(-1, index, values)
                    totals[key] = (split * qmask[..., None]).sum(dim=(0, 2))     # (H, kinds)
                self._add_token_mass(l, a, batch, qmask)
            for key, total in totals.items():
                layers = self._sums.setdefault(key, [])
                if l == len(layers):
                    layers.append(total)
                else:
                    layers[l] = layers[l] + total
        self._queries += int(batch.padding_mask.sum())

    def _add_token_mass(self, layer: int, a: torch.Tensor, batch: Batch,
                        qmask: torch.Tensor) -> None:
        """Attention mass per key token id, summed over real queries: (heads, ids)."""
        mass = (a * qmask[..., None]).sum(dim=-2)                   # (B, H, K)
        n_heads = mass.shape[1]
        share = self._sums.setdefault("sink", [])
        top = mass.amax(dim=-1).sum(dim=0)                          # (H,)
        if layer == len(share):
            share.append(top)
        else:
            share[layer] = share[layer] + top
        ids = batch.ids.reshape(-1)
        size = int(ids.max()) + 1
        if layer == len(self._token_mass):
            self._token_mass.append(torch.zeros(n_heads, size, dtype=mass.dtype,
                                                device=mass.device))
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
        for l in range(n_layers):
            n_heads = self._sums["attended"][l].shape[0]
            for h in range(n_heads):
                m = {k: float(v[l][h]) / self._queries for k, v in self._sums.items()
                     if k not in ("loc", "att", "sink")}
                kind = self.rule.classify(m["attended"], m["attended_fraction"],
                                          m["tv_to_uniform"])
                if self.detail:
                    loc, att = (self._sums[k][l][h] / self._queries for k in ("loc", "att"))
                    locations = {n: float(loc[i]) for i, n in enumerate(self.location_names)}
                    attended_at = {n: float(att[i]) for i, n in enumerate(self.location_names)}
                    tokens = self._token_mass[l][h]
                    top = int(tokens.argmax())
                    top_mass = float(tokens[top]) / self._queries
                    sink = float(self._sums["sink"][l][h]) / self._queries
                else:
                    locations, attended_at, top, top_mass, sink = {}, {}, -1, 0.0, 0.0
                out.append(HeadStats(
                    l + 1, h, m["attended"], m["visible"], m["attended_fraction"],
                    m["max_weight"], m["tv_to_uniform"], m["entropy"], locations,
                    attended_at, kind, top, top_mass, sink))
        return out


def head_type_counts(heads: Sequence[HeadStats]) -> dict[str, int]:
    """How many heads of each kind (argmax-like, in-between, mean-like)."""
    counts = {k: 0 for k in HEAD_KINDS}
    for h in heads:
        counts[h.kind] += 1
    return counts


# -- finite-ρ proxy against the exact saturated forward -------------------------------
@dataclass
class SaturatedComparison:
    """How the finite-ρ proxy f(x; ρθ) relates to the exact saturated forward s, per layer.

    Cosines are token means over real tokens (index 0 is the embedding output):

    * ``proxy_vs_saturated_at_rho``: cos(f(ρθ), s(ρθ)). Same parameters; only softmax vs
      hardmax, GeLU vs ReLU and ε vs 0 differ, all exponentially small in ρ away from
      ties. This is where the exact form is *defined as the proxy's limit map*.
    * ``proxy_vs_limit``: cos(f(ρθ), h^∞) with h^∞ from :func:`limit_trace`: how far the
      proxy still is from the true ρ → ∞ direction.
    * ``proxy_vs_saturated_at_theta``: cos(f(ρθ), s(θ)): the components' saturated
      forward at the *unscaled* parameters. For an exactly homogeneous model s(θ) is the
      limit; with biases and post-norm residuals it is not (lower-degree terms that vanish
      along the ray are kept at full weight in s(θ)).
    * ``saturated_at_theta_vs_limit``: cos(s(θ), h^∞), the same point without the proxy.
    * ``level_at_limit``: cos(f(θ), h^∞): D14 with ρ = ∞.

    Attention, per attention layer, over (real query, head) rows:
    ``argmax_agreement``: the proxy's largest weight is on a key of the hardmax support of
    s(ρθ); ``max_abs_diff``: max |A_f(ρθ) − A_s(ρθ)|; ``unresolved``: fraction of rows
    whose proxy weights are not yet one-hot (largest weight < 1 − 10⁻⁵);
    ``tied``: fraction of rows whose limit attention has two or more maximal keys.
    """

    rho: float
    limit_rho: float
    proxy_vs_saturated_at_rho: tuple[float, ...]
    proxy_vs_limit: tuple[float, ...]
    proxy_vs_saturated_at_theta: tuple[float, ...]
    saturated_at_theta_vs_limit: tuple[float, ...]
    level_at_limit: tuple[float, ...]
    argmax_agreement: tuple[float, ...]
    max_abs_diff: tuple[float, ...]
    unresolved: tuple[float, ...]
    tied: tuple[float, ...]


def _attention_agreement(proxy: Sequence[torch.Tensor], saturated: Sequence[torch.Tensor],
                         limit: Sequence[torch.Tensor], query_mask: torch.Tensor
                         ) -> tuple[list[float], list[float], list[float], list[float]]:
    """Per layer: summed agreement, max |diff|, unresolved rows, tied rows (sums over rows)."""
    agree, diff, unresolved, tied = [], [], [], []
    for a_f, a_s, a_l in zip(proxy, saturated, limit):
        rows = query_mask[:, None, :].expand(a_f.shape[:-1])          # (B, H, Q)
        top = a_f.argmax(dim=-1, keepdim=True)
        on_support = torch.gather(a_s, -1, top).squeeze(-1) > 0
        agree.append(float(on_support[rows].sum()))
        diff.append(float((a_f - a_s).abs().amax(-1)[rows].max()))
        unresolved.append(float((a_f.amax(-1) < 1 - 1e-5)[rows].sum()))
        tied.append(float(((a_l > 0).sum(-1) > 1)[rows].sum()))
    return agree, diff, unresolved, tied


@dataclass
class SaturationAnalysis:
    """Everything the E3/E5 report needs from one model on a set of batches.

    ``level``: D14 per layer at ``rho``. ``heads_at_one``: head statistics of the model as
    it is (ρ = 1); ``heads_at_rho``: of the finite-ρ proxy; ``heads_at_limit``: of the
    exact limit attention (None without an exact saturated forward). ``exact``: the
    comparison of the proxy with the exact saturated forward (None likewise).
    """

    level: SaturationLevel
    heads_at_one: list[HeadStats]
    heads_at_rho: list[HeadStats]
    heads_at_limit: list[HeadStats] | None
    exact: SaturatedComparison | None


def analyse_saturation(model: ModelAdapter | Encoder, batches: Sequence[Batch], *,
                       rho: float = PAPER_RHO, special_tokens: Mapping[str, int] | None = None,
                       exact: bool = True, limit_rho: float = LIMIT_RHO,
                       rule: HeadTypeRule = HeadTypeRule(), tie_tol: float = 0.0,
                       dtype: torch.dtype = torch.float64) -> SaturationAnalysis:
    """D14 per layer, head types at ρ = 1, at ``rho`` and in the limit, and the comparison
    of the finite-ρ proxy with the exact saturated forward, in one pass over ``batches``.

    All parameters selected by the adapter are scaled (all of them by default, as in the
    paper). ``exact`` needs an adapter with ``supports_saturated``; it costs three more
    forward passes per batch (s(θ), s(ρθ), s(limit_rho·θ)).
    """
    adapter = adapter_for(model)
    rho = check_positive_scale(rho, "rho")
    exact = exact and adapter.supports_saturated
    level_mean = _TokenMean()
    comp = {k: _TokenMean() for k in ("sat_rho", "limit", "sat_theta", "theta_limit",
                                      "level_limit")}
    att_sums: list[list[float]] = [[], [], [], []]
    rows = 0
    stats = {name: HeadStatistics(rule, special_tokens, adapter.causal)
             for name in ("one", "rho", "limit")}
    batches = [b.to(adapter.device) for b in batches]
    if not batches:
        raise HomogeneityInputError("batches is empty; pass at least one Batch")
    ray = adapter.ray(batches, dtype=dtype)
    evaluations = {"f(1)": ray(1.0), f"f({rho:g})": ray(rho)}
    if exact:
        sat = adapter.ray(batches, saturated=True, tie_tol=tie_tol, dtype=dtype)
        evaluations.update({"s(1)": sat(1.0), f"s({rho:g})": sat(rho),
                            f"s({limit_rho:g})": sat(limit_rho)})
    for name, traces in evaluations.items():
        for trace in traces:
            problem = _check_finite_trace(trace)
            if problem:
                raise NumericalBreakdown(
                    f"{name} is not finite ({problem}); use float64 or a smaller rho")
    traces = list(evaluations.values())
    for i, batch in enumerate(batches):
        mask = batch.padding_mask
        n_tok = int(mask.sum())
        base, scaled = traces[0][i], traces[1][i]
        level_mean.add(_cosines(base.hidden_states, scaled.hidden_states, mask,
                                f"rho={rho:g}"), n_tok)
        stats["one"].add(base.attentions, batch)
        stats["rho"].add(scaled.attentions, batch)
        if exact:
            s_theta, s_rho, limit = traces[2][i], traces[3][i], traces[4][i]
            f, s1, sr, sl = (scaled.hidden_states, s_theta.hidden_states,
                             s_rho.hidden_states, limit.hidden_states)
            comp["sat_rho"].add(_cosines(f, sr, mask, "proxy vs s(rho)"), n_tok)
            comp["limit"].add(_cosines(f, sl, mask, "proxy vs limit"), n_tok)
            comp["sat_theta"].add(_cosines(f, s1, mask, "proxy vs s(theta)"), n_tok)
            comp["theta_limit"].add(_cosines(s1, sl, mask, "s(theta) vs limit"), n_tok)
            comp["level_limit"].add(_cosines(base.hidden_states, sl, mask, "D14 at limit"),
                                    n_tok)
            parts = _attention_agreement(scaled.attentions, s_rho.attentions,
                                         limit.attentions, mask)
            n_rows = n_tok * (scaled.attentions[0].shape[1] if scaled.attentions else 0)
            for acc, part in zip(att_sums, parts):
                if not acc:
                    acc.extend(part)
                elif acc is att_sums[1]:
                    acc[:] = [max(a, b) for a, b in zip(acc, part)]
                else:
                    acc[:] = [a + b for a, b in zip(acc, part)]
            rows += n_rows
            stats["limit"].add(limit.attentions, batch)
    ray_names = adapter.scaled_names()
    all_names = [n for n, _ in adapter.module.named_parameters()]
    level = SaturationLevel(level_mean.means(), rho, level_mean.count, tuple(ray_names),
                            len(ray_names) == len(all_names))
    comparison = None
    if exact:
        comparison = SaturatedComparison(
            rho, limit_rho, comp["sat_rho"].means(), comp["limit"].means(),
            comp["sat_theta"].means(), comp["theta_limit"].means(),
            comp["level_limit"].means(),
            tuple(a / rows for a in att_sums[0]), tuple(att_sums[1]),
            tuple(u / rows for u in att_sums[2]), tuple(t / rows for t in att_sums[3]))
    return SaturationAnalysis(level, stats["one"].result(), stats["rho"].result(),
                              stats["limit"].result() if exact else None, comparison)
