"""Scalar maps, their ρ → ∞ limits, cancellation-free differences and tail bounds.

=============  ============================  =========================  =====================
map            finite form                   limit (ρ → ∞)              tail bound, ρ > 0
=============  ============================  =========================  =====================
sigmoid        σ(z) = 1/(1 + e^{−z})         step: σ(ρz) → 1[z>0] + ½·1[z=0]   e^{−ρ|z|}
tanh           tanh z                        sign: tanh(ρz) → sign z    2e^{−2ρ|z|}
GeLU           z Φ(z) (erf form)             ReLU: GeLU(ρz)/ρ → max(z, 0)   |z| e^{−ρ²z²/2}/2
ReLU           max(z, 0)                     itself (1-homogeneous)     0
=============  ============================  =========================  =====================

Exact errors behind the bounds: |σ(ρz) − step(z)| = σ(−ρ|z|); |tanh(ρz) − sign(z)| =
2/(e^{2ρ|z|} + 1); |GeLU(ρz)/ρ − ReLU(z)| = |z| Φ(−ρ|z|), and Φ(−t) ≤ e^{−t²/2}/2 for t ≥ 0.

Every public function takes ``digits`` (see :mod:`proofs_numeric.precision.context`).
:data:`ACTIVATIONS` maps an activation's name (as in
:class:`homogeneity.components.EncoderConfig`) to its finite and saturated kernels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import mpmath
from mpmath import mpf

from homogeneity.errors import HomogeneityInputError
from proofs_numeric.precision.context import working_precision
from proofs_numeric.precision.convert import Real, _mpf, _positive

Kernel = Callable[[mpf], mpf]


# -- kernels (run at the precision of the public function that calls them) ---------------


def _sigmoid(z: mpf) -> mpf:
    if z >= 0:
        return 1 / (1 + mpmath.exp(-z))
    e = mpmath.exp(z)
    return e / (1 + e)


def _tanh(z: mpf) -> mpf:
    return mpmath.tanh(z)


def _gelu(z: mpf) -> mpf:
    return z * mpmath.ncdf(z)


def _relu(z: mpf) -> mpf:
    return z if z > 0 else mpf(0)


def _step(z: mpf) -> mpf:
    return mpf(1) if z > 0 else (mpf(0) if z < 0 else mpf(1) / 2)


def _sign(z: mpf) -> mpf:
    return mpf(mpmath.sign(z))


#: activation name -> (finite kernel, saturated kernel): GeLU saturates to ReLU,
#: sigmoid to the step, tanh to the sign.
ACTIVATIONS: dict[str, tuple[Kernel, Kernel]] = {
    "relu": (_relu, _relu),
    "gelu": (_gelu, _relu),
    "sigmoid": (_sigmoid, _step),
    "tanh": (_tanh, _sign),
}


def _kernel(name: str, saturated: bool) -> Kernel:
    try:
        finite, limit = ACTIVATIONS[name]
    except KeyError:
        raise HomogeneityInputError(
            f"activation={name!r} is unknown; pick one of {sorted(ACTIVATIONS)}"
        ) from None
    return limit if saturated else finite


# -- the maps ---------------------------------------------------------------------------


def sigmoid(z: Real, digits: int | None = None) -> mpf:
    """σ(z) = 1/(1+e^{−z}), evaluated without overflow for any |z|."""
    with working_precision(digits):
        return _sigmoid(_mpf(z, "z"))


def tanh(z: Real, digits: int | None = None) -> mpf:
    """tanh z."""
    with working_precision(digits):
        return _tanh(_mpf(z, "z"))


def gelu(z: Real, digits: int | None = None) -> mpf:
    """GeLU(z) = z Φ(z) = z (1 + erf(z/√2))/2 (the exact, erf form)."""
    with working_precision(digits):
        return _gelu(_mpf(z, "z"))


def relu(z: Real, digits: int | None = None) -> mpf:
    """max(z, 0)."""
    with working_precision(digits):
        return _relu(_mpf(z, "z"))


def step(z: Real, digits: int | None = None) -> mpf:
    """lim_{ρ→∞} σ(ρz): 1 for z > 0, 0 for z < 0, ½ at z = 0."""
    with working_precision(digits):
        return _step(_mpf(z, "z"))


def sign(z: Real, digits: int | None = None) -> mpf:
    """lim_{ρ→∞} tanh(ρz): sign z (0 at 0)."""
    with working_precision(digits):
        return _sign(_mpf(z, "z"))


def activate(name: str, z: Real, saturated: bool = False, digits: int | None = None) -> mpf:
    """The activation ``name`` (relu, gelu, sigmoid, tanh) at z; ``saturated``: its limit
    map (ReLU for GeLU, the step for sigmoid, the sign for tanh)."""
    kernel = _kernel(name, saturated)
    with working_precision(digits):
        return kernel(_mpf(z, "z"))


def activate_rows(
    name: str, rows: Sequence[Sequence[Real]], saturated: bool = False, digits: int | None = None
) -> list[list[mpf]]:
    """:func:`activate` applied entry-wise to a matrix (rows = tokens)."""
    kernel = _kernel(name, saturated)
    with working_precision(digits):
        return [[kernel(_mpf(v, "z")) for v in row] for row in rows]


# -- differences without cancellation -----------------------------------------------------


def sigmoid_difference(y: Real, x: Real, digits: int | None = None) -> mpf:
    """σ(y) − σ(x) without cancellation (σ(y) − σ(x) = σ(−x) − σ(−y))."""
    with working_precision(digits):
        yv, xv = _mpf(y, "y"), _mpf(x, "x")
        if xv >= 0 and yv >= 0:
            return _sigmoid(-xv) - _sigmoid(-yv)
        return _sigmoid(yv) - _sigmoid(xv)


def tanh_difference(y: Real, x: Real, digits: int | None = None) -> mpf:
    """tanh(y) − tanh(x) without cancellation (1 − tanh z = 2/(e^{2z} + 1))."""
    with working_precision(digits):
        yv, xv = _mpf(y, "y"), _mpf(x, "x")
        if xv * yv > 0:
            s = 1 if xv > 0 else -1
            ty = 2 / (mpmath.exp(2 * abs(yv)) + 1)
            tx = 2 / (mpmath.exp(2 * abs(xv)) + 1)
            return s * (tx - ty)
        return _tanh(yv) - _tanh(xv)


# -- tail bounds ------------------------------------------------------------------------


def sigmoid_tail_bound(z: Real, rho: Real = 1, digits: int | None = None) -> mpf:
    """e^{−ρ|z|} ≥ |σ(ρz) − step(z)| = σ(−ρ|z|) (equality up to the factor
    1/(1 + e^{−ρ|z|}))."""
    with working_precision(digits):
        return mpmath.exp(-_positive(rho, "rho") * abs(_mpf(z, "z")))


def tanh_tail_bound(z: Real, rho: Real = 1, digits: int | None = None) -> mpf:
    """2e^{−2ρ|z|} ≥ |tanh(ρz) − sign(z)| = 2/(e^{2ρ|z|} + 1)."""
    with working_precision(digits):
        return 2 * mpmath.exp(-2 * _positive(rho, "rho") * abs(_mpf(z, "z")))


def gelu_tail_bound(z: Real, rho: Real = 1, digits: int | None = None) -> mpf:
    """|z| e^{−ρ²z²/2}/2 ≥ |GeLU(ρz)/ρ − ReLU(z)| = |z| Φ(−ρ|z|)."""
    with working_precision(digits):
        r, zv = _positive(rho, "rho"), _mpf(z, "z")
        return abs(zv) * mpmath.exp(-((r * zv) ** 2) / 2) / 2
