"""Convergence along the ray: saturation level, distance to the exact limit direction,
attention entropy, argmax switches and head types, as functions of ρ.

One sweep of :class:`~homogeneity.saturation.walk.RayWalk` (the loop behind E3/E5 too):
it stops at the first evaluation that breaks down and records where
(:attr:`ConvergenceCurves.breakdown`); the reference and ρ = 1 are single points and raise
:class:`~homogeneity.errors.NumericalBreakdown`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from homogeneity.adapters import Batch, ModelAdapter, Trace, adapter_for
from homogeneity.components.encoder import Encoder
from homogeneity.constants import CONVERGENCE_RHOS, LIMIT_RHO
from homogeneity.errors import HomogeneityInputError, NumericalBreakdown
from homogeneity.saturation.heads import HeadTypeRule, head_type_counts
from homogeneity.saturation.walk import Breakdown, RayWalk, attention_captured, attention_note
from homogeneity.validation import check_positive_scale

#: ρ grid of the convergence diagnostics: 1 to 10⁴, three points per decade
DEFAULT_RHOS: tuple[float, ...] = CONVERGENCE_RHOS

__all__ = [
    "DEFAULT_RHOS",
    "LIMIT_RHO",
    "ConvergenceCurves",
    "convergence_curves",
    "limit_trace",
]


@dataclass
class ConvergenceCurves:
    """Saturation diagnostics along the ray, per layer (token-weighted over all batches).

    ``rhos``: the grid points evaluated (the grid up to the first breakdown).
    ``saturation[i][l]``: mean cos(h_l(θ), h_l(ρ_i θ)) (D14 as a function of ρ).
    ``to_limit[i][l]``: mean cos(h_l(ρ_i θ), h_l^∞), h^∞ the limit direction of
    :func:`limit_trace` (for a model without an exact saturated forward the reference is
    the largest ρ of the grid, and ``reference`` says so).
    ``entropy[i][l]``: mean attention entropy (nats) of layer l+1 at ρ_i, over heads and
    real queries; ``limit_entropy[l]`` the same for the reference attention.
    ``argmax_to_limit[i][l]``: share of (head, real query) rows of attention layer l+1
    whose largest weight at ρ_i lies on the reference's support (the package's one argmax
    agreement): the attention has "switched" to its limit choice. Argmax choices keep
    switching along the ray while the lower-degree terms (biases, the residual stream)
    still compete with the top-degree ones, which is what slows the convergence of later
    layers.
    ``head_kinds[i]``: how many heads are argmax-like / in-between / mean-like at ρ_i
    (:class:`HeadTypeRule`); empty when the attention was not captured.
    ``breakdown``: where the sweep stopped (None: the whole grid was evaluated).
    ``attention``: how the attention maps were obtained, or why there are none.
    """

    rhos: tuple[float, ...]
    saturation: list[list[float]]
    to_limit: list[list[float]]
    entropy: list[list[float]]
    limit_entropy: list[float]
    reference: str
    argmax_to_limit: list[list[float]] = field(default_factory=list)
    head_kinds: list[dict[str, int]] = field(default_factory=list)
    breakdown: Breakdown | None = None
    attention: str = ""
    #: what the evaluations did with ops below the working dtype ("" when none)
    low_precision: str = ""

    @property
    def breakdowns(self) -> list[tuple[float, str]]:
        """[(ρ, message)] of the breakdown that stopped the sweep (empty if none)."""
        return [] if self.breakdown is None else [(self.breakdown.rho, self.breakdown.message)]

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
        if not self.entropy:
            return []
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

    A single point of the ray: raises :class:`NumericalBreakdown` (with ``rho`` and the
    layer) if it overflows or gives a zero hidden vector, as every other one does.
    """
    walk = RayWalk(adapter, [batch], tie_tol=tie_tol, dtype=dtype)
    return walk.evaluate(limit_rho, saturated=True, label="the limit evaluation")[0]


def convergence_curves(
    model: ModelAdapter | Encoder | torch.nn.Module,
    batches: Sequence[Batch],
    rhos: Sequence[float] = DEFAULT_RHOS,
    *,
    limit_rho: float = LIMIT_RHO,
    rule: HeadTypeRule | None = None,
    tie_tol: float = 0.0,
    dtype: torch.dtype = torch.float64,
) -> ConvergenceCurves:
    """Saturation level, distance to the limit and attention entropy along the ray.

    For each ρ in ``rhos`` (increasing) and each layer: D14 against ρ = 1, the cosine to
    the limit direction (:func:`limit_trace`, or the largest ρ of the grid when the model
    has no exact saturated forward), the mean attention entropy, the argmax agreement
    with the limit and the head types. The sweep stops at the first evaluation that
    breaks down (recorded in ``breakdown``); ρ = 1 and the reference are single points
    and raise :class:`NumericalBreakdown`.
    """
    adapter = adapter_for(model)
    rhos = [check_positive_scale(r, "rhos") for r in rhos]
    if not rhos or any(b <= a for a, b in zip(rhos, rhos[1:], strict=False)):
        raise HomogeneityInputError("rhos must be a non-empty increasing sequence of ρ > 0")
    check_positive_scale(limit_rho, "limit_rho")
    walk = RayWalk(adapter, batches, rule=rule, tie_tol=tie_tol, dtype=dtype)
    base = walk.evaluate(1.0)
    exact = adapter.supports_saturated
    ref_rho = limit_rho if exact else rhos[-1]
    try:
        reference = walk.evaluate(ref_rho, saturated=exact, label="the reference evaluation")
    except NumericalBreakdown as exc:
        raise NumericalBreakdown(
            f"{exc}; the reference of the sweep must be finite",
            rho=exc.rho,
            where=exc.where,
            suggestion=exc.suggestion,
        ) from exc
    points, breakdown = walk.sweep(rhos, base, reference, heads=True, detail=False)
    return ConvergenceCurves(
        tuple(p.rho for p in points),
        [list(p.level) for p in points],
        [list(p.to_reference or ()) for p in points],
        [list(p.entropy) for p in points],
        list(walk.entropy(reference)) if attention_captured(reference) else [],
        f"limit (exact saturated forward at rho={limit_rho:g})"
        if exact
        else f"largest grid rho={rhos[-1]:g}",
        [list(p.argmax_to_reference or ()) for p in points],
        [head_type_counts(p.heads) if p.heads is not None else {} for p in points],
        breakdown,
        attention_note(base),
        walk.low_precision_note(),
    )
