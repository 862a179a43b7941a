"""Softmax rows of at most N visible entries: the gap bound (L7*) and the limit (D7).

Parameters: ``rows`` (N), ``scale`` σ and ``rate`` r (rationals; the claims use 1 and 1).
With M the visible maximisers (|M| = m), k = |V| − m the other visible entries, γ the gap
between the maximum and the runner-up and C = σ·max(1/m, k/m²):

* ``softmax_gap`` (L7*):   |softmax(cx)_i − softmax(x)_i| ≤ C e^{−rγ}  for all c ≥ 1, i;
* ``argmax_limit`` (D7):   |softmax(ρx)_i − argmax(x)_i| ≤ C e^{−rργ}  for all ρ > 0, i.

Reduction (the lemmas below). Masked positions have weight 0 at every scale and in the
limit and never belong to M, so only the visible entries matter; softmax is invariant
under x ↦ x + t·1 and equivariant under permutations; so the visible row is
(0, …, 0, −γ − t₁, …, −γ − t_k) with m zeros, t₁ = 0 (the runner-up) and t_j ≥ 0. If all
visible entries tie (k = 0) both sides are the uniform row and the error is exactly 0.
Otherwise, one part per (m, k) with m ≥ 1, k ≥ 1, m + k ≤ N.

L7* variables (all in [0, 1]): q = e^{−γ}, s = 1/c, w_j = e^{−t_j} (j ≥ 2; w₁ = 1).
Derived: v = q^{c−1}, W_j = w_j^c (W₁ = 1), κ = q^{r−1}. The weights at scale 1 are
1/P (maximisers) and q w_j/P (others), P = m + qΣw; at scale c they are 1/P′ and
q v W_j/P′, P′ = m + qvΣW. Hence, dividing by q > 0 and multiplying by P P′ > 0,

    maximisers: |1/P′ − 1/P| = q|Σw − vΣW|/(PP′) ≤ C q^r ⇔ |Σw − vΣW| ≤ CκPP′,
    others:     |q w_j/P − q v W_j/P′| ≤ C q^r     ⇔ |w_j P′ − v W_j P| ≤ CκPP′,

each as two margins (both signs), multiplied by the denominator of C (integer
coefficients, so they are exact at box corners). At q = 0 (γ → ∞) the bound is attained
in the limit; the rewrite ``factored`` writes the "others" margins as
P′(CκP − w_j) + vW_jP and P(CκP′ − vW_j) + w_jP′, whose factors are ≥ 0 there.

D7 variables: Q = e^{−ργ} and W_j = e^{−ρt_j} (j ≥ 2), in [0, 1]; κ = Q^{r−1}. The weights
are 1/P (maximisers) and Q W_j/P (others), P = m + QΣW, and the limit is 1/m on M, 0
elsewhere. With 1/m − 1/P = QΣW/(mP) (an exact identity, which is what makes the margin
exactly 0, not negative, where the bound is attained at Q → 0):

    maximisers: QΣW/(mP) ≤ C Q^r ⇔ CκmP − ΣW ≥ 0;   others: QW_j/P ≤ C Q^r ⇔ CκP − W_j ≥ 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flint import arb, fmpq

from proofs_numeric.certificates.intervals import Interval, power01
from proofs_numeric.certificates.theorems.base import (
    Box,
    CertificateRejected,
    Form,
    Prepared,
    Theorem,
    rational,
    rational_text,
)

REDUCTION = (
    "masked positions carry weight 0 at every scale and in the limit and are never "
    "maximisers, so a row reduces to its visible entries",
    "softmax(x + t·1) = softmax(x) and softmax commutes with permutations, so the visible "
    "row is (0,…,0, −γ−t₁, …, −γ−t_k) with m zeros, t₁ = 0 and t_j ≥ 0",
    "if every visible entry ties (k = 0) both sides are the uniform row: the error is 0",
)


def _parameters(parameters: Mapping[str, Any]) -> tuple[int, fmpq, fmpq]:
    rows = parameters.get("rows")
    if not (isinstance(rows, int) and 2 <= rows <= 8):
        raise CertificateRejected(f"rows={rows!r} must be an int in [2, 8]")
    scale, rate = (
        rational(parameters.get("scale"), "scale"),
        rational(parameters.get("rate"), "rate"),
    )
    if not (scale > 0 and rate >= 1):
        raise CertificateRejected("need scale > 0 and rate ≥ 1")
    return rows, scale, rate


def _parts(parameters: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    rows, _, _ = _parameters(parameters)
    return {
        f"m={m},k={k}": {"m": m, "k": k} for m in range(1, rows) for k in range(1, rows - m + 1)
    }


def _constants(parameters: Mapping[str, Any], part: Mapping[str, Any]) -> dict[str, Any]:
    _, scale, rate = _parameters(parameters)
    m, k = int(part["m"]), int(part["k"])
    c = scale * fmpq(max(m, k), m * m)
    return {"m": m, "k": k, "cn": fmpq(c.p), "cd": fmpq(c.q), "rate": rate}


def _kappa(base: Interval, rate: fmpq) -> Interval:
    e = arb(rate - 1)
    return power01(base, e, e)


# -- L7*: softmax(cx) against softmax(x) ---------------------------------------------------


def _gap_sums(vals: Mapping[str, Any], k: int) -> tuple[Any, Any, list[Any], list[Any]]:
    ws = [1] + [vals[f"w{j}"] for j in range(2, k + 1)]
    big_ws = [1] + [vals[f"W{j}"] for j in range(2, k + 1)]
    sum_w, sum_big = ws[0], big_ws[0]
    for a, b in zip(ws[1:], big_ws[1:], strict=True):
        sum_w, sum_big = sum_w + a, sum_big + b
    return sum_w, sum_big, ws, big_ws


def _gap_terms(
    vals: Mapping[str, Any], consts: Mapping[str, Any]
) -> tuple[Any, Any, Any, list[Any], list[Any], list[Any]]:
    """What both forms of the L7* margins share: P = m + qΣw, P′ = m + qvΣW, the budget
    c_n·κPP′ (C = c_n/c_d), the w_j and W_j (w₁ = W₁ = 1), and the two maximiser margins
    c_n·κPP′ ∓ c_d(Σw − vΣW)."""
    m, k, cn, cd = consts["m"], consts["k"], consts["cn"], consts["cd"]
    q, v, kappa = vals["q"], vals["v"], vals["kappa"]
    sum_w, sum_big, ws, big_ws = _gap_sums(vals, k)
    p, p_c = m + q * sum_w, m + q * v * sum_big
    budget = cn * kappa * p * p_c
    maximisers = [budget - cd * (sum_w - v * sum_big), budget + cd * (sum_w - v * sum_big)]
    return p, p_c, budget, ws, big_ws, maximisers


def _gap_canonical(vals: Mapping[str, Any], consts: Mapping[str, Any]) -> list[Any]:
    cd, v = consts["cd"], vals["v"]
    p, p_c, budget, ws, big_ws, out = _gap_terms(vals, consts)
    for w, big_w in zip(ws, big_ws, strict=True):
        diff = w * p_c - v * big_w * p
        out += [budget - cd * diff, budget + cd * diff]
    return out


def _gap_factored(vals: Mapping[str, Any], consts: Mapping[str, Any]) -> list[Any]:
    cn, cd, v, kappa = consts["cn"], consts["cd"], vals["v"], vals["kappa"]
    p, p_c, _, ws, big_ws, out = _gap_terms(vals, consts)
    for w, big_w in zip(ws, big_ws, strict=True):
        out += [
            p_c * (cn * kappa * p - cd * w) + cd * v * big_w * p,
            p * (cn * kappa * p_c - cd * v * big_w) + cd * w * p_c,
        ]
    return out


class _RowsTheorem(Theorem):
    """What L7* and D7 share: the parameters (rows, scale, rate), one part per (m, k), the
    bound C·exp(−r·…) of the statement, and a domain [0, 1] for every variable (each a
    compactified exponential). A part's variables are ``leading`` and then one per other
    visible entry after the runner-up, ``entry``2, …, ``entry``k."""

    parameter_keys = frozenset({"rows", "scale", "rate"})
    leading: tuple[str, ...] = ()
    entry: str = ""

    def bound(self, parameters: Mapping[str, Any], exponent: str) -> tuple[int, str]:
        """(N, the statement's bound C·exp(−r·exponent), with C's max(1/|M|, …) spelt out)."""
        rows, scale, rate = _parameters(parameters)
        factor = "" if scale == 1 else f"{rational_text(scale)}·"
        scaled = exponent if rate == 1 else f"{rational_text(rate)}·{exponent}"
        return rows, f"{factor}max(1/|M|, (|V|−|M|)/|M|²)·exp(−{scaled})"

    def required_parts(self, parameters: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        return _parts(parameters)

    def prepare(
        self, parameters: Mapping[str, Any], part: Mapping[str, Any], constants: Mapping[str, Any]
    ) -> Prepared:
        consts = _constants(parameters, part)
        names = (*self.leading, *(f"{self.entry}{j}" for j in range(2, consts["k"] + 1)))
        return Prepared(variables=names, consts=consts)

    def domain(self, prepared: Prepared) -> list[tuple[fmpq, fmpq]]:
        return [(fmpq(0), fmpq(1))] * len(prepared.variables)


class SoftmaxGap(_RowsTheorem):
    name = "softmax_gap"
    leading, entry = ("q", "s"), "w"
    lemmas = (
        *REDUCTION,
        "compactification: q = e^{−γ}, s = 1/c, w_j = e^{−t_j} range over [0, 1]; the "
        "ends q = 0, s = 0, w_j = 0 are limits, included in the domain",
    )

    def statement(self, parameters: Mapping[str, Any]) -> str:
        rows, bound = self.bound(parameters, "γ(x)")
        return (
            f"For every row x of at most {rows} entries, every mask with a visible position, "
            f"all c ≥ 1 and every i: |softmax(cx)_i − softmax(x)_i| ≤ {bound}, with M the "
            f"visible maximisers, V the visible positions and γ(x) the gap between the "
            f"maximum and the runner-up"
        )

    def derived(self, prepared: Prepared, box: Box) -> dict[str, Interval]:
        k = prepared.consts["k"]
        (q0, q1), (s0, s1) = box[0], box[1]
        q = Interval(q0, q1)
        c_lo, c_hi = (1 / s1).lower(), (None if s0 == 0 else (1 / s0).upper())
        out = {
            "q": q,
            "v": power01(q, (1 / s1 - 1).lower(), None if s0 == 0 else (1 / s0 - 1).upper()),
            "kappa": _kappa(q, prepared.consts["rate"]),
        }
        for j in range(2, k + 1):
            w = Interval(*box[j])
            out[f"w{j}"] = w
            out[f"W{j}"] = power01(w, c_lo, c_hi)
        return out

    def forms(self, prepared: Prepared) -> dict[str, Form]:
        return {
            "canonical": Form(
                "canonical", "canonical", _gap_canonical, "|error| ≤ C q^r, multiplied out"
            ),
            "factored": Form(
                "factored",
                "rewrite",
                _gap_factored,
                "CκPP′ − w_jP′ + vW_jP = P′(CκP − w_j) + vW_jP (and the other sign)",
            ),
        }

    def touching(self, prepared: Prepared, box: Box) -> tuple[int, ...] | None:
        # q = 0 (γ → ∞): the bound is attained in the limit; q = 1, s = 0 (γ → 0, c → ∞):
        # v = q^{c−1} takes every value in [0, 1] there, so P′ and vP must not be enclosed
        # separately
        if box[0][0] == 0:
            return (0,)
        if box[0][1] == 1 and box[1][0] == 0:
            return (0, 1)
        return None


# -- D7: softmax(ρx) against argmax(x) -------------------------------------------------------


def _limit_canonical(vals: Mapping[str, Any], consts: Mapping[str, Any]) -> list[Any]:
    m, k, cn, cd = consts["m"], consts["k"], consts["cn"], consts["cd"]
    q, kappa = vals["Q"], vals["kappa"]
    big_ws = [1] + [vals[f"W{j}"] for j in range(2, k + 1)]
    total = big_ws[0]
    for b in big_ws[1:]:
        total = total + b
    p = m + q * total
    out = [cn * kappa * m * p - cd * total]
    out += [cn * kappa * p - cd * b for b in big_ws]
    return out


class ArgmaxLimit(_RowsTheorem):
    name = "argmax_limit"
    leading, entry = ("Q",), "W"
    lemmas = (
        *REDUCTION,
        "the generalised argmax is 1/|M| on the visible maximisers and 0 elsewhere; "
        "1/m − 1/(m + S) = S/(m(m + S)) exactly",
        "compactification: Q = e^{−ργ} and W_j = e^{−ρt_j} range over [0, 1] as ρ > 0 and "
        "the row vary; the ends are limits, included in the domain",
    )

    def statement(self, parameters: Mapping[str, Any]) -> str:
        rows, bound = self.bound(parameters, "ργ")
        return (
            f"For every row a of at most {rows} entries, every mask with a visible position "
            f"and all ρ > 0: max_j |softmax(ρa)_j − argmax(a)_j| ≤ {bound}, argmax(a) the "
            f"uniform distribution on the visible maximisers M, γ the gap between the "
            f"maximum and the runner-up"
        )

    def derived(self, prepared: Prepared, box: Box) -> dict[str, Interval]:
        q = Interval(*box[0])
        out = {"Q": q, "kappa": _kappa(q, prepared.consts["rate"])}
        for j in range(2, prepared.consts["k"] + 1):
            out[f"W{j}"] = Interval(*box[j - 1])
        return out

    def forms(self, prepared: Prepared) -> dict[str, Form]:
        return {
            "canonical": Form(
                "canonical", "canonical", _limit_canonical, "deviation ≤ C Q^r, multiplied out"
            )
        }

    def touching(self, prepared: Prepared, box: Box) -> tuple[int, ...] | None:
        return (0,) if box[0][0] == 0 else None


GAP = SoftmaxGap()
LIMIT = ArgmaxLimit()
