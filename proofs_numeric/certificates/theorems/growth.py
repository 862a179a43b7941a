"""G2*: the local growth exponent of ∏(1 + a/t), for every real T ≥ 1.

Parameters: ``a_max`` and ``factor`` F (rationals; the claim uses F = 1). Statement: for
all 0 < a ≤ a_max and every real T ≥ 1,

    |p_T − a/2| ≤ F·a(a+1)/T,   p_T = [L(2T) − L(T)]/ln 2,
    L(T) = ½[lnΓ(T+1+a) − lnΓ(1+a) − lnΓ(T+1)]  (= ln(‖θ_T‖/‖θ_0‖)).

Reduction (the fundamental theorem of calculus, ψ = (lnΓ)′):

    p_T − a/2 = (1/(2 ln 2)) ∫₀^a g(T, b) db,   g(T, b) = ψ(2T+1+b) − ψ(T+1+b) − ln 2,

so |g(T, b)| ≤ K(2b+1)/T on T ≥ 1, b ∈ [0, a_max] gives |p_T − a/2| ≤ K(a² + a)/(2 ln 2·T),
which is the statement when K ≤ 2 ln 2·F (checked). K is a proof constant.

Parts. ``compact``: T ∈ [1, T₀], b ∈ [0, a_max], margins K(2b+1) ∓ T g ≥ 0, with ψ
enclosed through its monotonicity (ψ′ > 0). ``stirling``: t = 1/T ∈ [0, 1/T₀] (T ≥ T₀,
t = 0 is T = ∞), with the tail lemma (the digamma bounds from Binet's formula)

    ln y − 1/(2y) − 1/(12y²) ≤ ψ(y) ≤ ln y − 1/(2y)   (y > 0)

and −z/(1−z) ≤ ln(1−z) ≤ −z. With y = 1+b, τ = yt, y₁ = 2T+1+b = T(2+τ) and
y₂ = T+1+b = T(1+τ), ln(y₁/(2y₂)) = ln(1 − z) with z = τ/(2+2τ), and

    −y/(2+τ) + A − B − t/(12(2+τ)²) ≤ T g ≤ −y/(2(1+τ)) + A − B + t/(12(1+τ)²),

A = 1/(2(1+τ)), B = 1/(2(2+τ)): rational in (t, b), finite at t = 0 (T g → −b/2 − 1/4).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flint import arb, fmpq

from proofs_numeric.certificates.intervals import Interval
from proofs_numeric.certificates.theorems.base import (
    Box,
    CertificateRejected,
    Form,
    Prepared,
    Theorem,
    rational,
    rational_text,
)


def _compact(vals: Mapping[str, Any], consts: Mapping[str, Any]) -> list[Any]:
    k, big_t, b, g = consts["K"], vals["T"], vals["b"], vals["g"]
    budget = k * (2 * b + 1)
    return [budget - big_t * g, budget + big_t * g]


def _stirling(vals: Mapping[str, Any], consts: Mapping[str, Any]) -> list[Any]:
    k, t, b = consts["K"], vals["t"], vals["b"]
    y = 1 + b
    tau = y * t
    one, two = 1 + tau, 2 + tau
    a_term, b_term = 1 / (2 * one), 1 / (2 * two)
    tg_low = -(y / two) + a_term - b_term - t / (12 * two.square())
    tg_high = -(y / (2 * one)) + a_term - b_term + t / (12 * one.square())
    budget = k * (2 * b + 1)
    return [budget - tg_high, budget + tg_low]


class GrowthExponent(Theorem):
    name = "growth_exponent"
    parameter_keys = frozenset({"a_max", "factor"})
    lemmas = (
        "‖θ_T‖/‖θ_0‖ = [Γ(T+1+a)/(Γ(1+a)Γ(T+1))]^{1/2} for ∏_{t≤T}(1 + a/t) (G2*, exact)",
        "fundamental theorem of calculus: p_T − a/2 = (1/(2 ln 2))∫₀^a [ψ(2T+1+b) − "
        "ψ(T+1+b) − ln 2] db, so |ψ(2T+1+b) − ψ(T+1+b) − ln 2| ≤ K(2b+1)/T for b ∈ [0, a] "
        "gives |p_T − a/2| ≤ K a(a+1)/(2 ln 2·T)",
        "ψ is increasing on (0, ∞) (ψ′(y) = Σ_k 1/(y+k)² > 0)",
    )
    tail_lemma = (
        "for T ≥ T₀ (Stirling with Binet's remainder): ln y − 1/(2y) − 1/(12y²) ≤ ψ(y) ≤ "
        "ln y − 1/(2y) for y > 0, and −z/(1−z) ≤ ln(1−z) ≤ −z for z ∈ [0, 1)"
    )

    def statement(self, parameters: Mapping[str, Any]) -> str:
        a_max, factor = self._parameters(parameters)
        f = "" if factor == 1 else f"{rational_text(factor)}·"
        return (
            f"For all 0 < a ≤ {rational_text(a_max)} and every real T ≥ 1: |p_T − a/2| ≤ "
            f"{f}a(a+1)/T, where p_T = [L(2T) − L(T)]/ln 2 and L(T) = ½[lnΓ(T+1+a) − "
            f"lnΓ(1+a) − lnΓ(T+1)] (the local exponent of ‖θ_t‖ under orthogonal steps "
            f"with ‖δ_t‖ = κη_t‖θ_t‖, η_t = c/√t, a = κ²c²)"
        )

    @staticmethod
    def _parameters(parameters: Mapping[str, Any]) -> tuple[fmpq, fmpq]:
        a_max = rational(parameters.get("a_max"), "a_max")
        factor = rational(parameters.get("factor"), "factor")
        if not (a_max > 0 and factor > 0):
            raise CertificateRejected("need a_max > 0 and factor > 0")
        return a_max, factor

    @staticmethod
    def _constants(constants: Mapping[str, Any]) -> tuple[fmpq, fmpq]:
        if set(constants) != {"K", "T0"}:
            raise CertificateRejected(f"constants must be {{K, T0}}, got {sorted(constants)}")
        k, t0 = rational(constants["K"], "K"), rational(constants["T0"], "T0")
        if not (k > 0 and t0 >= 1 and t0.p == 1 << (t0.p.bit_length() - 1) and t0.q == 1):
            raise CertificateRejected("need K > 0 and T0 a power of two ≥ 1 (dyadic 1/T0)")
        return k, t0

    def check_constants(self, parameters: Mapping[str, Any], constants: Mapping[str, Any]) -> str:
        _, factor = self._parameters(parameters)
        k, t0 = self._constants(constants)
        limit = 2 * arb(2).log() * arb(factor)
        if not arb(k) <= limit:
            raise CertificateRejected(
                f"K = {rational_text(k)} exceeds 2 ln 2·F = {limit.str(6)}: the bound on g "
                f"does not give the claimed F·a(a+1)/T"
            )
        return f"K = {rational_text(k)} ≤ 2 ln 2·F checked; Stirling tail from T₀ = {t0}"

    def required_parts(self, parameters: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        self._parameters(parameters)
        return {"compact": {"region": "compact"}, "stirling": {"region": "stirling"}}

    def prepare(
        self, parameters: Mapping[str, Any], part: Mapping[str, Any], constants: Mapping[str, Any]
    ) -> Prepared:
        a_max, _ = self._parameters(parameters)
        k, t0 = self._constants(constants)
        region = part["region"]
        return Prepared(
            variables=("T", "b") if region == "compact" else ("t", "b"),
            consts={"K": k},
            data={"region": region, "a_max": a_max, "T0": t0},
        )

    def domain(self, prepared: Prepared) -> list[tuple[fmpq, fmpq]]:
        a_max, t0 = prepared.data["a_max"], prepared.data["T0"]
        if prepared.data["region"] == "compact":
            return [(fmpq(1), t0), (fmpq(0), a_max)]
        return [(fmpq(0), 1 / t0), (fmpq(0), a_max)]

    def derived(self, prepared: Prepared, box: Box) -> dict[str, Interval]:
        b = Interval(*box[1])
        if prepared.data["region"] == "stirling":
            return {"t": Interval(*box[0]), "b": b}
        t_int = Interval(*box[0])
        psi_1 = (2 * t_int + 1 + b).digamma()
        psi_2 = (t_int + 1 + b).digamma()
        return {"T": t_int, "b": b, "g": psi_1 - psi_2 - Interval.of(arb(2).log())}

    def forms(self, prepared: Prepared) -> dict[str, Form]:
        if prepared.data["region"] == "compact":
            return {
                "canonical": Form(
                    "canonical", "canonical", _compact, "K(2b+1) ∓ T·g ≥ 0, ψ by monotonicity"
                )
            }
        return {
            "canonical": Form(
                "canonical",
                "canonical",
                _stirling,
                "K(2b+1) ∓ T·g ≥ 0 with T·g enclosed by the tail lemma",
            )
        }


THEOREM = GrowthExponent()
