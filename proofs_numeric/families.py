"""Test functions of θ with known homogeneity, described by JSON so cases replay.

Every function that evaluates takes the working precision ``digits`` explicitly.

The lemmas L1–L5 and P3 quantify over *all* approximately homogeneous functions; the
checker instantiates them with these families, whose degree and error envelopes are known
in closed form. With r = ‖θ‖ and z(θ) = b r + u·θ (b > ‖u‖, so z ≥ m r with m = b − ‖u‖):

==========  ===============================  ======  ====================================
kind        f(θ)                             degree  envelope ε(θ) ≥ sup_{c≥1}|f(cθ)/c^k − f(θ)|
==========  ===============================  ======  ====================================
``poly``    a Π_i (w_i·θ)                    len(w)  0 (exactly homogeneous)
``sat``     a σ(z(θ)) + o                    0       |a| σ(−z(θ)) ≤ |a| e^{−m r}
``exp``     a e^{−b r}                       0       |a| e^{−b r}
``polysat`` poly(θ) · sat(θ)                 deg p   |poly(θ)| |a| σ(−z(θ))
==========  ===============================  ======  ====================================

(σ(z) ≤ σ(cz) < 1 for z ≥ 0, c ≥ 1 gives |σ(cz) − σ(z)| ≤ σ(−z).) The envelope is the
error in the *relative* form |f(cθ)/c^k − f(θ)| (D3*); for k = 0 it is also the D3 error.

:func:`d3_constants` gives constants (d, ρ) with |f(cθ) − c^k f(θ)| ≤ e^{−d‖θ‖} for all
c ≥ 1, ‖θ‖ ≥ ρ (SPEC D3), where they exist: for the degree-0 members and for exactly
homogeneous ones. A ``polysat`` of positive degree has none: by the D3 collapse (claim D3)
an approximately k-homogeneous function with k > 0 is exactly homogeneous.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import mpmath
from hypothesis import strategies as st

from homogeneity.errors import HomogeneityInputError
from proofs_numeric.case_schema import ListOf, Real, Record, Schema, Tagged
from proofs_numeric.precision import dot, norm2, sigmoid, working_precision
from proofs_numeric.strategies import unit_vectors

Spec = Mapping[str, Any]
KINDS = ("poly", "sat", "exp", "polysat")


def _vec(theta: Sequence[Any]) -> list[Any]:
    return [mpmath.mpf(t) for t in theta]


def _dot(u: Sequence[Any], theta: Sequence[Any], digits: int) -> Any:
    if len(u) != len(theta):
        raise HomogeneityInputError(
            f"a family vector has length {len(u)} but θ has {len(theta)}; use the same dim"
        )
    return dot(u, theta, digits)


def _z(spec: Spec, theta: Sequence[Any], digits: int) -> Any:
    return mpmath.mpf(spec["b"]) * norm2(theta, digits) + _dot(spec["u"], theta, digits)


def sat_margin(spec: Spec) -> float:
    """m = b − ‖u‖ > 0: z(θ) ≥ m‖θ‖."""
    m = float(spec["b"]) - math.sqrt(sum(float(x) ** 2 for x in spec["u"]))
    if not m > 0:
        raise HomogeneityInputError(f"sat member needs b > ‖u‖, got b={spec['b']}, u={spec['u']}")
    return m


def evaluate(spec: Spec, theta: Sequence[Any], digits: int) -> Any:
    """f(θ) at ``digits``."""
    with working_precision(digits) as d:
        th = _vec(theta)
        kind = spec["kind"]
        if kind == "poly":
            out = mpmath.mpf(spec["a"])
            for w in spec["ws"]:
                out *= _dot(w, th, d)
            return out
        if kind == "sat":
            return mpmath.mpf(spec["a"]) * sigmoid(_z(spec, th, d), d) + mpmath.mpf(
                spec.get("o", 0)
            )
        if kind == "exp":
            return mpmath.mpf(spec["a"]) * mpmath.exp(-mpmath.mpf(spec["b"]) * norm2(th, d))
        if kind == "polysat":
            return evaluate(spec["poly"], th, d) * evaluate(spec["sat"], th, d)
        raise HomogeneityInputError(f"kind={kind!r} is not one of {KINDS}")


def degree(spec: Spec) -> int:
    kind = spec["kind"]
    if kind == "poly":
        return len(spec["ws"])
    if kind in ("sat", "exp"):
        return 0
    if kind == "polysat":
        return degree(spec["poly"]) + degree(spec["sat"])
    raise HomogeneityInputError(f"kind={kind!r} is not one of {KINDS}")


def envelope(spec: Spec, theta: Sequence[Any], digits: int) -> Any:
    """ε(θ) ≥ sup_{c ≥ 1} |f(cθ)/c^k − f(θ)| (closed form, see the module table)."""
    with working_precision(digits) as d:
        th = _vec(theta)
        kind = spec["kind"]
        if kind == "poly":
            return mpmath.mpf(0)
        if kind == "sat":
            return abs(mpmath.mpf(spec["a"])) * sigmoid(-_z(spec, th, d), d)
        if kind == "exp":
            return abs(mpmath.mpf(spec["a"])) * mpmath.exp(-mpmath.mpf(spec["b"]) * norm2(th, d))
        if kind == "polysat":
            return abs(evaluate(spec["poly"], th, d)) * envelope(spec["sat"], th, d)
        raise HomogeneityInputError(f"kind={kind!r} is not one of {KINDS}")


def d3_constants(spec: Spec) -> tuple[float, float] | None:
    """(d, ρ) with |f(cθ) − c^k f(θ)| ≤ e^{−d‖θ‖} for c ≥ 1, ‖θ‖ ≥ ρ; None if f is not ∼k.

    Degree 0 (sat, exp) with rate m: |a| ≤ 1 gives (m, 0), else (m/2, 2 ln|a|/m).
    Exactly homogeneous members have error 0: (1, 0) serves.
    """
    kind = spec["kind"]
    if kind == "poly":
        return (1.0, 0.0)
    if kind in ("sat", "exp"):
        m = sat_margin(spec) if kind == "sat" else float(spec["b"])
        a = abs(float(spec["a"]))
        return (m, 0.0) if a <= 1 else (m / 2, 2 * math.log(a) / m)
    if kind == "polysat":
        return None if degree(spec) > 0 else d3_constants(spec["sat"])
    raise HomogeneityInputError(f"kind={kind!r} is not one of {KINDS}")


def split(spec: Spec, theta: Sequence[Any], digits: int) -> tuple[Any, Any]:
    """f(θ) = L + δ(θ) with L the exact constant part (a + o for ``sat``, else 0) and δ
    computed without cancellation (−a σ(−z) for ``sat``), so differences and centrings of
    values that all lie near the same constant stay accurate."""
    with working_precision(digits) as d:
        th = _vec(theta)
        if spec["kind"] == "sat":
            a = mpmath.mpf(spec["a"])
            return a + mpmath.mpf(spec.get("o", 0)), -a * sigmoid(-_z(spec, th, d), d)
        return mpmath.mpf(0), evaluate(spec, th, d)


def scaled_error(
    spec: Spec,
    theta: Sequence[Any],
    c: Any,
    k: float | None = None,
    relative: bool = False,
    *,
    digits: int,
) -> Any:
    """|f(cθ) − c^k f(θ)| (D3), or with ``relative`` |f(cθ)/c^k − f(θ)| (D3*).

    Degree-0 ``sat`` members are differenced in the split form (the constant cancels
    exactly)."""
    with working_precision(digits) as d:
        th = _vec(theta)
        c = mpmath.mpf(c)
        k = degree(spec) if k is None else k
        ck = mpmath.power(c, k)
        ct = [c * t for t in th]
        if spec["kind"] == "sat" and k == 0:
            return abs(split(spec, ct, d)[1] - split(spec, th, d)[1])
        f1, fc = evaluate(spec, th, d), evaluate(spec, ct, d)
        return abs(fc / ck - f1) if relative else abs(fc - ck * f1)


def point(direction: Sequence[Any], r: Any, digits: int) -> list[Any]:
    """θ = r·θ̂ (θ̂ normalised here, so any non-zero direction will do)."""
    with working_precision(digits) as d:
        v = _vec(direction)
        n = norm2(v, d)
        if n == 0:
            raise HomogeneityInputError("direction is zero; pass a non-zero vector")
        return [mpmath.mpf(r) * t / n for t in v]


# -- bounds on a replayed member ----------------------------------------------------------


def member_schema(dim: int, kinds: Sequence[str] = KINDS, max_factors: int = 4) -> Schema:
    """A family member of ℝ^dim as a replayed case may hold it: the strategies' ranges below
    with headroom (|a|, |o|, coordinates ≤ 10, rates b ≤ 20, ≤ ``max_factors`` factors)."""
    vec = ListOf(Real(-10.0, 10.0), dim, dim)
    poly = Record({"a": Real(-10.0, 10.0), "ws": ListOf(vec, 0, max_factors)})
    sat = Record({"a": Real(-10.0, 10.0), "b": Real(0.0, 20.0), "u": vec, "o": Real(-10.0, 10.0)})
    variants: dict[str, Schema] = {
        "poly": poly,
        "sat": sat,
        "exp": Record({"a": Real(-10.0, 10.0), "b": Real(0.0, 20.0)}),
        "polysat": Record(
            {"poly": Tagged("kind", {"poly": poly}), "sat": Tagged("kind", {"sat": sat})}
        ),
    }
    return Tagged("kind", {k: variants[k] for k in kinds})


# -- strategies ---------------------------------------------------------------------------


def _floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def polys(dim: int, degrees: Sequence[int] = (1, 2)) -> st.SearchStrategy[dict[str, Any]]:
    vec = st.lists(_floats(-2, 2), min_size=dim, max_size=dim)
    return st.sampled_from(list(degrees)).flatmap(
        lambda k: st.fixed_dictionaries(
            {
                "kind": st.just("poly"),
                "a": _floats(-2, 2),
                "ws": st.lists(vec, min_size=k, max_size=k),
            }
        )
    )


def sats(dim: int, max_a: float = 1.0) -> st.SearchStrategy[dict[str, Any]]:
    """a σ(b r + u·θ) + o with b > ‖u‖ (rate m = b − ‖u‖ ∈ (0.05, 3])."""

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        u = draw(unit_vectors(dim))
        scale = draw(_floats(0.0, 2.0))
        m = draw(_floats(0.05, 3.0))
        u = [scale * x for x in u]
        norm_u = math.sqrt(sum(x * x for x in u))
        return {
            "kind": "sat",
            "a": draw(_floats(-max_a, max_a)),
            "b": norm_u + m,
            "u": u,
            "o": draw(_floats(-1.0, 1.0)),
        }

    return build()


def exps(max_a: float = 1.0) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"kind": st.just("exp"), "a": _floats(-max_a, max_a), "b": _floats(0.05, 3.0)}
    )


def degree0_members(dim: int) -> st.SearchStrategy[dict[str, Any]]:
    """∼0 members (D3 holds with known constants)."""
    return st.one_of(sats(dim), exps())


def members(
    dim: int, kinds: Sequence[str] = KINDS, degrees: Sequence[int] = (1, 2)
) -> st.SearchStrategy[dict[str, Any]]:
    options = []
    if "poly" in kinds:
        options.append(polys(dim, degrees))
    if "sat" in kinds:
        options.append(sats(dim))
    if "exp" in kinds:
        options.append(exps())
    if "polysat" in kinds:
        options.append(
            st.builds(
                lambda p, s: {"kind": "polysat", "poly": p, "sat": s},
                polys(dim, degrees),
                sats(dim),
            )
        )
    if not options:
        raise HomogeneityInputError(f"kinds={kinds!r} selects no family; use some of {KINDS}")
    return st.one_of(*options)
