"""The checker's maps against the package's own mpmath primitives, on shared points.

The checker is deliberately a second implementation of the maps it needs; these tests
are what makes that worth something: at random points of each certificate's domain the
checker's margin (evaluated on a degenerate box) must agree with the same quantity
computed from ``proofs_numeric.precision`` (softmax,
sigmoid, tanh, the attention head, digamma), and the lemmas the reductions rest on are
spot-checked numerically (worst corners, the ψ bounds, the fundamental theorem of
calculus, the Euler identity of the head).
"""

from __future__ import annotations

import math
import random

import mpmath
import pytest
from flint import arb

from proofs_numeric import precision as P
from proofs_numeric.certificates import checker as independent
from proofs_numeric.certificates.intervals import Interval, arb_precision
from proofs_numeric.certificates.specs import HEAD_CASE, P1_INSTANCE, head_instance
from proofs_numeric.certificates.theorems import THEOREMS
from proofs_numeric.certificates.theorems.base import at_point
from proofs_numeric.claims._transformer import head_outputs, sublayer_weights

DPS = 60
REL = mpmath.mpf(10) ** -25


def _mp(x: arb) -> mpmath.mpf:
    return mpmath.mpf(x.mid().str(40, radius=False))


def _mid(interval: Interval) -> mpmath.mpf:
    return (_mp(interval.lo) + _mp(interval.hi)) / 2


def _evaluate(theorem: str, parameters, part, constants, form: str, point):
    th = THEOREMS[theorem]
    with arb_precision(192):
        prepared = th.prepare(parameters, part, constants)
        box = at_point([arb(v) for v in point])
        vals = th.derived(prepared, box)
        margins = th.forms(prepared)[form].margins(vals, prepared.consts)
        return prepared, vals, [Interval.of(m) for m in margins]


def _close(a, b, rel=REL) -> bool:
    return abs(a - b) <= rel * (1 + abs(a) + abs(b))


# -- L6, L8 ------------------------------------------------------------------------------


@pytest.mark.parametrize("phi", ["sigmoid", "tanh"])
@pytest.mark.parametrize("bound", [("1", "1"), ("2", "2"), ("1", "21/20")])
def test_scalar_margin_is_the_bound_minus_the_error(phi: str, bound) -> None:
    rng = random.Random(f"{phi}{bound}")
    a_text, d_text = bound
    d_num, _, d_den = d_text.partition("/")
    big_k, k = (1, 1) if phi == "sigmoid" else (2, 2)
    part = {"phi": phi, "A": a_text, "d": d_text}
    for _ in range(20):
        s, x = rng.choice([1.0, rng.uniform(1e-3, 1.0)]), rng.uniform(0.0, 16.0)
        _, _, (margin,) = _evaluate(
            "scalar_saturation",
            {"phi": phi, "bounds": [list(bound)]},
            part,
            {"X": "16"},
            "canonical",
            [s, x],
        )
        with mpmath.workdps(DPS):
            a, d = mpmath.mpf(int(a_text)), mpmath.mpf(int(d_num)) / int(d_den or 1)
            xs, c = mpmath.mpf(x), 1 / mpmath.mpf(s)
            f = P.sigmoid if phi == "sigmoid" else P.tanh
            err = abs(f(c * xs, digits=DPS) - f(xs, digits=DPS))
            u, v = mpmath.exp(-xs), mpmath.exp(-c * xs)
            denominator = (1 + u**k) * (1 + v**k)
            expected = denominator * mpmath.exp(d * xs) * (a * mpmath.exp(-d * xs) - err)
            assert _close(_mid(margin), expected), (s, x)
    assert big_k == k  # (K, k) of the tail lemma: (1, 1) for σ, (2, 2) for tanh


