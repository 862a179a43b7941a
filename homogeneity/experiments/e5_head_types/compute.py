"""E5 (SPEC D8/E5) from the analyses of one pass: head-type counts per regime, where the
limit attention goes, broadcast heads and heads that read one token, per head."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from homogeneity.saturation import HEAD_KINDS, HeadStats, SaturationAnalysis, head_type_counts


@dataclass(frozen=True)
class RegimeCounts:
    """Head kinds of one model in one regime (ρ = 1, ρ, or the limit)."""

    model: str
    regime: str
    counts: dict[str, int]
    mean_attended: float
    mean_visible: float


@dataclass
class HeadTypes:
    """What E5 reports (tables in :mod:`~homogeneity.experiments.e5_head_types.report`).

    ``counts``: one entry per (model, regime) whose heads were captured;
    ``dominant_locations``: heads of the pretrained limit attention (ρ when there is no
    exact form) by the kind of key that gets most of their mass; ``broadcast_per_layer``:
    heads per layer whose one-key share is at least ½; ``one_token``: heads giving at least
    half their mass to one token, by token; ``per_head``: (ρ = 1, ρ, limit) statistics of
    each pretrained head; ``attention``: how the attention was obtained, or why not.
    """

    rho: float
    counts: list[RegimeCounts]
    dominant_locations: dict[str, int]
    broadcast_per_layer: dict[int, int]
    one_token: dict[str, int]
    per_head: list[tuple[HeadStats, HeadStats, HeadStats]]
    attention: str = ""
    token_texts: dict[int, str] = field(default_factory=dict)


def location_summary(heads: Sequence[HeadStats]) -> dict[str, int]:
    """How many heads send most of their attention mass to each kind of position."""
    counts: dict[str, int] = {}
    for h in heads:
        counts[h.dominant_location] = counts.get(h.dominant_location, 0) + 1
    return counts


def top_token_summary(heads: Sequence[HeadStats], token_texts: Mapping[int, str]) -> dict[str, int]:
    """How many heads put most of their mass on each token (when it gets ≥ 50%)."""
    counts: dict[str, int] = {}
    for h in heads:
        if h.top_token_mass >= 0.5:
            text = token_texts.get(h.top_token, "?")
            counts[text] = counts.get(text, 0) + 1
    return counts


def head_types(
    models: Sequence[tuple[str, SaturationAnalysis]],
    *,
    rho: float,
    token_texts: Mapping[int, str],
) -> HeadTypes | None:
    """E5 from (name, analysis) pairs, the first being the pretrained model; None when its
    attention was not captured."""
    counts = []
    for name, a in models:
        for regime, heads in (
            ("ρ=1", a.heads_at_one),
            (f"ρ={rho:g}", a.heads_at_rho),
            ("limit", a.heads_at_limit),
        ):
            if not heads:
                continue
            counts.append(
                RegimeCounts(
                    name,
                    regime,
                    head_type_counts(heads),
                    sum(h.attended for h in heads) / len(heads),
                    sum(h.visible for h in heads) / len(heads),
                )
            )
    first = models[0][1]
    if not first.heads_at_one or not first.heads_at_rho:
        return None
    limit = first.heads_at_limit or first.heads_at_rho
    layers = sorted({h.layer for h in limit})
    return HeadTypes(
        rho,
        counts,
        location_summary(limit),
        {
            layer: sum(1 for h in limit if h.layer == layer and h.top_key_share >= 0.5)
            for layer in layers
        },
        top_token_summary(limit, token_texts),
        list(zip(first.heads_at_one, first.heads_at_rho, limit, strict=True)),
        first.attention,
        dict(token_texts),
    )


__all__ = [
    "HEAD_KINDS",
    "HeadTypes",
    "RegimeCounts",
    "head_types",
    "location_summary",
    "top_token_summary",
]
