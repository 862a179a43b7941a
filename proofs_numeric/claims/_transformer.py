"""Shared pieces of the transformer claims (P4–P6, T1, C1, EU): seeded sublayers at high
precision, the ray θ = ρ·θ₀ through their initial parameters, and adaptive precision.

A case names a seed and sizes; the weights θ₀ are the package's own initialisation
(:mod:`homogeneity.components`) drawn from that seed in float64, and the input X is a
parameter matrix (exactly 1-homogeneous in θ, like an embedding). So every case replays
from its JSON alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import mpmath
import torch
from hypothesis import strategies as st
from torch import nn

from homogeneity.components import FeedForward, MultiHeadAttention, ProofLayerNorm
from homogeneity.constants import NormKind, Placement
from homogeneity.errors import HomogeneityInputError
from proofs_numeric import case_schema as cs
from proofs_numeric.precision import (
    AttentionTrace,
    Weights,
    argmax_set,
    attention_keep,
    distance,
    exp_loss,
    feed_forward,
    guard_digits,
    multi_head_attention,
    norm2,
    parameter_norm,
    softmax_gap,
    sublayer_with_norm,
    working_precision,
)
from proofs_numeric.precision.torch_weights import tensor_to_lists
from proofs_numeric.search import log_margin, vacuous


def sublayer_weights(case: Mapping[str, Any], kind: str, value_bias: bool = False) -> Weights:
    """θ₀ for an attention (``mha``) or feed-forward (``ff``) sublayer plus its input X and
    the norm gain γ, all drawn from ``case["seed"]``."""
    g = torch.Generator().manual_seed(int(case["seed"]))
    n, d = int(case["n"]), int(case["d_model"])
    values: dict[str, Any] = {
        "x": tensor_to_lists(torch.randn(n, d, generator=g, dtype=torch.float64))
    }
    m: nn.Module
    if kind == "mha":
        m = MultiHeadAttention(
            d,
            int(case["n_heads"]),
            int(case["d_head"]),
            bias=False,
            dtype=torch.float64,
            generator=g,
        )
        values.update({f"sub.{k}": tensor_to_lists(v) for k, v in m.named_parameters()})
        if value_bias:
            hd = int(case["n_heads"]) * int(case["d_head"])
            values["sub.value.bias"] = tensor_to_lists(
                torch.randn(hd, generator=g, dtype=torch.float64)
            )
    elif kind == "ff":
        m = FeedForward(d, int(case["d_ff"]), "relu", bias=False, dtype=torch.float64, generator=g)
        values.update({f"sub.{k}": tensor_to_lists(v) for k, v in m.named_parameters()})
    else:
        raise HomogeneityInputError(f"kind={kind!r} must be 'mha' or 'ff'")
    norm = ProofLayerNorm(d, dtype=torch.float64, generator=g)
    values.update({f"norm.{k}": tensor_to_lists(v) for k, v in norm.named_parameters()})
    return Weights(values)


def theta_norm(w: Weights, digits: int) -> Any:
    """‖θ‖ over every parameter of ``w`` at its current scale."""
    return parameter_norm(w, digits)


def keep_for(case: Mapping[str, Any], n: int) -> list[list[bool]]:
    """The attention mask of the case (causal or not, no padding)."""
    return attention_keep(n, bool(case.get("causal", False)))


def head_outputs(
    w: Weights, case: Mapping[str, Any], digits: int, trace: list[AttentionTrace] | None = None
) -> list[list[Any]]:
    """[H₁; …; H_h] of D10 for the input X = w["x"] (rows = tokens)."""
    x = w.get("x", digits)
    return multi_head_attention(
        x,
        w,
        "sub",
        int(case["n_heads"]),
        int(case["d_head"]),
        keep_for(case, len(x)),
        False,
        trace,
        output=False,
        digits=digits,
    )


def with_tempered_queries(w: Weights, temperature: float) -> Weights:
    """The same θ₀ with W^q divided by ``temperature`` (softmax(S/T) in every head)."""
    values = dict(w.values)
    values["sub.query.weight"] = [
        [v / temperature for v in row] for row in w.values["sub.query.weight"]
    ]
    return Weights(values, w.rho, w.scaled)


def msa(
    w: Weights,
    case: Mapping[str, Any],
    digits: int,
    gain: bool = True,
    saturated: bool = False,
) -> list[list[Any]]:
    """D11: MSA(X) = γ ⊙ LN(W^o [H₁; …; H_h]) + X (LN of D9, γ omitted if not ``gain``;
    ``saturated``: argmax attention, the exactly 1-homogeneous limit map)."""
    x = w.get("x", digits)
    keep = keep_for(case, len(x))
    n_heads, d_head = int(case["n_heads"]), int(case["d_head"])

    def attention(z: list[list[Any]], d: int) -> list[list[Any]]:
        return multi_head_attention(z, w, "sub", n_heads, d_head, keep, saturated, digits=d)

    return sublayer_with_norm(
        x,
        w,
        attention,
        "norm" if gain else None,
        Placement.PAPER_PRENORM,
        NormKind.PROOF,
        digits=digits,
    )


def ff_sublayer(w: Weights, digits: int, activation: str = "relu") -> list[list[Any]]:
    """D12: FF(X) = γ ⊙ LN(W^f act(W^i X)) + X."""

    def branch(z: list[list[Any]], d: int) -> list[list[Any]]:
        return feed_forward(z, w, "sub", activation, False, digits=d)

    return sublayer_with_norm(
        w.get("x", digits),
        w,
        branch,
        "norm",
        Placement.PAPER_PRENORM,
        NormKind.PROOF,
        digits=digits,
    )


def sublayer_schema(kind: str, max_rho: float, max_log10_c: float) -> cs.Schema:
    """Bounds on a replayed sublayer case: the sizes of :func:`sublayer_cases` with a
    little headroom, 0 < ρ ≤ max_rho (the score spread, hence the digits, grows like ρ²)
    and 0 ≤ log10 c ≤ max_log10_c."""
    fields: dict[str, cs.Schema] = {
        "seed": cs.Integer(0, 2**31),
        "n": cs.Integer(1, 6),
        "d_model": cs.Integer(1, 6),
        "rho": cs.Real(1e-3, max_rho),
        "log10_c": cs.Real(0.0, max_log10_c),
    }
    if kind == "mha":
        fields.update(n_heads=cs.Integer(1, 3), d_head=cs.Integer(1, 4))
    else:
        fields.update(d_ff=cs.Integer(1, 8))
    return cs.Record(fields, optional={"causal": cs.Boolean()})


def sublayer_cases(
    kind: str,
    rho: st.SearchStrategy[float] | None,
    log10_c: st.SearchStrategy[float] | None = None,
    *,
    d_ff: tuple[int, int] = (2, 5),
    causal: bool = True,
    **extra: st.SearchStrategy[Any],
) -> st.SearchStrategy[dict[str, Any]]:
    """Seeded sublayer cases: 2–4 tokens, d_model 2–4, and for ``mha`` 1–2 heads of
    dimension 1–3, for ``ff`` d_ff in ``d_ff``; a causal mask or not where ``causal``, the
    ray point ρ and log10 c where given, then the claim's ``extra`` fields (drawn in this
    order)."""
    fields: dict[str, st.SearchStrategy[Any]] = {
        "seed": st.integers(0, 2**20),
        "n": st.integers(2, 4),
        "d_model": st.integers(2, 4),
    }
    if kind == "mha":
        fields.update(n_heads=st.integers(1, 2), d_head=st.integers(1, 3))
    elif kind == "ff":
        fields.update(d_ff=st.integers(*d_ff))
    else:
        raise HomogeneityInputError(f"kind={kind!r} must be 'mha' or 'ff'")
    if causal:
        fields["causal"] = st.booleans()
    if rho is not None:
        fields["rho"] = rho
    if log10_c is not None:
        fields["log10_c"] = log10_c
    return st.fixed_dictionaries({**fields, **extra})


def chosen_scale(case: Mapping[str, Any], gap: Any, digits: int) -> Any:
    """The c at which a D3 counterexample of the collapse kind is evaluated: ``case["c"]``
    if the case fixes it, else max(2, 4/gap)·10^{log10_c}, past the point where c·gap
    (the size of the error c‖f(cθ)/c − f(θ)‖ ≈ c‖f_sat(θ) − f(θ)‖) reaches 4."""
    with working_precision(digits):
        if "c" in case:
            return mpmath.mpf(case["c"])
        step = mpmath.power(10, mpmath.mpf(case.get("log10_c", 0)))
        return max(mpmath.mpf(2), 4 / gap) * step


def max_abs_diff(a: Sequence[Sequence[Any]], b: Sequence[Sequence[Any]]) -> Any:
    return max(abs(x - y) for ra, rb in zip(a, b, strict=True) for x, y in zip(ra, rb, strict=True))


def adaptive(
    evaluate: Callable[[int], Any],
    digits: int,
    resolved: Callable[[Any, int], bool],
    max_digits: int = 800,
) -> Any:
    """Run ``evaluate(d)`` at d = digits, 2·digits, … until ``resolved(value, d)`` says the
    working precision resolves the quantity (it lies well above the rounding noise).

    Returns 0 when the quantity is exactly 0 at two successive precisions, or still at the
    noise level at ``max_digits`` (then it is below 10^{−(max_digits − 25)}: zero for every
    purpose of these checks; this is what an exactly homogeneous point looks like)."""
    d, previous = digits, None
    while True:
        with working_precision(d):
            value = evaluate(d)
        small = value[0] if isinstance(value, tuple) else value
        if resolved(value, d):
            return value
        if (small == 0 and previous == 0) or d >= max_digits:
            return mpmath.mpf(0) if not isinstance(value, tuple) else value
        previous = small
        d = min(2 * d, max_digits)


def resolved_above_noise(margin_digits: int = 25) -> Callable[[Any, int], bool]:
    """A (small, relative) quantity is resolved when it lies above 10^{−(d − margin_digits)};
    0 is not resolved (it may be a value below the working precision)."""

    def check(value: Any, d: int) -> bool:
        small = value[0] if isinstance(value, tuple) else value
        with working_precision(d):
            return bool(small > mpmath.mpf(10) ** (-(d - margin_digits)))

    return check


def score_loss(scores: Sequence[Sequence[Any]]) -> float:
    """Digits lost to e^{−spread} next to 1 for these score rows (spread: the largest
    max − min of a row)."""
    return exp_loss(max((max(r) - min(r)) for r in scores))


def trace_scores(trace: Sequence[AttentionTrace], layer: int = 0) -> list[list[Any]]:
    """Every score row of every head of one attention sublayer of a trace."""
    return [row for head in trace[layer].scores for row in head]


def head_bound(
    scores: Sequence[Any],
    keep: Sequence[bool],
    values: Sequence[Sequence[Any]],
    digits: int,
    factor: Callable[[Any], Any] | None = None,
) -> Any:
    """The P4* bound of one head at one query row, (|V| − |M|)/|M|·φ(γ)·max_j ‖V_j‖ over
    the visible keys j, with φ(γ) = 4e^{−γ} (or ``factor(γ)``); 0 when every visible
    score ties."""
    n_vis, n_max = sum(keep), len(argmax_set(scores, keep, digits))
    if n_vis == n_max:
        return mpmath.mpf(0)
    with working_precision(digits):
        vmax = max(norm2(values[j], digits) for j in range(len(values)) if keep[j])
        gamma = softmax_gap(scores, keep, digits)
        phi = 4 * mpmath.exp(-gamma) if factor is None else factor(gamma)
        return mpmath.mpf(n_vis - n_max) / n_max * phi * vmax


def head_score_digits(w0: Weights, case: Mapping[str, Any], digits: int, *losses: float) -> int:
    """The guard digits of ``digits`` with e^{−spread} resolved for every score row of the
    heads at θ = ρθ₀ (and any further ``losses``)."""
    trace: list[AttentionTrace] = []
    head_outputs(w0.at(mpmath.mpf(case["rho"])), case, digits, trace)
    return guard_digits(digits, score_loss(trace_scores(trace)), *losses)


def head_slice(head: int, d_head: int) -> slice:
    """The columns of head ``head`` in [H₁; …; H_h]."""
    return slice(head * d_head, (head + 1) * d_head)


def row_head_bound(
    scores: Sequence[Sequence[Sequence[Any]]],
    row: int,
    keep: Sequence[bool],
    values: Sequence[Sequence[Any]],
    d_head: int,
    digits: int,
    factor: Callable[[Any], Any] | None = None,
) -> Any:
    """(Σ_h B_{h,i}²)^{1/2} at query row i = ``row``: the :func:`head_bound` B_{h,i} of
    every head h (``scores[h]`` its score rows, its values the columns of ``values`` of
    :func:`head_slice`), combined over the heads of the concatenation [H₁; …; H_h]."""
    with working_precision(digits):
        total = mpmath.mpf(0)
        for h, head_scores in enumerate(scores):
            sl = head_slice(h, d_head)
            b = head_bound(head_scores[row], keep, [r[sl] for r in values], digits, factor)
            total += b * b
        return mpmath.sqrt(total)


def max_scaled_error(
    fc: Sequence[Sequence[Any]], f1: Sequence[Sequence[Any]], c: Any, degree: float = 1
) -> Any:
    """max over entries of |f(cθ) − c^k f(θ)| (k = ``degree``): the D3 error of a matrix
    output."""
    ck = c if degree == 1 else mpmath.power(c, degree)
    return max(
        abs(a - ck * b) for ra, rb in zip(fc, f1, strict=True) for a, b in zip(ra, rb, strict=True)
    )


def max_row_distance(
    fc: Sequence[Sequence[Any]], f1: Sequence[Sequence[Any]], c: Any, digits: int
) -> Any:
    """max_i ‖f(cθ)_i/c − f(θ)_i‖₂: the relative-form error of a 1-homogeneous output,
    row by row (token by token)."""
    return max(distance([a / c for a in rc], r1, digits) for rc, r1 in zip(fc, f1, strict=True))


def collapse_margin(
    case: Mapping[str, Any],
    f1: Sequence[Sequence[Any]],
    saturated: Sequence[Sequence[Any]],
    at_scale: Callable[[Any], Sequence[Sequence[Any]]],
    digits: int,
    exact: str,
) -> Any:
    """−ln max|f(cθ) − c f(θ)| at c of :func:`chosen_scale` (< 0: an error ≥ 1, above
    e^{−d‖θ‖} for every d) for a map whose saturated form (``saturated`` at θ) is exactly
    1-homogeneous: the D3 collapse. ``at_scale(c)`` evaluates f(cθ); where f(θ) is already
    saturated and the case fixes no c, the case is vacuous for the reason ``exact``."""
    with working_precision(digits):
        gap = max_abs_diff(saturated, f1)
        if gap == 0 and "c" not in case:
            return vacuous(exact)
        c = chosen_scale(case, gap, digits)
        return log_margin(mpmath.mpf(1), max_scaled_error(at_scale(c), f1, c), digits)


def scale_exponents(max_log10_c: float) -> st.SearchStrategy[float]:
    """log10 c of the scale c ≥ 1 of a case: uniform in [0, max_log10_c], or in
    [10⁻⁶, 10⁻²] (c → 1⁺, where an error bound must already hold)."""
    return st.one_of(st.floats(0.0, max_log10_c), st.floats(1e-6, 1e-2))
