"""P1∞, GH and GH* beyond what the registry runs: the exact ray polynomials, the stored GH
counterexample along its ray, and the parts of GH*'s margin."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import pytest

from proofs_numeric.claim import Counterexample, registry
from proofs_numeric.claims import gh_gradient_homogeneity as gh
from proofs_numeric.claims import p1inf_extended_reals as p1
from proofs_numeric.claims._extended_reals import (
    direct_value,
    direction_limit,
    evaluate,
    ladder,
    limit,
    positively_proportional,
    ray_polynomials,
)
from proofs_numeric.claims._ray_gradients import RayGradients, relative_distance
from tests.claims.claim_sampling import sampled_margins

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# -- P1∞ ---------------------------------------------------------------------------------


def test_ray_polynomials_of_a_biased_network_match_direct_evaluation():
    case = p1.BIASED_CONSTRUCTION  # f = ReLU(3cx)·c − 4c at x = 1: 3c² − 4c
    polys, bound = ray_polynomials(case)
    assert polys == [(Fraction(0), Fraction(-4), Fraction(3))]
    for c in ladder(bound) + [Fraction(7, 3)]:
        assert [evaluate(p, c) for p in polys] == direct_value(case, c)
    assert direct_value(case, Fraction(1)) == [Fraction(-1)]
    assert limit(polys[0]) == "+inf"  # the sign of f(θ) = −1 does not decide the limit


def test_relu_beyond_the_root_bound_only():
    case = {
        "kind": "mlp",
        "x": [1],
        "weights": [[[1]], [[1]]],
        "biases": [[-5], [0]],
        "relu_output": False,
    }
    polys, bound = ray_polynomials(case)  # ReLU(c − 5c)·c = 0 for every c > 0
    assert polys == [()] and limit(polys[0]) == Fraction(0)
    assert bound >= 0


def test_homogeneous_limits_follow_the_sign_and_keep_the_direction():
    case = p1.CONSTRUCTIONS[0]
    at_one = direct_value(case, Fraction(1))
    polys, _ = ray_polynomials(case)
    assert [limit(p) for p in polys] == [p1.sign_rule(v) for v in at_one]
    assert Fraction(0) in at_one  # a coordinate that stays 0
    assert positively_proportional(direction_limit(polys), at_one)


def test_positively_proportional():
    assert positively_proportional([Fraction(2), Fraction(0)], [Fraction(1), Fraction(0)])
    assert not positively_proportional([Fraction(-2), Fraction(0)], [Fraction(1), Fraction(0)])
    assert not positively_proportional([Fraction(1), Fraction(1)], [Fraction(1), Fraction(2)])


def test_p1inf_controls_are_refuted_by_random_cases_alone():
    assert min(sampled_margins(p1.search(with_biases=True), 30)) < 0
    assert min(sampled_margins(p1.search(p1.finite_rule), 10)) < 0
    assert min(sampled_margins(p1.search(), 30)) > 0  # and the claim holds on the same draws


# -- GH ----------------------------------------------------------------------------------


def test_stored_gh_counterexample_fails_at_every_radius_of_its_ray():
    cx = Counterexample.load(Counterexample.path_for("GH"))
    claim = registry()["GH"]
    assert claim.replay_counterexample(cx, cx.digits) < 0
    assert claim.replay_counterexample(cx, 2 * cx.digits) < 0
    for m in gh.RAY_POINTS:  # each point of the ray on its own
        single = dict(cx.case, r=float(cx.case["r"]) * m)
        original = gh.RAY_POINTS
        try:
            gh.RAY_POINTS = (1,)
            assert gh.paper_margin(single, cx.digits) < 0
        finally:
            gh.RAY_POINTS = original


def test_gh_error_grows_along_the_ray():
    case = {"a": 1.0, "b": 0.5, "r": 100.0, "log10_c": 0.3, "wiggle": True}
    original = gh.RAY_POINTS
    try:
        gh.RAY_POINTS = (1,)
        margins = [gh.paper_margin(dict(case, r=r), 60) for r in (100.0, 200.0, 400.0)]
    finally:
        gh.RAY_POINTS = original
    assert margins[0] > margins[1] > margins[2]  # more negative further out


def test_smooth_approximately_homogeneous_function_is_not_a_counterexample():
    case = {"a": 1.0, "b": 0.5, "r": 100.0, "log10_c": 0.3, "wiggle": False}
    assert gh.paper_margin(case, 60) > 0


# -- GH* ---------------------------------------------------------------------------------


def test_the_envelope_is_the_largest_error_on_the_way_to_the_floor():
    assert gh.envelope_to_floor([1e-5, 1e-7, 1e-10, 1e-13]) == 1e-5
    assert gh.envelope_to_floor([1e-5, 3e-5, 1e-9, 0.0]) == 3e-5  # a dip, then a rise
    # no envelope: a floor never reached, a non-finite value
    assert gh.envelope_to_floor([1e-5, 1e-7, 1e-9]) is None
    assert gh.envelope_to_floor([1e-5, math.nan, 1e-13]) is None


#: the encoder on which the thorough search refuted the earlier GH* (a fitted decay order
#: m̂ ≥ 2 on the float64 window): its error falls to the floor with m̂ ≈ 1.0
SLOW_WINDOW_CASE: dict[str, Any] = {
    "seed": 6629,
    "cfg": {
        "vocab_size": 4,
        "d_model": 3,
        "n_heads": 1,
        "d_head": 2,
        "d_ff": 8,
        "n_layers": 1,
        "max_len": 0,
        "placement": "paper-prenorm",
        "norm": "proof",
        "bias": False,
        "activation": "relu",
    },
    "ids": [0, 2, 1],
    "a": 0.5,
    "log10_c": 1.0,
}


def test_an_error_that_falls_at_an_order_of_one_in_its_window_satisfies_gh_star():
    case = SLOW_WINDOW_CASE
    rg = RayGradients.from_case(case)
    g_inf = rg.gradient(1.0, True)
    start = gh.first_small_error(rg, case["a"], g_inf)
    assert start is not None
    rho, e0 = start
    errors = gh.errors_to_floor(rg, rho, e0, g_inf)
    assert 3 <= len(errors) <= 6 and errors[-1] < gh.FLOOR_ERROR
    assert gh.envelope_to_floor(errors) == e0
    assert gh.corrected_margin()(case, 60) > 0
    # (iii) is close to sharp on it: the constant ½ fails
    assert gh.corrected_margin(bound_factor=0.5)(case, 60) < 0


#: the encoder on which the thorough search refuted GH* with (i) to a fixed 10⁻¹²: two
#: layers, g_∞'s 0-homogeneity holds only to 2.4·10⁻¹² in float64
ROUNDING_CASE = {
    **SLOW_WINDOW_CASE,
    "seed": 2,
    "cfg": {**SLOW_WINDOW_CASE["cfg"], "d_ff": 7, "n_layers": 2},
    "ids": [1, 0],
}


#: the encoder on which the thorough search refuted GH* stated from e(ρ₀) alone: e dips
#: to 1.3·10⁻⁵ at ρ₀ ≈ 3.08, rises to 3.8·10⁻⁵, then falls to the floor
DIP_CASE = {**SLOW_WINDOW_CASE, "seed": 64, "cfg": {**SLOW_WINDOW_CASE["cfg"], "d_ff": 6}}
DIP_CASE["ids"] = [0, 1]


def test_an_error_that_dips_before_it_falls_satisfies_gh_star_with_its_envelope():
    rg = RayGradients.from_case(DIP_CASE)
    g_inf = rg.gradient(1.0, True)
    start = gh.first_small_error(rg, DIP_CASE["a"], g_inf)
    assert start is not None
    rho, e0 = start
    errors = gh.errors_to_floor(rg, rho, e0, g_inf)
    assert errors[1] > errors[0]  # the dip: e rises after ρ₀
    envelope = gh.envelope_to_floor(errors)
    assert envelope is not None and envelope > 2 * e0
    # from e(ρ₀) alone the bound of (iii) fails at c = 2^{1/8}; with E(ρ₀) it holds
    near = relative_distance(rg.gradient(2 ** (1 / 8) * rho, False), rg.gradient(rho, False), g_inf)
    assert 2 * e0 < near <= 2 * envelope
    assert gh.corrected_margin()(DIP_CASE, 60) > 0


def test_the_tolerance_of_gh_star_follows_the_measured_rounding_noise():
    rg = RayGradients.from_case(ROUNDING_CASE)
    g_inf = rg.gradient(1.0, True)
    deviation = max(
        relative_distance(rg.gradient(r, True), g_inf, g_inf) for r in (5.6568542494923815, 11.3)
    )
    noise = rg.rounding_noise(1.0, True)
    assert 1e-12 < deviation < gh.NOISE_FACTOR * noise  # above 10⁻¹², within the noise
    assert gh.corrected_margin()(ROUNDING_CASE, 60) > 0
    # the constructions are well conditioned: their tolerance stays at 10⁻¹²
    for case in gh.CORRECTED_CONSTRUCTIONS:
        assert RayGradients.from_case(case).rounding_noise(1.0, True) < 1e-14
    # negative control: biases break (i) far beyond any rounding
    assert gh.corrected_margin(bias=True)(ROUNDING_CASE, 60) < 0


def test_saturated_gradient_is_zero_homogeneous():
    rg = RayGradients.from_case(gh.CORRECTED_CONSTRUCTIONS[1])
    g1 = rg.gradient(1.0, True)
    for rho in (0.5, 3.0, 40.0):
        assert relative_distance(rg.gradient(rho, True), g1, g1) < 1e-13


@pytest.mark.parametrize(
    "make",
    [
        lambda: gh.corrected_search(degree=2),
        lambda: gh.corrected_search(bias=True),
        lambda: gh.corrected_search(bound_factor=0.5),
    ],
    ids=["degree-2", "biases", "constant-half"],
)
def test_gh_star_controls_are_refuted_on_every_random_case(make):
    assert max(sampled_margins(make(), 3)) < 0