def test_tanh_rewrite_agrees_with_the_canonical_margin_at_points() -> None:
    rng = random.Random(8)
    params = {"phi": "tanh", "bounds": [["1", "1"]]}
    part = {"phi": "tanh", "A": "1", "d": "1"}
    for _ in range(20):
        point = [rng.uniform(1e-3, 1.0), rng.uniform(0.0, 16.0)]
        _, _, (a,) = _evaluate("scalar_saturation", params, part, {"X": "16"}, "canonical", point)
        _, _, (b,) = _evaluate(
            "scalar_saturation", params, part, {"X": "16"}, "tanh_squares", point
        )
        assert _close(_mid(a), _mid(b))


def test_tail_lemma_inequalities_hold_numerically() -> None:
    with mpmath.workdps(400):  # 1 − tanh x next to 2e^{−2x}: they differ by ~2e^{−4x}
        for x in (16, 17.5, 40, 150):
            x = mpmath.mpf(x)
            assert 1 - P.sigmoid(x, digits=400) <= mpmath.exp(-x)
            assert 1 - P.tanh(x, digits=400) <= 2 * mpmath.exp(-2 * x)


# -- L7*, D7 -----------------------------------------------------------------------------


def _row(m: int, q: float, ws: list[float]) -> list[mpmath.mpf]:
    gamma = -mpmath.log(mpmath.mpf(q))
    return [mpmath.mpf(0)] * m + [-gamma + mpmath.log(mpmath.mpf(w)) for w in ws]


@pytest.mark.parametrize(("m", "k"), [(1, 1), (1, 4), (2, 2), (3, 2), (4, 1)])
def test_softmax_gap_margin_is_the_bound_minus_the_largest_error(m: int, k: int) -> None:
    rng = random.Random(m * 10 + k)
    params = {"rows": 5, "scale": "1", "rate": "1"}
    for _ in range(10):
        q, s = rng.uniform(1e-3, 0.999), rng.uniform(0.05, 1.0)
        ws = [1.0] + [rng.uniform(1e-3, 1.0) for _ in range(k - 1)]
        prepared, vals, margins = _evaluate(
            "softmax_gap", params, {"m": m, "k": k}, {}, "canonical", [q, s, *ws[1:]]
        )
        with mpmath.workdps(DPS):
            c_bound = mpmath.mpf(max(m, k)) / (m * m)
            x = _row(m, q, ws)
            c = 1 / mpmath.mpf(s)
            pairs = zip(P.softmax([c * t for t in x]), P.softmax(x), strict=True)
            err = max(abs(a - b) for a, b in pairs)
            qm = mpmath.mpf(q)
            p_1 = m + qm * sum(mpmath.mpf(w) for w in ws)
            p_c = m + qm * _mid(vals["v"]) * (1 + sum(_mid(vals[f"W{j}"]) for j in range(2, k + 1)))
            cd = prepared.consts["cd"]
            expected = mpmath.mpf(int(cd.p)) * p_1 * p_c / qm * (c_bound * qm - err)
            smallest = min(_mid(mg) for mg in margins)
            assert _close(smallest, expected), (q, s, ws)


@pytest.mark.parametrize(("m", "k"), [(1, 1), (1, 3), (2, 3), (4, 1)])
def test_argmax_limit_margins_are_the_bound_minus_each_deviation(m: int, k: int) -> None:
    rng = random.Random(100 + m * 10 + k)
    params = {"rows": 5, "scale": "1", "rate": "1"}
    for _ in range(10):
        q = rng.uniform(1e-3, 0.999)
        ws = [1.0] + [rng.uniform(1e-3, 1.0) for _ in range(k - 1)]
        prepared, _, margins = _evaluate(
            "argmax_limit", params, {"m": m, "k": k}, {}, "canonical", [q, *ws[1:]]
        )
        with mpmath.workdps(DPS):
            c_bound = mpmath.mpf(max(m, k)) / (m * m)
            weights = P.softmax(_row(m, q, ws))
            qm, cd = mpmath.mpf(q), mpmath.mpf(int(prepared.consts["cd"].p))
            big_p = m + qm * sum(mpmath.mpf(w) for w in ws)
            expected = [cd * m * big_p / qm * (c_bound * qm - (1 / mpmath.mpf(m) - weights[0]))]
            expected += [cd * big_p / qm * (c_bound * qm - weights[m + j]) for j in range(k)]
            for got, want in zip(margins, expected, strict=True):
                assert _close(_mid(got), want)


