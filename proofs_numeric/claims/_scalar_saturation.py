"""Shared search for L6 (sigmoid) and L8 (tanh): |φ(cx) − φ(x)| ≤ exp(−d|x|) for c ≥ 1.

Cases are ``{"x": float, "log10_c": float}``; c = 10^log10_c reaches 10^400, far beyond
float64. The margin ln(bound) − ln(error) is computed at the guard digits of ``digits``
with two losses: e^{−max(d, 2)|x|} resolved next to 1 (so saturation far below 1e−16 is
seen exactly) and 2·log10(1/|x|) digits for the O(x²) margins at tiny |x|.

φ is a primitive of :mod:`proofs_numeric.precision` (``sigmoid``, ``tanh``) called as
φ(z, digits), and the bound is a function (x, d, digits) ↦ bound.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import mpmath
from hypothesis import strategies as st

from proofs_numeric import case_schema as cs
from proofs_numeric.precision import exp_loss, guard_digits, working_precision
from proofs_numeric.search import PropertySearch, log_margin, scale_from_log10
from proofs_numeric.strategies import log10_scales, magnitudes

#: φ(z, digits): a scalar map at explicit precision
Phi = Callable[[Any, int], Any]
#: bound(x, d, digits): the claimed bound on |φ(cx) − φ(x)|
Bound = Callable[[Any, float, int], Any]


def exponential_bound(x: Any, d: float, digits: int) -> Any:
    """e^{−d|x|}."""
    with working_precision(digits):
        return mpmath.exp(-mpmath.mpf(d) * abs(mpmath.mpf(x)))


CONSTRUCTIONS: tuple[dict[str, float], ...] = tuple(
    {"x": x, "log10_c": lc}
    for x in (0.0, 1e-300, 1e-8, -0.5, 1.0, -3.0, 10.0, 37.0, -100.0, 750.0)
    for lc in (0.0, 1e-12, 0.3, 3.0, 400.0)
)


#: a replayed case: |x| ≤ 1000 (extra digits grow like |x|/ln 10), c ≤ 10^400
CASE_SCHEMA = cs.Record({"x": cs.Real(-1000.0, 1000.0), "log10_c": cs.Real(0.0, 400.0)})


def cases() -> st.SearchStrategy[dict[str, float]]:
    return st.fixed_dictionaries({"x": magnitudes(-8.0, 3.0), "log10_c": log10_scales(400.0)})


def saturation_margin(
    phi: Phi, d: float, bound: Bound = exponential_bound
) -> Callable[[Mapping[str, Any], int], Any]:
    """margin(case, digits) = ln bound(x, d) − ln |φ(cx) − φ(x)| (bound e^{−d|x|})."""

    def margin(case: Mapping[str, Any], digits: int) -> Any:
        x = float(case["x"])
        # for tiny |x| the margin is O(x²), which needs 2·log10(1/|x|) more digits
        tiny = 2 * max(0, -int(mpmath.floor(mpmath.log10(abs(x))))) if x != 0 else 0
        work = guard_digits(digits, exp_loss(abs(x) * max(d, 2.0)), tiny)
        with working_precision(work):
            xv = mpmath.mpf(case["x"])
            c = scale_from_log10(case["log10_c"], work)
            error = abs(phi(c * xv, work) - phi(xv, work))
            return log_margin(bound(xv, d, work), error, work)

    return margin


def saturation_search(
    claim_id: str, phi: Phi, d: float, name: str, bound: Bound = exponential_bound
) -> PropertySearch:
    return PropertySearch(
        claim_id=claim_id,
        strategy=cases(),
        margin=saturation_margin(phi, d, bound),
        search=(
            f"x = ±10^u (u ∈ [−8, 3]) or small integers or 0, c = 10^v (v ∈ [0, 400]) "
            f"incl. c → 1⁺; {name}"
        ),
        constructions=CONSTRUCTIONS,
        margin_label="ln(bound) − ln(|φ(cx) − φ(x)|)",
        precision="mpmath (guard digits raised by |x|/ln 10 to resolve e^{−|x|})",
        describe=lambda case: f"x = {case['x']!r}, c = 10^{case['log10_c']!r}",
    )
