"""Reusable Hypothesis strategies for homogeneity and saturation checks.

Every strategy draws JSON-serialisable values (floats, ints, bools, lists, dicts), so a
failing example can be stored and replayed. Scales that overflow float64 (ρ = 10^400) are
drawn as base-10 logarithms; convert with ``mpmath.mpf(10) ** log10``.

* :func:`magnitudes`: reals spread over many orders of magnitude, with sign and 0;
* :func:`log10_scales`: log10 c for c ≥ 1, up to far beyond float64 overflow;
* :func:`unit_vectors`, :func:`parameter_rays`: points ρ·θ̂ on rays of parameter space;
* :func:`score_rows`: a softmax row with a chosen number of tied maxima, a chosen gap to
  the runner-up, a common offset and masked positions (never all masked unless asked);
* :func:`masks`: keep-masks with at least ``min_visible`` visible positions;
* ``encoder_configs``: small :class:`homogeneity.components.EncoderConfig` values (in
  :mod:`proofs_numeric.model_strategies`, which imports torch; also reachable here);
* :func:`toward`: ``hypothesis.target`` for a margin, so the search moves toward the case
  where a claim is closest to failing.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st
from hypothesis import target

from homogeneity.errors import HomogeneityInputError

_CLIP = 1e300


def toward(margin: Any, label: str = "negated margin") -> None:
    """Steer the search toward small margins: ``target(−margin)`` (clipped, NaN-safe)."""
    x = float(margin)
    if math.isnan(x):
        x = -_CLIP
    target(-max(-_CLIP, min(_CLIP, x)), label=label)


def magnitudes(
    min_log10: float = -6.0, max_log10: float = 6.0, allow_zero: bool = True, signed: bool = True
) -> st.SearchStrategy[float]:
    """±10^u with u uniform in [min_log10, max_log10], plus 0 and small integers."""
    if not (math.isfinite(min_log10) and math.isfinite(max_log10)) or min_log10 > max_log10:
        raise HomogeneityInputError(
            f"min_log10={min_log10}, max_log10={max_log10}: need finite min_log10 ≤ max_log10"
        )
    if max_log10 > 300:
        raise HomogeneityInputError(
            "max_log10 must be ≤ 300 so the value stays a float64; "
            "draw larger scales with log10_scales"
        )
    expo = st.floats(min_log10, max_log10, allow_nan=False, allow_infinity=False)
    sign = st.sampled_from([1.0, -1.0]) if signed else st.just(1.0)
    spread = st.builds(lambda s, u: s * 10.0**u, sign, expo)
    lo = 10.0**min_log10
    ints = st.integers(-3 if signed else 0, 3).map(float).filter(lambda v: v == 0 or abs(v) >= lo)
    options = [spread, ints]
    if allow_zero:
        options.append(st.just(0.0))
    else:
        options[1] = options[1].filter(lambda v: v != 0)
    return st.one_of(*options)


def log10_scales(max_log10: float = 400.0, near_one: bool = True) -> st.SearchStrategy[float]:
    """log10 c for scales c ≥ 1, never above ``max_log10``: uniform in [0, max_log10], plus
    the landmarks c = 1, 2, 10, 10³, 10²⁰ that lie in it and (``near_one``) c slightly
    above 1."""
    if not math.isfinite(max_log10) or max_log10 < 0:
        raise HomogeneityInputError(f"max_log10={max_log10} must be finite and ≥ 0")
    landmarks = [v for v in (0.0, 0.3010299956639812, 1.0, 3.0, 20.0) if v <= max_log10]
    options = [
        st.floats(0.0, max_log10, allow_nan=False, allow_infinity=False),
        st.sampled_from(landmarks),
    ]
    if near_one and max_log10 > 0:
        options.append(st.floats(min(1e-12, max_log10), min(1e-2, max_log10)))
    return st.one_of(*options)


def unit_vectors(dim: int) -> st.SearchStrategy[list[float]]:
    """Directions θ̂ on the unit sphere of ℝ^dim (normalised bounded Gaussians-like draws)."""
    if dim < 1:
        raise HomogeneityInputError(f"dim={dim} must be ≥ 1")
    coords = st.lists(st.floats(-1.0, 1.0, allow_nan=False), min_size=dim, max_size=dim)

    def normalise(v: list[float]) -> list[float]:
        n = math.sqrt(sum(t * t for t in v))
        return [t / n for t in v]

    return coords.filter(lambda v: math.sqrt(sum(t * t for t in v)) > 1e-3).map(normalise)


def parameter_rays(
    dim: int, min_norm: float = 1.0, max_norm: float = 100.0
) -> st.SearchStrategy[dict[str, Any]]:
    """{"direction": θ̂, "norm": r, "log10_c": log10 c}: the point r·θ̂ and a scale c ≥ 1."""
    if not 0 < min_norm <= max_norm:
        raise HomogeneityInputError(f"need 0 < min_norm={min_norm} ≤ max_norm={max_norm}")
    norms = st.floats(math.log10(min_norm), math.log10(max_norm)).map(lambda u: 10.0**u)
    return st.fixed_dictionaries(
        {"direction": unit_vectors(dim), "norm": norms, "log10_c": log10_scales(30.0)}
    )


def masks(
    n: int, min_visible: int = 1, allow_all_masked: bool = False
) -> st.SearchStrategy[list[bool]]:
    """Keep-masks of length n (True = visible) with at least ``min_visible`` visible."""
    if n < 1:
        raise HomogeneityInputError(f"n={n} must be ≥ 1")
    floor = 0 if allow_all_masked else max(1, min_visible)
    if floor > n:
        raise HomogeneityInputError(f"min_visible={min_visible} > n={n}")
    return st.lists(st.booleans(), min_size=n, max_size=n).filter(lambda m: sum(m) >= floor)


@st.composite
def score_rows(
    draw: st.DrawFn,
    min_size: int = 2,
    max_size: int = 8,
    ties: int | st.SearchStrategy[int] | None = None,
    gap: float | st.SearchStrategy[float] | None = None,
    offset: float | st.SearchStrategy[float] | None = None,
    masked: bool = True,
    allow_all_tied: bool = True,
) -> dict[str, Any]:
    """A softmax row with chosen structure.

    Returns ``{"scores": [...], "keep": [...], "ties": t, "gap": γ, "offset": o}``: the
    visible maximum o is attained at exactly ``ties`` visible positions, the largest other
    visible score is o − γ (γ = None when every visible score is tied), further visible
    scores lie below, and masked positions hold arbitrary scores (often above the maximum,
    since they must never win). ``ties``/``gap``/``offset`` may be fixed values or
    strategies; by default they are drawn (gaps from 1e-9 to 1e3, offsets up to ±1e6).
    """
    if min_size < 1 or max_size < min_size:
        raise HomogeneityInputError(f"need 1 ≤ min_size={min_size} ≤ max_size={max_size}")
    n = draw(st.integers(min_size, max_size))
    keep = draw(masks(n)) if masked else [True] * n
    visible = [j for j in range(n) if keep[j]]
    n_vis = len(visible)
    if isinstance(ties, st.SearchStrategy):
        t = draw(ties)
    elif ties is None:
        t = draw(st.integers(1, n_vis if allow_all_tied else max(1, n_vis - 1)))
    else:
        t = ties
    if not 1 <= t <= n_vis:
        raise HomogeneityInputError(f"ties={t} must lie in [1, number of visible positions]")
    if t == n_vis and not allow_all_tied and n_vis > 1:
        t = n_vis - 1
    o = (
        draw(offset)
        if isinstance(offset, st.SearchStrategy)
        else (draw(st.one_of(st.just(0.0), magnitudes(-3, 6))) if offset is None else float(offset))
    )
    g = (
        draw(gap)
        if isinstance(gap, st.SearchStrategy)
        else (
            draw(magnitudes(-9, 3, allow_zero=False, signed=False)) if gap is None else float(gap)
        )
    )
    if not g > 0:
        raise HomogeneityInputError(f"gap={g} must be > 0")
    order = draw(st.permutations(visible))
    scores = [0.0] * n
    for j in order[:t]:
        scores[j] = o
    rest = order[t:]
    if rest:
        scores[rest[0]] = o - g
        for j in rest[1:]:
            scores[j] = o - g - draw(st.floats(0.0, 100.0, allow_nan=False))
    for j in range(n):
        if not keep[j]:
            scores[j] = o + draw(st.floats(-100.0, 100.0, allow_nan=False))
    # Floating rounding can merge o − g into o (tiny gap, huge offset): recompute exactly.
    vis_scores = [scores[j] for j in visible]
    top = max(vis_scores)
    winners = sum(1 for s in vis_scores if s == top)
    others = [s for s in vis_scores if s != top]
    return {
        "scores": scores,
        "keep": keep,
        "ties": winners,
        "gap": (top - max(others)) if others else None,
        "offset": top,
    }


def __getattr__(name: str) -> Any:
    """``encoder_configs`` lives in :mod:`proofs_numeric.model_strategies` (it builds
    :class:`homogeneity.components.EncoderConfig`, which imports torch); it is loaded from
    there on first use so that this module stays torch-free."""
    if name == "encoder_configs":
        from proofs_numeric.model_strategies import encoder_configs

        return encoder_configs
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
