"""Exact limits lim_{c→∞} f(x; cθ) in the extended reals, for ReLU networks (with or
without biases) and products of linear forms with rational parameters (P1∞).

Along the ray every pre-activation is a polynomial in c with rational coefficients: a
weight or a bias scaled by c multiplies by c, and ReLU(p(c)) equals p(c) for all large c
if p's leading coefficient is positive and 0 otherwise (a non-zero polynomial keeps the
sign of its leading coefficient beyond its Cauchy root bound 1 + max_k |p_k/p_lead|).
So for every c beyond the largest root bound met, f(x; cθ) = P(c) exactly, for a vector
P of polynomials that :func:`ray_polynomials` computes symbolically, and

    lim_{c→∞} P_j(c) = sign(lead P_j)·∞ if deg P_j ≥ 1,  P_j(0) if deg P_j = 0,  0 if P_j ≡ 0,
    lim_{c→∞} P(c)/‖P(c)‖ = a/‖a‖,   a = the coefficients of c^D, D = max_j deg P_j ≥ 1.

:func:`direct_value` evaluates f(x; cθ) at a rational c without the polynomials, so the
symbolic form can be checked against plain exact arithmetic beyond the root bound.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any

Poly = tuple[Fraction, ...]  # coefficients of c^0, c^1, ...
ExtendedReal = Fraction | str  # a rational, "+inf" or "-inf"

ZERO: Poly = ()


def trim(p: Iterable[Fraction | int]) -> Poly:
    """Drop leading zero coefficients (the zero polynomial is ())."""
    out = [Fraction(v) for v in p]
    while out and out[-1] == 0:
        out.pop()
    return tuple(out)


def constant(v: Fraction | int) -> Poly:
    return trim((Fraction(v),))


def add(p: Poly, q: Poly) -> Poly:
    n = max(len(p), len(q))
    return trim((p[k] if k < len(p) else 0) + (q[k] if k < len(q) else 0) for k in range(n))


def scale(p: Poly, a: Fraction | int) -> Poly:
    return trim(a * v for v in p)


def times_c(p: Poly) -> Poly:
    """c·p(c)."""
    return (Fraction(0),) + p if p else ZERO


def multiply(p: Poly, q: Poly) -> Poly:
    if not p or not q:
        return ZERO
    out = [Fraction(0)] * (len(p) + len(q) - 1)
    for i, a in enumerate(p):
        for j, b in enumerate(q):
            out[i + j] += a * b
    return trim(out)


def evaluate(p: Poly, c: Fraction) -> Fraction:
    return sum((v * c**k for k, v in enumerate(p)), Fraction(0))


def root_bound(p: Poly) -> Fraction:
    """Beyond this c a non-zero p has the sign of its leading coefficient (Cauchy)."""
    if len(p) <= 1:
        return Fraction(0)
    return 1 + max(abs(v / p[-1]) for v in p[:-1])


def relu_at_infinity(p: Poly) -> Poly:
    """ReLU(p(c)) for all c beyond root_bound(p)."""
    return p if p and p[-1] > 0 else ZERO


def limit(p: Poly) -> ExtendedReal:
    """lim_{c→∞} p(c) in the extended reals."""
    if not p:
        return Fraction(0)
    if len(p) == 1:
        return p[0]
    return "+inf" if p[-1] > 0 else "-inf"


def _linear(w: Sequence[Sequence[int]], h: Sequence[Poly]) -> list[Poly]:
    out = []
    for row in w:
        acc: Poly = ZERO
        for a, p in zip(row, h, strict=True):
            acc = add(acc, scale(p, a))
        out.append(acc)
    return out


def ray_polynomials(case: Mapping[str, Any]) -> tuple[list[Poly], Fraction]:
    """(P, C₀): f(x; cθ) = P(c) for every c > C₀ (exact)."""
    bound = Fraction(0)
    if case["kind"] == "product":
        theta = [constant(v) for v in case["theta"]]
        out = []
        for factors in case["forms"]:
            acc = constant(1)
            for w in factors:
                acc = multiply(acc, times_c(_linear([w], theta)[0]))
            out.append(acc)
        return out, bound
    h = [constant(v) for v in case["x"]]
    layers, biases = case["weights"], case.get("biases")
    for i, w in enumerate(layers):
        z = [times_c(p) for p in _linear(w, h)]
        if biases is not None:
            z = [add(p, times_c(constant(b))) for p, b in zip(z, biases[i], strict=True)]
        last = i == len(layers) - 1
        if not last or case.get("relu_output", False):
            bound = max([bound] + [root_bound(p) for p in z])
            z = [relu_at_infinity(p) for p in z]
        h = z
    return h, bound


def direct_value(case: Mapping[str, Any], c: Fraction) -> list[Fraction]:
    """f(x; cθ) in exact rational arithmetic (every parameter times c)."""
    if case["kind"] == "product":
        theta = [c * v for v in case["theta"]]
        out = []
        for factors in case["forms"]:
            acc = Fraction(1)
            for w in factors:
                acc *= sum((a * t for a, t in zip(w, theta, strict=True)), Fraction(0))
            out.append(acc)
        return out
    h = [Fraction(v) for v in case["x"]]
    layers, biases = case["weights"], case.get("biases")
    for i, w in enumerate(layers):
        z = [sum((c * a * v for a, v in zip(row, h, strict=True)), Fraction(0)) for row in w]
        if biases is not None:
            z = [v + c * b for v, b in zip(z, biases[i], strict=True)]
        if i < len(layers) - 1 or case.get("relu_output", False):
            z = [max(v, Fraction(0)) for v in z]
        h = z
    return h


def degree(case: Mapping[str, Any]) -> int:
    """k of the bias-free family: the depth of the network or the number of factors."""
    if case["kind"] == "product":
        return len(case["forms"][0])
    return len(case["weights"])


def direction_limit(polys: Sequence[Poly]) -> list[Fraction] | None:
    """a with lim P(c)/‖P(c)‖ = a/‖a‖ (None when every P_j is constant or zero)."""
    top = max((len(p) - 1 for p in polys), default=-1)
    if top < 1:
        return None
    return [p[top] if len(p) - 1 == top else Fraction(0) for p in polys]


def positively_proportional(a: Sequence[Fraction], b: Sequence[Fraction]) -> bool:
    """a = λb for some λ > 0 (same direction), exactly."""
    if not any(b) or not any(a):
        return False
    if any(
        x * y2 != y * x2 for x, y in zip(a, b, strict=True) for x2, y2 in zip(a, b, strict=True)
    ):
        return False
    return sum(x * y for x, y in zip(a, b, strict=True)) > 0


def ladder(bound: Fraction) -> list[Fraction]:
    """c values beyond the root bound: ⌈C₀⌉ + 1 and a few larger ones (10³, 10⁹ times)."""
    base = Fraction(math.ceil(bound) + 1)
    return [base, base * 2, base * 1000, base * 10**9]