# -- P1*[instance] -----------------------------------------------------------------------


def _corner(scores, top: int, j: int, delta):
    """y⁽ʲ⁾: score j pushed up by Δ, the others down (j = top: the top down, others up)."""
    if j == top:
        return [s - delta if i == top else s + delta for i, s in enumerate(scores)]
    return [s + delta if i == j else s - delta for i, s in enumerate(scores)]


def test_perturbed_saturation_margins_match_the_worst_corners() -> None:
    rng = random.Random(11)
    w, us = P1_INSTANCE["w"], P1_INSTANCE["us"]
    n = len(us)
    for _ in range(15):
        s, e = rng.uniform(0.2, 1.0), rng.uniform(0.0, 0.125)
        _, _, margins = _evaluate("perturbed_saturation", P1_INSTANCE, {}, {}, "canonical", [s, e])
        with mpmath.workdps(DPS):
            c, big_e = 1 / mpmath.mpf(s), mpmath.mpf(e)
            base = [mpmath.fdot(w, u) for u in us]
            norm = lambda v: mpmath.sqrt(mpmath.fsum(t * t for t in v))  # noqa: E731
            delta = c * big_e * (norm(w) + max(norm(u) for u in us)) + big_e**2
            gap = c * c * (base[0] - max(base[1:])) - 2 * delta
            bound = (n - 1) * mpmath.exp(-gap)
            for i in range(n):
                y = _corner([c * c * b for b in base], 0, i, delta)
                p = P.softmax(y)
                dev = mpmath.fsum(p[1:]) if i == 0 else p[i]  # no cancellation
                expected = (bound - dev) / (mpmath.exp(-gap) * p[0])
                assert _close(_mid(margins[i]), expected, mpmath.mpf(10) ** -20), (s, e, i)


def test_random_perturbations_stay_below_the_worst_corner() -> None:
    # the lemmas (Cauchy–Schwarz, monotonicity of softmax in its scores) spot-checked
    rng = random.Random(12)
    w, us = P1_INSTANCE["w"], P1_INSTANCE["us"]

    def ball(radius: mpmath.mpf) -> list[mpmath.mpf]:
        v = [rng.gauss(0, 1) for _ in w]
        r = math.sqrt(sum(t * t for t in v)) or 1.0
        return [radius * rng.random() * t / r for t in v]

    def plus(c: mpmath.mpf, a: list[float], b: list[mpmath.mpf]) -> list[mpmath.mpf]:
        return [c * x + y for x, y in zip(a, b, strict=True)]

    with mpmath.workdps(30):
        for _ in range(200):
            c, big_e = mpmath.mpf(rng.uniform(1, 4)), mpmath.mpf(rng.uniform(0, 0.125))
            ew, eus = ball(big_e), [ball(big_e) for _ in us]
            y = [mpmath.fdot(plus(c, w, ew), plus(c, u, eu)) for u, eu in zip(us, eus, strict=True)]
            p = P.softmax(y)
            dev = max(1 - p[0], *p[1:])
            norm = lambda v: mpmath.sqrt(mpmath.fsum(t * t for t in v))  # noqa: E731
            delta = c * big_e * (norm(w) + max(norm(u) for u in us)) + big_e**2
            base = [mpmath.fdot(w, u) for u in us]
            worst = max(
                (1 - P.softmax(_corner([c * c * b for b in base], 0, 0, delta))[0]),
                *(P.softmax(_corner([c * c * b for b in base], 0, i, delta))[i] for i in (1, 2)),
            )
            assert dev <= worst * (1 + mpmath.mpf(10) ** -20)


# -- P4*[instance], EU~*[instance] -------------------------------------------------------


