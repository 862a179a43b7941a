"""Every high-precision primitive against its float64 twin in torch, on shared Hypothesis
cases: one table, one row per primitive of :data:`proofs_numeric.precision.inventory.PRIMITIVES`
(a test checks the table covers the inventory), and a negative control per row (the same
comparison must reject a deliberately perturbed primitive).

Tolerances come from the float64 condition of each computation. A row gives, per output
entry, the *error scale* s_i: the size of the float64 rounding error in units of ε =
2^−52 (e.g. |z|σ′(z) + σ(z) for σ, the softmax's p_i(2ρ max|a| + n), the layer norm's
n‖x‖∞/‖x − μ‖ from centring, Σ_j|W_ij x_j| for a product, or, for whole sublayers and
encoders, the first-order condition Σ_k |∂f_i/∂θ_k||θ_k| + |f_i| by autograd). The twin
must agree within SAFETY·ε·s_i (SAFETY: 64 for a primitive, 1024 for a sublayer or an
encoder, whose every entry passes through a few hundred roundings). Rows of four kinds:

* ``value``: the twin's values equal the primitive's (within tolerance);
* ``upper``/``lower``: a float64 quantity lies below/above the primitive's bound;
* ``enclosure``: a float64 quantity lies in the primitive's interval.

Where a map is undefined (a layer norm of a constant row) the primitive raises and the
twin gives NaN: both must say so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, TypeVar

import mpmath
import pytest
import torch
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample
from torch.func import functional_call, jacrev

from homogeneity.components import (
    AttentionHead,
    Encoder,
    EncoderClassifier,
    EncoderConfig,
    FeedForward,
    MultiHeadAttention,
    Residual,
    make_activation,
    make_norm,
)
from homogeneity.components import functional as F
from homogeneity.components.linear import Linear
from homogeneity.errors import HomogeneityInputError
from proofs_numeric import precision as P
from proofs_numeric.precision.inventory import BY_NAME, PRIMITIVES
from proofs_numeric.precision.torch_weights import classifier_from_torch, tensor_to_lists
from proofs_numeric.strategies import magnitudes, score_rows

pytestmark = pytest.mark.usefixtures("one_torch_thread")

EPS = 2.0**-52
FLOOR = 1e-300  # below this float64 has underflowed: differences are not resolvable
PRIMITIVE_SAFETY = 64.0
MODEL_SAFETY = 1024.0
DIGITS = 40
UNDEFINED = "undefined"

Case = dict[str, Any]
M = TypeVar("M", bound=torch.nn.Module)


def f64(v: Any) -> torch.Tensor:
    return torch.tensor(v, dtype=torch.float64)


def flat(v: Any) -> list[Any]:
    """Nested lists/tuples/tensors of numbers → one flat list (tensors → floats)."""
    if isinstance(v, torch.Tensor):
        return [float(t) for t in v.detach().reshape(-1).tolist()]
    if isinstance(v, (list, tuple)):
        return [x for item in v for x in flat(item)]
    return [v]


def _mp(v: Any) -> Any:
    return v if isinstance(v, mpmath.mpf) else mpmath.mpf(float(v))


@dataclass(frozen=True)
class Row:
    """One primitive, its twin, the shared cases and the error scale of the comparison.

    ``mp(case)`` and ``twin(case)`` return numbers (nested); ``scale(case, exact)`` the
    per-entry error scale (in units of ε) of the twin, from the exact values. For
    ``upper``/``lower`` rows ``mp`` returns the bounds and ``twin`` the bounded quantities;
    for ``enclosure`` rows ``mp`` returns (lower ends, upper ends)."""

    name: str
    cases: st.SearchStrategy[Case]
    mp: Callable[[Case], Any]
    twin: Callable[[Case], Any]
    scale: Callable[[Case, list[Any]], list[float]]
    kind: str = "value"
    safety: float = PRIMITIVE_SAFETY
    examples: float = 1.0  # fraction of the profile's examples (model rows are slower)


def _evaluate(fn: Callable[[Case], Any], case: Case) -> Any:
    try:
        return fn(case)
    except HomogeneityInputError:
        return UNDEFINED


def discrepancy(row: Row, case: Case) -> str | None:
    """Why the twin and the primitive disagree on ``case`` (None when they agree)."""
    ours, theirs = _evaluate(row.mp, case), _evaluate(row.twin, case)
    twin_values = [] if theirs is UNDEFINED else flat(theirs)
    if ours is UNDEFINED:
        undefined = theirs is UNDEFINED or any(math.isnan(t) for t in twin_values)
        return None if undefined else f"primitive undefined, twin {twin_values}"
    if theirs is UNDEFINED:
        return f"twin undefined, primitive {flat(ours)}"
    if row.kind == "enclosure":
        lo, hi = flat(ours[0]), flat(ours[1])
        exact = hi
    else:
        exact = flat(ours)
    if len(exact) != len(twin_values):
        return f"shapes differ: {len(exact)} vs {len(twin_values)}"
    scales = row.scale(case, exact)
    with mpmath.workdps(DIGITS):
        for i, t in enumerate(twin_values):
            tol = mpmath.mpf(row.safety * EPS * float(scales[i]) + FLOOR)
            if math.isnan(t):
                return f"entry {i}: twin NaN, primitive {exact[i]}"
            tv = mpmath.mpf(t)
            if row.kind == "value":
                e = _mp(exact[i])
                same_inf = mpmath.isinf(e) and tv == e
                if not same_inf and abs(tv - e) > tol:
                    return f"entry {i}: twin {t!r}, primitive {mpmath.nstr(e, 17)}, tol {tol}"
            elif row.kind == "upper":
                if tv > _mp(exact[i]) + tol:
                    return f"entry {i}: {t!r} above the bound {mpmath.nstr(exact[i], 17)}"
            elif row.kind == "lower":
                if tv < _mp(exact[i]) - tol:
                    return f"entry {i}: {t!r} below the bound {mpmath.nstr(exact[i], 17)}"
            elif not _mp(lo[i]) - tol <= tv <= _mp(hi[i]) + tol:
                return f"entry {i}: {t!r} outside [{mpmath.nstr(lo[i], 17)}, {hi[i]}]"
    return None


# -- error scales -------------------------------------------------------------------------


def _sig(z: float) -> float:
    if z >= 0:
        return 1 / (1 + math.exp(-z))
    e = math.exp(z)
    return e / (1 + e)


def scale_sigmoid(z: float) -> float:
    s = _sig(z)
    return abs(z) * s * (1 - s) + s


def scale_tanh(z: float) -> float:
    t = math.tanh(z)
    return abs(z) * (1 - t * t) + abs(t)


def scale_gelu(z: float) -> float:
    # torch's 0.5·z·(1 + erf(z/√2)) rounds 1 + erf to ε: an absolute error of ε|z|
    return 2 * abs(z) + abs(z) * abs(z) * math.exp(-z * z / 2)


SCALAR_SCALES: dict[str, Callable[[float], float]] = {
    "sigmoid": scale_sigmoid,
    "tanh": scale_tanh,
    "gelu": scale_gelu,
    "relu": lambda z: 0.0,
}


def scale_softmax(case: Case, exact: list[Any]) -> list[float]:
    """d log p_i = dx_i − Σ p_j dx_j with |dx_j| ≤ ε ρ|a_j|: 2ρ max|a| relative, plus the
    exp and the sum (n roundings)."""
    a, keep, rho = case["scores"], case["keep"], float(case["rho"])
    size = max(abs(s) for s, k in zip(a, keep, strict=True) if k)
    return [float(p) * (2 * rho * size + len(a) + 4) for p in exact]


def scale_deviation(case: Case, exact: list[Any]) -> list[float]:
    """|p − L|: the softmax's error plus the cancellation against an O(1) limit."""
    a, keep, rho = case["scores"], case["keep"], float(case["rho"])
    size = max(abs(s) for s, k in zip(a, keep, strict=True) if k)
    return [(2 * rho * size + len(a) + 4) + 1.0 for _ in exact]


