"""The ρ → ∞ limit utility, against closed forms and against mpmath.limit."""

from __future__ import annotations

import mpmath
import pytest

from homogeneity.validation import HomogeneityInputError
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
