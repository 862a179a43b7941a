"""Table 1 (SPEC D16) as one rule per aten op: the degree of an op's outputs in θ from the
degrees of its inputs.

Every rule is written with the algebra of :mod:`homogeneity.rules` (sum, product, power,
ReLU, saturating maps, normalisation), so the kinds exact / approximate / asymptotic / none
and the asymptotic orders come out as there. :data:`OP_RULES` is the table; the docs
render it with :func:`rule_table` (so the page cannot drift from the code).

Conventions used by several rules:

* a Python number is a θ-free constant; 0 is homogeneous of every degree, so a zero term
  (a zero number, an all-zero tensor of exact degree, e.g. a zero-initialised bias) never
  mixes degrees in a sum;
* entries taken from different tensors (``cat``, ``where``, ``masked_fill``, scatters)
  mix like the terms of a sum, and an operand that is the same at every ρ (θ-free, or of
  exact degree 0) and holds only 0 and −∞ (or values at most
  :data:`~homogeneity.constants.MASK_FLOOR`, such as ``torch.finfo(dtype).min``) is a
  *mask*: adding or filling it changes which scores a softmax sees, not their degree;
* a boolean or integer tensor computed from θ (a comparison, an argmax) has degree 0:
  exact when it is scale-invariant (a sign, a comparison of equal degrees), approximate
  when it only becomes constant along the ray; it weakens the kind of what it selects.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from homogeneity import rules
from homogeneity.degree_engine.interpreter import OpCall, Operand
from homogeneity.degree_engine.tensor_degree import CONSTANT, ZERO, TensorDegree
from homogeneity.rules import Degree

Result = TensorDegree | tuple[TensorDegree, ...]


@dataclass(frozen=True)
class OpRule:
    """One row of the rule table: the ops it covers and the law it applies."""

    ops: tuple[str, ...]
    law: str
    source: str
    apply: Callable[[OpCall], Result]
    folds_constants: bool = True


#: aten op name (``aten.mm``) -> its rule
OP_RULES: dict[str, OpRule] = {}


def op_rule(
    *ops: str, law: str, source: str, folds_constants: bool = True
) -> Callable[[Callable[[OpCall], Result]], Callable[[OpCall], Result]]:
    """Register ``fn`` as the rule of the aten ops ``ops`` (names without ``aten.``; the
    in-place variant ``op_`` is included when torch has one). Ops this torch build does
    not have are skipped."""

    def decorator(fn: Callable[[OpCall], Result]) -> Callable[[OpCall], Result]:
        names = []
        for op in ops:
            for name in (op, op + "_"):
                if hasattr(torch.ops.aten, name) and f"aten.{name}" not in OP_RULES:
                    names.append(f"aten.{name}")
        rule = OpRule(tuple(names), law, source, fn, folds_constants)
        for name in names:
            OP_RULES[name] = rule
        return fn

    return decorator


def dispatch_table(
    table: Mapping[str, OpRule] | None = None,
) -> dict[Any, tuple[Callable[[OpCall], Result], bool]]:
    """``table`` (default :data:`OP_RULES`) keyed by overload packet, as the interpreter
    looks it up."""
    table = OP_RULES if table is None else table
    return {
        getattr(torch.ops.aten, name.removeprefix("aten.")): (rule.apply, rule.folds_constants)
        for name, rule in table.items()
    }


def rule_table() -> list[OpRule]:
    """Every rule once, in registration order (the docs' table of ops with rules)."""
    seen: dict[int, OpRule] = {}
    for rule in OP_RULES.values():
        seen.setdefault(id(rule), rule)
    return list(seen.values())


# -- the algebra on operands ------------------------------------------------------------


def of(d: Degree) -> TensorDegree:
    return TensorDegree.of(d)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def merge(call: OpCall, operands: Sequence[Operand], what: str = "sum") -> TensorDegree:
    """Terms of a sum, or entries gathered from several tensors (D16: equal degrees keep
    their degree; unequal ones give the dominant degree, asymptotically). Zero terms and
    masks are dropped first, so they never mix degrees."""
    if all(o.constant for o in operands):
        return CONSTANT
    values = {o.degree.value for o in operands}
    if len(values) > 1:
        kept = [o for o in operands if not (call.is_zero(o) or call.is_mask(o))]
        if not kept:  # only zeros and masks: the θ-dependent part is zero
            kept = [max((o for o in operands if not o.constant), key=_value_key)]
        operands = kept
        if all(o.constant for o in operands):
            return CONSTANT
    numbers = [o.value for o in operands if isinstance(o.value, int | float)]
    if numbers and len({o.degree.value for o in operands}) > 1:
        what = f"{what} with the constant {numbers[0]:g}"
    out = operands[0].degree
    for o in operands[1:]:
        out = rules.add(out, o.degree, f"{what} at {call.where}")
    return of(out)


def _value_key(o: Operand) -> float:
    return -math.inf if o.degree.value is None else o.degree.value


def product(*operands: Operand) -> TensorDegree:
    """A product (or contraction) of factors: k₁, k₂ → k₁ + k₂."""
    if all(o.constant for o in operands):
        return CONSTANT
    out = operands[0].degree
    for o in operands[1:]:
        out = rules.multiply(out, o.degree)
    return of(out)


def selection_kind(out: TensorDegree, selectors: Sequence[Operand]) -> TensorDegree:
    """``out`` weakened by the masks or indices that pick its entries: θ-dependent
    selectors make even constant entries θ-dependent (of degree 0)."""
    by = [s.degree for s in selectors if not s.constant]
    if not by:
        return out
    return of(rules.weakened(out.degree, by))


def selected_merge(
    call: OpCall, entries: Sequence[str], selectors: Sequence[Operand], what: str
) -> TensorDegree:
    """Entries gathered from the operands named ``entries`` (as the terms of a sum, see
    :func:`merge`), weakened by the ``selectors`` that choose between them."""
    return selection_kind(merge(call, [call.operand(n) for n in entries], what), selectors)


def _scalar(call: OpCall, o: Operand) -> float | None:
    """The value of a Python number or of a θ-free one-element tensor (read once)."""
    if isinstance(o.value, int | float) and not isinstance(o.value, bool):
        return float(o.value)
    if isinstance(o.value, torch.Tensor) and o.constant and o.value.numel() == 1:
        return float(o.value.reshape(()).item())
    return None


# -- structure: views, copies, casts ------------------------------------------------------


@op_rule(
    "view",
    "_unsafe_view",
    "reshape",
    "_reshape_alias",
    "t",
    "transpose",
    "permute",
    "expand",
    "unsqueeze",
    "squeeze",
    "select",
    "slice",
    "narrow",
    "alias",
    "detach",
    "clone",
    "contiguous",
    "lift_fresh",
    "lift_fresh_copy",
    "unfold",
    "repeat",
    "roll",
    "flip",
    "diagonal",
    "as_strided",
    "unbind",
    "split",
    "split_with_sizes",
    "unsafe_split",
    "chunk",
    "tril",
    "triu",
    "movedim",
    "repeat_interleave",
    "view_as_real",
    "view_as_complex",
    "pixel_shuffle",
    "pixel_unshuffle",
    law="k → k",
    source="moving entries changes no degree (tril/triu zero entries: 0 has every degree)",
)
def _structural(call: OpCall) -> Result:
    return call.operand("self").td


@op_rule(
    "_to_copy",
    law="k → k; float → bool: a comparison with 0; float → integer: no degree",
    source="dtype casts: the check measures the mathematics, not the rounding",
)
def _cast(call: OpCall) -> Result:
    x = call.operand("self")
    dtype = call.arg("dtype")
    if dtype is None or dtype.is_floating_point or dtype.is_complex:
        return x.td
    if not isinstance(x.value, torch.Tensor) or not x.value.is_floating_point():
        return x.td
    if dtype == torch.bool:
        return _comparison_degree(x.degree, True)
    return of(Degree.none(f"rounding a degree-{x.degree.value} tensor to integers at {call.where}"))


@op_rule("copy", law="the copied degree", source="in-place copy: the destination takes it")
def _copy(call: OpCall) -> Result:
    return call.operand("src").td


@op_rule(
    "native_dropout",
    law="k → k (the dropout mask is θ-free)",
    source="dropout multiplies by a θ-free mask and 1/(1 − p)",
)
def _dropout(call: OpCall) -> Result:
    return call.operand("input").td, CONSTANT


# -- constants ----------------------------------------------------------------------------


#: factories whose result is all zeros (whatever the arguments)
_ZERO_FACTORIES = {"zeros", "zeros_like", "new_zeros", "zero", "zero_"}
#: factories that fill with a value given as an argument
_FILLED_FACTORIES = {"full", "full_like", "new_full", "fill", "fill_"}


@op_rule(
    "zeros",
    "zeros_like",
    "new_zeros",
    "zero",
    "full",
    "full_like",
    "new_full",
    "fill",
    "ones",
    "ones_like",
    "new_ones",
    "empty",
    "empty_like",
    "new_empty",
    "empty_strided",
    "new_empty_strided",
    "arange",
    "linspace",
    "logspace",
    "eye",
    "scalar_tensor",
    "rand",
    "rand_like",
    "randn",
    "randn_like",
    "randint",
    "randint_like",
    "randperm",
    "bernoulli",
    "normal",
    "uniform",
    "random",
    "exponential",
    "one_hot",
    law="θ-free: degree 0, exactly (all zeros for zeros and a zero fill: every degree)",
    source="constants (data, positions, masks, random draws), even when built from a "
    "θ-dependent tensor's shape",
    folds_constants=False,
)
def _constant(call: OpCall) -> Result:
    name = call.func.overloadpacket.__name__
    if name in _ZERO_FACTORIES:
        return ZERO
    if name in _FILLED_FACTORIES:
        value = call.operand("fill_value" if call.arg("fill_value") is not None else "value")
        if not value.constant:  # filled with a θ-dependent number: its degree
            return value.td
        if not isinstance(value.value, torch.Tensor) and value.value == 0:
            return ZERO
    return CONSTANT


# -- sums ----------------------------------------------------------------------------------


@op_rule(
    "add",
    "sub",
    "rsub",
    law="a, a → a; a ≠ b → max(a, b), asymptotic of order |a − b|",
    source="D16 sum (unequal degrees: the lower term vanishes relatively); masks and zeros "
    "drop out",
)
def _sum(call: OpCall) -> Result:
    alpha = call.arg("alpha", 1)
    x = call.operand("self")
    if isinstance(alpha, int | float) and alpha == 0:
        return x.td
    return merge(call, [x, call.operand("other")])


@op_rule(
    "where",
    law="entries from a or b: as a sum of a and b, weakened by the condition",
    source="D16 sum, entry-wise; a mask branch (−∞, finfo.min) drops out",
)
def _where(call: OpCall) -> Result:
    return selected_merge(call, ("self", "other"), [call.operand("condition")], "selection")


@op_rule(
    "masked_fill",
    law="entries of x or the fill value: as a sum, weakened by the mask; −∞ fills mask",
    source="D16 sum, entry-wise",
)
def _masked_fill(call: OpCall) -> Result:
    return selected_merge(call, ("self", "value"), [call.operand("mask")], "masked fill")


@op_rule(
    "cat",
    "stack",
    law="entries from every tensor: as their sum",
    source="D16 sum, entry-wise (empty tensors contribute nothing)",
)
def _cat(call: OpCall) -> Result:
    parts = [
        o
        for o in call.operands("tensors")
        if not (isinstance(o.value, torch.Tensor) and o.value.numel() == 0)
    ]
    return merge(call, parts, "concatenation") if parts else CONSTANT


@op_rule(
    "index_put",
    "slice_scatter",
    "select_scatter",
    "diagonal_scatter",
    "masked_scatter",
    "scatter",
    law="entries of x or of the values written: as a sum, weakened by the indices",
    source="D16 sum, entry-wise",
)
def _scatter(call: OpCall) -> Result:
    name = next(n for n in ("values", "src", "source", "value") if call.arg(n) is not None)
    selectors = [call.operand(n) for n in ("index", "mask") if call.arg(n) is not None]
    selectors += [o for o in call.operands("indices")] if call.arg("indices") else []
    return selected_merge(call, ("self", name), selectors, "scatter")


@op_rule(
    "constant_pad_nd",
    law="entries of x or the pad value: as a sum (zero padding keeps k)",
    source="D16 sum, entry-wise",
)
def _pad(call: OpCall) -> Result:
    return merge(call, [call.operand("self"), call.operand("value")], "padding")


@op_rule(
    "maximum",
    "minimum",
    "fmax",
    "fmin",
    law="a, a → a (positively homogeneous); a ≠ b → as a sum",
    source="max(c^k a, c^k b) = c^k max(a, b); otherwise entries of either",
)
def _max_of_two(call: OpCall) -> Result:
    return merge(call, [call.operand("self"), call.operand("other")], "element-wise max/min")


# -- products ------------------------------------------------------------------------------


@op_rule(
    "mul",
    "mm",
    "bmm",
    "matmul",
    "mv",
    "dot",
    "vdot",
    "outer",
    "kron",
    law="k₁, k₂ → k₁ + k₂",
    source="D16 product and weight multiply (a scaled weight has degree 1)",
)
def _product(call: OpCall) -> Result:
    names = ("self", "other", "mat2", "vec", "vec2", "tensor")
    return product(*(call.operand(n) for n in names if call.arg(n) is not None))


@op_rule(
    "div",
    law="k₁, k₂ → k₁ − k₂",
    source="D16 product with 1/z of degree −k; a rounding mode has no degree",
)
def _divide(call: OpCall) -> Result:
    x, y = call.operand("self"), call.operand("other")
    if x.constant and y.constant:
        return CONSTANT
    if call.arg("rounding_mode") is not None:
        return of(Degree.none(f"rounded division at {call.where}"))
    return of(rules.multiply(x.degree, rules.power(y.degree, -1)))


@op_rule(
    "addmm",
    "addmv",
    "addbmm",
    "baddbmm",
    "addr",
    law="β·b + α·(m₁ m₂): the sum of b and a product k₁ + k₂",
    source="D16 weight multiply plus bias (a bias needs input degree 0 to stay homogeneous)",
)
def _affine(call: OpCall) -> Result:
    names = [n for n in ("mat1", "mat2", "batch1", "batch2", "mat", "vec", "vec1", "vec2")]
    factors = [call.operand(n) for n in names if call.arg(n) is not None]
    prod = Operand(None, product(*factors))
    beta = call.arg("beta", 1)
    if isinstance(beta, int | float) and beta == 0:
        return prod.td
    return merge(call, [call.operand("self"), prod], "bias sum")


@op_rule(
    "convolution",
    law="weight multiply k → k + deg W, plus the bias as a sum",
    source="D16 weight multiply plus bias",
)
def _convolution(call: OpCall) -> Result:
    prod = Operand(None, product(call.operand("input"), call.operand("weight")))
    if call.arg("bias") is None:
        return prod.td
    return merge(call, [prod, call.operand("bias")], "bias sum")


#: the fixed exponent of each power op
_EXPONENTS = {"sqrt": 0.5, "rsqrt": -0.5, "reciprocal": -1.0, "square": 2.0}


@op_rule(
    "pow",
    "sqrt",
    "rsqrt",
    "reciprocal",
    "square",
    law="z^p: k → p·k (√z: k/2, 1/√z: −k/2, 1/z: −k)",
    source="D16 product, repeated (p real); a θ-dependent exponent has no degree",
)
def _pow(call: OpCall) -> Result:
    name = call.func.overloadpacket.__name__.rstrip("_")
    base = call.operand("self")
    if name in _EXPONENTS:
        return of(rules.power(base.degree, _EXPONENTS[name]))
    exponent = call.operand("exponent")
    if base.constant and exponent.constant:
        return CONSTANT
    if not exponent.constant:
        return of(Degree.none(f"a θ-dependent exponent at {call.where}"))
    p = _scalar(call, exponent)
    if p is None:
        return of(Degree.none(f"a power with a tensor of exponents at {call.where}"))
    if p == 0:
        return CONSTANT
    return of(rules.power(base.degree, p))


# -- linear and positively homogeneous maps ---------------------------------------------------


@op_rule(
    "neg",
    "sum",
    "mean",
    "nansum",
    "cumsum",
    "trace",
    "diag",
    "abs",
    "amax",
    "amin",
    "linalg_vector_norm",
    "norm",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "_adaptive_avg_pool2d",
    "max_pool1d",
    "max_pool2d",
    law="k → k",
    source="linear or positively 1-homogeneous maps (sums, means, norms, |z|, max)",
)
def _degree_kept(call: OpCall) -> Result:
    return call.operand("self").td


@op_rule(
    "max",
    "min",
    "sort",
    "topk",
    "max_pool2d_with_indices",
    "max_pool3d_with_indices",
    "median",
    law="values k → k; indices → 0 (exact: argmax(c^k z) = argmax z)",
    source="positively homogeneous selection",
)
def _values_and_indices(call: OpCall) -> Result:
    if call.arg("other") is not None:  # max(a, b), min(a, b): element-wise
        return _max_of_two(call)
    x = call.operand("self").td
    if isinstance(call.out, torch.Tensor):  # max/min over everything: the value only
        return x
    return x, _comparison_degree(x.degree, True)


@op_rule(
    "argmax",
    "argmin",
    "sign",
    "signbit",
    law="k → 0, exactly",
    source="scale-invariant (argmax(c^k z) = argmax z, sign(c^k z) = sign z)",
)
def _scale_invariant(call: OpCall) -> Result:
    return _comparison_degree(call.operand("self").degree, True)


@op_rule(
    "var",
    "std",
    "var_mean",
    "std_mean",
    law="var: k → 2k; std: k → k (and the mean k)",
    source="D16 product: a mean of squares",
)
def _spread(call: OpCall) -> Result:
    d = call.operand("self").degree
    var = rules.power(d, 2.0)
    name = call.func.overloadpacket.__name__
    if name.startswith("var_mean"):
        return of(var), of(d)
    if name.startswith("std_mean"):
        return of(d), of(d)
    return of(var) if name.startswith("var") else of(d)


@op_rule(
    "relu",
    "leaky_relu",
    law="k → k, kind kept",
    source="L2: ReLU is positively 1-homogeneous",
)
def _relu(call: OpCall) -> Result:
    return of(rules.relu(call.operand("self").degree))


@op_rule(
    "clamp",
    "clamp_min",
    "clamp_max",
    "hardtanh",
    law="clamp at 0: k → k; one other bound: k and a constant mix; two bounds: k > 0 → ∼0",
    source="L2 (ReLU = clamp at 0); a clamp at two bounds saturates to them",
)
def _clamp(call: OpCall) -> Result:
    x = call.operand("self")
    name = call.func.overloadpacket.__name__.rstrip("_")
    if name == "hardtanh":
        bounds = [call.operand("min_val"), call.operand("max_val")]
    elif name == "clamp":
        bounds = [call.operand("min"), call.operand("max")]
    else:
        bounds = [call.operand("min" if name == "clamp_min" else "max")]
    bounds = [b for b in bounds if b.value is not None]
    if len(bounds) == 2:
        if all(call.is_zero(b) for b in bounds):
            return ZERO if x.constant else of(rules.power(x.degree, 0.0))
        return of(rules.saturating(x.degree, "clamp to [lo, hi]", call.where))
    if not bounds or call.is_zero(bounds[0]):
        return of(rules.relu(x.degree))
    return merge(call, [x, bounds[0]], "clamp")


# -- smooth ReLUs and saturating maps -------------------------------------------------------


@op_rule(
    "gelu",
    "silu",
    "mish",
    "softplus",
    "hardswish",
    law="k > 0 → ∼k; 0 → 0",
    source="z·s(z) with s saturating: ReLU plus an exponentially small tail",
)
def _smooth_relu(call: OpCall) -> Result:
    name = {"gelu": "GeLU", "silu": "SiLU"}.get(call.func.overloadpacket.__name__, "soft ReLU")
    return of(rules.gelu(call.operand("self").degree, name, call.where))


@op_rule(
    "sigmoid",
    "tanh",
    "erf",
    "erfc",
    "hardsigmoid",
    "_softmax",
    "_safe_softmax",
    "softmax",
    law="k > 0 → ∼0; 0 → 0",
    source="L6–L8, P3: saturating maps",
)
def _saturating(call: OpCall) -> Result:
    name = call.func.overloadpacket.__name__.lstrip("_").removeprefix("safe_")
    return of(rules.saturating(call.operand("self").degree, name, call.where))


@op_rule(
    "_log_softmax",
    "log_softmax",
    "logsumexp",
    law="k > 0 → ∼k; 0 → 0",
    source="log-softmax(c z) = c(z − max z) − log|argmax| + an exponential tail",
)
def _log_softmax(call: OpCall) -> Result:
    d = call.operand("self").degree
    if d.value is None or d.kind != "exact" or d.value == 0:
        return of(d)
    return of(
        Degree.approximate(
            d.value,
            f"log-softmax/logsumexp is max-plus-constant up to an exponential tail at {call.where}",
        )
    )


@op_rule(
    "exp",
    "expm1",
    "exp2",
    "log",
    "log1p",
    "log2",
    "log10",
    "cos",
    "sin",
    "tan",
    "floor",
    "ceil",
    "round",
    "trunc",
    "frac",
    law="0 → 0; k ≠ 0 → no degree",
    source="not homogeneous: grows, shifts, oscillates or rounds along the ray (rotary "
    "tables are cos/sin of θ-free positions: constants)",
)
def _no_degree_unless_zero(call: OpCall) -> Result:
    d = call.operand("self").degree
    if d.value is None or d.value == 0:
        return of(d)
    what = call.func.overloadpacket.__name__.rstrip("_")
    return of(
        Degree.none(f"{what} of a degree-{_fmt(d.value)} input has no degree at {call.where}")
    )


# -- comparisons and logic ------------------------------------------------------------------


def _comparison_degree(d: Degree, scale_invariant: bool, where: str = "") -> TensorDegree:
    """A boolean (or an index) computed from a tensor of degree ``d``: exactly 0 when it is
    scale-invariant along the ray (a sign, an argmax, a comparison of equal degrees) and
    ``d`` is exact; approximately 0 when it only becomes constant along the ray."""
    if d.kind == "none":
        return of(d)
    if scale_invariant and d.kind == "exact":
        return of(Degree.exact(0))
    reason = d.reason if scale_invariant else "a comparison of terms of different degrees"
    at = f" at {where}" if where and not scale_invariant else ""
    return of(Degree.approximate(0, f"{reason}: only eventually constant along the ray{at}"))


@op_rule(
    "eq",
    "ne",
    "gt",
    "ge",
    "lt",
    "le",
    "isnan",
    "isinf",
    "isfinite",
    "isneginf",
    "isposinf",
    law="→ 0: exact if scale-invariant (a ≷ 0, or equal degrees), else ∼0",
    source="a comparison is constant along the ray once the dominant term decides it",
)
def _compare(call: OpCall) -> Result:
    x = call.operand("self")
    other = call.operand("other") if call.arg("other") is not None else Operand(0, CONSTANT)
    both = rules.add(x.degree, other.degree) if x.degree.value == other.degree.value else None
    if both is not None:  # a ≷ b  ⇔  c^k a ≷ c^k b
        return _comparison_degree(both, True)
    if call.is_zero(other):
        return _comparison_degree(x.degree, True)
    if call.is_zero(x):
        return _comparison_degree(other.degree, True)
    if x.degree.kind == "none" or other.degree.kind == "none":
        return of(rules.add(x.degree, other.degree))
    return _comparison_degree(x.degree, False, call.where)


@op_rule(
    "logical_not",
    "logical_and",
    "logical_or",
    "logical_xor",
    "bitwise_not",
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "any",
    "all",
    law="→ 0, the weakest kind of the operands",
    source="logic on scale-invariant booleans",
)
def _logic(call: OpCall) -> Result:
    parts = [call.operand(n) for n in ("self", "other") if call.arg(n) is not None]
    return of(rules.weakened(Degree.exact(0), [p.degree for p in parts if not p.constant]))


# -- indexing ------------------------------------------------------------------------------


@op_rule(
    "index",
    "index_select",
    "gather",
    "take",
    "take_along_dim",
    "embedding",
    law="the source's degree k, weakened by θ-dependent indices",
    source="a lookup into a tensor (an embedding row of a scaled matrix has degree 1, in "
    "every use of a tied weight)",
)
def _lookup(call: OpCall) -> Result:
    source = call.operand("weight" if call.arg("weight") is not None else "self")
    if call.arg("indices") is not None and isinstance(call.arg("indices"), list | tuple):
        selectors = call.operands("indices")
    else:
        selectors = [call.operand(n) for n in ("index", "indices") if call.arg(n) is not None]
    return selection_kind(source.td, selectors)


@op_rule(
    "nll_loss_forward",
    law="the selected log-probabilities' degree k (the weight is a constant)",
    source="a lookup and a mean",
)
def _nll(call: OpCall) -> Result:
    return product(call.operand("self"), call.operand("weight")), CONSTANT


# -- normalisation ---------------------------------------------------------------------------


def _affine_after_norm(call: OpCall, d: Degree, weight: Operand, bias: Operand) -> TensorDegree:
    out = of(d)
    if weight.value is not None:
        out = product(Operand(None, out), weight)
    if bias.value is not None:
        out = merge(call, [Operand(None, out), bias], "norm bias sum")
    return out


def _normalised(call: OpCall, eps: float, what: str) -> Result:
    """A norm of ``input`` by its own statistics (layer or group norm): the normalised
    output with its gain and bias, then the mean's degree k and the reciprocal spread's −k."""
    x = call.operand("input")
    normed = rules.normalize(x.degree, eps, what, call.where)
    out = _affine_after_norm(call, normed, call.operand("weight"), call.operand("bias"))
    return out, x.td, of(rules.power(x.degree, -1.0))


@op_rule(
    "native_layer_norm",
    law="k → 0 (ε > 0: asymptotic of order 2k); gain γ: + deg γ; bias: a sum",
    source="D16 layer norm k → 0, with gain k → 1; L5",
)
def _layer_norm(call: OpCall) -> Result:
    return _normalised(call, float(call.arg("eps") or 0.0), "layer norm")


@op_rule(
    "native_group_norm",
    law="k → 0 (ε > 0: asymptotic of order 2k); gain and bias as for layer norm",
    source="D16 layer norm over groups",
)
def _group_norm(call: OpCall) -> Result:
    return _normalised(call, float(call.arg("eps")), "group norm")


@op_rule(
    "native_batch_norm",
    "_native_batch_norm_legit_no_training",
    law="evaluation: (x − μ)/σ with θ-free running statistics, x and a constant mix; "
    "training: k → 0 as a layer norm; then gain and bias",
    source="D16 sum and product (evaluation-mode batch norm is affine); D16 layer norm",
)
def _batch_norm(call: OpCall) -> Result:
    x = call.operand("input")
    eps = float(call.arg("eps"))
    if call.arg("training"):  # normalised by the batch's own statistics
        centred = of(rules.normalize(x.degree, eps, "batch norm", call.where))
    else:
        centred = merge(call, [x, call.operand("running_mean")], "batch-norm centring")
    out = _affine_after_norm(call, centred.degree, call.operand("weight"), call.operand("bias"))
    return out, CONSTANT, CONSTANT


# -- fused attention ---------------------------------------------------------------------------


@op_rule(
    "_scaled_dot_product_flash_attention_for_cpu",
    "_scaled_dot_product_efficient_attention",
    "_scaled_dot_product_flash_attention",
    "_scaled_dot_product_cudnn_attention",
    "_scaled_dot_product_fused_attention_overrideable",
    law="softmax(Q Kᵀ + mask) V: scores k_q + k_k → ∼0 if positive, then + k_v",
    source="D10 / P4 from the product, sum and saturating rules (masks drop out)",
)
def _fused_attention(call: OpCall) -> Result:
    q, k, v = call.operand("query"), call.operand("key"), call.operand("value")
    scores = Operand(None, product(q, k))
    name = "attn_mask" if call.arg("attn_mask") is not None else "attn_bias"
    mask = call.operand(name)
    if isinstance(mask.value, torch.Tensor) and mask.value.dtype == torch.bool:
        scores = Operand(None, selection_kind(scores.td, [mask]))  # keep/drop, no term
    elif mask.value is not None:
        scores = Operand(None, merge(call, [scores, mask], "scores + bias"))
    weights = Operand(None, of(rules.saturating(scores.degree, "softmax", call.where)))
    out = product(weights, v)
    if scores.constant and v.constant:
        out = CONSTANT
    lse = of(scores.degree) if not scores.constant else CONSTANT
    n_out = len(call.out) if isinstance(call.out, tuple | list) else 1
    return (out, lse, *([CONSTANT] * (n_out - 2)))


# -- the table, for the docs -------------------------------------------------------------------


def rule_table_markdown() -> str:
    """The rule table as a Markdown table: the ops of each row, the law, where it comes
    from (``docs/api/rules.md`` holds exactly this text)."""
    lines = [
        "| aten ops | degree of the output | why |",
        "|---|---|---|",
    ]
    for rule in rule_table():
        ops = ", ".join(f"`{op.removeprefix('aten.')}`" for op in rule.ops)
        law, source = (text.replace("|", "\\|") for text in (rule.law, rule.source))
        lines.append(f"| {ops} | {law} | {source} |")
    return "\n".join(lines) + "\n"
