"""P6: the feed-forward sublayer FF(X) = γ ⊙ LN(W^f ReLU(W^i X)) + X (D12) is ∼1 in all
parameters if its input X is ∼1. Two readings of "X is ∼1":

*In its own parameters* (the way P4 reads its premise: X ∼1 in θ, the head in θ and the
new weights): refuted. X(t) = t + B(1 − ‖t‖²)₊² is ∼1 in t with ρ = 1 (exactly
1-homogeneous on ‖t‖ ≥ 1, so D3 holds with any d), yet at t = 0, with the feed-forward
weights W = (W^i, W^f, γ) scaled so that ‖θ_all‖ = ‖(t, W)‖ is as large as we like,
X(c·0) = X(0) = B, and since LN is scale-invariant

    FF(cθ) − c FF(θ) = (cγ ⊙ LN(W^f ReLU(W^i B)) + B) − c(γ ⊙ LN(…) + B) = (1 − c) B,

an error ‖B‖_max (c − 1), unbounded in c, at every ‖θ_all‖. The counterexample replays at
several points of that ray (weights scaled ×1, ×10, ×100; c ×1, ×10).

*In all the parameters* (P6*, the reading T1's induction needs): verified. By the D3
collapse a ∼1 input is exactly 1-homogeneous on ‖θ‖ ≥ ρ; then W^i X has degree 2, ReLU
keeps it, W^f makes it 3, the ε-free LN (D9) removes it, the gain γ gives degree 1 and
the residual X is degree 1: FF(cθ) = c FF(θ) exactly. The check uses an input that is
not a raw parameter, X(θ) = t + (‖θ‖ − ‖t‖)·B (θ = (t, W^i, W^f, γ) all of the
parameters; exactly 1-homogeneous in θ, ∼1 with ρ = 0), and tests the exactness to the
rounding of the working precision, a margin a non-exact map fails at once. FF is
undefined where a row of W^f ReLU(W^i X) is constant (e.g. all pre-activations ≤ 0);
such θ are outside the statement (vacuous cases).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mpmath
import torch
from hypothesis import strategies as st

from homogeneity.errors import HomogeneityInputError
from proofs_numeric import case_schema as cs
from proofs_numeric.claim import Claim
from proofs_numeric.claims._d3 import rounding_allowance
from proofs_numeric.claims._transformer import (
    ff_sublayer,
    max_scaled_error,
    scale_exponents,
    sublayer_cases,
    sublayer_schema,
    sublayer_weights,
)
from proofs_numeric.precision import Weights, guard_digits, norm2, working_precision
from proofs_numeric.precision.torch_weights import tensor_to_lists
from proofs_numeric.search import (
    PropertySearch,
    along_ray,
    check_property,
    geometric_ray,
    log_margin,
    property_control,
    replay_control,
    scale_from_log10,
    vacuous,
    with_ray,
)

WEIGHTS = ("sub.inner.weight", "sub.outer.weight", "norm.weight")
#: A refutation of P6 is replayed with the weights scaled ×(1, 10, 100) and c ×(1, 10).
RAY_WEIGHT_FACTORS, RAY_LOG10_C_STEPS = (1.0, 10.0, 100.0), (0.0, 1.0)


def _flat(m: Any) -> list[Any]:
    return [v for row in m for v in row] if isinstance(m[0], list) else list(m)


def bump_matrix(case: Mapping[str, Any]) -> list[list[float]]:
    """B: a fixed n × d_model matrix drawn from the case's seed (after the sublayer)."""
    g = torch.Generator().manual_seed(int(case["seed"]) + 104729)
    n, d = int(case["n"]), int(case["d_model"])
    return tensor_to_lists(torch.randn(n, d, generator=g, dtype=torch.float64))


def _at(values: Mapping[str, Any], x: list[list[Any]]) -> Weights:
    return Weights({**values, "x": x})


# -- P6: X ∼1 in its own parameters t --------------------------------------------------


