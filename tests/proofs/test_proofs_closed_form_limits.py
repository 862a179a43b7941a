"""The closed-form ρ → ∞ limits of the primitives, cross-checked by generic extrapolation
(:func:`proofs_numeric.limits.limit`, which knows nothing about them): softmax → the
generalised argmax, σ → step, tanh → sign, GeLU(ρz)/ρ → ReLU, and the G2 asymptotics
p_T → κ²c²/2. The tail bounds are checked on the same sequences, and wrong closed forms
must be told apart (negative controls).

``limit`` evaluates g at its own working precision and re-evaluates at twice it, so each
g passes the current precision on to the primitive (``digits=mpmath.mp.dps``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mpmath
import pytest

from homogeneity import growth_formulas as G
from proofs_numeric import precision as P
from proofs_numeric.limits import limit

FLOOR = mpmath.mpf(10) ** -30  # what "equal" means here: 30 digits


def _limit(g: Callable[[Any], Any], **kw: Any) -> Any:
    return limit(g, digits=50, **kw)


def _agrees(result: Any, closed: Any) -> bool:
    return bool(abs(result.value - closed) <= max(10 * result.error, FLOOR))


SCALAR = [
    ("sigmoid → step", P.sigmoid, P.step, P.sigmoid_tail_bound),
    ("tanh → sign", P.tanh, P.sign, P.tanh_tail_bound),
]


@pytest.mark.parametrize("name, phi, closed, bound", SCALAR, ids=[s[0] for s in SCALAR])
@pytest.mark.parametrize("z", ["0.37", "-2.5", "0", "1e-3"])
def test_scalar_limits(name: str, phi: Any, closed: Any, bound: Any, z: str) -> None:
    result = _limit(lambda rho: phi(rho * mpmath.mpf(z), digits=mpmath.mp.dps))
    assert result.converged
    assert _agrees(result, closed(z)), (result, closed(z))
    for rho in (1, 10, 100):  # the tail bound holds along the sequence
        with mpmath.workdps(80):
            err = abs(phi(rho * mpmath.mpf(z), digits=80) - closed(z, digits=80))
            assert err <= bound(z, rho, digits=80) * (1 + mpmath.mpf(10) ** -60)


@pytest.mark.parametrize("z", ["0.8", "-0.6", "0"])
def test_gelu_over_rho_tends_to_relu(z: str) -> None:
    def g(rho: Any) -> Any:
        d = mpmath.mp.dps
        return P.gelu(rho * mpmath.mpf(z), digits=d) / rho

    result = _limit(g)
    assert result.converged and _agrees(result, P.relu(z))
    for rho in (1, 3, 10):
        with mpmath.workdps(80):
            err = abs(P.gelu(rho * mpmath.mpf(z), digits=80) / rho - P.relu(z, digits=80))
            assert err <= P.gelu_tail_bound(z, rho, digits=80) * (1 + mpmath.mpf(10) ** -60)


ROWS = [
    ([2.0, 1.0, 0.0], None),
    ([1.0, 1.0, 0.0], None),  # a tie shares the weight
    ([5.0, 1.0, 0.0], [False, True, True]),  # a masked maximum never wins
    ([0.5, 0.5, 0.5], [True, False, True]),  # every visible score tied
]


@pytest.mark.parametrize("scores, keep", ROWS)
def test_softmax_tends_to_the_generalised_argmax(scores: list[float], keep: Any) -> None:
    closed = P.generalised_argmax(scores, keep)
    for j in range(len(scores)):

        def component(rho: Any, j: int = j) -> Any:
            return P.softmax(scores, rho, keep, digits=mpmath.mp.dps)[j]

        result = _limit(component)
        assert result.converged and _agrees(result, closed[j]), (j, result, closed[j])
    for rho in (1, 10, 100):
        err = P.softmax_error(scores, rho, keep, digits=80)
        assert err <= P.softmax_tail_bound(scores, rho, keep, digits=80) * (
            1 + mpmath.mpf(10) ** -60
        )


@pytest.mark.parametrize("kappa, c", [(0.5, 1.0), (1.0, 1.0), (1.5, 0.5), (2.0, 1.2)])
def test_g2_local_exponent_tends_to_kappa_squared_c_squared_over_two(kappa: float, c: float):
    def p(steps: Any) -> Any:
        num = G.mpmath_numeric(mpmath.mp.dps)
        return G.g2_local_exponent(steps, G.g2_coefficient(kappa, c, num), num)

    result = _limit(p, rho0=16)
    assert result.converged
    assert _agrees(result, G.g2_exponent(kappa, c, G.mpmath_numeric(60))), result


def test_wrong_closed_forms_are_told_apart() -> None:
    """Negative controls: the same comparisons reject σ(0·ρ) → 1 (a step without the ½),
    a first-index argmax on a tie, and the G2 exponent κc/2."""
    at_zero = _limit(lambda rho: P.sigmoid(rho * 0, digits=mpmath.mp.dps))
    assert not _agrees(at_zero, mpmath.mpf(1))
    tied = _limit(lambda rho: P.softmax([1.0, 1.0, 0.0], rho, digits=mpmath.mp.dps)[1])
    assert not _agrees(tied, mpmath.mpf(0))

    def p(steps: Any) -> Any:
        num = G.mpmath_numeric(mpmath.mp.dps)
        return G.g2_local_exponent(steps, G.g2_coefficient(0.5, 1.0, num), num)

    assert not _agrees(_limit(p, rho0=16), mpmath.mpf(0.5) / 2)
