"""D7: the generalised argmax (ties share the weight, masked positions never win) is the
ρ → ∞ limit of softmax(ρ·a).

Checked through the closed-form tail bound of :mod:`proofs_numeric.precision`: for every
row a, mask with a visible position, and ρ > 0,

    max_j |softmax(ρa)_j − argmax(a)_j| ≤ C e^{−ργ},  C = max(1/|M|, (|V|−|M|)/|M|²),

proved per case in interval arithmetic (the deviation is enclosed without cancellation).
Since γ > 0 (or the deviation is exactly 0 when all visible scores tie), the bound tends
to 0, so argmax(a) is the limit; masked positions carry weight exactly 0 at every ρ.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Any

import mpmath
from hypothesis import strategies as st

from proofs_numeric import case_schema as cs
from proofs_numeric.claim import CheckContext, Claim, Verdict
from proofs_numeric.precision import argmax_fractions, softmax_deviation_ratio
from proofs_numeric.search import (
    PropertySearch,
    check_property,
    log_margin,
    property_control,
    scale_from_log10,
)
from proofs_numeric.strategies import score_rows

LimitFn = Callable[[Sequence[float], Sequence[bool]], list[Fraction]]


def first_index_argmax(scores: Sequence[float], keep: Sequence[bool]) -> list[Fraction]:
    """Negative control: one-hot on the first visible maximiser (ties not shared)."""
    winners = argmax_fractions(scores, keep)
    first = next(j for j, w in enumerate(winners) if w > 0)
    return [Fraction(1) if j == first else Fraction(0) for j in range(len(scores))]


def mask_blind_argmax(scores: Sequence[float], keep: Sequence[bool]) -> list[Fraction]:
    """Negative control: the argmax taken over every position, masked ones included."""
    return argmax_fractions(scores, None)


def limit_margin(limit: LimitFn) -> Callable[[Mapping[str, Any], int], Any]:
    """−ln of the upper end of the enclosure of max_j |softmax(ρa)_j − L_j| / (C e^{−ργ}):
    ≥ 0 iff the deviation from the claimed limit L is proved within the tail bound."""

    def margin(case: Mapping[str, Any], digits: int) -> Any:
        scores, keep = case["scores"], case["keep"]
        rho = scale_from_log10(case["log10_rho"])
        _, hi = softmax_deviation_ratio(scores, rho, limit(scores, keep), keep, digits)
        return log_margin(mpmath.mpf(1), hi)

    return margin


#: a replayed case: ≤ 16 scores (interval arithmetic at fixed digits: their size does not
#: set the precision) with a keep mask of the same length, ρ = 10^u, u ∈ [−3, 400]
CASE_SCHEMA = cs.Where(
    cs.Record(
        {
            "scores": cs.real_list(-1e7, 1e7, 1, 16),
            "keep": cs.ListOf(cs.Boolean(), 1, 16),
            "log10_rho": cs.Real(-3.0, 400.0),
        }
    ),
    cs.same_length("scores", "keep"),
    "scores and keep must have one length",
)

CONSTRUCTIONS = (
    {"scores": [1.0, 0.999, 0.5], "keep": [True, True, True], "log10_rho": 3.0},
    {"scores": [2.0, 2.0, 0.0], "keep": [True, True, True], "log10_rho": 1.0},
    {"scores": [2.0, 2.0, 2.0], "keep": [True, True, True], "log10_rho": 0.0},
    {"scores": [5.0, 1.0, 1.0, 0.0], "keep": [False, True, True, True], "log10_rho": 2.0},
    {"scores": [9.0, 3.0, 3.0, 3.0], "keep": [False, True, True, False], "log10_rho": 400.0},
    {"scores": [1e6 + 1.0, 1e6, 0.0], "keep": [True, True, True], "log10_rho": 400.0},
)


def cases() -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda row, lr: {"scores": row["scores"], "keep": row["keep"], "log10_rho": lr},
        score_rows(max_size=6),
        st.floats(-1.0, 400.0),
    )


def search(limit: LimitFn, what: str) -> PropertySearch:
    return PropertySearch(
        claim_id="D7",
        strategy=cases(),
        margin=limit_margin(limit),
        search=f"score rows (1–6 positions, chosen ties, gaps 1e−9…1e3, offsets to 1e6, "
        f"masks), ρ = 10^u with u ∈ [−1, 400]; claimed limit: {what}",
        constructions=CONSTRUCTIONS,
        margin_label="−ln(max_j |softmax(ρa)_j − L_j| / (C e^{−ργ})), upper end of an "
        "interval enclosure",
        precision="mpmath.iv interval arithmetic",
        describe=lambda c: f"scores {c['scores']}, keep {c['keep']}, ρ = 10^{c['log10_rho']}",
    )


def check(ctx: CheckContext) -> Verdict:
    return check_property(
        search(argmax_fractions, "generalised argmax (D7)"),
        ctx,
        notes="Interval enclosures prove the bound for every case tried; "
        "the bound → 0 as ρ → ∞ because γ > 0.",
    )


CLAIMS = (
    Claim(
        id="D7",
        title="Generalised argmax is the limit of softmax(ρa)",
        statement=(
            "For every row a ∈ ℝⁿ and mask with at least one visible position, "
            "lim_{ρ→∞} softmax(ρa) = argmax(a), the uniform distribution on the "
            "visible maximisers M(a); masked positions get weight 0 at every ρ and "
            "in the limit. Checked in the quantitative form: for all ρ > 0, "
            "max_j |softmax(ρa)_j − argmax(a)_j| ≤ max(1/|M|, (|V|−|M|)/|M|²)·e^{−ργ} "
            "with γ the gap between the maximum and the runner-up."
        ),
        expected="verified",
        check=check,
        replay=limit_margin(argmax_fractions),
        case_schema=CASE_SCHEMA,
        negative_controls=(
            property_control(
                "first-index argmax",
                "a limit that gives all weight to the first maximiser (torch.argmax) must "
                "be refuted on tied rows",
                lambda: search(first_index_argmax, "one-hot first maximiser"),
            ),
            property_control(
                "mask-blind argmax",
                "an argmax that lets masked positions win must be refuted",
                lambda: search(mask_blind_argmax, "argmax over all positions"),
            ),
        ),
    ),
)
