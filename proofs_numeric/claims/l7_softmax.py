"""L7: softmax saturates exponentially in ‖x‖ (refuted), and its gap form (L7*).

The paper's bound exp(−Θ(‖x‖)) cannot hold: softmax is invariant under x ↦ x + t·1, so
x_t = (t + 1, t) has ‖x_t‖ → ∞ while |softmax(c x_t)_0 − softmax(x_t)_0| → 1 − σ(1) ≈ 0.27
as c → ∞, for every t. Near ties (x = (t, t − ε)) give the same failure without the shift.
What does hold is a bound in the *gap* γ(x) = max − runner-up:

    |softmax(cx)_i − softmax(x)_i| ≤ max(1/|M|, (|V|−|M|)/|M|²) e^{−γ(x)}    (c ≥ 1),

because both values lie on the same side of argmax(x)_i, within the tail bound at ρ = 1
(softmax(ρx) moves toward argmax(x) with e^{−ργ} ≤ e^{−γ}). The rate 1 in γ is sharp
(the runner-up has weight ≥ e^{−γ}/|V| at c = 1 and → 0). Hence exp(−Θ(‖x‖)) holds
exactly on sets where γ(x) ≥ κ‖x‖ for some κ > 0.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import mpmath
from hypothesis import strategies as st

from proofs_numeric import case_schema as cs
from proofs_numeric.claim import CheckContext, Claim, Verdict
from proofs_numeric.precision import (
    exp_loss,
    guard_digits,
    norm2,
    softmax_difference,
    softmax_gap,
    softmax_tail_bound,
    working_precision,
)
from proofs_numeric.search import (
    PropertySearch,
    along_ray,
    check_property,
    log_margin,
    property_control,
    replay_control,
    scale_from_log10,
    with_ray,
)
from proofs_numeric.strategies import log10_scales, magnitudes, score_rows

#: The paper's Θ made checkable: a violation of exp(−d‖x‖) with this generous d on
#: ‖x‖ ≥ RHO_PROBE, along a family whose error does not shrink, refutes every d > 0.
D_PROBE, RHO_PROBE = 0.01, 100.0


def _max_deviation(x, keep, c, digits: int) -> Any:
    """max_i |softmax(cx)_i − softmax(x)_i|, cancellation-free (same maximisers): the
    margin can be as small as e^{−γ}, so the deviation needs full relative precision."""
    return max(abs(v) for v in softmax_difference(x, x, c, 1, keep, digits))


def _work(digits: int, x) -> int:
    """The guard digits of ``digits`` with e^{−spread} resolved next to 1."""
    return guard_digits(digits, exp_loss(max(x) - min(x)))


def paper_margin(case: Mapping[str, Any], digits: int) -> Any:
    """−d‖x‖ − ln max_i |softmax(cx)_i − softmax(x)_i| on ‖x‖ ≥ ρ (vacuous below)."""
    x = case["x"]
    work = _work(digits, x)
    with working_precision(work):
        norm = norm2(x, work)
        if norm < RHO_PROBE:
            return mpmath.inf
        c = scale_from_log10(case["log10_c"], work)
        return log_margin(mpmath.exp(-D_PROBE * norm), _max_deviation(x, None, c, work), work)


#: A refutation of L7 is replayed along x + t·1 for these t (softmax is shift-invariant,
#: so the deviation stays while ‖x‖ grows).
RAY_SHIFTS = (0.0, 1e3, 1e4)


def paper_ray(case: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The points x + t·1 (t ∈ RAY_SHIFTS) through an L7 counterexample."""
    return [{"x": [float(v) + t for v in case["x"]]} for t in RAY_SHIFTS]


def _identity(v: Any) -> Any:
    return v


