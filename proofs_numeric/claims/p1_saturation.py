"""P1/P2: norm growth implies saturation — refuted at ties, and P1* with a rate.

Setting (the degree-2 core of attention): θ = (w, u₁, …, u_n) ∈ ℝ^{d(n+1)}, scores
S_j(θ) = w·u_j, f(θ) = softmax(S(θ)); s_f(θ′) = lim_c f(cθ′) = argmax(S(θ′)) (D7).
D4 reads "θ_t → c(t)θ′": we take the strongest reading, ‖θ_t − c(t)θ′‖ → 0.

Counterexample. If S(θ′) has a tie S₁ = S₂ at the top, take θ_t = tθ′ + t^{−1/2} v.
Then S₁(θ_t) − S₂(θ_t) = t^{1/2} [w′·(v₁ − v₂) + v_w·(u′₁ − u′₂)] + O(1/t) → ±∞, so f(θ_t)
tends to a one-hot vector while s_f(θ′) splits the weight: |f(θ_t) − s_f(θ′)| → 1/2 although
θ_t/t → θ′ and even θ_t − tθ′ → 0. The saturated network is discontinuous at ties, and
norm growth selects a tie-break the limit of D1 does not see.

P1* (quantitative, unique maximisers). For θ_t = cθ′ + e with ‖e‖ ≤ E (each block), the
scores move by at most Δ(c) = cE(‖w′‖ + max_j‖u′_j‖) + E², so if every score row of θ′
has a unique maximiser with gap γ > 0 and c²γ > 2Δ(c):

    ‖f(cθ′ + e) − s_f(θ′)‖_∞ ≤ (n − 1) e^{−(c²γ − 2Δ(c))}  → 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import mpmath
from hypothesis import assume
from hypothesis import strategies as st

from proofs_numeric import case_schema as cs
from proofs_numeric.claim import Claim
from proofs_numeric.precision import (
    argmax_set,
    dot,
    generalised_argmax,
    guard_digits,
    norm2,
    softmax,
    softmax_deficit,
    softmax_gap,
    working_precision,
)
from proofs_numeric.search import (
    PropertySearch,
    check_property,
    log_margin,
    property_control,
    replay_control,
)

DELTA_PROBE = mpmath.mpf("0.1")
T_GRID = (6, 9, 12)  # log10 t


def _scores(w: Sequence[Any], us: Sequence[Sequence[Any]], digits: int) -> list[Any]:
    return [dot(w, u, digits) for u in us]


def perturbed_scores(w, us, ew, eus, c, digits: int) -> list[Any]:
    """S_j(cθ′ + e) = c² S′_j + c(w′·e_j + e_w·u′_j) + e_w·e_j, expanded so that exact ties
    of S′ stay exact under the c² factor (no rounding tie-break)."""
    base = _scores(w, us, digits)
    with working_precision(digits):
        return [
            c * c * s0 + c * (dot(w, ej, digits) + dot(ew, uj, digits)) + dot(ew, ej, digits)
            for s0, uj, ej in zip(base, us, eus, strict=True)
        ]


def deviation_from_limit(scores: Sequence[Any], limit_scores: Sequence[Any], digits: int) -> Any:
    """‖softmax(scores) − argmax(limit_scores)‖_∞ without cancellation: through the
    deficits of :func:`softmax_deficit` when both rows have the same maximisers."""
    winners, deficit = softmax_deficit(scores, digits=digits)
    if winners == argmax_set(limit_scores, digits=digits):
        return max(deficit)
    with working_precision(digits):
        return max(
            abs(x - y)
            for x, y in zip(
                softmax(scores, digits=digits),
                generalised_argmax(limit_scores, digits=digits),
                strict=True,
            )
        )


def _paper_work(digits: int) -> int:
    """Scores of size t² (t ≤ 10^{max T_GRID}) must keep their absolute accuracy."""
    return guard_digits(digits, 2 * max(T_GRID))


def paper_margin(case: Mapping[str, Any], digits: int) -> Any:
    """ln δ − ln min_t ‖f(θ_t) − s_f(θ′)‖_∞ over t = 10^6, 10^9, 10^12 (< 0: no convergence)."""
    work = _paper_work(digits)
    with working_precision(work):
        w = [mpmath.mpf(x) for x in case["w"]]
        us = [[mpmath.mpf(x) for x in u] for u in case["us"]]
        vw = [mpmath.mpf(x) for x in case["vw"]]
        vus = [[mpmath.mpf(x) for x in u] for u in case["vus"]]
        worst = mpmath.inf
        for lt in T_GRID:
            t = mpmath.power(10, lt)
            eps = mpmath.power(t, -mpmath.mpf(case.get("alpha", 0.5)))
            scores = perturbed_scores(
                w, us, [eps * b for b in vw], [[eps * b for b in v] for v in vus], t, work
            )
            dev = deviation_from_limit(scores, _scores(w, us, work), work)
            worst = min(worst, dev)
        return log_margin(DELTA_PROBE, worst, work)


def corrected_margin(allow_ties: bool = False, ignore_perturbation: bool = False):
    def margin(case: Mapping[str, Any], digits: int) -> Any:
        # scores of size c² (c ≤ 10^3) keep their absolute accuracy
        work = guard_digits(digits, 2 * float(case["log10_c"]))
        with working_precision(work):
            w = [mpmath.mpf(x) for x in case["w"]]
            us = [[mpmath.mpf(x) for x in u] for u in case["us"]]
            s = _scores(w, us, work)
            if len(argmax_set(s, digits=work)) > 1 and not allow_ties:
                return mpmath.inf  # a tie: outside P1*
            gamma = softmax_gap(s, digits=work)
            c, big_e = mpmath.power(10, mpmath.mpf(case["log10_c"])), mpmath.mpf(case["E"])
            delta = c * big_e * (norm2(w, work) + max(norm2(u, work) for u in us)) + big_e**2
            eff = c * c * gamma - (0 if ignore_perturbation else 2 * delta)
            if not eff > 0:
                return mpmath.inf  # c too small for the bound: vacuous
            vw = [mpmath.mpf(x) for x in case["vw"]]
            vus = [[mpmath.mpf(x) for x in u] for u in case["vus"]]
            biggest = max(norm2(vw, work), max(norm2(v, work) for v in vus))
            scale = big_e / biggest if biggest > 0 else mpmath.mpf(0)  # ‖e‖ ≤ E per block
            scores = perturbed_scores(
                w, us, [scale * b for b in vw], [[scale * b for b in v] for v in vus], c, work
            )
            dev = deviation_from_limit(scores, s, work)
            # the exponent c²γ − 2Δ carries a relative rounding error ~10^{−work}; where the
            # bound is attained (E = 0, two positions) that decides the sign of the margin,
            # so the bound is widened by exactly that rounding allowance
            slack = mpmath.mpf(10) ** (-(work - 15)) * (c * c * gamma + 2 * delta + 10)
            bound = (len(us) - 1) * mpmath.exp(-eff + slack)
            return log_margin(bound, dev, work)

    return margin


def _vec(d: int) -> st.SearchStrategy[list[float]]:
    return st.lists(st.floats(-1.0, 1.0), min_size=d, max_size=d)


def _dyadic_vec(d: int) -> st.SearchStrategy[list[float]]:
    """Non-zero coordinates k/8, 1 ≤ |k| ≤ 8: dot products are exact in binary, so a tie
    built below is a tie of the real numbers (D4 asks θ′ to have non-zero coordinates)."""
    coord = st.integers(1, 8).flatmap(lambda k: st.sampled_from([k / 8, -k / 8]))
    return st.lists(coord, min_size=d, max_size=d)


@st.composite
def tied_cases(draw: st.DrawFn) -> dict[str, Any]:
    """θ′ with an exact top tie S₁ = S₂ (u₂ = u₁ + z with w·z = 0, dyadic coordinates) and
    a random perturbation direction v."""
    d, n = draw(st.integers(2, 3)), draw(st.integers(2, 4))
    w = [1.0] + draw(_dyadic_vec(d - 1))
    u1 = draw(_dyadic_vec(d))
    z = [0.0] + draw(_dyadic_vec(d - 1))
    z[0] = -sum(a * b for a, b in zip(w[1:], z[1:], strict=True))  # exact: dyadic arithmetic
    u2 = [a + b for a, b in zip(u1, z, strict=True)]
    top = sum(a * b for a, b in zip(w, u1, strict=True))
    others = [
        [x - 3.0 * wi for x, wi in zip(draw(_dyadic_vec(d)), w, strict=True)] for _ in range(n - 2)
    ]
    others = [u for u in others if sum(a * b for a, b in zip(w, u, strict=True)) < top]
    case: dict[str, Any] = {
        "w": w,
        "us": [u1, u2] + others,
        "vw": draw(_vec(d)),
        "vus": [draw(_vec(d)) for _ in range(2 + len(others))],
        "alpha": 0.5,
    }
    assume(all(x != 0 for x in w + [y for u in case["us"] for y in u]))
    return case


@st.composite
def perturbed_cases(draw: st.DrawFn, ties: bool = False) -> dict[str, Any]:
    base = draw(tied_cases()) if ties else None
    d, n = (
        (len(base["w"]), len(base["us"]))
        if base
        else (draw(st.integers(2, 3)), draw(st.integers(2, 4)))
    )
    case = base or {
        "w": draw(_vec(d)),
        "us": [draw(_vec(d)) for _ in range(n)],
        "vw": draw(_vec(d)),
        "vus": [draw(_vec(d)) for _ in range(n)],
    }
    case.update(E=draw(st.floats(0.0, 2.0)), log10_c=draw(st.floats(0.0, 3.0)))
    return case


#: a replayed case: θ′ = (w, us) and v = (vw, vus) in ℝ^≤4 with ≤ 6 rows; α ≤ 2 (P1/P2),
#: E ≤ 4 and c ≤ 10^6 (P1*)
PAPER_SCHEMA = cs.Where(
    cs.Record(
        {
            "w": cs.real_list(-10.0, 10.0, 1, 4),
            "us": cs.ListOf(cs.real_list(-10.0, 10.0, 1, 4), 1, 6),
            "vw": cs.real_list(-10.0, 10.0, 1, 4),
            "vus": cs.ListOf(cs.real_list(-10.0, 10.0, 1, 4), 1, 6),
        },
        optional={"alpha": cs.Real(1e-3, 2.0)},
    ),
    lambda c: (
        len(c["vw"]) == len(c["w"]) == len(c["us"][0])
        and len(c["vus"]) == len(c["us"])
        and all(len(u) == len(c["w"]) for u in c["us"] + c["vus"])
    ),
    "w, vw and every row of us and vus must have one length, and vus one row per row of us",
)
CORRECTED_SCHEMA = cs.Where(
    cs.Record(
        {
            "w": cs.real_list(-10.0, 10.0, 1, 4),
            "us": cs.ListOf(cs.real_list(-10.0, 10.0, 1, 4), 1, 6),
            "vw": cs.real_list(-10.0, 10.0, 1, 4),
            "vus": cs.ListOf(cs.real_list(-10.0, 10.0, 1, 4), 1, 6),
        },
        optional={
            "E": cs.Real(0.0, 4.0),
            "log10_c": cs.Real(0.0, 6.0),
            "alpha": cs.Real(1e-3, 2.0),
        },
    ),
    lambda c: (
        len(c["vw"]) == len(c["w"]) == len(c["us"][0])
        and len(c["vus"]) == len(c["us"])
        and all(len(u) == len(c["w"]) for u in c["us"] + c["vus"])
    ),
    "w, vw and every row of us and vus must have one length, and vus one row per row of us",
)

PAPER_CONSTRUCTIONS = (
    {
        "w": [1.0, 1.0],
        "us": [[1.0, 1.0], [1.5, 0.5]],
        "vw": [0.0, 0.0],
        "vus": [[1.0, 0.0], [0.0, 0.0]],
        "alpha": 0.5,
    },
)
CORRECTED_CONSTRUCTIONS = (
    {
        "w": [1.0, 0.5],
        "us": [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]],
        "vw": [1.0, -1.0],
        "vus": [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]],
        "E": 1.0,
        "log10_c": 1.0,
    },
    {
        "w": [1.0, 1.0],
        "us": [[1.0, 1.0], [2.0, -0.5]],
        "vw": [0.0, 1.0],
        "vus": [[1.0, 0.0], [0.0, -1.0]],
        "E": 0.5,
        "log10_c": 2.0,
    },
)


#: A top tie (scores 2, 2, −1) broken by a perturbation of u₁: f(cθ′ + e) tends to a
#: one-hot, not to s_f(θ′) = (½, ½, 0), while c²γ − 2Δ > 0 (the control's construction).
TIED_CONSTRUCTION = {
    "w": [1.0, 1.0],
    "us": [[1.0, 1.0], [1.5, 0.5], [-1.0, 0.0]],
    "vw": [0.0, 0.0],
    "vus": [[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]],
    "E": 0.5,
    "log10_c": 2.0,
}


def paper_search() -> PropertySearch:
    return PropertySearch(
        claim_id="P1/P2",
        strategy=tied_cases(),
        margin=paper_margin,
        search=(
            "θ′ = (w, u₁..u_n) in ℝ²–ℝ³ with an exact top tie, θ_t = tθ′ + t^{−1/2}v, "
            f"t = 10^{{{', '.join(map(str, T_GRID))}}}; probe δ = {DELTA_PROBE}"
        ),
        constructions=PAPER_CONSTRUCTIONS,
        margin_label="ln δ − ln min_t ‖f(θ_t) − s_f(θ′)‖_∞ (< 0: the deviation stays ≥ δ)",
        describe=lambda c: (
            f"w = {c['w']}, u = {c['us']}, tie at the top; θ_t = tθ′ + "
            f"t^(−1/2)·v with v = ({c['vw']}, {c['vus']}): f(θ_t) → one-hot, "
            f"s_f(θ′) = (½, ½, …)"
        ),
    )


def corrected_search(
    allow_ties: bool = False, ignore_perturbation: bool = False, what: str = ""
) -> PropertySearch:
    return PropertySearch(
        claim_id="P1*",
        strategy=perturbed_cases(allow_ties),
        margin=corrected_margin(allow_ties, ignore_perturbation),
        search=(
            "θ′ = (w, u₁..u_n) in ℝ²–ℝ³ with random scores, perturbations of norm ≤ E ∈ "
            "[0, 2] per block, c = 10^v, v ∈ [0, 3]" + (f"; {what}" if what else "")
        ),
        constructions=CORRECTED_CONSTRUCTIONS + ((TIED_CONSTRUCTION,) if allow_ties else ()),
        margin_label=(
            "ln((n−1)e^{−(c²γ − 2Δ)}) − ln ‖f(cθ′ + e) − s_f(θ′)‖_∞, exponent widened "
            "by its rounding allowance"
        ),
        describe=lambda c: f"{c}",
    )


CLAIMS = (
    Claim(
        id="P1/P2",
        title="Norm growth implies saturation",
        statement=(
            "If θ_t → c(t)θ′ with c(t) → ∞ (read strongly: ‖θ_t − c(t)θ′‖ → 0) and θ′ "
            "has non-zero coordinates, then f(x; θ_t) → s_f(x; θ′) pointwise. Instance: "
            "f = softmax of bilinear scores w·u_j (the attention core)."
        ),
        expected="refuted",
        check=lambda ctx: check_property(paper_search(), ctx),
        replay=paper_margin,
        case_schema=PAPER_SCHEMA,
        describe=paper_search().describe,
        explanation=(
            "At a tie of s_f's scores an o(1) perturbation, amplified by the degree-2 "
            "scores (c·‖e‖ ≫ 1), decides the argmax: f(θ_t) → one-hot ≠ s_f(θ′). "
            "The saturated network is discontinuous there."
        ),
        negative_controls=(
            replay_control(
                "a non-counterexample is not replayed as one",
                "without a tie (u₂ scored lower) f(θ_t) → s_f(θ′) and the replay must "
                "find the deviation small",
                {
                    "w": [1.0, 1.0],
                    "us": [[1.0, 1.0], [2.0, -0.5]],
                    "vw": [0.0, 0.0],
                    "vus": [[1.0, 0.0], [0.0, 0.0]],
                    "alpha": 0.5,
                },
                paper_margin,
            ),
        ),
    ),
    Claim(
        id="P1*",
        title="Saturation under norm growth: unique maximisers, explicit rate",
        corrects="P1/P2",
        statement=(
            "If every score row of θ′ has a unique maximiser with gap γ > 0, then for "
            "every c ≥ 1 and perturbation e with ‖e‖ ≤ E per block, Δ = cE(‖w′‖ + "
            "max_j‖u′_j‖) + E², and c²γ > 2Δ: ‖f(cθ′ + e) − s_f(θ′)‖_∞ ≤ (n − 1)·"
            "e^{−(c²γ − 2Δ)}; in particular f(θ_t) → s_f(θ′) whenever ‖θ_t − c(t)θ′‖ = "
            "o(c(t))."
        ),
        expected="verified",
        check=lambda ctx: check_property(corrected_search(), ctx),
        replay=corrected_margin(),
        case_schema=CORRECTED_SCHEMA,
        describe=corrected_search().describe,
        negative_controls=(
            property_control(
                "mutated premise: ties allowed",
                "with a tied maximiser the bound must fail",
                lambda: corrected_search(True, False, "ties allowed"),
            ),
            property_control(
                "wrong bound: perturbation ignored (e^{−c²γ})",
                "the perturbation's 2Δ cannot be dropped",
                lambda: corrected_search(False, True, "bound e^{−c²γ}"),
            ),
        ),
    ),
)