def scale_vector_norm(x: list[float], eps: float, kind: str) -> float:
    n = len(x)
    big = max(abs(v) for v in x)
    mu = math.fsum(x) / n
    centred = [v - mu for v in x]
    if kind == "rmsnorm":
        return 2.0 * n + 4
    spread = math.sqrt(math.fsum(c * c for c in centred))
    if kind == "proof":
        return (4 * n * big / spread + 4) if spread > 0 else math.inf
    return 4 * n * big / math.sqrt(spread * spread / n + eps) + 4 if spread or eps else math.inf


def jacobian_scale(fn: Callable[..., torch.Tensor], *args: Any) -> list[float]:
    """Σ_k |∂f_i/∂a_k||a_k| + |f_i| over every floating argument (dicts of parameters or
    tensors): the first-order error of f from relative rounding of its inputs."""
    out = fn(*args)
    floating = tuple(
        i
        for i, a in enumerate(args)
        if isinstance(a, dict) or (isinstance(a, torch.Tensor) and a.is_floating_point())
    )
    jac = jacrev(fn, argnums=floating)(*args)
    total = out.detach().abs().reshape(-1).clone()
    for pos, j in zip(floating, jac, strict=True):
        arg = args[pos]
        items = j.items() if isinstance(arg, dict) else [(None, j)]
        for key, jv in items:
            value = arg[key] if key is not None else arg
            weight = value.detach().abs().reshape(-1)
            total += (jv.detach().reshape(out.numel(), -1).abs() * weight).sum(dim=1)
    return [float(v) for v in total]


# -- strategies ---------------------------------------------------------------------------

REALS = magnitudes(-8.0, 2.8)  # |z| ≤ 631: exp stays in float64
SMALL = st.floats(-5.0, 5.0, allow_nan=False)
RHOS = st.floats(0.01, 30.0)


def vectors(min_size: int = 2, max_size: int = 6) -> st.SearchStrategy[list[float]]:
    return st.lists(magnitudes(-3.0, 3.0), min_size=min_size, max_size=max_size)


def rows_with_rho(max_size: int = 6) -> st.SearchStrategy[Case]:
    return st.builds(
        lambda r, rho: {"scores": r["scores"], "keep": r["keep"], "rho": rho, "gap": r["gap"]},
        score_rows(max_size=max_size),
        RHOS,
    )


@st.composite
def matrices(draw: st.DrawFn, rows: int, cols: int) -> list[list[float]]:
    return [draw(st.lists(SMALL, min_size=cols, max_size=cols)) for _ in range(rows)]


@st.composite
def linear_cases(draw: st.DrawFn) -> Case:
    n, d_in, d_out = draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    bias = draw(st.booleans())
    return {
        "x": draw(matrices(n, d_in)),
        "w": draw(matrices(d_out, d_in)),
        "b": draw(st.lists(SMALL, min_size=d_out, max_size=d_out)) if bias else None,
    }


@st.composite
def model_cases(draw: st.DrawFn, with_heads: bool = True) -> Case:
    n = draw(st.integers(1, 4))
    case = {
        "seed": draw(st.integers(0, 2**16)),
        "n": n,
        "d_model": draw(st.integers(2, 4)),
        "d_head": draw(st.integers(1, 3)),
        "n_heads": draw(st.integers(1, 2)) if with_heads else 1,
        "d_ff": draw(st.integers(2, 5)),
        "bias": draw(st.booleans()),
        "causal": draw(st.booleans()),
        "saturated": draw(st.booleans()),
        "activation": draw(st.sampled_from(sorted(P.ACTIVATIONS))),
        "norm": draw(st.sampled_from(["proof", "layernorm", "rmsnorm"])),
        "eps": draw(st.sampled_from([1e-5, 1e-2])),
        "placement": draw(st.sampled_from(["paper-prenorm", "postnorm", "pre-ln"])),
        "padding": [True] + draw(st.lists(st.booleans(), min_size=n - 1, max_size=n - 1)),
    }
    return case


