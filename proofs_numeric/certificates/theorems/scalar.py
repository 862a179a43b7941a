"""Scalar saturation (L6, L8): |φ(cx) − φ(x)| ≤ A e^{−d|x|} for all c ≥ 1 and real x.

Parameters: ``phi`` ("sigmoid" or "tanh") and ``bounds``, a list of pairs [A, d] of
rationals (one part per pair). Constants: ``X``, where the compact domain ends and the
tail lemma takes over.

Reduction. σ(−z) = 1 − σ(z) and tanh(−z) = −tanh(z), so the error at −x equals the error
at x: take x ≥ 0. With s = 1/c ∈ [0, 1] (s = 0 is the limit c = ∞) write

    u = e^{−x},  v = e^{−x/s} = e^{−cx},  w = e^{−x(1−s)/s} = v/u   (all in [0, 1]).

For x ≥ 0 the map is increasing, so φ(cx) − φ(x) ≥ 0, and

    σ(cx) − σ(x)       = (u − v)/((1+u)(1+v))        = u (1 − w) / D,   D = (1+u)(1+v),
    tanh(cx) − tanh(x) = 2(u² − v²)/((1+u²)(1+v²))  = 2u²(1 − w²)/D,   D = (1+u²)(1+v²),

i.e. K u^k (1 − w^k)/D with (K, k) = (1, 1) for σ and (2, 2) for tanh. Multiplying
"A e^{−dx} ≥ K u^k (1 − w^k)/D" by D e^{dx} > 0 gives the canonical margin

    A·D − K (1 − w^k)·g ≥ 0,   g = e^{−(k−d)x}  (= u^{k−d} when k − d is an integer ≥ 0).

Tail (x ≥ X). φ(cx) − φ(x) ≤ φ(∞) − φ(x) = K u^k/(1 + u^k) ≤ K e^{−kx}, and
K e^{−kx} ≤ A e^{−dx} for every x ≥ X iff d ≤ k and K e^{−(k−d)X} ≤ A: the checker
verifies exactly these two inequalities.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flint import arb, fmpq

from proofs_numeric.certificates.intervals import Interval, exp_neg_product
from proofs_numeric.certificates.theorems.base import (
    Box,
    CertificateRejected,
    Form,
    Prepared,
    Theorem,
    rational,
    rational_text,
)

#: φ → (K, k): φ(∞) − φ(x) = K e^{−kx}/(1 + e^{−kx}) for x ≥ 0
SATURATION = {"sigmoid": (1, 1), "tanh": (2, 2)}
NAMES = {"sigmoid": "σ", "tanh": "tanh"}


def _canonical(vals: Mapping[str, Any], consts: Mapping[str, Any]) -> list[Any]:
    u, v, w = vals["u"], vals["v"], vals["w"]
    k, big_k, a = consts["k"], consts["K"], consts["A"]
    j = consts["integer_power"]
    g = u**j if j is not None else vals["g"]
    if k == 1:
        d = (1 + u) * (1 + v)
        tail = 1 - w
    else:
        d = (1 + u**2) * (1 + v**2)
        tail = 1 - w**2
    return [a * d - big_k * tail * g]


def _tanh_squares(vals: Mapping[str, Any], consts: Mapping[str, Any]) -> list[Any]:
    """For tanh with A = 1, d = 1: (1+u²)(1+v²) − 2u(1 − w²) = (1−u)² + v² + u²v² + 2uw²,
    a sum of non-negative terms that is exactly 0 at the touching point x → 0, c → ∞."""
    u, v, w = vals["u"], vals["v"], vals["w"]
    return [(1 - u) ** 2 + v**2 + u**2 * v**2 + 2 * u * w**2]


class ScalarSaturation(Theorem):
    name = "scalar_saturation"
    parameter_keys = frozenset({"phi", "bounds"})
    lemmas = (
        "symmetry: σ(−z) = 1 − σ(z) and tanh(−z) = −tanh(z), so |φ(−cx) − φ(−x)| = "
        "|φ(cx) − φ(x)| and x ≥ 0 suffices",
        "monotonicity: φ is increasing, so for x ≥ 0 and c ≥ 1, 0 ≤ φ(cx) − φ(x) ≤ "
        "φ(∞) − φ(x); the closed forms of φ(cx) − φ(x) in u = e^{−x}, v = e^{−cx}, "
        "w = e^{−(c−1)x} are exact",
        "compactification: s = 1/c ∈ [0, 1]; s = 0 is the limit c → ∞, included in the "
        "domain (the bound holds there as well)",
    )
    tail_lemma = (
        "for x ≥ X and c ≥ 1: |φ(cx) − φ(x)| ≤ φ(∞) − φ(x) = K e^{−kx}/(1 + e^{−kx}) ≤ "
        "K e^{−kx} ≤ A e^{−dx}, which holds for all x ≥ X iff d ≤ k and K e^{−(k−d)X} ≤ A "
        "((K, k) = (1, 1) for σ, (2, 2) for tanh)"
    )

    def statement(self, parameters: Mapping[str, Any]) -> str:
        phi = NAMES[self._phi(parameters)]
        bounds = []
        for a, d in self._bounds(parameters):
            factor = "" if a == "1" else f"{a}·"
            rate = "" if d == "1" else d
            bounds.append(f"|{phi}(cx) − {phi}(x)| ≤ {factor}exp(−{rate}|x|)")
        return "For all c ≥ 1 and all real x: " + "; and ".join(bounds)

    @staticmethod
    def _phi(parameters: Mapping[str, Any]) -> str:
        phi = parameters.get("phi")
        if phi not in SATURATION:
            raise CertificateRejected(f"phi={phi!r} must be one of {sorted(SATURATION)}")
        return str(phi)

    @staticmethod
    def _bounds(parameters: Mapping[str, Any]) -> list[tuple[str, str]]:
        bounds = parameters.get("bounds")
        if not isinstance(bounds, list) or not bounds:
            raise CertificateRejected("bounds must be a non-empty list of [A, d] pairs")
        out = []
        for pair in bounds:
            if not (isinstance(pair, list) and len(pair) == 2):
                raise CertificateRejected(f"bound {pair!r} must be a pair [A, d]")
            a, d = rational(pair[0], "A"), rational(pair[1], "d")
            if not (a > 0 and d >= 0):
                raise CertificateRejected(f"bound {pair!r}: need A > 0 and d ≥ 0")
            out.append((rational_text(a), rational_text(d)))
        return out

    def required_parts(self, parameters: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        phi = self._phi(parameters)
        return {f"A={a},d={d}": {"phi": phi, "A": a, "d": d} for a, d in self._bounds(parameters)}

    def check_constants(self, parameters: Mapping[str, Any], constants: Mapping[str, Any]) -> str:
        if set(constants) != {"X"}:
            raise CertificateRejected(f"constants must be {{'X'}}, got {sorted(constants)}")
        x_end = rational(constants["X"], "X")
        if not x_end > 0:
            raise CertificateRejected("X must be positive")
        big_k, k = SATURATION[self._phi(parameters)]
        for a_text, d_text in self._bounds(parameters):
            a, d = rational(a_text, "A"), rational(d_text, "d")
            if d > k:
                raise CertificateRejected(
                    f"tail lemma fails for A={a_text}, d={d_text}: the rate d exceeds "
                    f"the saturation rate k = {k} (the error is ~{big_k}e^(−{k}x))"
                )
            lhs = arb(big_k) * (-arb(k - d) * arb(x_end)).exp()
            if not lhs <= arb(a):
                raise CertificateRejected(
                    f"tail lemma fails for A={a_text}, d={d_text}: K e^(−(k−d)X) = "
                    f"{lhs.str(5)} is not ≤ A at X = {rational_text(x_end)}"
                )
        return f"tail x ≥ {rational_text(x_end)}: d ≤ k and K e^(−(k−d)X) ≤ A checked"

    def prepare(
        self, parameters: Mapping[str, Any], part: Mapping[str, Any], constants: Mapping[str, Any]
    ) -> Prepared:
        phi = str(part["phi"])
        big_k, k = SATURATION[phi]
        a, d = rational(part["A"], "A"), rational(part["d"], "d")
        gap = fmpq(k) - d
        integer_power = int(gap.p) if gap.q == 1 and gap >= 0 else None
        return Prepared(
            variables=("s", "x"),
            consts={"A": a, "K": fmpq(big_k), "k": k, "integer_power": integer_power},
            data={"phi": phi, "gap": gap, "X": rational(constants["X"], "X"), "d": d, "A": a},
        )

    def domain(self, prepared: Prepared) -> list[tuple[fmpq, fmpq]]:
        return [(fmpq(0), fmpq(1)), (fmpq(0), prepared.data["X"])]

    def derived(self, prepared: Prepared, box: Box) -> dict[str, Interval]:
        (s0, s1), (x0, x1) = box
        x = Interval(x0, x1)
        inv_lo = (1 / s1).lower()
        inv_hi = None if s0 == 0 else (1 / s0).upper()
        out = {
            "u": exp_neg_product(x, arb(1), arb(1)),
            "v": exp_neg_product(x, inv_lo, inv_hi),
            "w": exp_neg_product(
                x, (1 / s1 - 1).lower(), None if s0 == 0 else (1 / s0 - 1).upper()
            ),
        }
        gap = prepared.data["gap"]
        if prepared.consts["integer_power"] is None:
            # g = e^{−(k−d)x}: monotone in x, decreasing when k − d > 0
            t = arb(gap)
            ends = ((-t * x1).exp(), (-t * x0).exp())
            out["g"] = (
                Interval.hull(ends[0], ends[1]) if gap > 0 else Interval.hull(ends[1], ends[0])
            )
        return out

    def forms(self, prepared: Prepared) -> dict[str, Form]:
        forms = {
            "canonical": Form(
                "canonical",
                "canonical",
                _canonical,
                "A·D − K(1 − w^k)·e^{−(k−d)x} ≥ 0 ⇔ the bound (module docstring)",
            )
        }
        data = prepared.data
        if data["phi"] == "tanh" and data["A"] == 1 and data["d"] == 1:
            forms["tanh_squares"] = Form(
                "tanh_squares",
                "rewrite",
                _tanh_squares,
                "(1+u²)(1+v²) − 2u(1 − w²) = (1−u)² + v² + u²v² + 2uw²",
            )
        return forms

    def touching(self, prepared: Prepared, box: Box) -> tuple[int, ...] | None:
        # tanh with bound e^{−|x|}: the error → 1 − tanh x ≈ 1 − x while e^{−x} ≈ 1 − x,
        # attained in the limit x → 0, c → ∞ (the corner s = 0, x = 0)
        data = prepared.data
        touching_bound = data["phi"] == "tanh" and data["d"] == 1 and data["A"] == 1
        (s0, _), (x0, _) = box
        return (0, 1) if touching_bound and s0 == 0 and x0 == 0 else None


THEOREM = ScalarSaturation()
