"""The finite-ρ proxy against the exact saturated forward, and the one-pass analysis that
E3/E5 need: D14 per layer, head statistics at ρ = 1, at ρ and in the limit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from homogeneity.adapters import Batch, ModelAdapter, adapter_for
from homogeneity.components.encoder import Encoder
from homogeneity.constants import RESOLVED_WEIGHT
from homogeneity.errors import HomogeneityInputError
from homogeneity.saturation.batching import TokenMean, check_finite_trace, layer_cosines
from homogeneity.saturation.convergence import LIMIT_RHO
from homogeneity.saturation.heads import HeadStatistics, HeadStats, HeadTypeRule
from homogeneity.saturation.level import PAPER_RHO, NumericalBreakdown, SaturationLevel
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
    ``argmax_agreement``: the proxy's largest weight is on a key of the hardmax support of
    s(ρθ); ``max_abs_diff``: max |A_f(ρθ) − A_s(ρθ)|; ``unresolved``: fraction of rows
    whose proxy weights are not yet one-hot (largest weight below
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


def _attention_agreement(
    proxy: Sequence[torch.Tensor],
    saturated: Sequence[torch.Tensor],
    limit: Sequence[torch.Tensor],
    query_mask: torch.Tensor,
) -> tuple[list[float], list[float], list[float], list[float]]:
    """Per layer: summed agreement, max |diff|, unresolved rows, tied rows (sums over rows)."""
    agree, diff, unresolved, tied = [], [], [], []
    for a_f, a_s, a_l in zip(proxy, saturated, limit, strict=True):
        rows = query_mask[:, None, :].expand(a_f.shape[:-1])  # (B, H, Q)
        top = a_f.argmax(dim=-1, keepdim=True)
        on_support = torch.gather(a_s, -1, top).squeeze(-1) > 0
        agree.append(float(on_support[rows].sum()))
        diff.append(float((a_f - a_s).abs().amax(-1)[rows].max()))
        unresolved.append(float((a_f.amax(-1) < RESOLVED_WEIGHT)[rows].sum()))
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


def analyse_saturation(
    model: ModelAdapter | Encoder,
    batches: Sequence[Batch],
    *,
    rho: float = PAPER_RHO,
    special_tokens: Mapping[str, int] | None = None,
    exact: bool = True,
    limit_rho: float = LIMIT_RHO,
    rule: HeadTypeRule = HeadTypeRule(),
    tie_tol: float = 0.0,
    dtype: torch.dtype = torch.float64,
) -> SaturationAnalysis:
    """D14 per layer, head types at ρ = 1, at ``rho`` and in the limit, and the comparison
    of the finite-ρ proxy with the exact saturated forward, in one pass over ``batches``.

    All parameters selected by the adapter are scaled (all of them by default, as in the
    paper). ``exact`` needs an adapter with ``supports_saturated``; it costs three more
    forward passes per batch (s(θ), s(ρθ), s(limit_rho·θ)).
    """
    adapter = adapter_for(model)
    rho = check_positive_scale(rho, "rho")
    exact = exact and adapter.supports_saturated
    level_mean = TokenMean()
    comp = {k: TokenMean() for k in ("sat_rho", "limit", "sat_theta", "theta_limit", "level_limit")}
    att_sums: list[list[float]] = [[], [], [], []]
    rows = 0
    stats = {
        name: HeadStatistics(rule, special_tokens, adapter.causal)
        for name in ("one", "rho", "limit")
    }
    batches = [b.to(adapter.device) for b in batches]
    if not batches:
        raise HomogeneityInputError("batches is empty; pass at least one Batch")
    ray = adapter.ray(batches, dtype=dtype)
    evaluations = {"f(1)": ray(1.0), f"f({rho:g})": ray(rho)}
    if exact:
        sat = adapter.ray(batches, saturated=True, tie_tol=tie_tol, dtype=dtype)
        evaluations.update(
            {"s(1)": sat(1.0), f"s({rho:g})": sat(rho), f"s({limit_rho:g})": sat(limit_rho)}
        )
    for name, traces in evaluations.items():
        for trace in traces:
            problem = check_finite_trace(trace)
            if problem:
                raise NumericalBreakdown(
                    f"{name} is not finite ({problem}); use float64 or a smaller rho"
                )
    traces = list(evaluations.values())
    for i, batch in enumerate(batches):
        mask = batch.padding_mask
        n_tok = int(mask.sum())
        base, scaled = traces[0][i], traces[1][i]
        level_mean.add(
            layer_cosines(base.hidden_states, scaled.hidden_states, mask, f"rho={rho:g}"), n_tok
        )
        stats["one"].add(base.attentions, batch)
        stats["rho"].add(scaled.attentions, batch)
        if exact:
            s_theta, s_rho, limit = traces[2][i], traces[3][i], traces[4][i]
            f, s1, sr, sl = (
                scaled.hidden_states,
                s_theta.hidden_states,
                s_rho.hidden_states,
                limit.hidden_states,
            )
            comp["sat_rho"].add(layer_cosines(f, sr, mask, "proxy vs s(rho)"), n_tok)
            comp["limit"].add(layer_cosines(f, sl, mask, "proxy vs limit"), n_tok)
            comp["sat_theta"].add(layer_cosines(f, s1, mask, "proxy vs s(theta)"), n_tok)
            comp["theta_limit"].add(layer_cosines(s1, sl, mask, "s(theta) vs limit"), n_tok)
            comp["level_limit"].add(
                layer_cosines(base.hidden_states, sl, mask, "D14 at limit"), n_tok
            )
            parts = _attention_agreement(
                scaled.attentions, s_rho.attentions, limit.attentions, mask
            )
            n_rows = n_tok * (scaled.attentions[0].shape[1] if scaled.attentions else 0)
            for acc, part in zip(att_sums, parts, strict=True):
                if not acc:
                    acc.extend(part)
                elif acc is att_sums[1]:
                    acc[:] = [max(a, b) for a, b in zip(acc, part, strict=True)]
                else:
                    acc[:] = [a + b for a, b in zip(acc, part, strict=True)]
            rows += n_rows
            stats["limit"].add(limit.attentions, batch)
    ray_names = adapter.scaled_names()
    all_names = [n for n, _ in adapter.module.named_parameters()]
    level = SaturationLevel(
        level_mean.means(),
        rho,
        level_mean.count,
        tuple(ray_names),
        len(ray_names) == len(all_names),
    )
    comparison = None
    if exact:
        comparison = SaturatedComparison(
            rho,
            limit_rho,
            comp["sat_rho"].means(),
            comp["limit"].means(),
            comp["sat_theta"].means(),
            comp["theta_limit"].means(),
            comp["level_limit"].means(),
            tuple(a / rows for a in att_sums[0]),
            tuple(att_sums[1]),
            tuple(u / rows for u in att_sums[2]),
            tuple(t / rows for t in att_sums[3]),
        )
    return SaturationAnalysis(
        level,
        stats["one"].result(),
        stats["rho"].result(),
        stats["limit"].result() if exact else None,
        comparison,
    )
