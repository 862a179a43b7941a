"""Convergence along the ray: saturation level, distance to the exact limit direction,
attention entropy, argmax switches and head types, as functions of ρ."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from homogeneity.adapters import Batch, ModelAdapter, Trace, adapter_for
from homogeneity.components.encoder import Encoder
from homogeneity.constants import CONVERGENCE_RHOS, LIMIT_RHO
from homogeneity.errors import HomogeneityInputError
from homogeneity.saturation.attention import argmax_on_support, mean_entropy_per_layer
from homogeneity.saturation.batching import TokenMean, check_finite_trace, layer_cosines
from homogeneity.saturation.heads import HeadStatistics, HeadTypeRule, head_type_counts
from homogeneity.saturation.level import NumericalBreakdown
from homogeneity.validation import check_positive_scale

#: ρ grid of the convergence diagnostics: 1 to 10⁴, three points per decade
DEFAULT_RHOS: tuple[float, ...] = CONVERGENCE_RHOS
#: ρ at which the exact saturated forward stands in for its own ρ → ∞ limit (see
#: :func:`limit_trace`)


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
        return _first_from_which(self.rhos, [[1 - c for c in row] for row in self.to_limit], tol)

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
        gaps = [[abs(h - h0) for h, h0 in zip(row, last, strict=True)] for row in self.entropy]
        return _first_from_which(self.rhos, gaps, tol)


def _first_from_which(
    rhos: Sequence[float], gaps: list[list[float]], tol: float
) -> list[float | None]:
    n_layers = len(gaps[0]) if gaps else 0
    out: list[float | None] = []
    for layer in range(n_layers):
        first = None
        for i in range(len(rhos) - 1, -1, -1):
            g = gaps[i][layer]
            if math.isfinite(g) and g <= tol:
                first = rhos[i]
            else:
                break
        out.append(first)
    return out


def limit_trace(
    adapter: ModelAdapter,
    batch: Batch,
    *,
    limit_rho: float = LIMIT_RHO,
    tie_tol: float = 0.0,
    dtype: torch.dtype = torch.float64,
) -> Trace:
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


def convergence_curves(
    model: ModelAdapter | Encoder,
    batches: Sequence[Batch],
    rhos: Sequence[float] = DEFAULT_RHOS,
    *,
    limit_rho: float = LIMIT_RHO,
    rule: HeadTypeRule | None = None,
    dtype: torch.dtype = torch.float64,
) -> ConvergenceCurves:
    """Saturation level, distance to the limit and attention entropy along the ray.

    For each ρ in ``rhos`` (increasing) and each layer: D14 against ρ = 1, the cosine to
    the limit direction (:func:`limit_trace`, or the largest ρ of the grid when the model
    has no exact saturated forward), and the mean attention entropy. An evaluation that
    overflows is recorded in ``breakdowns`` with NaN entries instead of stopping the sweep.
    """
    adapter = adapter_for(model)
    rhos = [check_positive_scale(r, "rhos") for r in rhos]
    if not rhos or any(b <= a for a, b in zip(rhos, rhos[1:], strict=False)):
        raise HomogeneityInputError("rhos must be a non-empty increasing sequence of ρ > 0")
    check_positive_scale(limit_rho, "limit_rho")
    sat = [TokenMean() for _ in rhos]
    lim = [TokenMean() for _ in rhos]
    ent = [TokenMean() for _ in rhos]
    switched = [TokenMean() for _ in rhos]
    lim_ent = TokenMean()
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
    for reference, mask, n_tok in zip(references, masks, n_toks, strict=True):
        problem = check_finite_trace(reference)
        if problem:
            raise NumericalBreakdown(
                f"the reference evaluation at rho={limit_rho if exact else rhos[-1]:g} broke "
                f"down: {problem}"
            )
        lim_ent.add(mean_entropy_per_layer(reference.attentions, mask), n_tok)
    for i, rho in enumerate(rhos):
        traces = ray(rho)
        where = f"rho={rho:g}"
        for batch, base, trace, reference, mask, n_tok in zip(
            batches, bases, traces, references, masks, n_toks, strict=True
        ):
            problem = check_finite_trace(trace)
            n_l, n_a = len(trace.hidden_states), len(trace.attentions)
            if problem:
                breakdowns.append((rho, f"{problem} at rho={rho:g}"))
                sat[i].add([math.nan] * n_l, n_tok)
                lim[i].add([math.nan] * n_l, n_tok)
                ent[i].add([math.nan] * n_a, n_tok)
                switched[i].add([math.nan] * n_a, n_tok)
                continue
            sat[i].add(layer_cosines(base.hidden_states, trace.hidden_states, mask, where), n_tok)
            lim[i].add(
                layer_cosines(trace.hidden_states, reference.hidden_states, mask, where), n_tok
            )
            ent[i].add(mean_entropy_per_layer(trace.attentions, mask), n_tok)
            switched[i].add(argmax_on_support(trace.attentions, reference.attentions, mask), n_tok)
            kinds[i].add(trace.attentions, batch)
        del traces
    head_kinds = [head_type_counts(k.result()) if k.has_data else {} for k in kinds]
    return ConvergenceCurves(
        tuple(rhos),
        [list(s.means()) for s in sat],
        [list(s.means()) for s in lim],
        [list(s.means()) for s in ent],
        list(lim_ent.means()),
        f"limit (exact saturated forward at rho={limit_rho:g})"
        if exact
        else f"largest grid rho={rhos[-1]:g}",
        [list(s.means()) for s in switched],
        head_kinds,
        breakdowns,
    )