@st.composite
def encoder_cases(draw: st.DrawFn) -> Case:
    n = draw(st.integers(1, 4))
    return {
        "seed": draw(st.integers(0, 2**16)),
        "cfg": {
            "vocab_size": 5,
            "d_model": draw(st.integers(2, 4)),
            "n_heads": draw(st.integers(1, 2)),
            "d_head": draw(st.integers(1, 2)),
            "d_ff": draw(st.integers(2, 5)),
            "n_layers": draw(st.integers(1, 2)),
            "max_len": draw(st.sampled_from([0, 4])),
            "placement": draw(st.sampled_from(["paper-prenorm", "postnorm", "pre-ln"])),
            "norm": draw(st.sampled_from(["proof", "layernorm", "rmsnorm"])),
            "bias": draw(st.booleans()),
            "activation": draw(st.sampled_from(["relu", "gelu", "tanh", "sigmoid"])),
            "final_norm": draw(st.booleans()),
            "embedding_norm": draw(st.booleans()),
            "causal": draw(st.booleans()),
        },
        "ids": draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)),
        "padding": [True] + draw(st.lists(st.booleans(), min_size=n - 1, max_size=n - 1)),
        "saturated": draw(st.booleans()),
        "pooling": draw(st.sampled_from(["first", "mean"])),
    }


# -- model helpers -----------------------------------------------------------------------


def _generator(case: Case) -> torch.Generator:
    return torch.Generator().manual_seed(int(case["seed"]))


def _input(case: Case, g: torch.Generator) -> torch.Tensor:
    return torch.randn(int(case["n"]), int(case["d_model"]), generator=g, dtype=torch.float64)


def _weights(module: torch.nn.Module, prefix: str) -> P.Weights:
    return P.Weights({f"{prefix}.{k}": tensor_to_lists(v) for k, v in module.named_parameters()})


