"""The ρ → ∞ limit utility, against closed forms and against mpmath.limit."""

from __future__ import annotations

import math
import re

import mpmath
import numpy as np
import pytest
import torch

from homogeneity.errors import HomogeneityInputError
from proofs_numeric.limits import LimitNotEstablished, limit
from proofs_numeric.precision import generalised_argmax, softmax


def near_tie(rho):
    return softmax([1, "0.999", "0.5"], rho)[0]


def test_near_tie_limit_is_one() -> None:
    result = limit(near_tie)
    assert result.converged and result.kind == "exponential"
    assert abs(result.value - 1) < mpmath.mpf(10) ** -30
    assert result.error < mpmath.mpf(10) ** -30
    assert abs(result.rate - mpmath.mpf("0.001")) < mpmath.mpf("0.0006")  # rate ≈ the gap
    assert result.value == generalised_argmax([1, "0.999", "0.5"])[0]


def test_mpmath_limit_is_wrong_on_the_near_tie() -> None:
    """The claim the issue makes about mpmath.limit, verified: it returns a probability
    above 1 (Richardson on g(1), g(2), … cannot see a convergence that starts at ρ ≈ 10³)."""
    with mpmath.workdps(30):  # mpmath.limit raises the precision: g must follow it
        value = mpmath.limit(
            lambda r: softmax([1, "0.999", "0.5"], r, digits=mpmath.mp.dps)[0], mpmath.inf
        )
    assert value > 1 + mpmath.mpf(10) ** -5


@pytest.mark.parametrize(
    "g, exact",
    [
        (lambda r: 1 + 1 / r + 1 / r**2, lambda: 1),
        (lambda r: mpmath.atan(r), lambda: mpmath.pi / 2),
        (lambda r: (1 + 1 / r) ** r, lambda: +mpmath.e),
        (lambda r: 2 + 1 / mpmath.sqrt(r), lambda: 2),
        (lambda r: 3 + mpmath.exp(-r), lambda: 3),
        (lambda r: mpmath.mpf(5), lambda: 5),
    ],
)
def test_known_limits(g, exact) -> None:
    result = limit(g)
    with mpmath.workdps(80):
        exact = exact()
    assert result.converged
    assert abs(result.value - exact) <= max(result.error, mpmath.mpf(10) ** -35) * 10
    assert abs(result.value - exact) < mpmath.mpf(10) ** -30


@pytest.mark.parametrize(
    "g",
    [
        lambda r: mpmath.sin(r),
        lambda r: r,
        lambda r: mpmath.log(r),
        lambda r: mpmath.sin(mpmath.log(r)),
    ],
)
def test_strict_mode_raises_instead_of_guessing(g) -> None:
    with pytest.raises(LimitNotEstablished) as info:
        limit(g, max_points=40)
    assert not info.value.result.converged
    loose = limit(g, strict=False, max_points=40)
    assert not loose.converged and loose.reason


def test_precision_not_leaked_and_error_estimate_honest() -> None:
    before = mpmath.mp.dps
    r = limit(lambda x: 1 + mpmath.exp(-x / 3), digits=80)
    assert mpmath.mp.dps == before
    assert r.digits >= 80 and abs(r.value - 1) <= r.error * 10 + mpmath.mpf(10) ** -70


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"rho0": 0}, "rho0"),
        ({"growth": 1}, "growth"),
        ({"window": 1}, "window"),
    ],
)
def test_bad_input(kwargs, match) -> None:
    with pytest.raises(HomogeneityInputError, match=match):
        limit(lambda r: r, **kwargs)
    with pytest.raises(HomogeneityInputError, match="callable"):
        limit(3)  # type: ignore[arg-type]


# -- the error bar never overstates what the values can carry -----------------------------

FLOAT64_ULP = mpmath.mpf(2) ** -53


def _covers(result, exact) -> bool:
    """The true limit lies inside value ± error."""
    with mpmath.workdps(80):
        return abs(result.value - exact) <= result.error


@pytest.mark.parametrize(
    "g",
    [
        pytest.param(lambda r: 2 * math.atan(r), id="float64 arctan"),
        pytest.param(lambda r: math.pi, id="float64 constant"),
        pytest.param(lambda r: np.float64(2) * np.arctan(np.float64(r)), id="numpy float64"),
        pytest.param(
            lambda r: 2 * torch.atan(torch.tensor(float(r), dtype=torch.float64)), id="tensor"
        ),
    ],
)
def test_float64_values_get_at_least_a_float64_error_bar(g) -> None:
    """The issue's case: π from float64 arithmetic was reported ± 3.2e-42 (true error
    1.2e-16). 53 bits cannot give more than 2^-53 relative."""
    result = limit(g)
    assert result.converged
    assert result.value_bits == 53
    assert result.error >= FLOAT64_ULP * abs(result.value)
    assert _covers(result, mpmath.pi)
    assert "53 bits" in str(result)


def test_float32_values_get_a_float32_error_bar() -> None:
    result = limit(lambda r: np.float32(1) + np.float32(1 / float(r)))
    assert result.value_bits == 24
    assert result.error >= mpmath.mpf(2) ** -24
    torch_result = limit(lambda r: torch.tensor(1.0) + 1 / torch.tensor(float(r)))
    assert torch_result.value_bits == 24 and torch_result.error >= mpmath.mpf(2) ** -24


