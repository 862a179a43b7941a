"""EU: Euler's theorem for k-homogeneous functions; EU~: its approximate analogue
(refuted); EU~*: the approximate Euler identity for the attention head.

EU (exact). If f(cθ) = c^k f(θ) for all c > 0, differentiating in θ gives
∇f(cθ) = c^{k−1}∇f(θ), and differentiating in c at c = 1 gives θ·∇f = k f. Checked on
exactly homogeneous functions: bias-free ReLU feed-forward cores (k = 2) and MLPs (k = 3),
saturated (argmax-attention) paper-pre-norm encoders (k = 1) in float64 autograd, and
products of linear forms in mpmath (central differences at 3× precision).

EU~ (what the paper's argument would need for ∼k functions): |θ·∇f − k f| ≤ e^{−d′‖θ‖}
for large ‖θ‖. False: f(θ) = a e^{−b‖θ‖} sin(e^{2b‖θ‖}) is ∼0 (|f(cθ) − f(θ)| ≤
2|a|e^{−b‖θ‖}) but θ·∇f = r f′(r) contains 2ab r e^{b r} cos(e^{2br}), which is unbounded.
Approximate homogeneity controls values, not derivatives.

EU~* (attention head with exactly 1-homogeneous input). θ·∇H = d/dc H(cθ)|_{c=1} and
H(cθ) = c² softmax(c⁴S)V give θ·∇H − 2H = 4 (p ⊙ (S − S̄)) V row-wise (p the weights,
S̄ = Σ p_j S_j). With T = Σ_{j∉M} p_j (m − S_j) ≤ (|V|−|M|)/|M| · φ(γ), φ(γ) = γe^{−γ}
for γ ≥ 1 and e^{−1} otherwise, Σ_j p_j |S_j − S̄| ≤ 3T, so per head and row

    ‖(θ·∇H)_i − 2H_i‖ ≤ 12 (|V_i| − |M_i|)/|M_i| · φ(γ_i) · max_j ‖V_j‖.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, cast

import mpmath
import torch
from hypothesis import strategies as st
from torch import nn
from torch.func import functional_call, grad, jvp

from homogeneity.components import Encoder, EncoderConfig, FeedForward, GeLU, Linear, ReLU
from proofs_numeric import case_schema as cs
from proofs_numeric import families as fam
from proofs_numeric.claim import Claim
from proofs_numeric.claims._d3 import D_PROBE, RHO_PROBE, probe_margin
from proofs_numeric.claims._transformer import (
    head_outputs,
    head_score_digits,
    keep_for,
    row_head_bound,
    sublayer_cases,
    sublayer_schema,
    sublayer_weights,
)
from proofs_numeric.precision import (
    AttentionTrace,
    distance,
    exp_loss,
    guard_digits,
    linear,
    working_precision,
)
from proofs_numeric.search import (
    PropertySearch,
    along_ray,
    check_property,
    log_margin,
    property_control,
    replay_control,
    with_ray,
)
from proofs_numeric.strategies import unit_vectors

TOL = 1e-9  # float64 autograd through a few layers


# -- EU: exact functions -------------------------------------------------------------------


def _torch_model(case: Mapping[str, Any], mutated: bool) -> tuple[nn.Module, tuple, dict, int]:
    g = torch.Generator().manual_seed(int(case["seed"]))
    kind, d, h = case["model"], int(case["d"]), int(case["h"])
    f64 = torch.float64
    m: nn.Module
    if kind == "ff":
        m = FeedForward(d, h, "gelu" if mutated else "relu", bias=False, dtype=f64, generator=g)
        return m, (torch.randn(3, d, generator=g, dtype=f64),), {}, 2
    if kind == "mlp":
        act = GeLU if mutated else ReLU
        m = nn.Sequential(
            Linear(d, h, False, dtype=f64, generator=g),
            act(),
            Linear(h, h, False, dtype=f64, generator=g),
            act(),
            Linear(h, 2, False, dtype=f64, generator=g),
        )
        return m, (torch.randn(3, d, generator=g, dtype=f64),), {}, 3
    cfg = EncoderConfig(
        vocab_size=4, d_model=d, n_heads=1, d_head=2, d_ff=h + 3, n_layers=2, max_len=3
    )
    m = Encoder(cfg, dtype=f64, generator=g)
    return m, (torch.tensor([[1, 2, 0]]),), {"saturated": not mutated}, 1


def _torch_residual(case: Mapping[str, Any], degree_shift: int = 0, mutated: bool = False) -> float:
    model, args, kwargs, k = _torch_model(case, mutated)
    k += degree_shift
    params = {n: p.detach() * float(case["rho"]) for n, p in model.named_parameters()}
    g = torch.Generator().manual_seed(int(case["seed"]) + 7)

    def f(p: dict) -> torch.Tensor:
        return functional_call(model, p, args, kwargs)

    # without has_aux, jvp returns the pair (f(θ), ∂f(θ)[θ])
    value, tangent = cast(tuple[torch.Tensor, torch.Tensor], jvp(f, (params,), (params,)))
    if not bool(torch.isfinite(value).all()) or float(value.norm()) == 0:
        return 0.0  # undefined (LN of a constant row) or zero: outside the statement
    euler = float((tangent - k * value).norm() / value.norm())
    u = torch.randn(value.shape, generator=g, dtype=torch.float64)
    c = 10.0 ** float(case["log10_c"])
    gfun = grad(lambda p: (f(p) * u).sum())
    g1 = gfun(params)
    gc = gfun({n: c * t for n, t in params.items()})
    num = math.sqrt(sum(float(((gc[n] - c ** (k - 1) * g1[n]) ** 2).sum()) for n in params))
    den = math.sqrt(sum(float(((c ** (k - 1) * g1[n]) ** 2).sum()) for n in params))
    return max(euler, num / den if den > 0 else 0.0)


def _mp_residual(case: Mapping[str, Any], digits: int, degree_shift: int = 0) -> Any:
    """|θ·∇f − k f|/|f| by a central difference with step h = 10^{−digits}, which loses
    2·digits digits (the difference of two values 2h apart, divided by h)."""
    spec = case["f"]
    k = fam.degree(spec) + degree_shift
    work = guard_digits(digits, 2 * digits)
    with working_precision(work):
        theta = fam.point(case["direction"], case["rho"], work)
        h = mpmath.mpf(10) ** (-digits)
        up = fam.evaluate(spec, [(1 + h) * t for t in theta], work)
        down = fam.evaluate(spec, [(1 - h) * t for t in theta], work)
        value = fam.evaluate(spec, theta, work)
        if value == 0:
            return mpmath.mpf(0)
        return abs((up - down) / (2 * h) - k * value) / abs(value)


def exact_margin(degree_shift: int = 0, mutated: bool = False):
    def margin(case: Mapping[str, Any], digits: int) -> Any:
        if case["model"] == "family":
            spec = case["f"]
            if mutated:
                spec = {
                    "kind": "polysat",
                    "poly": spec,
                    "sat": {"kind": "sat", "a": 1.0, "b": 1.0, "u": [0.0, 0.0, 0.0], "o": 0.0},
                }
            res = _mp_residual(dict(case, f=spec), digits, degree_shift)
            with working_precision(digits):
                return log_margin(mpmath.mpf(10) ** (-(digits - 10)), res, digits)
        res = _torch_residual(case, degree_shift, mutated)
        return log_margin(TOL, res, digits)

    return margin


def exact_cases() -> st.SearchStrategy[dict[str, Any]]:
    torch_models = st.fixed_dictionaries(
        {
            "model": st.sampled_from(["ff", "mlp", "encoder"]),
            "seed": st.integers(0, 2**20),
            "d": st.integers(2, 4),
            "h": st.integers(2, 5),
            "rho": st.floats(0.2, 5.0),
            "log10_c": st.floats(0.0, 6.0),
        }
    )
    families = st.fixed_dictionaries(
        {
            "model": st.just("family"),
            "f": fam.polys(3, (1, 2, 3)),
            "direction": unit_vectors(3),
            "rho": st.floats(0.5, 50.0),
        }
    )
    return st.one_of(torch_models, families)


#: a replayed EU case: a small torch model at θ = ρθ₀ (c ≤ 10^8) or a product of linear
#: forms in ℝ³
_TORCH_MODEL = cs.Record(
    {
        "seed": cs.Integer(0, 2**31),
        "d": cs.Integer(1, 6),
        "h": cs.Integer(1, 8),
        "rho": cs.Real(1e-3, 10.0),
        "log10_c": cs.Real(0.0, 8.0),
    }
)
EXACT_SCHEMA = cs.Tagged(
    "model",
    {
        "ff": _TORCH_MODEL,
        "mlp": _TORCH_MODEL,
        "encoder": _TORCH_MODEL,
        "family": cs.Record(
            {
                "f": fam.member_schema(3, ("poly", "polysat")),
                "direction": cs.real_list(-1e6, 1e6, 3, 3),
                "rho": cs.Real(1e-3, 100.0),
            }
        ),
    },
)

EXACT_CONSTRUCTIONS = (
    {"model": "encoder", "seed": 0, "d": 3, "h": 3, "rho": 1.0, "log10_c": 2.0},
    {"model": "ff", "seed": 1, "d": 3, "h": 4, "rho": 2.0, "log10_c": 3.0},
    {
        "model": "family",
        "f": {"kind": "poly", "a": 1.0, "ws": [[1.0, 2.0, 0.0], [0.0, 1.0, -1.0]]},
        "direction": [1.0, 1.0, 1.0],
        "rho": 10.0,
    },
)


def exact_search(degree_shift: int = 0, mutated: bool = False, what: str = "") -> PropertySearch:
    return PropertySearch(
        claim_id="EU",
        strategy=exact_cases(),
        margin=exact_margin(degree_shift, mutated),
        search=(
            "bias-free ReLU feed-forward cores (k = 2), 3-layer ReLU MLPs (k = 3), "
            "saturated paper-pre-norm encoders (k = 1) at θ = ρθ₀, ρ ∈ [0.2, 5], "
            "c = 10^v, v ∈ [0, 6] (float64 autograd: jvp and grad); products of linear "
            "forms of degree 1–3 in mpmath" + (f"; {what}" if what else "")
        ),
        constructions=EXACT_CONSTRUCTIONS,
        examples_scale=0.5,
        margin_label=(
            f"ln(tolerance) − ln(max(‖θ·∇f − kf‖/‖f‖, ‖∇f(cθ) − c^(k−1)∇f(θ)‖/"
            f"‖c^(k−1)∇f(θ)‖)); tolerance {TOL:g} (float64) or 10^−(digits−10)"
        ),
        precision="float64 autograd (torch.func) and mpmath central differences at 3× digits",
        describe=lambda c: f"{c}",
    )


# -- EU~: approximate functions ----------------------------------------------------------

#: ln(π/2 + 10⁸⁸π)/2 to 250 digits: a radius ≥ 100 (the probe radius) where
#: cos(e^{2‖θ‖}) = 0 (b = 1).
ZERO_OF_COS = (
    "101.8861090346627101838633376817885544902721129061236667312232391783092637107459"
    "22170275688684080069980897587403974943934449543223227605225586956184779751537749"
    "88611412345757890857781275903369570414391579340988899863267518920222239434866573"
    "82984369463"
)


#: a replayed EU~ case: ‖θ‖ ≤ 400 (as a number or an exact decimal string), b ≤ 4 (the
#: extra digits grow like 2b‖θ‖/ln 10)
WIGGLE_SCHEMA = cs.Record(
    {
        "a": cs.Real(-10.0, 10.0),
        "b": cs.Real(1e-3, 4.0),
        "r": cs.OneOf((cs.Real(1e-3, 400.0), cs.DecimalText(1e-3, 400.0))),
    }
)


def describe_wiggle(c: Mapping[str, Any]) -> str:
    return (
        f"f = {c['a']} e^{{−{c['b']}‖θ‖}} sin(e^{{2·{c['b']}‖θ‖}}) at "
        f"‖θ‖ = {c['r']}: ∼0, but θ·∇f grows like e^{{b‖θ‖}}"
    )


def wiggle_derivative(a: Any, b: Any, r: Any) -> Any:
    """f′(r) = a e^{−br}(2b e^{2br} cos e^{2br} − b sin e^{2br}) for f = a e^{−br} sin(e^{2br})
    (at the working precision; e^{2br} must be resolved to absolute accuracy)."""
    e = mpmath.exp(2 * b * r)
    return a * mpmath.exp(-b * r) * (2 * b * e * mpmath.cos(e) - b * mpmath.sin(e))


def wiggle_margin(case: Mapping[str, Any], digits: int) -> Any:
    """probe margin of |θ·∇f − k f| = |r f′(r)| for f = a e^{−br} sin(e^{2br}), k = 0; r may
    be a decimal string (parsed at the working precision)."""
    # sin(e^{2br}) needs e^{2br} to absolute accuracy: 2br/ln 10 more digits
    work = guard_digits(digits, exp_loss(2 * float(case["b"]) * float(case["r"])))
    with working_precision(work):
        a, b, r = mpmath.mpf(case["a"]), mpmath.mpf(case["b"]), mpmath.mpf(case["r"])
        return probe_margin(abs(r * wiggle_derivative(a, b, r)), r, work)


#: A refutation of EU~ is replayed at ‖θ‖ = r·(1, 1.5, 2).
RAY_R_FACTORS = (1.0, 1.5, 2.0)


def wiggle_ray(case: Mapping[str, Any]) -> list[dict[str, Any]]:
    """‖θ‖ = r·(1, 1.5, 2) along f's ray: θ·∇f ≈ 2ab r e^{br} cos(e^{2br}) keeps growing."""
    return [{"r": float(case["r"]) * k} for k in RAY_R_FACTORS]


