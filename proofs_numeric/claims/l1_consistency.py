"""L1: the degree of an approximately homogeneous function is unique (refuted), and L1*.

Counterexample: f(θ) = e^{−‖θ‖}/2 satisfies D3 with degree 0 and with degree −1, both with
d = 1, ρ = 0: for c ≥ 1 and r = ‖θ‖,

    |e^{−cr} − e^{−r}|/2 ≤ e^{−r}/2  and  |e^{−cr} − e^{−r}/c|/2 ≤ max(e^{−cr}, e^{−r}/c)/2
    ≤ e^{−r}/2 < e^{−r}.

(The zero function is even exactly homogeneous of every degree.)

L1* (what the paper's argument proves): if f satisfies D3 with degrees k₁ ≠ k₂ and common
constants (d, ρ), then for every c ≥ 1 and ‖θ‖ ≥ ρ, by the triangle inequality,
|c^{k₁} − c^{k₂}| |f(θ)| ≤ 2e^{−d‖θ‖}; so |f(θ)| ≤ 2e^{−d‖θ‖}/sup_{c≥1}|c^{k₁} − c^{k₂}|,
f = 0 on ‖θ‖ ≥ ρ when max(k₁, k₂) > 0, and in all cases f is exponentially small. The
degree is unique for every f that is not exponentially small.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import mpmath
from hypothesis import strategies as st

from proofs_numeric import case_schema as cs
from proofs_numeric import families as fam
from proofs_numeric.claim import Claim
from proofs_numeric.claims._d3 import d3_constants, digits_for
from proofs_numeric.precision import to_mpf, working_precision
from proofs_numeric.search import (
    PropertySearch,
    check_property,
    log_margin,
    property_control,
    replay_control,
    vacuous,
)
from proofs_numeric.strategies import unit_vectors

DIM = 2
GRID_C = ("1.0001", "2", "10", "1e3", "1e30")
GRID_DR = (0.0, 1.0, 10.0, 50.0)


def _grid(case: Mapping[str, Any], digits: int) -> Iterator[tuple[float, float, Any, Any]]:
    f = case["f"]
    d, rho = d3_constants(f)
    for dr in GRID_DR:
        r = rho + dr
        theta = fam.point(case["direction"], r, digits)
        for c in GRID_C:
            yield d, r, theta, to_mpf(c, "c", digits)


def _premise_slack(case: Mapping[str, Any], k: int, digits: int) -> Any:
    """max over the grid of ln|f(cθ) − c^k f(θ)| + d r (< 0: D3 with degree k held on the
    whole grid, strictly; the boundary case = 0 is counted as not held, which can only
    hide a counterexample, never invent one)."""
    worst = -mpmath.inf
    for d, r, theta, c in _grid(case, digits):
        err = fam.scaled_error(case["f"], theta, c, k, digits=digits)
        if err > 0:
            worst = max(worst, mpmath.log(err) + d * r)
    return worst


def paper_margin(case: Mapping[str, Any], digits: int) -> Any:
    """≥ 0 unless D3 held on the grid for both degrees k₁ ≠ k₂ (a violation of L1)."""
    k1, k2 = case["k1"], case["k2"]
    if k1 == k2:
        return mpmath.inf
    work = digits_for(digits, 60.0 + d3_constants(case["f"])[1], 30.0, 2)
    with working_precision(work):
        return max(_premise_slack(case, k1, work), _premise_slack(case, k2, work))


def corrected_margin(factor: float = 2.0):
    def margin(case: Mapping[str, Any], digits: int) -> Any:
        k1, k2 = case["k1"], case["k2"]
        if k1 == k2:
            return vacuous("k₁ = k₂: the premise needs two different degrees")
        work = digits_for(digits, 60.0 + d3_constants(case["f"])[1], 30.0, 2)
        with working_precision(work):
            if max(_premise_slack(case, k1, work), _premise_slack(case, k2, work)) >= 0:
                return vacuous("the premise (D3 with both degrees) fails on the grid")
            worst = mpmath.inf
            for d, r, theta, c in _grid(case, work):
                spread = abs(mpmath.power(c, k1) - mpmath.power(c, k2))
                if spread == 0:
                    continue
                bound = factor * mpmath.exp(-d * r) / spread
                value = abs(fam.evaluate(case["f"], theta, work))
                worst = min(worst, log_margin(bound, value, work))
            return worst

    return margin


def cases() -> st.SearchStrategy[dict[str, Any]]:
    member = st.one_of(fam.exps(), fam.sats(DIM), fam.polys(DIM, (1, 2)))
    deg = st.integers(-2, 2)
    return st.fixed_dictionaries(
        {"f": member, "k1": deg, "k2": deg, "direction": unit_vectors(DIM)}
    )


#: a replayed case: a family member of ℝ² and two degrees in [−4, 4]
CASE_SCHEMA = cs.Record(
    {
        "f": fam.member_schema(DIM),
        "k1": cs.Integer(-4, 4),
        "k2": cs.Integer(-4, 4),
        "direction": cs.real_list(-1e6, 1e6, DIM, DIM),
    }
)


def _nonzero(max_a: float = 1.0) -> st.SearchStrategy[float]:
    return st.one_of(st.floats(-max_a, -1e-3), st.floats(1e-3, max_a))


def premise_cases() -> st.SearchStrategy[dict[str, Any]]:
    """Cases where L1*'s premise holds: f satisfies D3 with two different degrees
    k₁ ≠ k₂ ∈ {−2, −1, 0} and the constants of :func:`families.d3_constants`.

    For f = a e^{−b‖θ‖} (|a| ≤ 1) and for the decaying sigmoid f = a σ(z) − a = −a σ(−z)
    (z = b‖θ‖ + u·θ ≥ m‖θ‖), and every k ≤ 0, |f(cθ) − c^k f(θ)| ≤ max(|f(cθ)|,
    c^k |f(θ)|) ≤ |f(θ)| < e^{−d‖θ‖}: D3 holds with every degree k ≤ 0. (A member that
    is not exponentially small satisfies D3 with one degree only, and the zero function
    makes the bound trivially true: neither tests L1*.)"""
    exps = st.fixed_dictionaries(
        {"kind": st.just("exp"), "a": _nonzero(), "b": st.floats(0.05, 3.0)}
    )
    decaying_sats = fam.sats(DIM).flatmap(lambda s: _nonzero().map(lambda a: dict(s, a=a, o=-a)))
    degrees = st.lists(st.integers(-2, 0), min_size=2, max_size=2, unique=True)
    return st.builds(
        lambda f, ks, d: {"f": f, "k1": ks[0], "k2": ks[1], "direction": d},
        st.one_of(exps, decaying_sats),
        degrees,
        unit_vectors(DIM),
    )


_EXP = {"kind": "exp", "a": 0.5, "b": 1.0}
CONSTRUCTIONS = (
    {"f": _EXP, "k1": 0, "k2": -1, "direction": [1.0, 0.0]},
    {
        "f": {"kind": "poly", "a": 0.0, "ws": [[1.0, 0.0]]},
        "k1": 1,
        "k2": 2,
        "direction": [0.6, 0.8],
    },
)


CORRECTED_CONSTRUCTIONS = (
    CONSTRUCTIONS[0],
    {
        "f": {"kind": "sat", "a": -0.5, "b": 1.5, "u": [1.0, 0.0], "o": 0.5},
        "k1": -2,
        "k2": 0,
        "direction": [0.6, -0.8],
    },
)


def paper_search() -> PropertySearch:
    return PropertySearch(
        claim_id="L1",
        strategy=cases(),
        margin=paper_margin,
        search=(
            "f from a e^{−b‖θ‖}, a σ(b‖θ‖ + u·θ) + o and exact products in ℝ², degrees "
            f"k₁, k₂ ∈ {{−2..2}}, D3 tested on c ∈ {{{', '.join(GRID_C)}}} × ‖θ‖ ∈ ρ + "
            f"{{{', '.join(str(x) for x in GRID_DR)}}}"
        ),
        constructions=CONSTRUCTIONS,
        examples_scale=0.5,
        margin_label="max over the grid and both degrees of ln|f(cθ) − c^k f(θ)| + d‖θ‖",
        describe=lambda c: (
            f"f = {c['f']} satisfies D3 with degree {c['k1']} and with "
            f"degree {c['k2']} (d = 1, ρ = 0; proof in the claim module)"
        ),
    )


def corrected_search(factor: float = 2.0) -> PropertySearch:
    return PropertySearch(
        claim_id="L1*",
        strategy=premise_cases(),
        margin=corrected_margin(factor),
        search=(
            "f where the premise holds (D3 with two degrees k₁ ≠ k₂ ∈ {−2, −1, 0}): "
            "a e^{−b‖θ‖} and a σ(b‖θ‖ + u·θ) − a in ℝ², |a| ≤ 1; the bound on |f(θ)| "
            f"tested on c ∈ {{{', '.join(GRID_C)}}} × ‖θ‖ ∈ ρ + "
            f"{{{', '.join(str(x) for x in GRID_DR)}}}, the premise re-checked there"
        ),
        constructions=CORRECTED_CONSTRUCTIONS,
        examples_scale=0.5,
        margin_label="ln(2e^{−d‖θ‖}/|c^{k₁} − c^{k₂}|) − ln|f(θ)| over the grid",
        describe=lambda c: f"f = {c['f']}, k₁ = {c['k1']}, k₂ = {c['k2']}",
    )


CLAIMS = (
    Claim(
        id="L1",
        title="Consistency: the approximate degree is unique",
        statement=(
            "For every f: if f satisfies D3 with degree k₁ and with degree k₂, then k₁ = k₂."
        ),
        expected="refuted",
        check=lambda ctx: check_property(paper_search(), ctx),
        replay=paper_margin,
        case_schema=CASE_SCHEMA,
        describe=paper_search().describe,
        explanation=(
            "e^{−‖θ‖}/2 is ∼0 and ∼(−1) with d = 1, ρ = 0 (and 0 is exactly "
            "homogeneous of every degree). The degree is unique only for functions "
            "that are not exponentially small (L1*)."
        ),
        negative_controls=(
            replay_control(
                "a non-counterexample is not replayed as one",
                "f = θ₁ is ∼1 but not ∼2: the replay must find no violation",
                {
                    "f": {"kind": "poly", "a": 1.0, "ws": [[1.0, 0.0]]},
                    "k1": 1,
                    "k2": 2,
                    "direction": [1.0, 0.0],
                },
                paper_margin,
            ),
        ),
    ),
    Claim(
        id="L1*",
        title="Two degrees force f to be exponentially small",
        corrects="L1",
        statement=(
            "If f satisfies D3 with degrees k₁ ≠ k₂ and common constants (d, ρ), then "
            "for all ‖θ‖ ≥ ρ and c ≥ 1: |f(θ)| ≤ 2e^{−d‖θ‖}/|c^{k₁} − c^{k₂}|; hence "
            "f = 0 on ‖θ‖ ≥ ρ if max(k₁, k₂) > 0, and the degree is unique for every f "
            "that is not exponentially small."
        ),
        expected="verified",
        check=lambda ctx: check_property(corrected_search(), ctx),
        replay=corrected_margin(),
        case_schema=CASE_SCHEMA,
        describe=corrected_search().describe,
        negative_controls=(
            property_control(
                "wrong bound with factor 1/4",
                "e^{−‖θ‖}/2 has |f| = e^{−d‖θ‖}/2 with sup|1 − 1/c| = 1, so a "
                "factor below 1/2 must be refuted",
                lambda: corrected_search(0.25),
            ),
        ),
    ),
)