def own_input(t: list[list[Any]], b: list[list[float]], digits: int) -> list[list[Any]]:
    """X(t) = t + B (1 − ‖t‖²)₊²: ∼1 in t with ρ = 1 (exact for ‖t‖ ≥ 1)."""
    with working_precision(digits) as d:
        bump = max(mpmath.mpf(0), 1 - norm2(_flat(t), d) ** 2) ** 2
        return [
            [u + bump * v for u, v in zip(r, s, strict=True)] for r, s in zip(t, b, strict=True)
        ]


def paper_margin(case: Mapping[str, Any], digits: int) -> Any:
    """−ln max|FF(cθ) − c FF(θ)| with X(t) of :func:`own_input` and θ = (t, W): < 0 means
    an error ≥ 1 > e^{−d‖θ‖} for every d > 0."""
    w0 = sublayer_weights(case, "ff")
    work = guard_digits(digits, float(case["log10_c"]))
    with working_precision(work):
        c = scale_from_log10(case["log10_c"], work)
        s, t_scale = mpmath.mpf(case["w_scale"]), mpmath.mpf(case["t_scale"])
        t_hat = w0.get("x", work)
        top = norm2(_flat(t_hat), work)
        t = [[t_scale * v / top for v in r] for r in t_hat]
        b = bump_matrix(case)
        scaled = {k: w0.at(s).get(k, work) for k in WEIGHTS}
        scaled_c = {k: w0.at(s * c).get(k, work) for k in WEIGHTS}
        try:
            f1 = ff_sublayer(_at(scaled, own_input(t, b, work)), work)
            ct = [[c * v for v in r] for r in t]
            fc = ff_sublayer(_at(scaled_c, own_input(ct, b, work)), work)
        except HomogeneityInputError:
            return vacuous("a row of W^f ReLU(W^i X) is constant: FF is undefined here")
        return log_margin(mpmath.mpf(1), max_scaled_error(fc, f1, c), work)


