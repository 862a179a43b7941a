"""Linear algebra at explicit precision, in torch's conventions: rows are tokens and a
linear map is y = x Wᵀ + b (W given as its rows, shape (d_out, d_in)).

Sums are mpmath's exactly rounded ``fsum``/``fdot``. Every public function takes
``digits`` (see :mod:`proofs_numeric.precision.context`).
"""

from __future__ import annotations

from collections.abc import Sequence

import mpmath
from mpmath import mpf

from homogeneity.errors import HomogeneityInputError
from proofs_numeric.precision.context import working_precision
from proofs_numeric.precision.convert import Matrix, Row, _matrix, _row

# -- kernels (run at the precision of the public function that calls them) ---------------


def _dot(u: Sequence[mpf], v: Sequence[mpf]) -> mpf:
    return mpmath.fdot(u, v)


def _linear(
    x: Sequence[Sequence[mpf]], w: Sequence[Sequence[mpf]], b: Sequence[mpf] | None
) -> list[list[mpf]]:
    out = [[_dot(row, xi) for row in w] for xi in x]
    if b is not None:
        out = [[v + bj for v, bj in zip(row, b, strict=True)] for row in out]
    return out


def _norm2(v: Sequence[mpf]) -> mpf:
    return mpmath.sqrt(mpmath.fsum(t * t for t in v))


def _check_lengths(u: Sequence[object], v: Sequence[object], what: str) -> None:
    if len(u) != len(v):
        raise HomogeneityInputError(
            f"{what}: lengths {len(u)} and {len(v)} differ; pass vectors of the same length"
        )


# -- the maps ---------------------------------------------------------------------------


def dot(u: Row, v: Row, digits: int | None = None) -> mpf:
    """u·v (exactly rounded)."""
    with working_precision(digits):
        a, b = _row(u, "u"), _row(v, "v")
        _check_lengths(a, b, "dot")
        return _dot(a, b)


def matvec(w: Matrix, x: Row, digits: int | None = None) -> list[mpf]:
    """W x (W as rows)."""
    with working_precision(digits):
        rows, v = _matrix(w, "w"), _row(x, "x")
        _check_lengths(rows[0], v, "matvec: W's rows and x")
        return [_dot(r, v) for r in rows]


def linear(
    x: Matrix, w: Matrix, b: Row | None = None, digits: int | None = None
) -> list[list[mpf]]:
    """Rows y_i = W x_i (+ b): torch's ``x @ W.T + b`` for x of shape (n, d_in)."""
    with working_precision(digits):
        xs, ws = _matrix(x, "x"), _matrix(w, "w")
        _check_lengths(xs[0], ws[0], "linear: x's rows and W's rows (d_in)")
        bias = None if b is None else _row(b, "b")
        if bias is not None:
            _check_lengths(bias, ws, "linear: b and W's rows (d_out)")
        return _linear(xs, ws, bias)


def norm2(v: Row, digits: int | None = None) -> mpf:
    """‖v‖₂."""
    with working_precision(digits):
        return _norm2(_row(v, "v"))


def frobenius_norm(w: Matrix, digits: int | None = None) -> mpf:
    """‖W‖_F = sqrt(Σ_ij W_ij²)."""
    with working_precision(digits):
        return _norm2([t for row in _matrix(w, "w") for t in row])


def distance(u: Row, v: Row, digits: int | None = None) -> mpf:
    """‖u − v‖₂ (the difference is formed at ``digits``)."""
    with working_precision(digits):
        a, b = _row(u, "u"), _row(v, "v")
        _check_lengths(a, b, "distance")
        return _norm2([x - y for x, y in zip(a, b, strict=True)])