def _head_instance():
    """The seeded instance of the head certificates, and its score rows at ρ = 1."""
    case = dict(HEAD_CASE)
    w0 = sublayer_weights(case, "mha")
    trace: list = []
    head_outputs(w0.at(1), case, DPS, trace)
    return case, w0, trace[0].scores[0]


@pytest.mark.parametrize("row", [0, 1, 2])
def test_head_ray_margin_reproduces_the_head_error(row: int) -> None:
    rng = random.Random(row)
    case, w0, scores = _head_instance()
    params = {"instance": head_instance(), "constant": "4"}
    for _ in range(6):
        q, v = rng.uniform(0.05, 0.95), rng.uniform(0.05, 1.0)
        prepared, vals, (margin,) = _evaluate(
            "head_ray", params, {"row": row}, {}, "canonical", [q, v]
        )
        with mpmath.workdps(DPS):
            gamma0 = P.softmax_gap(scores[row], digits=DPS)
            lam = -mpmath.log(mpmath.mpf(q)) / gamma0
            rho = lam ** (mpmath.mpf(1) / 4)
            c = (1 + mpmath.log(mpmath.mpf(v)) / mpmath.log(mpmath.mpf(q))) ** (mpmath.mpf(1) / 4)
            h1 = head_outputs(w0.at(rho), case, DPS)[row]
            hc = head_outputs(w0.at(rho * c), case, DPS)[row]
            lhs = mpmath.sqrt(mpmath.fsum((a / c**2 - b) ** 2 for a, b in zip(hc, h1, strict=True)))
            others = prepared.data["others"]
            qm = mpmath.mpf(q)
            z = 1 + qm * mpmath.fsum(_mid(vals[f"a{j}"]) for j in others)
            z_c = 1 + qm * mpmath.fsum(_mid(vals[f"a{j}"]) * _mid(vals[f"b{j}"]) for j in others)
            budget = 4 * len(others) * _mid(prepared.data["vmax"]) * z * z_c
            norm = mpmath.sqrt(budget**2 - _mid(margin))
            assert _close(rho**2 * qm / (z * z_c) * norm, lhs, mpmath.mpf(10) ** -20)


@pytest.mark.parametrize("row", [0, 1, 2])
def test_head_euler_margin_reproduces_the_euler_residual(row: int) -> None:
    rng = random.Random(20 + row)
    case, w0, scores = _head_instance()
    params = {"instance": head_instance(), "constant": "12"}
    for _ in range(5):
        q = rng.uniform(0.05, 0.95)
        prepared, vals, (margin,) = _evaluate(
            "head_euler_ray", params, {"row": row}, {}, "phi_exp", [q]
        )
        with mpmath.workdps(3 * DPS):
            gamma0 = P.softmax_gap(scores[row], digits=3 * DPS)
            lam = -mpmath.log(mpmath.mpf(q)) / gamma0
            rho = lam ** (mpmath.mpf(1) / 4)
            h = mpmath.mpf(10) ** -(DPS)
            up = head_outputs(w0.at(rho * (1 + h)), case, 3 * DPS)[row]
            down = head_outputs(w0.at(rho * (1 - h)), case, 3 * DPS)[row]
            mid = head_outputs(w0.at(rho), case, 3 * DPS)[row]
            residual = mpmath.sqrt(
                mpmath.fsum(
                    ((a - b) / (2 * h) - 2 * m) ** 2 for a, b, m in zip(up, down, mid, strict=True)
                )
            )
            others = prepared.data["others"]
            qm = mpmath.mpf(q)
            z = 1 + qm * mpmath.fsum(_mid(vals[f"a{j}"]) for j in others)
            budget = (
                3 * len(others) * _mid(prepared.data["gamma"]) * _mid(prepared.data["vmax"]) * z
            )
            norm = mpmath.sqrt(budget**2 - _mid(margin))
            assert _close(4 * rho**2 * lam * qm / z * norm, residual, mpmath.mpf(10) ** -15)


