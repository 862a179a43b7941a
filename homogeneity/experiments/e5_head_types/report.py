"""E5 tables: head-type counts per regime, where the limit attention goes, per head."""

from __future__ import annotations

from homogeneity.experiments.e5_head_types.compute import HeadTypes
from homogeneity.saturation import HEAD_KINDS, HeadTypeRule


def head_summary_table(result: HeadTypes, rule: HeadTypeRule) -> str:
    """Head-type counts (D8 proxy) at ρ = 1, ρ and in the limit, per model."""
    lines = [
        "Head types (D8: keys with weight > 1e-5 per query; rule: "
        f"argmax-like ≤ {rule.argmax_max_attended} attended, mean-like ≥ "
        f"{rule.mean_min_fraction:.0%} of visible keys and TV to uniform ≤ "
        f"{rule.mean_max_tv})",
        "model      | regime      | "
        + " | ".join(f"{k:>11}" for k in HEAD_KINDS)
        + " | mean attended | mean visible",
    ]
    for c in result.counts:
        lines.append(
            f"{c.model:<10} | {c.regime:<11} | "
            + " | ".join(f"{c.counts[k]:>11}" for k in HEAD_KINDS)
            + f" | {c.mean_attended:>13.2f} | {c.mean_visible:>12.1f}"
        )
    return "\n".join(lines)


def summary_lines(result: HeadTypes) -> list[str]:
    """Dominant locations, broadcast heads per layer, heads reading one token."""
    return [
        "Dominant location of the limit attention (heads): "
        + ", ".join(
            f"{k}: {v}" for k, v in sorted(result.dominant_locations.items(), key=lambda kv: -kv[1])
        ),
        "Broadcast heads (in each sentence ≥ 50% of all queries' limit attention goes to "
        "one key), per layer: "
        + ", ".join(f"layer {layer}: {n}" for layer, n in result.broadcast_per_layer.items()),
        "Heads whose limit attention gives ≥ 50% of its mass to one word piece: "
        + (
            ", ".join(
                f"{k!r}: {v}" for k, v in sorted(result.one_token.items(), key=lambda kv: -kv[1])
            )
            or "none"
        ),
    ]


def head_table(result: HeadTypes) -> str:
    """Per head of the pretrained model: D8 proxy and kind at ρ = 1, ρ, limit, and where
    the limit attention goes."""
    names = list(result.per_head[0][2].locations)
    lines = [
        "Per head (pretrained): attended keys per query at ρ=1 / ρ=1000 / limit, kind "
        "at each, and where the limit attention mass goes",
        "L.H  | att ρ=1 | att ρ=1000 | att lim | kind ρ=1    | kind ρ=1000 | kind lim    | "
        + " | ".join(f"{n:>8}" for n in names)
        + " | one-key share | top key token (mass)",
    ]
    for h1, hr, hl in result.per_head:
        lines.append(
            f"{h1.layer}.{h1.head:<2} | {h1.attended:>7.2f} | {hr.attended:>10.2f} | "
            f"{hl.attended:>7.2f} | {h1.kind:<11} | {hr.kind:<11} | {hl.kind:<11} | "
            + " | ".join(f"{hl.locations[n]:>8.2f}" for n in names)
            + f" | {hl.top_key_share:>13.2f}"
            + f" | {result.token_texts.get(hl.top_token, '?')} "
            f"({hl.top_token_mass:.2f})"
        )
    return "\n".join(lines)


def format_head_types(result: HeadTypes | None, rule: HeadTypeRule) -> list[str]:
    """The E5 sections of the printed report."""
    if result is None:
        return ["Head types: the attention of this model was not captured, so no head is counted"]
    return [head_summary_table(result, rule), *summary_lines(result), head_table(result)]