def wiggle_cases() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"a": st.floats(0.1, 1.0), "b": st.floats(0.2, 2.0), "r": st.floats(RHO_PROBE, 200.0)}
    )


# -- EU~*: the attention head ------------------------------------------------------------


def _euler_factor(gamma: Any) -> Any:
    """12φ(γ): φ(γ) = γe^{−γ} for γ ≥ 1, e^{−1} otherwise."""
    return 12 * (gamma * mpmath.exp(-gamma) if gamma >= 1 else mpmath.exp(-1))


def head_euler_margin(degree: int = 2, value_bias: bool = False):
    def margin(case: Mapping[str, Any], digits: int) -> Any:
        w0 = sublayer_weights(case, "mha", value_bias)
        d_head = int(case["d_head"])
        rho = mpmath.mpf(case["rho"])
        # θ·∇H by central differences with step 10^{−work}: they lose 2·work digits
        work = head_score_digits(w0, case, digits)
        fine = guard_digits(work, 2 * work)
        with working_precision(fine):
            hstep = mpmath.mpf(10) ** (-work)
            w = w0.at(rho)
            trace: list[AttentionTrace] = []
            h1 = head_outputs(w, case, fine, trace)
            up = head_outputs(w0.at(rho * (1 + hstep)), case, fine)
            down = head_outputs(w0.at(rho * (1 - hstep)), case, fine)
            x = w.get("x", fine)
            v = linear(x, w.get("sub.value.weight", fine), w.maybe("sub.value.bias", fine), fine)
            keep = keep_for(case, len(x))
            worst = mpmath.inf
            for i in range(len(x)):
                # (Σ_h ‖error of head h‖²)^{1/2} is the error of the whole row of [H₁; …; H_h]
                deriv = [(a - b) / (2 * hstep) for a, b in zip(up[i], down[i], strict=True)]
                lhs = distance(deriv, [degree * hv for hv in h1[i]], fine)
                bound = row_head_bound(trace[0].scores, i, keep[i], v, d_head, fine, _euler_factor)
                allowance = mpmath.mpf(10) ** (-(work - 10)) * (
                    1 + mpmath.fsum(abs(t) for t in h1[i])
                )
                worst = min(worst, log_margin(bound + allowance, lhs, fine))
            return worst

    return margin


