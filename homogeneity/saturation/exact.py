"""The one-pass analysis behind E3/E5: D14 per layer, head statistics at ρ = 1, at ρ and
in the limit, and the finite-ρ proxy against the exact saturated forward.

Every evaluation is a single point of :class:`~homogeneity.saturation.walk.RayWalk` (the
same loop as the convergence curves), so one that breaks down raises
:class:`~homogeneity.errors.NumericalBreakdown` with its ρ and layer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from homogeneity.adapters import Batch, ModelAdapter, Trace, adapter_for
from homogeneity.components.encoder import Encoder
from homogeneity.constants import LIMIT_RHO, PAPER_RHO, RESOLVED_WEIGHT
from homogeneity.saturation.heads import HeadStats, HeadTypeRule
from homogeneity.saturation.level import SaturationLevel
from homogeneity.saturation.walk import RayWalk, attention_captured, attention_note
from homogeneity.validation import check_positive_scale


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
    ``argmax_agreement``: the proxy's largest weight is on a key of the support of s(ρθ)
    (the package's one argmax agreement, :mod:`homogeneity.saturation.attention`);
    ``argmax_to_limit``: the same against the limit attention; ``max_abs_diff``:
    max |A_f(ρθ) − A_s(ρθ)|; ``unresolved``: fraction of rows whose proxy weights are
    not yet one-hot (largest weight below
    :data:`~homogeneity.constants.RESOLVED_WEIGHT` = 1 − 10⁻⁵);
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
    argmax_to_limit: tuple[float, ...] = ()


def _attention_differences(
    walk: RayWalk, proxy: list[Trace], saturated: list[Trace], limit: list[Trace]
) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
    """Per attention layer, over (head, real query) rows: max |A_f − A_s|, the share of
    unresolved proxy rows, the share of tied limit rows."""
    diff: list[float] = []
    unresolved: list[float] = []
    tied: list[float] = []
    rows = 0
    for f, s, lim, mask in zip(proxy, saturated, limit, walk.masks, strict=True):
        for layer, (a_f, a_s, a_l) in enumerate(
            zip(f.attentions, s.attentions, lim.attentions, strict=True)
        ):
            keep = mask[:, None, :].expand(a_f.shape[:-1])  # (B, H, Q)
            d = float((a_f - a_s).abs().amax(-1)[keep].max())
            u = float((a_f.amax(-1) < RESOLVED_WEIGHT)[keep].sum())
            t = float(((a_l > 0).sum(-1) > 1)[keep].sum())
            if layer == len(diff):
                diff.append(d)
                unresolved.append(u)
                tied.append(t)
            else:
                diff[layer] = max(diff[layer], d)
                unresolved[layer] += u
                tied[layer] += t
        rows += int(mask.sum()) * (f.attentions[0].shape[1] if f.attentions else 0)
    return (
        tuple(diff),
        tuple(u / rows for u in unresolved),
        tuple(t / rows for t in tied),
    )


@dataclass
class SaturationAnalysis:
    """Everything the E3/E5 report needs from one model on a set of batches.

    ``level``: D14 per layer at ``rho``. ``heads_at_one``: head statistics of the model as
    it is (ρ = 1); ``heads_at_rho``: of the finite-ρ proxy; ``heads_at_limit``: of the
    exact limit attention (None without an exact saturated forward). Every ``heads_*`` is
    None when the model's attention was not captured, and ``attention`` says why (it
    says how they were obtained otherwise). ``exact``: the comparison of the proxy with
    the exact saturated forward (None without one). ``low_precision``: what the
    evaluations did with ops below the working dtype (lifted, or kept with their noise
    floor; "" when the model has none).
    """

    level: SaturationLevel
    heads_at_one: list[HeadStats] | None
    heads_at_rho: list[HeadStats] | None
    heads_at_limit: list[HeadStats] | None
    exact: SaturatedComparison | None
    attention: str = ""
    low_precision: str = ""


def analyse_saturation(
    model: ModelAdapter | Encoder | torch.nn.Module,
    batches: Sequence[Batch],
    *,
    rho: float = PAPER_RHO,
    special_tokens: Mapping[str, int] | None = None,
    exact: bool = True,
    limit_rho: float = LIMIT_RHO,
    rule: HeadTypeRule | None = None,
    tie_tol: float = 0.0,
    dtype: torch.dtype = torch.float64,
) -> SaturationAnalysis:
    """D14 per layer, head types at ρ = 1, at ``rho`` and in the limit, and the comparison
    of the finite-ρ proxy with the exact saturated forward, in one pass over ``batches``.

    All parameters selected by the adapter are scaled (all of them by default, as in the
    paper). ``exact`` needs an adapter with ``supports_saturated`` (every adapter but
    :class:`~homogeneity.adapters.FunctionAdapter`); it costs three more forward passes
    per batch (s(θ), s(ρθ), s(limit_rho·θ)). Raises :class:`NumericalBreakdown` if an
    evaluation breaks down.
    """
    adapter = adapter_for(model)
    rho = check_positive_scale(rho, "rho")
    check_positive_scale(limit_rho, "limit_rho")
    exact = exact and adapter.supports_saturated
    walk = RayWalk(
        adapter, batches, special_tokens=special_tokens, rule=rule, tie_tol=tie_tol, dtype=dtype
    )
    base = walk.evaluate(1.0)
    scaled = walk.evaluate(rho)
    limit = walk.evaluate(limit_rho, saturated=True) if exact else None
    at_one = walk.measure(1.0, base, base, limit, heads=True, detail=True)
    at_rho = walk.measure(rho, scaled, base, limit, heads=True, detail=True)
    level = SaturationLevel(
        at_rho.level,
        rho,
        sum(walk.n_tokens),
        tuple(adapter.scaled_names()),
        adapter.all_scaled(),
        output=adapter.describe().get("hidden_states", ""),
    )
    comparison = None
    heads_at_limit = None
    if exact:
        assert limit is not None
        s_theta = walk.evaluate(1.0, saturated=True)
        s_rho = walk.evaluate(rho, saturated=True)
        captured = attention_captured(scaled)
        diff, unresolved, tied = (
            _attention_differences(walk, scaled, s_rho, limit) if captured else ((), (), ())
        )
        comparison = SaturatedComparison(
            rho,
            limit_rho,
            walk.cosines(scaled, s_rho, "proxy vs s(rho)"),
            at_rho.to_reference or (),
            walk.cosines(scaled, s_theta, "proxy vs s(theta)"),
            walk.cosines(s_theta, limit, "s(theta) vs limit"),
            at_one.to_reference or (),
            walk.argmax_agreement(scaled, s_rho) if captured else (),
            diff,
            unresolved,
            tied,
            at_rho.argmax_to_reference or (),
        )
        heads_at_limit = walk.head_statistics(limit, detail=True)
    note = walk.low_precision_note()
    return SaturationAnalysis(
        dataclasses.replace(level, low_precision=note),
        at_one.heads,
        at_rho.heads,
        heads_at_limit,
        comparison,
        attention_note(base),
        note,
    )
