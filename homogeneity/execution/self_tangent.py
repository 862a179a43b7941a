"""Products with a self-tangent operand on a forward-mode pass: one product where AD makes two.

On the forward-mode pass of a ray (:meth:`homogeneity.scaling.Ray.jvp`) every scaled
parameter W is a dual tensor whose tangent is W itself (the direction of d/ds f((1+s)θ)
is θ). For a product with such an operand and any other operand x with tangent ẋ,

    y = x·W (+ b)          ẏ = ẋ·W + x·Ẇ (+ ḃ) = (x + ẋ)·W (+ ḃ)        (Ẇ = W),

so the tangent costs **one** product of the same shape as the value, where forward-mode
AD computes two (ẋ·W and x·Ẇ). For a lookup E[ids] the tangent is Ė[ids] = E[ids], the
value itself. This is an exact identity, not an approximation: the two ways of computing
ẏ differ only by rounding (one addition moved before the product instead of after).

:class:`SelfTangentProducts` is a ``TorchFunctionMode`` for the duration of such a pass. It
intercepts ``F.linear``, ``torch.addmm`` (Hugging Face's ``Conv1D``), ``torch.matmul`` /
``@`` / ``torch.mm`` and ``F.embedding`` / ``torch.embedding`` when one operand **is**
self-tangent, computes value and tangent from the primals, and returns
``fwAD.make_dual(value, tangent)``. Every other call (and these calls when no operand is
self-tangent: the query-key product of attention, a parameter outside the selection,
which has no tangent at all) runs as ordinary forward-mode AD.

"Self-tangent" is decided from memory, not from a mark: the tangent and the primal are
views of the same memory with the same sizes, strides, dtype and conjugate/negative bits,
so their values are identical by construction. That holds for the parameters as
:meth:`~homogeneity.scaling.Ray.jvp` makes them (``make_dual(p, p)``) and for views of
them (``W.T``, ``in_proj_weight.chunk(3)``), and it can never hold for a tangent that
differs from its primal. A copy of a parameter (``W.to(float32)`` lifted to float64, a
``.contiguous()`` of a transpose) has a separate tangent and takes the ordinary path.

Products inside Python functions that dispatch their own torch-function handling
(``F.multi_head_attention_forward``'s projections) are not seen by a mode (the mode is
inactive while it handles the outer call) and run as ordinary forward-mode AD.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
import torch.autograd.forward_ad as fwAD
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

Handler = Callable[[Sequence[Any], Mapping[str, Any]], Any]

#: what a handler returns when it does not apply (the call then runs as usual)
NOT_HANDLED = object()


def self_tangent_primal(x: Any) -> torch.Tensor | None:
    """The primal of ``x`` if ``x`` is a dual tensor (at the current level) whose tangent
    is its primal (the same memory, sizes, strides, dtype and conj/neg bits); else None."""
    if not isinstance(x, torch.Tensor):
        return None
    primal, tangent = fwAD.unpack_dual(x)
    if tangent is None:
        return None
    try:
        same = (
            tangent.data_ptr() == primal.data_ptr()
            and tangent.shape == primal.shape
            and tangent.stride() == primal.stride()
            and tangent.dtype == primal.dtype
            and tangent.device == primal.device
            and tangent.is_conj() == primal.is_conj()
            and tangent.is_neg() == primal.is_neg()
            and not tangent._is_zerotensor()
        )
    except RuntimeError:  # tensors without storage (functorch wrappers, fakes)
        return None
    return primal if same else None


def _split(x: Any) -> tuple[Any, torch.Tensor | None]:
    """(primal, tangent or None) of a tensor; (x, None) for anything else."""
    if not isinstance(x, torch.Tensor):
        return x, None
    primal, tangent = fwAD.unpack_dual(x)
    return primal, tangent


def _plus(primal: torch.Tensor, tangent: torch.Tensor | None) -> torch.Tensor:
    """x + ẋ (x itself when ẋ is None)."""
    return primal if tangent is None else primal + tangent


def _arguments(
    args: Sequence[Any], kwargs: Mapping[str, Any], names: Sequence[str], defaults: Sequence[Any]
) -> list[Any] | None:
    """The values of ``names`` (the last ``len(defaults)`` of them optional) from a call's
    positional and keyword arguments; None for a call this module does not handle (other
    keywords such as ``out=``, an argument given twice or missing: torch then runs it,
    and raises its own error where it is wrong)."""
    if len(args) > len(names) or any(k not in names[len(args) :] for k in kwargs):
        return None
    values = list(args)
    first_default = len(names) - len(defaults)
    for i in range(len(args), len(names)):
        if names[i] in kwargs:
            values.append(kwargs[names[i]])
        elif i >= first_default:
            values.append(defaults[i - first_default])
        else:
            return None
    return values


def _dual(value: torch.Tensor, tangent: torch.Tensor) -> torch.Tensor:
    return fwAD.make_dual(value, tangent)


# -- the handlers ----------------------------------------------------------------------
def _linear(args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
    """y = x Wᵀ + b: ẏ = (x + ẋ) Wᵀ + ḃ when W is self-tangent."""
    bound = _arguments(args, kwargs, ("input", "weight", "bias"), (None,))
    if bound is None:
        return NOT_HANDLED
    x, w, b = bound
    wp = self_tangent_primal(w)
    if wp is None:
        return NOT_HANDLED
    xp, dx = _split(x)
    bp, db = _split(b)
    value = F.linear(xp, wp, bp)
    if dx is None and (b is None or self_tangent_primal(b) is not None):
        return _dual(value, value.clone())  # ẏ = x Wᵀ + b = y
    return _dual(value, F.linear(_plus(xp, dx), wp, db))


def _addmm(args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
    """y = β·c + α·A B: ẏ = β·ċ + α·(A + Ȧ) B when B is self-tangent (and
    α·A (B + Ḃ) when A is)."""
    bound = _arguments(args, kwargs, ("input", "mat1", "mat2", "beta", "alpha"), (1, 1))
    if bound is None:
        return NOT_HANDLED
    c, a, b, beta, alpha = bound
    if isinstance(beta, torch.Tensor) or isinstance(alpha, torch.Tensor):
        return NOT_HANDLED
    bp = self_tangent_primal(b)
    ap = self_tangent_primal(a) if bp is None else None
    cp, dc = _split(c)
    if bp is not None:  # ẏ = β·ċ + α·(A + Ȧ) B
        a_primal, moving = _split(a)
        b_primal = bp
        left, right = _plus(a_primal, moving), bp
    elif ap is not None:  # ẏ = β·ċ + α·A (B + Ḃ)
        b_primal, moving = _split(b)
        a_primal = ap
        left, right = ap, _plus(b_primal, moving)
    else:
        return NOT_HANDLED
    value = torch.addmm(cp, a_primal, b_primal, beta=beta, alpha=alpha)
    if moving is None and self_tangent_primal(c) is not None:
        return _dual(value, value.clone())  # ẏ = β·c + α·A B = y
    if dc is None:
        product = torch.mm(left, right)
        return _dual(value, product if alpha == 1 else product.mul_(alpha))
    return _dual(value, torch.addmm(dc, left, right, beta=beta, alpha=alpha))


def _product(op: Callable[..., torch.Tensor], swapped: bool = False) -> Handler:
    """y = A B for matmul-like ops: ẏ = (A + Ȧ) B when B is self-tangent, A (B + Ḃ) when
    A is (``swapped``: the call is ``B.__rmatmul__(A)``)."""

    def handle(args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if kwargs or len(args) != 2:
            return NOT_HANDLED
        a, b = (args[1], args[0]) if swapped else (args[0], args[1])
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            return NOT_HANDLED
        bp = self_tangent_primal(b)
        if bp is not None:
            ap, da = _split(a)
            value = op(ap, bp)
            if da is None:
                return _dual(value, value.clone())  # ẏ = A B = y
            return _dual(value, op(_plus(ap, da), bp))
        ap = self_tangent_primal(a)
        if ap is None:
            return NOT_HANDLED
        bp, db = _split(b)
        value = op(ap, bp)
        if db is None:
            return _dual(value, value.clone())
        return _dual(value, op(ap, _plus(bp, db)))

    return handle


#: the arguments of F.embedding and of torch.embedding (weight first), with defaults
_F_EMBEDDING = (
    ("input", "weight", "padding_idx", "max_norm", "norm_type", "scale_grad_by_freq", "sparse"),
    (None, None, 2.0, False, False),
)
_TORCH_EMBEDDING = (
    ("weight", "indices", "padding_idx", "scale_grad_by_freq", "sparse"),
    (-1, False, False),
)


def _embedding_lookup(fn: Callable[..., torch.Tensor], weight_first: bool) -> Handler:
    """E[ids]: the tangent Ė[ids] = E[ids] is the value (``F.embedding(ids, E, …)``,
    ``torch.embedding(E, ids, …)``); not with ``max_norm`` (it renormalises E in place)."""
    names, defaults = _TORCH_EMBEDDING if weight_first else _F_EMBEDDING
    at = 0 if weight_first else 1

    def handle(args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        bound = _arguments(args, kwargs, names, defaults)
        if bound is None or (not weight_first and bound[3] is not None):
            return NOT_HANDLED
        wp = self_tangent_primal(bound[at])
        ids = bound[1 - at]
        if wp is None or not isinstance(ids, torch.Tensor) or _split(ids)[1] is not None:
            return NOT_HANDLED
        bound[at] = wp
        value = fn(*bound)
        return _dual(value, value.clone())

    return handle


_MATMUL = _product(torch.matmul)
_MM = _product(torch.mm)

#: the torch functions with a one-product rule, and their handlers
_HANDLERS: dict[Any, Handler] = {
    F.linear: _linear,
    torch.addmm: _addmm,
    torch.Tensor.addmm: _addmm,
    torch.matmul: _MATMUL,
    torch.Tensor.matmul: _MATMUL,
    torch.Tensor.__matmul__: _MATMUL,
    torch.Tensor.__rmatmul__: _product(torch.matmul, swapped=True),
    torch.mm: _MM,
    torch.Tensor.mm: _MM,
    F.embedding: _embedding_lookup(F.embedding, weight_first=False),
    torch.embedding: _embedding_lookup(torch.embedding, weight_first=True),
}


class SelfTangentProducts(TorchFunctionMode):
    """During a forward-mode pass: products and lookups with a self-tangent operand by the
    one-product rule above; everything else as ordinary forward-mode AD.

    ``handled`` counts the calls that took the one-product rule (for tests and reports).
    """

    def __init__(self) -> None:
        super().__init__()
        self.handled = 0

    def __torch_function__(
        self,
        func: Any,
        types: Any,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        handler = _HANDLERS.get(func)
        if handler is not None:
            out = handler(args, kwargs)
            if out is not NOT_HANDLED:
                self.handled += 1
                return out
        return func(*args, **kwargs)
