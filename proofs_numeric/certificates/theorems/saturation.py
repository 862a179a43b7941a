"""P1* on a fixed instance: saturation under perturbed norm growth, with its rate.

Parameters: the instance θ′ = (w, u₁, …, u_n) (``w``: a vector, ``us``: n vectors; JSON
numbers, used exactly as written),
``E_max`` (rational) and ``factor`` F (rational; the claim uses 1). Scores S′_j = w·u_j;
they must have a unique maximiser j* with gap γ > 0 (certified). Statement: for every
c ≥ 1, every E ∈ [0, E_max] and every perturbation e with ‖e_w‖, ‖e_j‖ ≤ E,

    ‖softmax(S(cθ′ + e)) − onehot(j*)‖_∞ ≤ F (n − 1) e^{−(c²γ − 2Δ)},
    Δ = cE(‖w‖ + max_j ‖u_j‖) + E²,

where S_j(cθ′ + e) = (cw + e_w)·(cu_j + e_j). E_max must be small enough that
c²γ > 2Δ for every c ≥ 1 on the whole domain (the checker verifies it per box), so the
premise of P1* holds everywhere and nothing is vacuous.

Reduction (lemmas). (i) Cauchy–Schwarz: |S_j(cθ′ + e) − c²S′_j| ≤ cE(‖w‖ + ‖u_j‖) + E² ≤ Δ.
(ii) softmax_i increases in its own score and decreases in every other one, so over the
box of perturbed scores, 1 − p_{j*} is largest at y⁽*⁾ = (c²S′_{j*} − Δ, c²S′_l + Δ) and
p_j at y⁽ʲ⁾ = (c²S′_j + Δ, c²S′_l − Δ for l ≠ j). With G = c²γ − 2Δ, q = e^{−G},
d_l = S_runner − S′_l ≥ 0 and r_l = e^{−c²d_l} (so e^{−G_l} = q r_l for the gap
G_l = c²(S′_{j*} − S′_l) − 2Δ):

    1 − p_{j*}(y⁽*⁾) = Σ_l q r_l/(1 + Σ_l q r_l),
    p_j(y⁽ʲ⁾)        = q r_j/(1 + q r_j + q e^{−2Δ} Σ_{l≠j} r_l),

and "≤ F(n−1)q" becomes, after dividing by q > 0 and multiplying by the denominators,

    F(n−1)(1 + qΣ r_l) − Σ r_l ≥ 0,   F(n−1)(1 + q r_j + q e^{−2Δ}Σ_{l≠j} r_l) − r_j ≥ 0.

When the non-maximal scores tie (all r_l = 1) the first margin is F(n−1)(1 + (n−1)q) −
(n−1), exactly 0 at q = 0 (c → ∞) for F = 1: the bound is attained in the limit, and the
interval evaluation at the corner q = 0, r = 1 is exact, so no bisection is needed there.
Variables: s = 1/c ∈ [0, 1] and E ∈ [0, E_max].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flint import arb, fmpq

from proofs_numeric.certificates.intervals import Interval, exp_neg_product
from proofs_numeric.certificates.theorems.base import (
    Box,
    CertificateRejected,
    Form,
    Prepared,
    Theorem,
    exact_number,
    rational,
    rational_text,
)


def _vector(x: Any, what: str) -> list[int | float]:
    """The numbers exactly as the file writes them (no rounding of ints through float)."""
    if not (isinstance(x, list) and x):
        raise CertificateRejected(f"{what} must be a non-empty list of numbers")
    return [exact_number(v, what) for v in x]


def _norm(v: Sequence[int | float]) -> Interval:
    total = Interval.of(0)
    for x in v:
        total = total + Interval.of(x).square()
    return total.sqrt()


def _dot(a: Sequence[int | float], b: Sequence[int | float]) -> Interval:
    total = Interval.of(0)
    for x, y in zip(a, b, strict=True):
        total = total + Interval.of(x) * Interval.of(y)
    return total


def _nonnegative(x: Interval) -> Interval:
    """d_l = S_runner − S′_l ≥ 0 by definition of the runner-up: intersect the enclosure
    with [0, ∞). An enclosure entirely below 0 (or not comparable) contradicts that and is
    refused rather than clipped to a wrong [0, 0]."""
    if not x.hi >= 0:
        raise ValueError(f"the enclosure {x!r} of a non-negative gap lies below 0")
    return Interval(x.lo if x.lo >= 0 else arb(0), x.hi)


def _margins(vals: Mapping[str, Any], consts: Mapping[str, Any]) -> list[Any]:
    n, factor = consts["n"], consts["factor"]
    q, damp = vals["q"], vals["damp"]
    rs = [vals[f"r{index}"] for index in range(1, n)]
    total = rs[0]
    for r in rs[1:]:
        total = total + r
    budget = factor * (n - 1)
    out = [budget * (1 + q * total) - total]
    for j, r in enumerate(rs):
        others = None
        for i, r_other in enumerate(rs):
            if i != j:
                others = r_other if others is None else others + r_other
        inner = 1 + q * r if others is None else 1 + q * r + q * damp * others
        out.append(budget * inner - r)
    return out


class PerturbedSaturation(Theorem):
    name = "perturbed_saturation"
    parameter_keys = frozenset({"w", "us", "E_max", "factor"})
    lemmas = (
        "Cauchy–Schwarz: |(cw + e_w)·(cu_j + e_j) − c² w·u_j| ≤ cE(‖w‖₂ + ‖u_j‖₂) + E² ≤ Δ "
        "when ‖e_w‖₂, ‖e_j‖₂ ≤ E",
        "softmax_i is increasing in its own score and decreasing in each other score, so "
        "over the box of perturbed scores each deviation is largest at a corner",
        "s_f(θ′) = onehot(j*) for a unique maximiser j* of the scores of θ′ (D7)",
        "compactification: s = 1/c ∈ [0, 1]; s = 0 is the limit c → ∞, included",
    )

    def statement(self, parameters: Mapping[str, Any]) -> str:
        w, us, e_max, factor = self._parameters(parameters)
        f = "" if factor == 1 else f"{rational_text(factor)}·"
        return (
            f"For θ′ = (w, u_1..u_{len(us)}) with w = {w}, u = {us}: for all c ≥ 1, all "
            f"E ∈ [0, {rational_text(e_max)}] and every e with ‖e_w‖₂, ‖e_j‖₂ ≤ E: "
            f"‖softmax(S(cθ′ + e)) − s_f(θ′)‖_∞ ≤ {f}(n − 1)·exp(−(c²γ − 2Δ)), "
            f"Δ = cE(‖w‖₂ + max_j ‖u_j‖₂) + E², S_j(θ) = w·u_j, γ the gap of S(θ′)"
        )

    @staticmethod
    def _parameters(parameters: Mapping[str, Any]):
        w = _vector(parameters.get("w"), "w")
        us = parameters.get("us")
        if not (isinstance(us, list) and len(us) >= 2):
            raise CertificateRejected("us must list at least two vectors")
        us = [_vector(u, "u") for u in us]
        if any(len(u) != len(w) for u in us):
            raise CertificateRejected("every u_j must have the dimension of w")
        e_max, factor = (
            rational(parameters.get("E_max"), "E_max"),
            rational(parameters.get("factor"), "factor"),
        )
        if not (e_max > 0 and factor > 0):
            raise CertificateRejected("need E_max > 0 and factor > 0")
        return w, us, e_max, factor

    def required_parts(self, parameters: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        self._parameters(parameters)
        return {"instance": {}}

    def prepare(
        self, parameters: Mapping[str, Any], part: Mapping[str, Any], constants: Mapping[str, Any]
    ) -> Prepared:
        w, us, e_max, factor = self._parameters(parameters)
        scores = [_dot(w, u) for u in us]
        winners = [
            j
            for j, s in enumerate(scores)
            if all(s.lo > t.hi for i, t in enumerate(scores) if i != j)
        ]
        if len(winners) != 1:
            raise CertificateRejected("the scores of θ′ have no certified unique maximiser")
        top = winners[0]
        others = [s for j, s in enumerate(scores) if j != top]
        runner = others[0]
        for s in others[1:]:
            runner = runner.maximum(s)
        norm_u = _norm(us[0])
        for u in us[1:]:
            norm_u = norm_u.maximum(_norm(u))
        return Prepared(
            variables=("s", "E"),
            consts={"n": len(us), "factor": factor},
            data={
                "gamma": scores[top] - runner,
                "d": [_nonnegative(runner - s) for s in others],
                "K": _norm(w) + norm_u,
                "E_max": e_max,
            },
        )

    def domain(self, prepared: Prepared) -> list[tuple[fmpq, fmpq]]:
        return [(fmpq(0), fmpq(1)), (fmpq(0), prepared.data["E_max"])]

    def derived(self, prepared: Prepared, box: Box) -> dict[str, Interval]:
        (s0, s1), (e0, e1) = box
        s, e = Interval(s0, s1), Interval(e0, e1)
        data = prepared.data
        # G = (γ − 2EKs − 2E²s²)/s²: the numerator must be positive on the box (premise)
        numerator = data["gamma"] - 2 * e * data["K"] * s - 2 * e.square() * s.square()
        if not numerator.lo > 0:
            raise ValueError("the premise c²γ > 2Δ fails on this box")
        inv_sq_lo = (1 / (s1 * s1)).lower()
        inv_sq_hi = None if s0 == 0 else (1 / (s0 * s0)).upper()
        out = {"q": exp_neg_product(numerator, inv_sq_lo, inv_sq_hi)}
        # Δ = EK/s + E² ≥ E0 K/s1 + E0²; e^{−2Δ} ∈ [e^{−2Δ_hi}, e^{−2Δ_lo}]
        delta_lo = (e.lo * data["K"].lo / s1 + e.lo * e.lo).lower()
        if s0 == 0:
            damp_lo = arb(1) if e.hi == 0 else arb(0)
        else:
            damp_lo = (-2 * ((e.hi * data["K"].hi / s0) + e.hi * e.hi)).exp().lower()
        out["damp"] = Interval(damp_lo, (-2 * delta_lo).exp().upper())
        for index, d in enumerate(data["d"], start=1):
            out[f"r{index}"] = exp_neg_product(d, inv_sq_lo, inv_sq_hi)
        return out

    def forms(self, prepared: Prepared) -> dict[str, Form]:
        return {
            "canonical": Form(
                "canonical", "canonical", _margins, "worst-corner deviations ≤ F(n−1)e^{−G}"
            )
        }


THEOREM = PerturbedSaturation()
