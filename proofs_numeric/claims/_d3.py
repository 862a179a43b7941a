"""Shared pieces of the approximate-homogeneity claims (D3, L1–L5, P3, D16, GH).

*Probe constants.* A statement "there are d > 0 and ρ such that ... ≤ exp(−d‖θ‖)" is
tested with the generous probe d = D_PROBE on ‖θ‖ ≥ RHO_PROBE. A violation found there
refutes every (d, ρ) when the counterexample belongs to a family along which the error
does not shrink while ‖θ‖ grows (each refutation says which family); a bound that holds
is verified with the explicit constants of the proof instead.

*Precision.* Errors of size e^{−rate·r} next to values of size c^k r^k lose about
(rate·r)/ln 10 + k·log10(c r) digits; :func:`digits_for` is the guard-digit rule of
:mod:`proofs_numeric.precision.context` with those two losses.

*Constructions.* The family members the constructions are built from (θ₁, σ(‖θ‖) and
their product), D3's constants of a member (:func:`d3_constants`) and the float point
θ = r·θ̂ of a case that a refutation's ray starts from (:func:`float_point`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import mpmath
from hypothesis import strategies as st

from homogeneity.errors import HomogeneityInputError
from proofs_numeric import families as fam
from proofs_numeric.case_schema import Real, Schema, real_list
from proofs_numeric.precision import exp_loss, guard_digits, working_precision

D_PROBE, RHO_PROBE = 0.01, 100.0
MAX_RATE = 8.0
#: the largest ‖θ‖ a replayed case may ask for (digits_for adds 8‖θ‖/ln 10 digits)
MAX_REPLAY_R = 1000.0

#: θ₁: an exact product of degree 1 in ℝ³ (a family member)
THETA_1: dict[str, Any] = {"kind": "poly", "a": 1.0, "ws": [[1.0, 0.0, 0.0]]}
#: σ(‖θ‖) in ℝ³: ∼0 with d = 1
SIGMOID_OF_NORM: dict[str, Any] = {
    "kind": "sat",
    "a": 1.0,
    "b": 1.0,
    "u": [0.0, 0.0, 0.0],
    "o": 0.0,
}
#: θ₁·σ(‖θ‖): approximately but not exactly 1-homogeneous
THETA_1_SIGMOID: dict[str, Any] = {"kind": "polysat", "poly": THETA_1, "sat": SIGMOID_OF_NORM}


def ray_fields(dim: int, max_log10_c: float | None) -> dict[str, Schema]:
    """Bounds on the point θ = r·θ̂ of a replayed case (and on c = 10^log10_c when the case
    has one): a direction of ℝ^dim (normalised by the margin, so only bounded against overflow),
    0 < r ≤ MAX_REPLAY_R."""
    fields: dict[str, Schema] = {
        "direction": real_list(-1e6, 1e6, dim, dim),
        "r": Real(1e-6, MAX_REPLAY_R),
    }
    if max_log10_c is not None:
        fields["log10_c"] = Real(0.0, max_log10_c)
    return fields


def d3_constants(spec: Mapping[str, Any]) -> tuple[float, float]:
    """(d, ρ) of D3 for a family member that is ∼k (:func:`proofs_numeric.families.d3_constants`);
    a member D3 gives no constants (poly × sat of positive degree) is an input error."""
    constants = fam.d3_constants(spec)
    if constants is None:
        raise HomogeneityInputError(
            f"f={dict(spec)!r} is not ∼k (poly × sat of positive degree): D3 gives it no "
            "constants; use a ∼0 member or an exact product"
        )
    return constants


def float_point(case: Mapping[str, Any]) -> list[float]:
    """θ = r·θ̂ of a case in float64 (θ̂ = direction/‖direction‖): where a refutation's
    ray is laid out, before any margin is computed at high precision."""
    r = float(case["r"])
    d = [float(x) for x in case["direction"]]
    n = math.sqrt(sum(x * x for x in d))
    return [r * x / n for x in d]


def digits_for(digits: int, r: float, log10_c: float = 0.0, degree: float = 0.0) -> int:
    """Working digits that resolve e^{−MAX_RATE·r} relative to values of size (c r)^degree."""
    scale = abs(degree) * (float(log10_c) + math.log10(max(float(r), 1.0)))
    return guard_digits(digits, exp_loss(MAX_RATE * float(r)), scale)


def radii(min_r: float = 1.0, max_r: float = 200.0) -> st.SearchStrategy[float]:
    return st.one_of(
        st.floats(math.log10(min_r), math.log10(max_r)).map(lambda u: 10.0**u),
        st.sampled_from([min_r, max_r]),
    )


def probe_margin(error: Any, r: Any, digits: int) -> Any:
    """ln e^{−D_PROBE·r} − ln error at ``digits`` (vacuous +inf below RHO_PROBE)."""
    if r < RHO_PROBE:
        return mpmath.inf
    if error == 0:
        return mpmath.inf
    with working_precision(digits):
        return -D_PROBE * mpmath.mpf(r) - mpmath.log(error)


def rounding_allowance(digits: int, *values: Any) -> Any:
    """10^{−(digits − 10)}·(1 + Σ|v|): a generous bound on the rounding error of a
    difference of the given values computed at ``digits``, added to bounds that are
    exactly 0 (exactly homogeneous functions) so rounding is not mistaken for a
    violation."""
    with working_precision(digits):
        return mpmath.mpf(10) ** (-(digits - 10)) * (1 + mpmath.fsum(abs(v) for v in values))
