"""L3: the sum of two ∼k functions is ∼k.

Proof with explicit constants: if f, g satisfy D3 with (d_f, ρ_f), (d_g, ρ_g), then with
m = min(d_f, d_g), |(f+g)(cθ) − c^k (f+g)(θ)| ≤ e^{−d_f‖θ‖} + e^{−d_g‖θ‖} ≤ 2e^{−m‖θ‖}
≤ e^{−(m/2)‖θ‖} once ‖θ‖ ≥ 2 ln 2/m. So f + g is ∼k with d = m/2 and
ρ = max(ρ_f, ρ_g, 2 ln 2/m). Cancellation between f and g does not matter: the bound is
absolute. The constants must degrade: keeping d = m is refuted (negative control).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import mpmath
from hypothesis import strategies as st

from proofs_numeric import case_schema as cs
from proofs_numeric import families as fam
from proofs_numeric.claim import CheckContext, Claim, Verdict
from proofs_numeric.claims._d3 import SIGMOID_OF_NORM, d3_constants, digits_for, radii, ray_fields
from proofs_numeric.precision import working_precision
from proofs_numeric.search import (
    PropertySearch,
    check_property,
    log_margin,
    property_control,
    scale_from_log10,
)
from proofs_numeric.strategies import log10_scales, unit_vectors

DIM = 3


def sum_constants(
    f: Mapping[str, Any], g: Mapping[str, Any], lossless: bool = False
) -> tuple[float, float]:
    (df, rf), (dg, rg) = d3_constants(f), d3_constants(g)
    m = min(df, dg)
    if lossless:
        return m, max(rf, rg)
    return m / 2, max(rf, rg, 2 * math.log(2) / m)


def margin_for(lossless: bool = False, degree_shift: float = 0):
    def margin(case: Mapping[str, Any], digits: int) -> Any:
        f, g = case["f"], case["g"]
        d, rho = sum_constants(f, g, lossless)
        r = max(float(case["r"]), rho)
        k = fam.degree(f) + degree_shift
        work = digits_for(digits, r, case["log10_c"], k)
        with working_precision(work):
            theta = fam.point(case["direction"], r, work)
            c = scale_from_log10(case["log10_c"], work)
            ct = [c * t for t in theta]
            if degree_shift == 0 and fam.degree(f) == 0:
                # the constant parts cancel exactly: difference the deviations
                err = abs(
                    fam.split(f, ct, work)[1]
                    + fam.split(g, ct, work)[1]
                    - fam.split(f, theta, work)[1]
                    - fam.split(g, theta, work)[1]
                )
            else:
                s1 = fam.evaluate(f, theta, work) + fam.evaluate(g, theta, work)
                sc = fam.evaluate(f, ct, work) + fam.evaluate(g, ct, work)
                err = abs(sc - mpmath.power(c, k) * s1)
            return log_margin(mpmath.exp(-mpmath.mpf(d) * r), err, work)

    return margin


def _pairs() -> st.SearchStrategy[tuple[dict, dict]]:
    zero = st.tuples(fam.degree0_members(DIM), fam.degree0_members(DIM))
    hom = st.sampled_from([1, 2]).flatmap(
        lambda k: st.tuples(fam.polys(DIM, (k,)), fam.polys(DIM, (k,)))
    )
    return st.one_of(zero, hom)


def cases() -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda fg, dr, r, lc: {"f": fg[0], "g": fg[1], "direction": dr, "r": r, "log10_c": lc},
        _pairs(),
        unit_vectors(DIM),
        radii(),
        log10_scales(30),
    )


#: a replayed case: two family members of ℝ³ at θ = r·θ̂, c ≤ 10^30
CASE_SCHEMA = cs.Record(
    {"f": fam.member_schema(DIM), "g": fam.member_schema(DIM), **ray_fields(DIM, 30.0)}
)

CONSTRUCTIONS = (
    {
        "f": SIGMOID_OF_NORM,
        "g": SIGMOID_OF_NORM,
        "direction": [1.0, 0.0, 0.0],
        "r": 50.0,
        "log10_c": 10.0,
    },
    {
        "f": SIGMOID_OF_NORM,
        "g": dict(SIGMOID_OF_NORM, a=-1.0, o=1.0),
        "direction": [0.0, 1.0, 0.0],
        "r": 5.0,
        "log10_c": 3.0,
    },
    {
        "f": {"kind": "poly", "a": 1.0, "ws": [[1.0, 0.0, 0.0]]},
        "g": {"kind": "poly", "a": -1.0, "ws": [[1.0, 0.0, 0.0]]},
        "direction": [1.0, 2.0, 0.0],
        "r": 100.0,
        "log10_c": 20.0,
    },
)


def search(lossless: bool = False, degree_shift: float = 0, what: str = "") -> PropertySearch:
    return PropertySearch(
        claim_id="L3",
        strategy=cases(),
        margin=margin_for(lossless, degree_shift),
        search=(
            "pairs of ∼0 family members, or of exactly homogeneous products of the same "
            "degree, θ ∈ ℝ³ with ‖θ‖ ∈ [1, 200], c = 10^v, v ∈ [0, 30]"
            + (f"; {what}" if what else "")
        ),
        constructions=CONSTRUCTIONS,
        margin_label="ln e^{−d‖θ‖} − ln |(f+g)(cθ) − c^k (f+g)(θ)| with d = min(d_f, d_g)/2",
        describe=lambda c: f"f = {c['f']}, g = {c['g']}, ‖θ‖ = {c['r']}, c = 10^{c['log10_c']}",
    )


def check(ctx: CheckContext) -> Verdict:
    return check_property(search(), ctx)


CLAIMS = (
    Claim(
        id="L3",
        title="Sum of two ∼k functions is ∼k",
        statement=(
            "If f satisfies D3 with degree k and constants (d_f, ρ_f) and g with "
            "(d_g, ρ_g), then for all c ≥ 1 and ‖θ‖ ≥ max(ρ_f, ρ_g, 2 ln 2/m): "
            "|(f+g)(cθ) − c^k (f+g)(θ)| ≤ e^{−(m/2)‖θ‖}, m = min(d_f, d_g)."
        ),
        expected="verified",
        check=check,
        replay=margin_for(),
        case_schema=CASE_SCHEMA,
        describe=search().describe,
        explanation=(
            "Triangle inequality; cancellation between f and g is harmless because "
            "D3's bound is absolute. The constant must degrade (control)."
        ),
        negative_controls=(
            property_control(
                "wrong bound: constants kept (d = m)",
                "two errors of size e^{−m‖θ‖} add up to 2e^{−m‖θ‖}: must fail",
                lambda: search(True, 0, "claimed d = min(d_f, d_g)"),
            ),
            property_control(
                "wrong degree k + 1",
                "f + g is not ∼(k+1)",
                lambda: search(False, 1, "claimed degree k + 1"),
            ),
        ),
    ),
)