def head_search(degree: int = 2, value_bias: bool = False, what: str = "") -> PropertySearch:
    return PropertySearch(
        claim_id="EU~*",
        strategy=sublayer_cases("mha", st.floats(0.3, 2.5), st.just(0.0)),
        margin=head_euler_margin(degree, value_bias),
        search=(
            "heads (1–2, d_model 2–4, 2–4 tokens, causal or not) at θ = ρθ₀, ρ ∈ [0.3, "
            "2.5]; θ·∇H by central differences at 3× the working digits"
            + (f"; {what}" if what else "")
        ),
        constructions=(
            {
                "seed": 11,
                "n": 3,
                "d_model": 3,
                "n_heads": 1,
                "d_head": 2,
                "rho": 1.5,
                "log10_c": 0.0,
                "causal": False,
            },
        ),
        examples_scale=0.3,
        margin_label="min over rows of ln(bound + rounding) − ln ‖(θ·∇H)_i − 2H_i‖",
        describe=lambda c: f"seed {c['seed']}, ρ = {c['rho']}",
    )


CLAIMS = (
    Claim(
        id="EU",
        title="Euler's theorem for homogeneous functions",
        statement=(
            "For every f exactly k-homogeneous in θ, all θ and c > 0: ∇f(cθ) = "
            "c^{k−1}∇f(θ) and θ·∇f(θ) = k f(θ)."
        ),
        expected="verified",
        check=lambda ctx: check_property(exact_search(), ctx),
        replay=exact_margin(),
        case_schema=EXACT_SCHEMA,
        describe=exact_search().describe,
        negative_controls=(
            property_control(
                "wrong degree k + 1",
                "must be refuted",
                lambda: exact_search(1, what="claimed degree k + 1"),
            ),
            property_control(
                "mutated component: GeLU / softmax attention",
                "approximately homogeneous variants (GeLU, unsaturated softmax, "
                "poly × sat) violate the exact identities",
                lambda: exact_search(0, True, "mutated to non-exact"),
            ),
        ),
    ),
    Claim(
        id="EU~",
        title="Approximate Euler identity for ∼k functions",
        statement=(
            "If f is ∼k (D3), then there are d′ > 0 and ρ′ with |θ·∇f(θ) − k f(θ)| ≤ "
            "e^{−d′‖θ‖} for ‖θ‖ ≥ ρ′ (the Euler identity holds up to exponentially small "
            "terms)."
        ),
        expected="refuted",
        check=lambda ctx: check_property(
            PropertySearch(
                claim_id="EU~",
                strategy=wiggle_cases(),
                margin=wiggle_margin,
                ray=wiggle_ray,
                search=(
                    f"f = a e^{{−b‖θ‖}} sin(e^{{2b‖θ‖}}), a ∈ [0.1, 1], b ∈ [0.2, 2], ‖θ‖ ∈ "
                    f"[{RHO_PROBE:g}, 200] (∼0 with d = b/2); probe d′ = {D_PROBE}"
                ),
                constructions=({"a": 1.0, "b": 1.0, "r": 100.0},),
                margin_label="−d′‖θ‖ − ln|θ·∇f − 0·f|, probe d′",
                describe=describe_wiggle,
            ),
            ctx,
        ),
        replay=along_ray(wiggle_margin),
        case_schema=with_ray(WIGGLE_SCHEMA),
        describe=describe_wiggle,
        explanation=(
            "D3 bounds values, not derivatives: a ∼0 function may oscillate "
            "exponentially fast with an exponentially small amplitude."
        ),
        negative_controls=(
            replay_control(
                "a non-counterexample is not replayed as one",
                "at ‖θ‖ = ln(π/2 + 10⁸⁸π)/2 ≈ 101.9 (b = 1, above the probe radius 100) "
                "cos(e^{2b‖θ‖}) = 0, so θ·∇f is tiny there and the replay must find the "
                "bound holds (a finite margin)",
                {"a": 1.0, "b": 1.0, "r": ZERO_OF_COS},
                wiggle_margin,
            ),
        ),
    ),
    Claim(
        id="EU~*",
        title="Approximate Euler identity for the attention head",
        corrects="EU~",
        statement=(
            "If X is exactly 1-homogeneous in θ, then for every θ, head and query row i: "
            "‖(θ·∇H)_i − 2H_i‖ ≤ 12(|V_i| − |M_i|)/|M_i|·φ(γ_i)·max_j ‖V_j‖, with "
            "φ(γ) = γe^{−γ} for γ ≥ 1 and e^{−1} otherwise (γ_i the gap of score row i); "
            "so along rays the Euler identity of degree 2 holds up to ‖θ‖⁴e^{−γ(θ̂)‖θ‖⁴} "
            "terms."
        ),
        expected="verified",
        check=lambda ctx: check_property(head_search(), ctx),
        replay=head_euler_margin(),
        case_schema=sublayer_schema("mha", 5.0, 6.0),
        describe=head_search().describe,
        negative_controls=(
            property_control("wrong degree 1", "must be refuted", lambda: head_search(1)),
            property_control(
                "mutated component: value bias",
                "V = W^v X + b is not 2-homogeneous: must be refuted",
                lambda: head_search(2, True, "value bias"),
            ),
        ),
    ),
)