def paper_ray(case: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The points of the ray through a P6 counterexample that its replay checks: ‖θ_all‖
    grows 100× (weights scaled), c grows 10×; the error (c − 1)‖B‖_max must stay ≥ 1."""
    return geometric_ray(case, {"w_scale": RAY_WEIGHT_FACTORS}, {"log10_c": RAY_LOG10_C_STEPS})


def paper_cases() -> st.SearchStrategy[dict[str, Any]]:
    return sublayer_cases(
        "ff",
        None,
        d_ff=(3, 5),
        causal=False,
        t_scale=st.one_of(st.floats(0.0, 2.0), st.just(0.0)),
        w_scale=st.floats(1.0, 10.0),
        log10_c=st.floats(0.0, 6.0),
    )


#: a replayed P6 case: the sizes of a sublayer case, ‖t‖ ≤ 4, weights ×s with s ≤ 20,
#: c ≤ 10^40 (its ray scales the weights up to 100× more: see the claim's schema)
PAPER_SCHEMA = cs.Record(
    {
        "seed": cs.Integer(0, 2**31),
        "n": cs.Integer(1, 6),
        "d_model": cs.Integer(1, 6),
        "d_ff": cs.Integer(1, 8),
        "t_scale": cs.Real(0.0, 4.0),
        "w_scale": cs.Real(0.0, 20.0),
        "log10_c": cs.Real(0.0, 40.0),
    }
)

_FF = {"seed": 3, "n": 3, "d_model": 3, "d_ff": 4}
PAPER_CONSTRUCTIONS = (dict(_FF, t_scale=0.0, w_scale=3.0, log10_c=1.0),)
#: P6 holds here: c = 1.01 keeps the error 0.01‖B‖_max below 1 (a finite margin).
NON_COUNTEREXAMPLE = dict(_FF, t_scale=0.0, w_scale=3.0, log10_c=0.00432)


def paper_search() -> PropertySearch:
    return PropertySearch(
        claim_id="P6",
        strategy=paper_cases(),
        margin=paper_margin,
        search=(
            "FF sublayers (d_model 2–4, d_ff 3–5, 2–4 tokens) on X(t) = t + B(1 − ‖t‖²)₊² "
            "(∼1 in t with ρ = 1), ‖t‖ ∈ [0, 2], feed-forward weights and γ scaled by "
            "s ∈ [1, 10], c = 10^v, v ∈ [0, 6]"
        ),
        constructions=PAPER_CONSTRUCTIONS,
        examples_scale=0.5,
        margin_label="−ln max|FF(cθ) − c FF(θ)| (< 0: error ≥ 1, above e^{−d‖θ‖} for every d)",
        describe=lambda c: (
            f"seed {c['seed']}, ‖t‖ = {c['t_scale']}, weights ×{c['w_scale']}, c = "
            f"10^{c['log10_c']}: X(t) = t + B(1 − ‖t‖²)₊² is ∼1 in t, yet FF(cθ) − c FF(θ) "
            f"= (1 − c)B at t = 0 for every scale of the weights"
        ),
        ray=paper_ray,
    )


# -- P6*: X ∼1 in all the parameters -----------------------------------------------------


def all_input(
    t: list[list[Any]], rest: Mapping[str, Any], b: list[list[float]], digits: int
) -> list[list[Any]]:
    """X(θ) = t + (‖θ‖ − ‖t‖)·B with θ = (t, W^i, W^f, γ): exactly 1-homogeneous in θ."""
    with working_precision(digits) as d:
        t_norm = norm2(_flat(t), d)
        total = mpmath.sqrt(t_norm**2 + mpmath.fsum(v * v for m in rest.values() for v in _flat(m)))
        k = total - t_norm
        return [[u + k * v for u, v in zip(r, s, strict=True)] for r, s in zip(t, b, strict=True)]


def all_margin(degree: int = 1, activation: str = "relu", own_only: bool = False):
    """ln(rounding allowance) − ln max|FF(cθ) − c^k FF(θ)| with X of :func:`all_input`
    (``own_only``: the input of P6 instead, at ‖t‖ = 0.5, a negative control)."""

    def margin(case: Mapping[str, Any], digits: int) -> Any:
        w0 = sublayer_weights(case, "ff")
        log10_c = float(case["log10_c"])
        work = guard_digits(digits, degree * log10_c)
        with working_precision(work):
            rho, c = mpmath.mpf(case["rho"]), scale_from_log10(log10_c, work)
            b = bump_matrix(case)
            w1, wc = w0.at(rho), w0.at(rho * c)
            rest1 = {k: w1.get(k, work) for k in WEIGHTS}
            restc = {k: wc.get(k, work) for k in WEIGHTS}
            t1, tc = w1.get("x", work), wc.get("x", work)
            if own_only:
                top = norm2(_flat(t1), work) * 2
                t1 = [[v / top for v in r] for r in t1]
                tc = [[c * v for v in r] for r in t1]
                x1, xc = own_input(t1, b, work), own_input(tc, b, work)
            else:
                x1, xc = all_input(t1, rest1, b, work), all_input(tc, restc, b, work)
            try:
                f1 = ff_sublayer(_at(rest1, x1), work, activation)
                fc = ff_sublayer(_at(restc, xc), work, activation)
            except HomogeneityInputError:
                return vacuous("a row of W^f ReLU(W^i X) is constant: FF is undefined here")
            ck = mpmath.power(c, degree)
            allowance = rounding_allowance(work, *[ck * v for r in f1 for v in r])
            return log_margin(allowance, max_scaled_error(fc, f1, c, degree), work)

    return margin


ALL_CONSTRUCTIONS = (
    dict(_FF, seed=0, rho=3.0, log10_c=30.0, causal=False),
    {"seed": 7, "n": 2, "d_model": 2, "d_ff": 3, "rho": 0.3, "log10_c": 0.001, "causal": False},
)


def all_cases() -> st.SearchStrategy[dict[str, Any]]:
    return sublayer_cases(
        "ff", st.floats(0.3, 3.0), scale_exponents(30.0), d_ff=(3, 5), causal=False
    )


def all_search(
    degree: int = 1, activation: str = "relu", own_only: bool = False, what: str = ""
) -> PropertySearch:
    return PropertySearch(
        claim_id="P6*",
        strategy=all_cases(),
        margin=all_margin(degree, activation, own_only),
        search=(
            "FF sublayers (d_model 2–4, d_ff 3–5, 2–4 tokens) on X(θ) = t + (‖θ‖ − ‖t‖)B, "
            "θ = ρθ₀ = (t, W^i, W^f, γ), ρ ∈ [0.3, 3], c = 10^v, v ∈ [0, 30] and c → 1⁺; "
            "exactness to the rounding of the working precision" + (f"; {what}" if what else "")
        ),
        constructions=ALL_CONSTRUCTIONS,
        examples_scale=0.5,
        margin_label="ln(rounding allowance) − ln max|FF(cθ) − c FF(θ)|",
        precision="mpmath (guard digits raised by log10 c)",
        describe=lambda c: f"seed {c['seed']}, ρ = {c['rho']}, c = 10^{c['log10_c']}",
    )


CLAIMS = (
    Claim(
        id="P6",
        title="Feed-forward sublayer of an input ∼1 in its own parameters is ∼1",
        statement=(
            "If X is ∼1 in its own parameters t (D3), then FF(X) = γ ⊙ LN(W^f ReLU(W^i X)) "
            "+ X (D12) is ∼1 in all parameters θ = (t, W^i, W^f, γ): there are d > 0 and ρ "
            "with |FF(cθ) − c FF(θ)| ≤ e^{−d‖θ‖} for all c ≥ 1 and ‖θ‖ ≥ ρ (the reading "
            "in which P4 states its premise)."
        ),
        expected="refuted",
        check=lambda ctx: check_property(paper_search(), ctx),
        replay=along_ray(paper_margin),
        case_schema=with_ray(PAPER_SCHEMA, w_scale=cs.Real(0.0, 2e3), log10_c=cs.Real(0.0, 41.0)),
        describe=paper_search().describe,
        explanation=(
            "X(t) = t + B(1 − ‖t‖²)₊² is ∼1 in t with ρ = 1, but at t = 0 with large "
            "feed-forward weights ‖θ‖ is large while X = B is constant in c: the error is "
            "(c − 1)‖B‖_max. The premise must hold in all the parameters (P6*)."
        ),
        negative_controls=(
            replay_control(
                "a non-counterexample is not replayed as one",
                "at c = 10^0.00432 ≈ 1.01 the error 0.01‖B‖_max is below 1 (a finite "
                "margin): the replay must find no violation",
                NON_COUNTEREXAMPLE,
                along_ray(paper_margin),
            ),
        ),
    ),
    Claim(
        id="P6*",
        title="Feed-forward sublayer of an input ∼1 in all parameters is exactly 1-homogeneous",
        corrects="P6",
        statement=(
            "If X is ∼1 in all the parameters θ = (t, W^i, W^f, γ) (D3), then FF(X) is ∼1 "
            "in θ; in fact, by the D3 collapse X is exactly 1-homogeneous on ‖θ‖ ≥ ρ and "
            "FF(cθ) = c FF(θ) there for all c ≥ 1 wherever FF is defined (checked to the "
            "rounding of the working precision on X(θ) = t + (‖θ‖ − ‖t‖)B)."
        ),
        expected="verified",
        check=lambda ctx: check_property(all_search(), ctx),
        replay=all_margin(),
        case_schema=sublayer_schema("ff", 5.0, 40.0),
        describe=all_search().describe,
        explanation=(
            "Exact: ReLU, bias-free linear maps and the ε-free LN are exactly homogeneous, "
            "and a ∼1 input is exactly 1-homogeneous (D3 collapse). FF is undefined where a "
            "row of W^f ReLU(W^i X) is constant."
        ),
        negative_controls=(
            property_control("wrong degree 2", "FF is not ∼2", lambda: all_search(2)),
            property_control(
                "mutated component: GeLU instead of ReLU",
                "GeLU is not exactly homogeneous: the exactness must fail",
                lambda: all_search(1, "gelu", what="GeLU"),
            ),
            property_control(
                "premise in the own parameters only",
                "with X(t) = t + B(1 − ‖t‖²)₊² at ‖t‖ = 1/2 (∼1 in t only) FF is not "
                "exactly homogeneous in θ: must fail",
                lambda: all_search(own_only=True, what="X ∼1 in t only"),
            ),
        ),
    ),
)