def gap_margin(
    rate: float = 1.0, component: Callable[[Any], Any] = _identity
) -> Callable[[Mapping[str, Any], int], Any]:
    """ln(C e^{−rate·γ}) − ln max_i |softmax(c·φ(x))_i − softmax(φ(x))_i| (φ a mutation)."""

    def margin(case: Mapping[str, Any], digits: int) -> Any:
        x, keep = case["x"], case.get("keep")
        work = _work(digits, x)
        with working_precision(work):
            y = [component(mpmath.mpf(v)) for v in x]
            c = scale_from_log10(case["log10_c"], work)
            g = softmax_gap(x, keep, work)
            bound = softmax_tail_bound(x, 1, keep, digits=work)
            if rate != 1.0:
                bound = bound * mpmath.exp(-(rate - 1) * g)
            return log_margin(bound, _max_deviation(y, keep, c, work), work)

    return margin


#: a replayed case: ≤ 16 scores whose spread is ≤ 10^4 (the extra digits grow like the
#: spread / ln 10), c ≤ 10^400; L7* may mask positions
_ROW = cs.real_list(-1e7, 1e7, 1, 16)
PAPER_SCHEMA = cs.Where(
    cs.Record({"x": _ROW, "log10_c": cs.Real(0.0, 400.0)}),
    cs.spread_at_most("x", 1e4),
    "max − min of x must be ≤ 10^4",
)
GAP_SCHEMA = cs.Where(
    cs.Record(
        {"x": _ROW, "log10_c": cs.Real(0.0, 400.0)},
        optional={"keep": cs.Nullable(cs.ListOf(cs.Boolean(), 1, 16))},
    ),
    lambda c: cs.same_length("x", "keep")(c) and cs.spread_at_most("x", 1e4)(c),
    "x and keep must have one length, and max − min of x must be ≤ 10^4",
)


def _half(v: Any) -> Any:
    """Negative control: the scores at temperature 2."""
    return v / 2


PAPER_CONSTRUCTIONS = (
    {"x": [1001.0, 1000.0], "log10_c": 6.0},
    {"x": [500.0, 500.0 - 1e-6, 0.0], "log10_c": 12.0},
    {"x": [150.0, 0.0], "log10_c": 3.0},
)
GAP_CONSTRUCTIONS = (
    {"x": [1001.0, 1000.0], "keep": None, "log10_c": 6.0},
    {"x": [500.0, 500.0 - 1e-6, 0.0], "keep": None, "log10_c": 12.0},
    {"x": [3.0, 3.0, 0.0], "keep": None, "log10_c": 400.0},
    {"x": [3.0, 3.0, 3.0], "keep": None, "log10_c": 2.0},
    {"x": [0.0, -1e-9, 5.0], "keep": [True, True, False], "log10_c": 9.0},
    {"x": [1.0, 0.999, 0.5], "keep": None, "log10_c": 3.0},
    {"x": [40.0, 0.0, 0.0, 0.0, 0.0], "keep": None, "log10_c": 1.0},
)


def paper_cases() -> st.SearchStrategy[dict[str, Any]]:
    rows = score_rows(masked=False, offset=st.one_of(st.just(0.0), magnitudes(1, 4, signed=True)))
    return st.builds(lambda r, lc: {"x": r["scores"], "log10_c": lc}, rows, log10_scales(30))


def gap_cases() -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda r, lc: {"x": r["scores"], "keep": r["keep"], "log10_c": lc},
        score_rows(max_size=6),
        log10_scales(400),
    )


def paper_search() -> PropertySearch:
    return PropertySearch(
        claim_id="L7",
        strategy=paper_cases(),
        margin=paper_margin,
        search=(
            f"rows with chosen ties/gaps/offsets, c = 10^v; the Θ made checkable as "
            f"d = {D_PROBE} on ‖x‖ ≥ {RHO_PROBE:g}"
        ),
        constructions=PAPER_CONSTRUCTIONS,
        margin_label="−d‖x‖ − ln max_i |softmax(cx)_i − softmax(x)_i|",
        describe=lambda c: (
            f"x = {c['x']}, c = 10^{c['log10_c']}: the deviation does not "
            f"shrink along x + t·1 (softmax is shift-invariant) while ‖x‖ → ∞, "
            f"so no d > 0 works"
        ),
        ray=paper_ray,
    )