@pytest.mark.parametrize(
    "g, bits_at_most",
    [
        pytest.param(lambda r: mpmath.mpf(2 * math.atan(r)), 53, id="mpf of a float"),
        pytest.param(
            lambda r: +mpmath.workdps(20)(lambda: 2 * mpmath.atan(r))(), 70, id="fixed 20 digits"
        ),
    ],
)
def test_mpmath_values_that_ignore_the_precision_are_not_trusted_beyond_their_bits(
    g, bits_at_most
) -> None:
    """An mpf computed at a fixed precision returns the same digits at 50 and 100: its error
    bar is bounded by what its digits show, not by the working precision."""
    result = limit(g)
    assert result.value_bits is not None and result.value_bits <= bits_at_most
    assert result.error >= mpmath.mpf(2) ** -bits_at_most
    assert _covers(result, mpmath.pi)


def test_values_that_follow_the_precision_keep_the_working_precision() -> None:
    """Control: a genuine mpmath function keeps its 50-digit error bar (and an exact
    constant stays exact)."""
    result = limit(lambda r: 2 * mpmath.atan(r))
    assert result.value_bits is None and result.error < mpmath.mpf(10) ** -35
    assert _covers(result, mpmath.pi)
    assert limit(lambda r: mpmath.mpf(5)).error < mpmath.mpf(10) ** -35


def test_a_function_without_a_limit_is_not_converged() -> None:
    """The issue's case: 1 + e^{−ρ} plus an oscillation of size 1e-30 has no limit; it was
    reported as 1.0 ± 1e-42 (converged) from the points before the oscillation shows."""

    def g(rho):
        return 1 + mpmath.exp(-rho) + mpmath.mpf("1e-30") * mpmath.sin(rho)

    with pytest.raises(LimitNotEstablished) as info:
        limit(g)
    assert not info.value.result.converged and "contradicted" in info.value.result.reason


def test_an_estimate_needs_confirming_points() -> None:
    """An exponential that stops at 1 + 1e-25 from ρ = 256 on: the estimate at ρ = 128
    (1 ± 1e-50 or so) is contradicted by the next point, and the limit found is the new
    plateau, with enough points after it."""

    def g(rho):
        return 1 + mpmath.exp(-rho) + (mpmath.mpf("1e-25") if rho >= 256 else 0)

    result = limit(g)
    assert result.converged and abs(result.value - 1 - mpmath.mpf("1e-25")) <= result.error
    assert max(result.rhos) >= 1024


def test_exponential_rate_is_the_gap() -> None:
    """softmax(ρa)₀ → 1 at the rate of the gap γ = 0.001 (the rate was reported halved)."""
    result = limit(near_tie)
    assert abs(result.rate - mpmath.mpf("0.001")) < mpmath.mpf("0.00001")
    fast = limit(lambda r: 3 + mpmath.exp(-r / 4))
    assert abs(fast.rate - mpmath.mpf("0.25")) < mpmath.mpf("0.01")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"tol": -1}, "tol=-1 must be a number > 0"),
        ({"tol": 0}, "tol=0 must be a number > 0"),
        ({"tol": "abc"}, "tol='abc' is not a real number"),
        ({"tol": float("nan")}, "tol=nan must be finite"),
        ({"growth": "abc"}, "growth='abc' is not a real number"),
        ({"rho0": "x"}, "rho0='x' is not a real number"),
        ({"rho0": float("inf")}, "rho0=inf must be finite"),
        ({"window": 2.5}, "window=2.5 must be an integer"),
        ({"confirm": -1}, "confirm=-1 must be an integer ≥ 0"),
        ({"max_points": 4}, "max_points=4 must be an integer ≥ 8"),
        ({"agreement": 2}, "agreement=2 must lie in"),
        ({"strict": "yes"}, "strict='yes' must be True or False"),
    ],
)
def test_bad_arguments_name_the_argument_and_the_fix(kwargs, match) -> None:
    with pytest.raises(HomogeneityInputError, match=re.escape(match)):
        limit(lambda r: 1 + 1 / r, **kwargs)


@pytest.mark.parametrize(
    "returned, match",
    [
        (None, "g returned None"),
        ([1.0, 2.0], "g returned a list of 2 values"),
        (1 + 2j, "g returned the complex number"),
        (mpmath.mpc(1, 2), "g returned the complex number"),
        ("1.5", "g returned a str"),
        (True, "g returned the bool True"),
        (np.array([1.0, 2.0]), "g returned a numpy array of shape (2,)"),
        (torch.tensor([1.0, 2.0]), "g returned a tensor of shape (2,)"),
        (torch.tensor(1 + 1j), "g returned a complex tensor"),
        (object(), "g returned an object of type object"),
    ],
)
def test_non_real_returns_are_input_errors(returned, match) -> None:
    with pytest.raises(HomogeneityInputError, match=re.escape(match)) as info:
        limit(lambda r: returned)
    assert "must return one real number" in str(info.value)


def test_one_element_arrays_and_ints_are_accepted() -> None:
    assert limit(lambda r: np.array([[2.0]])).value == 2
    assert limit(lambda r: torch.tensor([3], dtype=torch.int64)).value_bits is None
    assert limit(lambda r: 7).value == 7 and limit(lambda r: 7).value_bits is None
