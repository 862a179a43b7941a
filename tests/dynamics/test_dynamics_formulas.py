"""The G1/G2/WD formulas are written once (homogeneity.growth_formulas): float64 and mpmath
evaluations agree to the float64 condition of each formula, the numpy predictions and the
claims call them, and the closed forms agree with the products they stand for."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mpmath
import pytest
from hypothesis import given
from hypothesis import strategies as st

from homogeneity import growth_formulas as G
from homogeneity.dynamics import predictions as P
from homogeneity.errors import HomogeneityInputError
from proofs_numeric.claims import g1_aligned_growth as G1
from proofs_numeric.claims import g2_misaligned_growth as G2

EPS = 2.0**-52
MP = G.mpmath_numeric(60)


def floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


@dataclass(frozen=True)
class Row:
    """A formula, a strategy of its arguments, and the relative condition of the formula:
    the float64 result is within ``condition(args)·ε`` (times a safety of 16) of the exact
    one, relative."""

    formula: Callable[..., Any]
    args: st.SearchStrategy[tuple[Any, ...]]
    condition: Callable[[tuple[Any, ...]], float]


def _sum_condition(terms: list[float]) -> float:
    total = abs(math.fsum(terms))
    return math.fsum(abs(t) for t in terms) / total if total > 0 else 1.0


ROWS: dict[str, Row] = {
    "step_log_growth": Row(
        G.step_log_growth,
        st.tuples(floats(0, 2), floats(0.05, 3), st.sampled_from([1.0, 0.5, 0.0, -0.5])),
        lambda a: 8.0,
    ),
    "log_growth": Row(
        G.log_growth,
        st.tuples(
            st.lists(floats(0, 1), min_size=1, max_size=40),
            floats(0.05, 3),
            st.sampled_from([1.0, 0.5, 0.0, -0.5]),
        ),
        # a sum of per-step logs of either sign: Σ|term|/|Σ term| times the per-term 8
        lambda a: 8 * _sum_condition([G.step_log_growth(e, a[1], a[2]) for e in a[0]]),
    ),
    "g1_log_growth_bounds": Row(
        lambda i, s, k, num: G.g1_log_growth_bounds(i, s, k, num)[0],
        st.tuples(floats(0, 100), floats(0, 1), floats(0.05, 3)),
        lambda a: (
            4
            * (a[2] * a[0] + a[2] ** 2 * a[1])
            / max(abs(a[2] * a[0] - a[2] ** 2 * a[1] / 2), 1e-300)
        ),
    ),
    "g2_coefficient": Row(
        G.g2_coefficient, st.tuples(floats(0.05, 3), floats(0.1, 3)), lambda a: 4
    ),
    "g2_exponent": Row(G.g2_exponent, st.tuples(floats(0.05, 3), floats(0.1, 3)), lambda a: 4),
    "g2_log_norm_ratio": Row(
        G.g2_log_norm_ratio,
        st.tuples(floats(1, 1e6), floats(0.01, 9)),
        # three log-gammas of size ≤ (T + a)·ln(T + a) cancel to a result ≈ (a/2) ln T
        lambda a: (
            4 * (a[0] + a[1] + 2) * math.log(a[0] + a[1] + 2) / (a[1] * math.log(a[0] + 1) / 2)
        ),
    ),
    "g2_local_exponent": Row(
        G.g2_local_exponent,
        st.tuples(floats(1, 1e4), floats(0.01, 9)),
        lambda a: (
            8 * (2 * a[0] + a[1] + 2) * math.log(2 * a[0] + a[1] + 2) / (a[1] / 2 * math.log(2))
        ),
    ),
    "g2_local_exponent_bound": Row(
        G.g2_local_exponent_bound, st.tuples(floats(1, 1e12), floats(0.01, 9)), lambda a: 4
    ),
    "orthogonal_steps_norm": Row(
        G.orthogonal_steps_norm, st.tuples(floats(0, 10), floats(0, 100)), lambda a: 4
    ),
    "sgd_momentum_angular_update": Row(
        G.sgd_momentum_angular_update,
        st.tuples(floats(1e-4, 1), floats(1e-5, 1), floats(0, 0.99)),
        lambda a: 4,
    ),
    "sgd_momentum_equilibrium_norm": Row(
        G.sgd_momentum_equilibrium_norm,
        st.tuples(floats(1e-4, 1), floats(1e-5, 1), floats(0.1, 10), floats(0, 0.99)),
        lambda a: 4 + 1 / (1 - a[3]),
    ),
    "adamw_angular_update": Row(
        G.adamw_angular_update,
        st.tuples(floats(1e-4, 1), floats(1e-5, 1), floats(0, 0.99)),
        lambda a: 4 + 1 / (1 - a[2]),
    ),
    "adamw_equilibrium_norm": Row(
        G.adamw_equilibrium_norm,
        st.tuples(floats(1e-4, 1), floats(1e-5, 1), st.integers(1, 10_000), floats(0.5, 2)),
        lambda a: 4,
    ),
    "adamw_relaxation_steps": Row(
        G.adamw_relaxation_steps, st.tuples(floats(1e-4, 1), floats(1e-5, 1)), lambda a: 4
    ),
    "adamw_critical_weight_decay": Row(
        G.adamw_critical_weight_decay,
        st.tuples(floats(1e-4, 1), floats(1e-3, 1), floats(0.5, 2)),
        lambda a: 4,
    ),
    "adamw_norm": Row(
        G.adamw_norm,
        st.tuples(
            floats(0.1, 10), floats(1e-4, 0.1), floats(0, 1), st.integers(1, 1000), floats(0, 1e4)
        ),
        # q = (1 − ηλ)^{2t} through expm1/log1p: the rounding of ηλ is amplified by 2tηλ
        lambda a: 16 + 4 * a[4] * a[1] * a[2],
    ),
    "inverse_sqrt_lrs": Row(
        lambda steps, c, num: G.inverse_sqrt_lrs(steps, c, 1, num)[-1],
        st.tuples(st.integers(1, 500), floats(1e-3, 10)),
        lambda a: 4,
    ),
    "inverse_sqrt_lr": Row(
        lambda t, c, num: G.inverse_sqrt_lr(t, c, 1, num),
        st.tuples(st.integers(0, 10**6), floats(1e-3, 10)),
        lambda a: 4,
    ),
}


def _agree(row: Row, args: tuple[Any, ...]) -> tuple[bool, float, float]:
    fast = float(row.formula(*args, num=G.FLOAT64))
    exact = row.formula(*args, num=MP)
    tol = 16 * EPS * row.condition(args)
    with mpmath.workdps(60):
        err = float(abs(fast - exact) / max(abs(exact), mpmath.mpf(10) ** -300))
    return err <= tol, err, tol


def test_every_formula_of_the_home_is_cross_tested() -> None:
    public = {
        name
        for name, value in vars(G).items()
        if callable(value)
        and getattr(value, "__module__", "") == G.__name__
        and not name.startswith("_")
        and name not in ("mpmath_numeric", "Numeric")
    }
    assert public == set(ROWS), sorted(public ^ set(ROWS))


@pytest.mark.parametrize("name", sorted(ROWS))
def test_float64_and_mpmath_agree(name: str) -> None:
    row = ROWS[name]

    @given(row.args)
    def check(args: tuple[Any, ...]) -> None:
        ok, err, tol = _agree(row, args)
        assert ok, f"{name}{args}: relative difference {err:.3g} > {tol:.3g}"

    check()


def test_a_perturbed_formula_fails_the_cross_test() -> None:
    """Negative control: an AdamW angle whose float64 form is off by one part in 10⁹ (a
    typo-sized error far below anything a plot would show) is caught."""
    row = ROWS["adamw_angular_update"]

    def perturbed(lr: Any, wd: Any, b: Any, num: G.Numeric = G.FLOAT64) -> Any:
        value = G.adamw_angular_update(lr, wd, b, num)
        return value * (1 + 1e-9) if num is G.FLOAT64 else value

    bad = Row(perturbed, row.args, row.condition)
    assert not _agree(bad, (1e-3, 0.01, 0.9))[0]


def test_the_mpmath_backend_restores_the_precision() -> None:
    before = mpmath.mp.dps
    value = G.g2_local_exponent(10**8, 0.25, G.mpmath_numeric(80))
    assert mpmath.mp.dps == before
    assert abs(value - mpmath.mpf("0.125")) < 0.25 * 1.25 / 10**8


def test_closed_forms_match_the_products_they_stand_for() -> None:
    """Independent of the formulas: the products computed step by step in mpmath."""
    with mpmath.workdps(60):
        a, steps = mpmath.mpf("0.8"), 500
        product = mpmath.fsum(mpmath.log1p(a / t) for t in range(1, steps + 1)) / 2
        assert abs(G.g2_log_norm_ratio(steps, a, MP) - product) < mpmath.mpf(10) ** -50
        lrs = [mpmath.mpf(1) / mpmath.sqrt(t + 1) for t in range(300)]
        aligned = mpmath.fsum(mpmath.log(1 + mpmath.mpf("0.7") * e) for e in lrs)
        assert abs(G.log_growth(lrs, "0.7", 1, MP) - aligned) < mpmath.mpf(10) ** -50
        orthogonal = mpmath.fsum(mpmath.log(1 + (mpmath.mpf("0.7") * e) ** 2) for e in lrs) / 2
        assert abs(G.log_growth(lrs, "0.7", 0, MP) - orthogonal) < mpmath.mpf(10) ** -50


def test_the_numpy_predictions_call_the_home() -> None:
    lrs = P.inverse_sqrt_schedule(200, scale=0.1)
    assert lrs[7] == G.inverse_sqrt_lr(7, 0.1)
    schedule = lrs.tolist()  # the same floats, as the sequence the predictions take
    norms = P.g1_aligned_norms(2.0, schedule, kappa=0.5)
    assert math.log(norms[-1] / 2.0) == pytest.approx(G.log_growth(lrs, 0.5), rel=1e-13)
    lo, hi = P.g1_log_growth_bounds(schedule, 0.5)
    assert (lo[-1], hi[-1]) == pytest.approx(
        G.g1_log_growth_bounds(math.fsum(lrs), math.fsum(lrs**2), 0.5), rel=1e-13
    )
    assert math.log(P.g2_with_a1_norms(1.0, schedule, 0.5)[-1]) == pytest.approx(
        G.log_growth(lrs, 0.5, 0), rel=1e-13
    )
    assert P.g2_with_a1_exponent(0.5, 2.0) == G.g2_exponent(0.5, 2.0) == 0.5
    assert P.g2_misaligned_norms(3.0, [4.0])[-1] == G.orthogonal_steps_norm(3.0, 16.0) == 5.0
    assert P.adamw_angular_update(1e-3, 0.1, 0.9) == G.adamw_angular_update(1e-3, 0.1, 0.9)
    assert P.adamw_norms(0.5, 1e-3, 0.1, 10, [0, 50])[-1] == G.adamw_norm(0.5, 1e-3, 0.1, 10, 50)
    assert P.sgd_momentum_equilibrium_norm(0.1, 0.01, 1.0, 0.9) == pytest.approx(
        (0.1 / (2 * 0.01 * 0.1)) ** 0.25, rel=1e-15
    )


def test_the_claims_call_the_home() -> None:
    case = {"kappa": 0.7, "log10_c": -1.0, "schedule": "inverse-sqrt", "steps": 300}
    with mpmath.workdps(60):
        lrs = [mpmath.mpf("0.1") / mpmath.sqrt(t + 1) for t in range(300)]
        assert abs(G1.log_growth(case, 60) - G.log_growth(lrs, 0.7, 1, MP)) < 1e-50
        assert G2.local_exponent(10**6, 0.25, 60) == G.g2_local_exponent(10**6, 0.25, MP)


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda: G.adamw_angular_update(1e-3, 0.1, 1.0), "beta1"),
        (lambda: G.sgd_momentum_angular_update(1e-3, 0.1, -0.1), "momentum"),
        (lambda: G.step_log_growth(0.1, 1.0, 2.0), "alignment"),
        (lambda: G.g2_log_norm_ratio(0.5, 1.0), "steps"),
        (lambda: G.adamw_equilibrium_norm(1e-3, 0.1, 0), "n"),
        (lambda: G.adamw_critical_weight_decay(1e-3, float("nan")), "initial_rms"),
        (lambda: G.mpmath_numeric(2), "digits"),
    ],
)
def test_bad_input_names_the_argument(call: Callable[[], Any], argument: str) -> None:
    with pytest.raises(HomogeneityInputError, match=argument):
        call()
