"""Shared search for L6 (sigmoid) and L8 (tanh): |φ(cx) − φ(x)| ≤ exp(−d|x|) for c ≥ 1.

Cases are ``{"x": float, "log10_c": float}``; c = 10^log10_c reaches 10^400, far beyond
float64. The margin ln(bound) − ln(error) is computed at ``digits`` plus enough extra
digits to resolve e^{−|x|} next to 1 (so saturation far below 1e−16 is seen exactly) and
the O(x²) margins at tiny |x|.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import mpmath
from hypothesis import strategies as st

from proofs_numeric import case_schema as cs
from proofs_numeric.search import PropertySearch, log_margin, scale_from_log10
from proofs_numeric.strategies import log10_scales, magnitudes

Phi = Callable[[Any], Any]

CONSTRUCTIONS: tuple[dict[str, float], ...] = tuple(
    {"x": x, "log10_c": lc}
    for x in (0.0, 1e-300, 1e-8, -0.5, 1.0, -3.0, 10.0, 37.0, -100.0, 750.0)
    for lc in (0.0, 1e-12, 0.3, 3.0, 400.0)
)


#: a replayed case: |x| ≤ 1000 (extra digits grow like |x|/ln 10), c ≤ 10^400
CASE_SCHEMA = cs.Record({"x": cs.Real(-1000.0, 1000.0), "log10_c": cs.Real(0.0, 400.0)})


def cases() -> st.SearchStrategy[dict[str, float]]:
    return st.fixed_dictionaries({"x": magnitudes(-8.0, 3.0), "log10_c": log10_scales(400.0)})


def saturation_margin(phi: Phi, d: float) -> Callable[[Mapping[str, Any], int], Any]:
    """margin(case, digits) = ln e^{−d|x|} − ln |φ(cx) − φ(x)|."""

    def margin(case: Mapping[str, Any], digits: int) -> Any:
        x = mpmath.mpf(case["x"])
        # e^{−|x|} next to 1 needs |x|/ln 10 more digits; for tiny |x| the margin is
        # O(x²), which needs 2·log10(1/|x|) more digits to be seen.
        tiny = 2 * max(0, -int(mpmath.floor(mpmath.log10(abs(x))))) if x != 0 else 0
        extra = int(abs(x) * max(d, 2.0) / math.log(10)) + tiny + 20
        with mpmath.workdps(digits + extra):
            x = mpmath.mpf(case["x"])
            c = scale_from_log10(case["log10_c"])
            error = abs(phi(c * x) - phi(x))
            bound = mpmath.exp(-mpmath.mpf(d) * abs(x))
            return log_margin(bound, error)

    return margin


def saturation_search(claim_id: str, phi: Phi, d: float, name: str) -> PropertySearch:
    return PropertySearch(
        claim_id=claim_id,
        strategy=cases(),
        margin=saturation_margin(phi, d),
        search=(
            f"x = ±10^u (u ∈ [−8, 3]) or small integers or 0, c = 10^v (v ∈ [0, 400]) "
            f"incl. c → 1⁺; {name}"
        ),
        constructions=CONSTRUCTIONS,
        margin_label="ln(bound) − ln(|φ(cx) − φ(x)|)",
        precision="mpmath (digits raised by |x|/ln 10 to resolve e^{−|x|})",
        describe=lambda case: f"x = {case['x']!r}, c = 10^{case['log10_c']!r}",
    )