def gap_search(
    claim_id: str = "L7*",
    rate: float = 1.0,
    component: Callable[[Any], Any] = _identity,
    what: str = "",
) -> PropertySearch:
    return PropertySearch(
        claim_id=claim_id,
        strategy=gap_cases(),
        margin=gap_margin(rate, component),
        search=(
            "rows of 1–6 positions with chosen ties, gaps 1e−9…1e3, offsets to 1e6 and "
            "masks; c = 10^v, v ∈ [0, 400] incl. c → 1⁺" + (f"; {what}" if what else "")
        ),
        constructions=GAP_CONSTRUCTIONS,
        margin_label="ln(C e^{−γ}) − ln max_i |softmax(cx)_i − softmax(x)_i|",
        describe=lambda c: f"x = {c['x']}, keep = {c['keep']}, c = 10^{c['log10_c']}",
    )


def check_paper(ctx: CheckContext) -> Verdict:
    return check_property(paper_search(), ctx)


def check_gap(ctx: CheckContext) -> Verdict:
    return check_property(gap_search(), ctx)


CLAIMS = (
    Claim(
        id="L7",
        title="Softmax saturates exponentially in ‖x‖",
        statement=(
            "There are d > 0 and ρ such that for all n, all x ∈ ℝⁿ with ‖x‖ ≥ ρ, all "
            "c ≥ 1 and every i: |softmax(cx)_i − softmax(x)_i| ≤ exp(−d‖x‖) (the "
            "paper's exp(−Θ(‖x‖)) with its quantifiers)."
        ),
        expected="refuted",
        check=check_paper,
        replay=along_ray(paper_margin),
        case_schema=with_ray(PAPER_SCHEMA),
        describe=paper_search().describe,
        explanation=(
            "softmax(x + t·1) = softmax(x): the deviation at x = (t+1, t) is "
            "σ(c) − σ(1) → 0.27 for every t while ‖x‖ → ∞. Near-ties (t, t − ε) "
            "fail the same way. The norm is the wrong quantity: the gap γ(x) is "
            "the right one (L7*)."
        ),
        negative_controls=(
            replay_control(
                "a non-counterexample is not replayed as one",
                "x = (150, 0) has gap 150 = Θ(‖x‖): the replay must find the bound holds",
                {"x": [150.0, 0.0], "log10_c": 3.0},
                paper_margin,
            ),
        ),
    ),
    Claim(
        id="L7*",
        title="Softmax saturates exponentially in the gap",
        corrects="L7",
        statement=(
            "For all n, every x ∈ ℝⁿ, every mask with a visible position, all c ≥ 1 "
            "and every i: |softmax(cx)_i − softmax(x)_i| ≤ max(1/|M|, (|V|−|M|)/|M|²)"
            "·exp(−γ(x)), with M the visible maximisers, V the visible positions and "
            "γ(x) the gap between the maximum and the runner-up (0 when all tie). "
            "Hence the paper's exp(−Θ(‖x‖)) holds on every set where γ(x) ≥ κ‖x‖."
        ),
        expected="verified",
        check=check_gap,
        replay=gap_margin(),
        case_schema=GAP_SCHEMA,
        describe=gap_search().describe,
        explanation=(
            "Both softmax(cx)_i and softmax(x)_i lie between argmax(x)_i and the "
            "tail bound at ρ = 1. The rate 1 in γ is sharp."
        ),
        negative_controls=(
            property_control(
                "wrong rate e^{−1.05γ}",
                "a faster rate than the true one must be refuted (large gaps)",
                lambda: gap_search(rate=1.05, what="claimed rate 1.05γ"),
            ),
            property_control(
                "mutated component softmax(x/2)",
                "a softmax at temperature 2 converges at rate γ/2 and must violate the bound",
                lambda: gap_search(component=_half, what="softmax(x/2)"),
            ),
        ),
    ),
)