def _params(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def _padding(case: Case) -> torch.Tensor:
    return torch.tensor([case["padding"]])


def _seeded(case: Case, cls: Callable[..., M], *args: Any) -> M:
    """``cls(*args)`` in float64, initialised from the case's seeded generator."""
    return cls(*args, dtype=torch.float64, generator=_generator(case))


def _head_module(case: Case) -> AttentionHead:
    return _seeded(case, AttentionHead, case["d_model"], case["d_head"], case["bias"])


def _mha_module(case: Case) -> MultiHeadAttention:
    fields = ("d_model", "n_heads", "d_head", "bias")
    return _seeded(case, MultiHeadAttention, *(case[f] for f in fields))


def _ff_module(case: Case) -> FeedForward:
    fields = ("d_model", "d_ff", "activation", "bias")
    return _seeded(case, FeedForward, *(case[f] for f in fields))


def _residual_module(case: Case) -> Residual:
    ff = _ff_module(case)
    g = torch.Generator().manual_seed(int(case["seed"]) + 1)
    norm = make_norm(
        case["norm"],
        case["d_model"],
        eps=case["eps"],
        bias=case["bias"],
        dtype=torch.float64,
        generator=g,
    )
    return Residual(ff, norm, case["placement"])


def _x(case: Case) -> torch.Tensor:
    return _input(case, torch.Generator().manual_seed(int(case["seed"]) + 2))


def _keep(case: Case) -> list[list[bool]]:
    return P.attention_keep(case["n"], case["causal"], case["padding"])


def _head_mp(case: Case) -> Any:
    m, x = _head_module(case), _x(case)
    query_bias, key_bias, value_bias = (
        None if getattr(m, k).bias is None else tensor_to_lists(getattr(m, k).bias)
        for k in ("query", "key", "value")
    )
    out = P.attention_head(
        tensor_to_lists(x),
        tensor_to_lists(m.query.weight),
        tensor_to_lists(m.key.weight),
        tensor_to_lists(m.value.weight),
        _keep(case),
        case["saturated"],
        (query_bias, key_bias, value_bias),
        digits=DIGITS,
    )
    return out.h


def _module_forward(
    module: torch.nn.Module, case: Case, *, padding: bool = True, **kw: Any
) -> Callable[..., Any]:
    """``module`` on one sequence; ``padding``: whether its forward takes the padding mask
    (a position-wise module such as FeedForward does not)."""

    def fn(params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        args = (x[None], _padding(case)) if padding else (x[None],)
        return functional_call(module, params, args, kw)[0]

    return fn


def _attention_forward(
    module_of: Callable[[Case], torch.nn.Module],
) -> Callable[[Case], tuple[Callable[..., Any], dict[str, Any], torch.Tensor]]:
    """The forward of an attention module (a head, multi-head attention) on the case."""

    def forward(case: Case) -> tuple[Callable[..., Any], dict[str, Any], torch.Tensor]:
        m = module_of(case)
        kw = {"causal": case["causal"], "saturated": case["saturated"]}
        return _module_forward(m, case, **kw), _params(m), _x(case)

    return forward


_head_forward = _attention_forward(_head_module)
_mha_forward = _attention_forward(_mha_module)


def _ff_forward(case: Case) -> tuple[Callable[..., Any], dict[str, Any], torch.Tensor]:
    m = _ff_module(case)
    forward = _module_forward(m, case, padding=False, saturated=case["saturated"])
    return forward, _params(m), _x(case)


def _residual_forward(case: Case) -> tuple[Callable[..., Any], dict[str, Any], torch.Tensor]:
    m = _residual_module(case)
    return _module_forward(m, case, saturated=case["saturated"]), _params(m), _x(case)


def _twin_of(forward: Callable[[Case], Any]) -> Callable[[Case], Any]:
    def twin(case: Case) -> Any:
        fn, params, x = forward(case)
        with torch.no_grad():
            return fn(params, x)

    return twin


def _scale_of(forward: Callable[[Case], Any]) -> Callable[[Case, list[Any]], list[float]]:
    def scale(case: Case, exact: list[Any]) -> list[float]:
        fn, params, x = forward(case)
        return jacobian_scale(fn, params, x)

    return scale


def _mha_mp(case: Case) -> Any:
    m, x = _mha_module(case), _x(case)
    return P.multi_head_attention(
        tensor_to_lists(x),
        _weights(m, "m"),
        "m",
        case["n_heads"],
        case["d_head"],
        _keep(case),
        case["saturated"],
        digits=DIGITS,
    )


def _ff_mp(case: Case) -> Any:
    m, x = _ff_module(case), _x(case)
    return P.feed_forward(
        tensor_to_lists(x), _weights(m, "m"), "m", case["activation"], case["saturated"], DIGITS
    )


def _residual_mp(case: Case) -> Any:
    m, x = _residual_module(case), _x(case)
    w = P.Weights({k: tensor_to_lists(v) for k, v in m.named_parameters()})

    def branch(z: list[list[Any]], d: int) -> list[list[Any]]:
        return P.feed_forward(z, w, "sublayer", case["activation"], case["saturated"], d)

    eps = 0.0 if case["saturated"] or case["norm"] == "proof" else case["eps"]
    return P.sublayer_with_norm(
        tensor_to_lists(x), w, branch, "norm", case["placement"], case["norm"], eps, DIGITS
    )


def _encoder(case: Case) -> Encoder:
    return _seeded(case, Encoder, EncoderConfig(**case["cfg"]))


def _ids_forward(model: torch.nn.Module, case: Case) -> tuple[Callable[..., Any], dict[str, Any]]:
    """``model`` (an encoder or a classifier) on the case's token ids, as a function of
    its parameters."""
    ids, pad = torch.tensor([case["ids"]]), _padding(case)

    def fn(params: dict[str, torch.Tensor]) -> torch.Tensor:
        return functional_call(model, params, (ids, pad), {"saturated": case["saturated"]})[0]

    return fn, _params(model)


def _encoder_forward(case: Case) -> tuple[Callable[..., Any], dict[str, Any]]:
    return _ids_forward(_encoder(case), case)


def _encoder_mp(case: Case) -> Any:
    return P.MpEncoder.from_torch(_encoder(case)).run(
        case["ids"], case["padding"], case["saturated"], digits=DIGITS
    )


def _classifier_module(case: Case) -> EncoderClassifier:
    return _seeded(case, EncoderClassifier, EncoderConfig(**case["cfg"]), 2, case["pooling"])


def _classifier_forward(case: Case) -> tuple[Callable[..., Any], dict[str, Any]]:
    return _ids_forward(_classifier_module(case), case)


def _classifier_mp(case: Case) -> Any:
    enc, head, pooling = classifier_from_torch(_classifier_module(case))
    return P.classifier(
        enc, head, case["ids"], case["padding"], pooling, case["saturated"], digits=DIGITS
    )


def _whole(forward: Callable[[Case], Any]) -> tuple[Callable[[Case], Any], Callable[..., Any]]:
    def twin(case: Case) -> Any:
        fn, params = forward(case)
        with torch.no_grad():
            return fn(params)

    def scale(case: Case, exact: list[Any]) -> list[float]:
        fn, params = forward(case)
        return jacobian_scale(fn, params)

    return twin, scale


# -- softmax helpers ---------------------------------------------------------------------


def _torch_softmax(case: Case, rho: Any = None) -> torch.Tensor:
    r = float(case["rho"] if rho is None else rho)
    return F.masked_softmax(f64(case["scores"]) * r, torch.tensor(case["keep"]))


def _torch_hardmax(scores: list[float], keep: list[bool]) -> torch.Tensor:
    return F.hardmax(f64(scores), torch.tensor(keep))


def _torch_error(case: Case, norm: str = "max", rho: Any = None) -> float:
    d = (_torch_softmax(case, rho) - _torch_hardmax(case["scores"], case["keep"])).abs()
    return float(d.max() if norm == "max" else d.sum())


def _torch_gap(scores: list[float], keep: list[bool]) -> float:
    vis = sorted((s for s, k in zip(scores, keep, strict=True) if k), reverse=True)
    rest = [s for s in vis if s != vis[0]]
    return math.inf if not rest else vis[0] - rest[0]


def _tail_constant(scores: list[float], keep: list[bool]) -> float:
    vis = [s for s, k in zip(scores, keep, strict=True) if k]
    n_max = sum(1 for s in vis if s == max(vis))
    return max(1 / n_max, (len(vis) - n_max) / n_max**2)


def _indicator(n: int, members: list[int]) -> list[float]:
    return [1.0 if j in members else 0.0 for j in range(n)]


def _exact(case: Case, exact: list[Any]) -> list[float]:
    """The twin computes the same rational values and rounds each once (1/3 → 1 ulp)."""
    return [abs(float(v)) for v in exact]


def _first_index_limit(scores: list[float], keep: list[bool]) -> list[Fraction]:
    winners = P.argmax_set(scores, keep)
    return [Fraction(1) if j == winners[0] else Fraction(0) for j in range(len(scores))]


@st.composite
def rows_with_limits(draw: st.DrawFn) -> Case:
    case = draw(rows_with_rho())
    case["limit"] = draw(st.sampled_from(["argmax", "first"]))
    return case


def _limit(case: Case) -> list[Fraction]:
    if case["limit"] == "argmax":
        return P.argmax_fractions(case["scores"], case["keep"])
    return _first_index_limit(case["scores"], case["keep"])


def _torch_deviation(case: Case) -> float:
    limit = f64([float(v) for v in _limit(case)])
    return float((_torch_softmax(case) - limit).abs().max())


@st.composite
def row_pairs(draw: st.DrawFn) -> Case:
    case = draw(rows_with_rho())
    shift = draw(st.sampled_from([0.0, 0.5, -2.0]))
    case["other"] = [s + shift * (j % 2) for j, s in enumerate(case["scores"])]
    case["rho_b"] = draw(RHOS)
    return case


# -- the table ---------------------------------------------------------------------------

SCALAR_CASES = st.fixed_dictionaries({"z": REALS})
TAIL_CASES = st.fixed_dictionaries({"z": magnitudes(-3.0, 1.0), "rho": RHOS})
DIFF_CASES = st.fixed_dictionaries({"y": magnitudes(-3.0, 2.0), "x": magnitudes(-3.0, 2.0)})
ENCLOSURE_ROWS = rows_with_limits()


def _activation_cases() -> st.SearchStrategy[Case]:
    return st.fixed_dictionaries(
        {"name": st.sampled_from(sorted(P.ACTIVATIONS)), "z": REALS, "saturated": st.booleans()}
    )


def _activation_twin(case: Case) -> Any:
    module = make_activation(case["name"])
    return module(f64([case["z"]]), saturated=case["saturated"])


def _activation_scale(case: Case, exact: list[Any]) -> list[float]:
    name = "relu" if case["saturated"] else case["name"]
    return [SCALAR_SCALES.get(name, lambda z: 0.0)(case["z"])]


def _difference_scale(phi: Callable[[float], float]) -> Callable[[Case, list[Any]], list[float]]:
    return lambda case, exact: [phi(case["y"]) + phi(case["x"])]


def _tail_rows() -> list[Row]:
    def sig_twin(case: Case) -> float:
        z = f64(case["z"])
        return float((torch.sigmoid(case["rho"] * z) - F.step(z)).abs())

    def tanh_twin(case: Case) -> float:
        z = f64(case["z"])
        return float((torch.tanh(case["rho"] * z) - torch.sign(z)).abs())

    def gelu_twin(case: Case) -> float:
        z = f64(case["z"])
        return float((F.gelu(case["rho"] * z) / case["rho"] - torch.relu(z)).abs())

    return [
        Row(
            "sigmoid_tail_bound",
            TAIL_CASES,
            lambda c: P.sigmoid_tail_bound(c["z"], c["rho"], DIGITS),
            sig_twin,
            lambda c, e: [1 + scale_sigmoid(c["rho"] * c["z"])],
            "upper",
        ),
        Row(
            "tanh_tail_bound",
            TAIL_CASES,
            lambda c: P.tanh_tail_bound(c["z"], c["rho"], DIGITS),
            tanh_twin,
            lambda c, e: [1 + scale_tanh(c["rho"] * c["z"])],
            "upper",
        ),
        Row(
            "gelu_tail_bound",
            TAIL_CASES,
            lambda c: P.gelu_tail_bound(c["z"], c["rho"], DIGITS),
            gelu_twin,
            lambda c, e: [abs(c["z"]) + scale_gelu(c["rho"] * c["z"]) / c["rho"]],
            "upper",
        ),
    ]


def _softmax_rows() -> list[Row]:
    rows = rows_with_rho()

    def deficit_mp(c: Case) -> Any:
        winners, delta = P.softmax_deficit(c["scores"], c["rho"], c["keep"], DIGITS)
        return _indicator(len(c["scores"]), winners) + delta

    def deficit_twin(c: Case) -> Any:
        hard = _torch_hardmax(c["scores"], c["keep"])
        return flat((hard > 0).to(torch.float64)) + flat((_torch_softmax(c) - hard).abs())

    def deficit_scale(c: Case, exact: list[Any]) -> list[float]:
        n = len(c["scores"])
        return [0.0] * n + scale_deviation(c, exact[n:])

    def bits_cases() -> st.SearchStrategy[Case]:
        return st.builds(lambda r, b: dict(r, bits=b), rows, st.floats(1.0, 40.0))

    def bits_twin(c: Case) -> float:
        rho = float(P.rho_for_bits(c["scores"], c["bits"], c["keep"], DIGITS))
        return _torch_error(c, rho=rho if rho > 0 else 1.0)

    def bits_scale(c: Case, exact: list[Any]) -> list[float]:
        rho = float(P.rho_for_bits(c["scores"], c["bits"], c["keep"], DIGITS)) or 1.0
        return scale_deviation(dict(c, rho=rho), exact)

    def ratio_twin(c: Case) -> float:
        gap = _torch_gap(c["scores"], c["keep"])
        dev = _torch_deviation(c)
        if gap == math.inf:
            return 0.0 if dev == 0 else math.inf
        return dev / (_tail_constant(c["scores"], c["keep"]) * math.exp(-c["rho"] * gap))

    def ratio_cases() -> st.SearchStrategy[Case]:
        def fits(c: Case) -> bool:
            gap = c["gap"]
            return gap is None or c["rho"] * gap < 500

        return ENCLOSURE_ROWS.filter(fits)

    def ratio_scale(c: Case, exact: list[Any]) -> list[float]:
        gap = _torch_gap(c["scores"], c["keep"])
        if gap == math.inf:
            return [0.0]
        bound = _tail_constant(c["scores"], c["keep"]) * math.exp(-c["rho"] * gap)
        size = max(abs(float(v)) for v in exact) if exact else 0.0
        return [scale_deviation(c, [0])[0] / bound + size * (c["rho"] * gap + 4)]

    def certificate_mp(c: Case) -> Any:
        cert = P.certify_softmax_tail(c["scores"], c["rho"], c["keep"], DIGITS)
        if not cert.holds:
            return ([mpmath.inf], [-mpmath.inf])  # an empty interval: always a discrepancy
        return ([cert.error_lower], [min(cert.error_upper, cert.bound_lower)])

    return [
        Row(
            "softmax",
            rows,
            lambda c: P.softmax(c["scores"], c["rho"], c["keep"], DIGITS),
            _torch_softmax,
            scale_softmax,
        ),
        Row(
            "generalised_argmax",
            rows,
            lambda c: P.generalised_argmax(c["scores"], c["keep"], DIGITS),
            lambda c: _torch_hardmax(c["scores"], c["keep"]),
            _exact,
        ),
        Row(
            "argmax_set",
            rows,
            lambda c: _indicator(len(c["scores"]), P.argmax_set(c["scores"], c["keep"], DIGITS)),
            lambda c: (_torch_hardmax(c["scores"], c["keep"]) > 0).to(torch.float64),
            _exact,
        ),
        Row(
            "argmax_fractions",
            rows,
            lambda c: [float(q) for q in P.argmax_fractions(c["scores"], c["keep"], DIGITS)],
            lambda c: _torch_hardmax(c["scores"], c["keep"]),
            _exact,
        ),
        Row("softmax_deficit", rows, deficit_mp, deficit_twin, deficit_scale),
        Row(
            "softmax_difference",
            row_pairs(),
            lambda c: P.softmax_difference(
                c["scores"], c["other"], c["rho"], c["rho_b"], c["keep"], DIGITS
            ),
            lambda c: (
                _torch_softmax(c)
                - F.masked_softmax(f64(c["other"]) * c["rho_b"], torch.tensor(c["keep"]))
            ),
            lambda c, e: [
                a + b
                for a, b in zip(
                    scale_softmax(c, P.softmax(c["scores"], c["rho"], c["keep"])),
                    scale_softmax(
                        dict(c, scores=c["other"], rho=c["rho_b"]),
                        P.softmax(c["other"], c["rho_b"], c["keep"]),
                    ),
                    strict=True,
                )
            ],
        ),
        Row(
            "softmax_gap",
            rows,
            lambda c: P.softmax_gap(c["scores"], c["keep"], DIGITS),
            lambda c: _torch_gap(c["scores"], c["keep"]),
            lambda c, e: [2 * max(abs(s) for s in c["scores"])],
        ),
        Row(
            "softmax_error",
            st.builds(lambda c, n: dict(c, norm=n), rows, st.sampled_from(["max", "l1"])),
            lambda c: P.softmax_error(c["scores"], c["rho"], c["keep"], c["norm"], DIGITS),
            lambda c: _torch_error(c, c["norm"]),
            lambda c, e: [len(c["scores"]) * scale_deviation(c, e)[0]],
        ),
        Row(
            "softmax_tail_bound",
            st.builds(lambda c, n: dict(c, norm=n), rows, st.sampled_from(["max", "l1"])),
            lambda c: P.softmax_tail_bound(c["scores"], c["rho"], c["keep"], c["norm"], DIGITS),
            lambda c: _torch_error(c, c["norm"]),
            lambda c, e: [len(c["scores"]) * scale_deviation(c, e)[0]],
            "upper",
        ),
        Row(
            "softmax_tail_lower_bound",
            rows,
            lambda c: P.softmax_tail_lower_bound(c["scores"], c["rho"], c["keep"], DIGITS),
            _torch_error,
            lambda c, e: scale_deviation(c, e),
            "lower",
        ),
        Row(
            "rho_for_bits",
            bits_cases(),
            lambda c: mpmath.mpf(2) ** -mpmath.mpf(c["bits"]),
            bits_twin,
            bits_scale,
            "upper",
        ),
        Row(
            "enclose_softmax_deviation",
            ENCLOSURE_ROWS,
            lambda c: tuple(
                [v]
                for v in P.enclose_softmax_deviation(
                    c["scores"], c["rho"], _limit(c), c["keep"], DIGITS
                )
            ),
            _torch_deviation,
            scale_deviation,
            "enclosure",
        ),
        Row(
            "softmax_deviation_ratio",
            ratio_cases(),
            lambda c: tuple(
                [v]
                for v in P.softmax_deviation_ratio(
                    c["scores"], c["rho"], _limit(c), c["keep"], DIGITS
                )
            ),
            ratio_twin,
            ratio_scale,
            "enclosure",
        ),
        Row(
            "certify_softmax_tail",
            rows,
            certificate_mp,
            _torch_error,
            scale_deviation,
            "enclosure",
        ),
    ]


def _norm_rows() -> list[Row]:
    def norm_scale(kind: str) -> Callable[[Case, list[Any]], list[float]]:
        return lambda c, e: [scale_vector_norm(c["x"], c["eps"], kind)] * len(c["x"])

    def normalise_cases() -> st.SearchStrategy[Case]:
        @st.composite
        def build(draw: st.DrawFn) -> Case:
            x = draw(vectors())
            return {
                "x": x,
                "eps": draw(st.sampled_from([1e-5, 1e-2])),
                "kind": draw(st.sampled_from(["proof", "layernorm", "rmsnorm"])),
                "gain": draw(st.lists(SMALL, min_size=len(x), max_size=len(x))),
                "bias": draw(st.lists(SMALL, min_size=len(x), max_size=len(x))),
            }

        return build()

    def normalise_twin(c: Case) -> Any:
        d = len(c["x"])
        norm = make_norm(c["kind"], d, eps=c["eps"], bias=True, dtype=torch.float64)
        assert norm.weight is not None  # every kind of norm has a gain
        with torch.no_grad():
            norm.weight.copy_(f64(c["gain"]))
            if norm.bias is not None:
                norm.bias.copy_(f64(c["bias"]))
            return norm(f64(c["x"]))

    def normalise_mp(c: Case) -> Any:
        bias = c["bias"] if c["kind"] == "layernorm" else None
        eps = 0 if c["kind"] == "proof" else c["eps"]
        return P.normalise(c["kind"], c["x"], eps, c["gain"], bias, DIGITS)

    def normalise_scale(c: Case, e: list[Any]) -> list[float]:
        s = scale_vector_norm(c["x"], c["eps"], c["kind"])
        return [abs(g) * s + abs(b) for g, b in zip(c["gain"], c["bias"], strict=True)]

    vec = st.fixed_dictionaries({"x": vectors(), "eps": st.sampled_from([1e-5, 1e-2])})
    return [
        Row(
            "centre",
            vec,
            lambda c: P.centre(c["x"], DIGITS),
            lambda c: F.center(f64(c["x"])),
            lambda c, e: [4 * len(c["x"]) * max(abs(v) for v in c["x"])] * len(c["x"]),
        ),
        Row(
            "layer_norm",
            vec,
            lambda c: P.layer_norm(c["x"], DIGITS),
            lambda c: F.proof_layer_norm(f64(c["x"])),
            norm_scale("proof"),
        ),
        Row(
            "standard_layer_norm",
            vec,
            lambda c: P.standard_layer_norm(c["x"], c["eps"], DIGITS),
            lambda c: F.standard_layer_norm(f64(c["x"]), c["eps"]),
            norm_scale("layernorm"),
        ),
        Row(
            "rms_norm",
            vec,
            lambda c: P.rms_norm(c["x"], c["eps"], DIGITS),
            lambda c: F.rms_norm(f64(c["x"]), c["eps"]),
            norm_scale("rmsnorm"),
        ),
        Row("normalise", normalise_cases(), normalise_mp, normalise_twin, normalise_scale),
    ]


def _linalg_rows() -> list[Row]:
    pairs = st.integers(1, 6).flatmap(
        lambda n: st.fixed_dictionaries(
            {
                "u": st.lists(SMALL, min_size=n, max_size=n),
                "v": st.lists(SMALL, min_size=n, max_size=n),
            }
        )
    )
    mats = st.builds(
        lambda c: {"w": c["w"], "x": c["x"][0]}, linear_cases()
    )  # W (d_out × d_in), x (d_in)

    def linear_twin(c: Case) -> Any:
        w = f64(c["w"])
        lin = Linear(w.shape[1], w.shape[0], c["b"] is not None, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(w)
            if c["b"] is not None:
                assert lin.bias is not None
                lin.bias.copy_(f64(c["b"]))
            return lin(f64(c["x"]))

    def linear_scale(c: Case, e: list[Any]) -> list[float]:
        out = []
        for xi in c["x"]:
            for j, row in enumerate(c["w"]):
                s = math.fsum(abs(a * b) for a, b in zip(row, xi, strict=True))
                out.append(len(xi) * s + (abs(c["b"][j]) if c["b"] is not None else 0.0))
        return out

    return [
        Row(
            "dot",
            pairs,
            lambda c: P.dot(c["u"], c["v"], DIGITS),
            lambda c: torch.dot(f64(c["u"]), f64(c["v"])),
            lambda c, e: [
                len(c["u"]) * math.fsum(abs(a * b) for a, b in zip(c["u"], c["v"], strict=True))
            ],
        ),
        Row(
            "matvec",
            mats,
            lambda c: P.matvec(c["w"], c["x"], DIGITS),
            lambda c: f64(c["w"]) @ f64(c["x"]),
            lambda c, e: [
                len(c["x"]) * math.fsum(abs(a * b) for a, b in zip(row, c["x"], strict=True))
                for row in c["w"]
            ],
        ),
        Row(
            "linear",
            linear_cases(),
            lambda c: P.linear(c["x"], c["w"], c["b"], DIGITS),
            linear_twin,
            linear_scale,
        ),
        Row(
            "norm2",
            st.fixed_dictionaries({"v": vectors(1)}),
            lambda c: P.norm2(c["v"], DIGITS),
            lambda c: torch.linalg.vector_norm(f64(c["v"])),
            lambda c, e: [2 * len(c["v"]) * float(e[0])],
        ),
        Row(
            "frobenius_norm",
            st.builds(lambda c: {"w": c["w"]}, linear_cases()),
            lambda c: P.frobenius_norm(c["w"], DIGITS),
            lambda c: torch.linalg.matrix_norm(f64(c["w"])),
            lambda c, e: [2 * sum(len(r) for r in c["w"]) * float(e[0])],
        ),
        Row(
            "distance",
            pairs,
            lambda c: P.distance(c["u"], c["v"], DIGITS),
            lambda c: torch.linalg.vector_norm(f64(c["u"]) - f64(c["v"])),
            lambda c, e: [
                2
                * len(c["u"])
                * math.sqrt(
                    math.fsum((abs(a) + abs(b)) ** 2 for a, b in zip(c["u"], c["v"], strict=True))
                )
            ],
        ),
    ]


def _model_rows() -> list[Row]:
    def keep_twin(c: Case) -> Any:
        keep = F.attention_keep_mask(c["n"], c["n"], _padding(c), c["causal"])
        if keep is None:
            keep = torch.ones(1, c["n"], c["n"], dtype=torch.bool)
        return keep.to(torch.float64)[0]

    keep_cases = st.integers(1, 5).flatmap(
        lambda n: st.fixed_dictionaries(
            {
                "n": st.just(n),
                "causal": st.booleans(),
                "padding": st.lists(st.booleans(), min_size=n - 1, max_size=n - 1).map(
                    lambda p: [True] + p
                ),
            }
        )
    )
    encoder_twin, encoder_scale = _whole(_encoder_forward)
    classifier_twin, classifier_scale = _whole(_classifier_forward)
    model: dict[str, Any] = dict(kind="value", safety=MODEL_SAFETY, examples=0.3)
    return [
        Row(
            "attention_keep",
            keep_cases,
            lambda c: [[float(k) for k in row] for row in _keep(c)],
            keep_twin,
            _exact,
        ),
        Row(
            "attention_head",
            model_cases(with_heads=False),
            _head_mp,
            _twin_of(_head_forward),
            _scale_of(_head_forward),
            **model,
        ),
        Row(
            "multi_head_attention",
            model_cases(),
            _mha_mp,
            _twin_of(_mha_forward),
            _scale_of(_mha_forward),
            **model,
        ),
        Row(
            "feed_forward",
            model_cases(),
            _ff_mp,
            _twin_of(_ff_forward),
            _scale_of(_ff_forward),
            **model,
        ),
        Row(
            "sublayer_with_norm",
            model_cases(),
            _residual_mp,
            _twin_of(_residual_forward),
            _scale_of(_residual_forward),
            **model,
        ),
        Row("encoder", encoder_cases(), _encoder_mp, encoder_twin, encoder_scale, **model),
        Row(
            "classifier",
            encoder_cases(),
            _classifier_mp,
            classifier_twin,
            classifier_scale,
            **model,
        ),
    ]


def _scalar_rows() -> list[Row]:
    def scalar(name: str, fn: Any, twin: Any, scale: Callable[[float], float]) -> Row:
        return Row(
            name,
            SCALAR_CASES,
            lambda c: fn(c["z"], DIGITS),
            lambda c: twin(f64([c["z"]])),
            lambda c, e: [scale(c["z"])],
        )

    exact = lambda z: 0.0  # noqa: E731 - the limit maps are exact in float64 too
    return [
        scalar("sigmoid", P.sigmoid, torch.sigmoid, scale_sigmoid),
        scalar("tanh", P.tanh, torch.tanh, scale_tanh),
        scalar("gelu", P.gelu, F.gelu, scale_gelu),
        scalar("relu", P.relu, torch.relu, exact),
        scalar("step", P.step, F.step, exact),
        scalar("sign", P.sign, torch.sign, exact),
        Row(
            "activate",
            _activation_cases(),
            lambda c: P.activate(c["name"], c["z"], c["saturated"], DIGITS),
            _activation_twin,
            _activation_scale,
        ),
        Row(
            "sigmoid_difference",
            DIFF_CASES,
            lambda c: P.sigmoid_difference(c["y"], c["x"], DIGITS),
            lambda c: torch.sigmoid(f64(c["y"])) - torch.sigmoid(f64(c["x"])),
            _difference_scale(scale_sigmoid),
        ),
        Row(
            "tanh_difference",
            DIFF_CASES,
            lambda c: P.tanh_difference(c["y"], c["x"], DIGITS),
            lambda c: torch.tanh(f64(c["y"])) - torch.tanh(f64(c["x"])),
            _difference_scale(scale_tanh),
        ),
        *_tail_rows(),
    ]


TABLE: dict[str, Row] = {
    row.name: row
    for row in (*_scalar_rows(), *_softmax_rows(), *_norm_rows(), *_linalg_rows(), *_model_rows())
}


# -- the tests ---------------------------------------------------------------------------


def _settings(row: Row, derandomize: bool | None = None) -> settings:
    base = settings()
    return settings(
        base,
        max_examples=max(3, int(base.max_examples * row.examples)),
        derandomize=base.derandomize if derandomize is None else derandomize,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def test_the_table_covers_the_inventory() -> None:
    assert set(TABLE) == {p.name for p in PRIMITIVES}, sorted(set(TABLE) ^ set(BY_NAME))
    assert len(PRIMITIVES) == len(BY_NAME), "two primitives share a name"


@pytest.mark.parametrize("name", sorted(TABLE))
def test_primitive_agrees_with_its_float64_twin(name: str) -> None:
    row = TABLE[name]

    @_settings(row)
    @given(row.cases)
    def check(case: Case) -> None:
        problem = discrepancy(row, case)
        assert problem is None, f"{name} on {case}: {problem}"

    check()


def perturbed(row: Row) -> Row:
    """The same row with the primitive deliberately wrong: values off by one part in 10⁹
    (plus 10⁻¹²), bounds tightened by 10⁻³, intervals moved up by one part in 10⁶."""

    def shift(v: Any, factor: float, offset: float) -> Any:
        if isinstance(v, (list, tuple)):
            return type(v)(shift(x, factor, offset) for x in v)
        with mpmath.workdps(DIGITS):
            return _mp(v) * factor + offset

    def mp(case: Case) -> Any:
        value = row.mp(case)
        if row.kind == "value":
            return shift(value, 1 + 1e-9, 1e-12)
        if row.kind == "upper":
            return shift(value, 1 - 1e-3, 0.0)
        if row.kind == "lower":
            return shift(value, 1 + 1e-3, 1e-12)
        return shift(value, 1 + 1e-6, 1e-12)

    return replace(row, mp=mp)


@pytest.mark.parametrize("name", sorted(TABLE))
def test_a_perturbed_primitive_fails_the_cross_test(name: str) -> None:
    """Negative control: on the same shared cases, the comparison finds a case where the
    perturbed primitive disagrees with its twin."""
    bad = perturbed(TABLE[name])
    try:
        case = find(
            bad.cases,
            lambda c: discrepancy(bad, c) is not None,
            settings=settings(
                _settings(bad, derandomize=True),
                max_examples=300,
                database=None,
                phases=[p for p in settings().phases if p.name != "shrink"],
            ),
        )
    except NoSuchExample:
        pytest.fail(f"the cross-test of {name} cannot tell a perturbed primitive apart")
    assert discrepancy(bad, case) is not None


def test_undefined_maps_are_undefined_on_both_sides() -> None:
    row = TABLE["layer_norm"]
    assert discrepancy(row, {"x": [2.0, 2.0, 2.0], "eps": 1e-5}) is None
    assert _evaluate(row.mp, {"x": [2.0, 2.0, 2.0], "eps": 1e-5}) is UNDEFINED