def test_head_instance_is_the_package_seeded_sublayer() -> None:
    inst = head_instance()
    w = sublayer_weights(dict(HEAD_CASE), "mha").values
    assert inst["x"] == w["x"] and inst["value"] == w["sub.value.weight"]
    values = P.linear(w["x"], w["sub.value.weight"])
    assert len(values) == HEAD_CASE["n"]


# -- G2*[a≤100] --------------------------------------------------------------------------


def test_growth_maps_match_digamma_and_enclose_the_stirling_tail() -> None:
    rng = random.Random(2)
    params, consts = {"a_max": "100", "factor": "1"}, {"K": "1", "T0": "8"}
    for _ in range(10):
        big_t, b = rng.uniform(1, 8), rng.uniform(0, 100)
        _, vals, _ = _evaluate(
            "growth_exponent", params, {"region": "compact"}, consts, "canonical", [big_t, b]
        )
        with mpmath.workdps(DPS):
            assert _close(_mid(vals["g"]), _g(mpmath.mpf(big_t), mpmath.mpf(b)))
    for _ in range(10):
        t, b = rng.uniform(1e-6, 1 / 8), rng.uniform(0, 100)
        _, _, (upper_margin, lower_margin) = _evaluate(
            "growth_exponent", params, {"region": "stirling"}, consts, "canonical", [t, b]
        )
        with mpmath.workdps(DPS):
            big_t = 1 / mpmath.mpf(t)
            tg = big_t * _g(big_t, mpmath.mpf(b))
            budget = 2 * mpmath.mpf(b) + 1
            # the margins use the tail lemma's bounds on T·g: they are at most the true ones
            assert _mid(upper_margin) <= budget - tg + REL
            assert _mid(lower_margin) <= budget + tg + REL


def _g(big_t, b):
    """g(T, b) = ψ(2T+1+b) − ψ(T+1+b) − ln 2 (mpmath)."""
    return mpmath.digamma(2 * big_t + 1 + b) - mpmath.digamma(big_t + 1 + b) - mpmath.log(2)


def _log_ratio(big_t, a):
    """L(T) = ½[lnΓ(T+1+a) − lnΓ(1+a) − lnΓ(T+1)] (mpmath)."""
    return (
        mpmath.loggamma(big_t + 1 + a) - mpmath.loggamma(1 + a) - mpmath.loggamma(big_t + 1)
    ) / 2


def test_growth_exponent_reduction_by_the_fundamental_theorem_of_calculus() -> None:
    with mpmath.workdps(30):
        for a, big_t in ((0.25, 3.0), (9.0, 40.0), (81.0, 1.5)):
            a, big_t = mpmath.mpf(a), mpmath.mpf(big_t)
            p_t = (_log_ratio(2 * big_t, a) - _log_ratio(big_t, a)) / mpmath.log(2)
            integral = mpmath.quad(lambda b, t=big_t: _g(t, b), [0, a]) / (2 * mpmath.log(2))
            assert _close(p_t - a / 2, integral, mpmath.mpf(10) ** -20)
            assert abs(p_t - a / 2) <= a * (a + 1) / big_t


def test_digamma_bounds_of_the_tail_lemma_hold_numerically() -> None:
    with mpmath.workdps(40):
        for y in (1, 2.5, 9, 17, 1e3, 1e8):
            y = mpmath.mpf(y)
            psi = mpmath.digamma(y)
            assert (
                mpmath.log(y) - 1 / (2 * y) - 1 / (12 * y**2) <= psi <= mpmath.log(y) - 1 / (2 * y)
            )


def test_checker_reports_are_reproducible_in_process() -> None:
    # the same file verified twice gives the same report (no global state leaks)
    from proofs_numeric.certificates import DATA_DIR

    a = independent.verify_file(DATA_DIR / "g2_star_exponent.json")
    b = independent.verify_file(DATA_DIR / "g2_star_exponent.json")
    assert (a.boxes, a.min_lower, a.sha256) == (b.boxes, b.min_lower, b.sha256)
    assert isinstance(a.min_lower, float)
