"""The layer norms of the paper and of practice, per vector (one token).

===============  =========================================  ==============================
name             map                                        undefined where
===============  =========================================  ==============================
``proof`` (D9)   (x − μ)/‖x − μ‖₂ (no ε)                    x is constant
``layernorm``    (x − μ)/sqrt(var + ε), biased variance     x is constant and ε = 0
``rmsnorm``      x/sqrt(mean(x²) + ε) (T5)                  x = 0 and ε = 0
===============  =========================================  ==============================

With ε = 0 the standard layer norm is √n times D9. :func:`normalise` applies one of them
with an optional gain γ and bias β (γ ⊙ N(x) + β), as the norm components of
:mod:`homogeneity.components` do. Every public function takes ``digits`` (see
:mod:`proofs_numeric.precision.context`).
"""

from __future__ import annotations

from collections.abc import Sequence

import mpmath
from mpmath import mpf

from homogeneity.constants import NORMS, NormKind
from homogeneity.errors import HomogeneityInputError
from proofs_numeric.precision.context import working_precision
from proofs_numeric.precision.convert import Real, Row, _mpf, _row
from proofs_numeric.precision.linalg import _norm2

# -- kernels (run at the precision of the public function that calls them) ---------------


def _centre(v: Sequence[mpf]) -> list[mpf]:
    mu = mpmath.fsum(v) / len(v)
    return [e - mu for e in v]


def _layer_norm(v: Sequence[mpf]) -> list[mpf]:
    centred = _centre(v)
    norm = _norm2(centred)
    if norm == 0:
        raise HomogeneityInputError(
            "x is constant, so x − μ(x) = 0 and the layer norm of D9 is undefined; pass a "
            "non-constant vector (or use standard_layer_norm with eps > 0)"
        )
    return [e / norm for e in centred]


def _standard_layer_norm(v: Sequence[mpf], eps: mpf) -> list[mpf]:
    centred = _centre(v)
    var = mpmath.fsum(t * t for t in centred) / len(v)
    if var + eps == 0:
        raise HomogeneityInputError("x is constant and eps = 0: the layer norm is undefined")
    s = mpmath.sqrt(var + eps)
    return [t / s for t in centred]


def _rms_norm(v: Sequence[mpf], eps: mpf) -> list[mpf]:
    ms = mpmath.fsum(t * t for t in v) / len(v) + eps
    if ms == 0:
        raise HomogeneityInputError("x = 0 and eps = 0: the RMS norm is undefined")
    s = mpmath.sqrt(ms)
    return [t / s for t in v]


def _eps(eps: Real) -> mpf:
    e = _mpf(eps, "eps")
    if e < 0:
        raise HomogeneityInputError(f"eps={eps!r} must be ≥ 0")
    return e


def _normalise(
    kind: str,
    v: Sequence[mpf],
    eps: mpf,
    gain: Sequence[mpf] | None,
    bias: Sequence[mpf] | None,
) -> list[mpf]:
    if kind == NormKind.PROOF:
        y = _layer_norm(v)
    elif kind == NormKind.LAYERNORM:
        y = _standard_layer_norm(v, eps)
    elif kind == NormKind.RMSNORM:
        y = _rms_norm(v, eps)
    else:
        raise HomogeneityInputError(f"norm={kind!r} is unknown; pick one of {NORMS}")
    if gain is not None:
        y = [t * g for t, g in zip(y, gain, strict=True)]
    if bias is not None:
        y = [t + b for t, b in zip(y, bias, strict=True)]
    return y


# -- the maps ---------------------------------------------------------------------------


def centre(x: Row, digits: int | None = None) -> list[mpf]:
    """x − μ(x) (the centring projection of D9)."""
    with working_precision(digits):
        return _centre(_row(x, "x"))


def layer_norm(x: Row, digits: int | None = None) -> list[mpf]:
    """SPEC D9: (x − μ)/‖x − μ‖₂ (no ε, no affine part). Undefined for constant x."""
    with working_precision(digits):
        return _layer_norm(_row(x, "x"))


def standard_layer_norm(x: Row, eps: Real, digits: int | None = None) -> list[mpf]:
    """(x − μ)/sqrt(var + ε) with the biased variance (torch/BERT); ε = 0 gives √n·D9."""
    with working_precision(digits):
        return _standard_layer_norm(_row(x, "x"), _eps(eps))


def rms_norm(x: Row, eps: Real, digits: int | None = None) -> list[mpf]:
    """T5's x/sqrt(mean(x²) + ε)."""
    with working_precision(digits):
        return _rms_norm(_row(x, "x"), _eps(eps))


def normalise(
    kind: str,
    x: Row,
    eps: Real = 0,
    gain: Row | None = None,
    bias: Row | None = None,
    digits: int | None = None,
) -> list[mpf]:
    """γ ⊙ N(x) + β with N the norm ``kind`` (``proof``, ``layernorm`` or ``rmsnorm``);
    ``eps`` is ignored by ``proof``. γ and β are optional."""
    with working_precision(digits):
        g = None if gain is None else _row(gain, "gain")
        b = None if bias is None else _row(bias, "bias")
        return _normalise(kind, _row(x, "x"), _eps(eps), g, b)


def normalise_rows(
    kind: str,
    rows: Sequence[Row],
    eps: Real = 0,
    gain: Row | None = None,
    bias: Row | None = None,
    digits: int | None = None,
) -> list[list[mpf]]:
    """:func:`normalise` applied to each row (token) of a matrix."""
    with working_precision(digits):
        g = None if gain is None else _row(gain, "gain")
        b = None if bias is None else _row(bias, "bias")
        e = _eps(eps)
        return [_normalise(kind, _row(r, f"rows[{i}]"), e, g, b) for i, r in enumerate(rows)]
