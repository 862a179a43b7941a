"""The steps of the T1* bound, each its own checked claim (the derivation is in
``docs/usage/t1_bound.md``; the formulas in :mod:`proofs_numeric.claims._t1_bound`).

T1*.scale   the rescaling identity: f(cθ)/c = Φ_{c⁴}(θ), the encoder at θ with every
            softmax at inverse temperature c⁴ (checked to the rounding of the working
            precision: an identity, so the margin is tight);
T1*.attn    one attention sublayer with a perturbed input (P4* for inputs within δ of the
            saturated input, then L5*'s Lipschitz bound of the layer norm);
T1*.ff      one feed-forward sublayer with a perturbed input (ReLU is 1-Lipschitz, then
            L5*).

The sublayer steps are checked on the package's seeded sublayers (input X and gain γ
drawn with the weights), with a perturbation of each input row of size ≤ δ,
δ = 10^u·max_j‖x_j‖ (u ∈ [−12, 1], or δ = 0 for attention), and τ = 10^v (v ∈ [0, 1.5]).
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
from proofs_numeric.claims._encoders import (
    describe_encoder_case,
    encoder_schema,
    mp_encoder,
    paper_config,
    paper_configs,
    score_digits,
)
from proofs_numeric.claims._t1_bound import (
    AttentionParts,
    FeedForwardParts,
    attention_branch,
    attention_step_bound,
    attention_sublayer,
    ff_step_bound,
    ff_sublayer,
    tempered,
)
from proofs_numeric.claims._transformer import (
    keep_for,
    max_row_distance,
    scale_exponents,
    sublayer_cases,
    sublayer_weights,
)
from proofs_numeric.precision import distance, exp_loss, guard_digits, norm2, working_precision
from proofs_numeric.precision.torch_weights import tensor_to_lists
from proofs_numeric.search import (
    PropertySearch,
    check_property,
    log_margin,
    property_control,
    scale_from_log10,
    vacuous,
)

# -- T1*.scale: the rescaling identity ---------------------------------------------------


def scale_margin(case: Mapping[str, Any], digits: int) -> Any:
    """ln(rounding allowance) − ln max_i ‖f(cθ)_i/c − Φ_{c⁴}(θ)_i‖."""
    enc0 = mp_encoder(case)
    rho, ids, log10_c = mpmath.mpf(case["rho"]), case["ids"], float(case["log10_c"])
    # the scores of both sides are c⁴S: their rounding must stay below the gaps
    work = score_digits(enc0, ids, rho, digits, 4 * log10_c)
    with working_precision(work):
        c = scale_from_log10(log10_c, work)
        try:
            fc = enc0.at(rho * c).run(ids, digits=work)
            ft = tempered(enc0.at(rho), c**4, work).run(ids, digits=work)
        except HomogeneityInputError:
            return vacuous("a layer norm's input row is constant: f is undefined here")
        err = max_row_distance(fc, ft, c, work)
        return log_margin(rounding_allowance(work, *[v for r in ft for v in r]), err, work)


def scale_cases(bias: bool = False, activation: str = "relu") -> st.SearchStrategy[dict[str, Any]]:
    """Every bias-free paper-pre-norm ReLU encoder of the sizes tried (degenerate ones
    included: the identity holds for all of them)."""

    return st.fixed_dictionaries(
        {
            "seed": st.integers(0, 2**20),
            "cfg": paper_configs((2, 4), (1, 3), bias, activation),
            "ids": st.lists(st.integers(0, 3), min_size=2, max_size=3),
            "rho": st.floats(0.5, 3.0),
            "log10_c": scale_exponents(30.0),
        }
    )


SCALE_CONSTRUCTIONS: tuple[dict[str, Any], ...] = (
    {"seed": 0, "cfg": paper_config(), "ids": [1, 2, 0], "rho": 1.0, "log10_c": 3.0},
    {
        "seed": 1,
        "cfg": paper_config(n_heads=2, max_len=0),
        "ids": [2, 2],
        "rho": 2.0,
        "log10_c": 20,
    },
)


def scale_search(bias: bool = False, activation: str = "relu", what: str = "") -> PropertySearch:
    constructions = tuple(
        dict(c, cfg=dict(c["cfg"], bias=bias, activation=activation)) for c in SCALE_CONSTRUCTIONS
    )
    return PropertySearch(
        claim_id="T1*.scale",
        strategy=scale_cases(bias, activation),
        margin=scale_margin,
        search=(
            "bias-free ReLU paper-pre-norm encoders with the LN of D9 (1–2 layers, d_model "
            "2–4, 1–2 heads of dimension 1–3, 2–3 tokens, repeats allowed), θ = ρθ₀, "
            "ρ ∈ [0.5, 3], c = 10^v, v ∈ [0, 30] and c → 1⁺" + (f"; {what}" if what else "")
        ),
        constructions=constructions,
        examples_scale=0.3,
        margin_label="ln(rounding allowance) − ln max_i ‖f(cθ)_i/c − Φ_{c⁴}(θ)_i‖",
        precision="mpmath (digits raised by the score spread and 4·log10 c)",
        describe=describe_encoder_case,
    )


# -- T1*.attn and T1*.ff: one sublayer with a perturbed input ----------------------------


def perturbation(case: Mapping[str, Any], n: int, d: int) -> list[list[Any]]:
    """E with max_j ‖E_j‖ = 1, drawn from the case's seed (after the sublayer's draws)."""
    g = torch.Generator().manual_seed(int(case["seed"]) + 7919)
    rows = tensor_to_lists(torch.randn(n, d, generator=g, dtype=torch.float64))
    with working_precision(30):
        top = max(norm2(r, 30) for r in rows)
        return [[mpmath.mpf(v) / top for v in r] for r in rows]


def _perturbed(case: Mapping[str, Any], x: list[list[Any]], digits: int) -> tuple[Any, Any]:
    """(δ, X̃ = X + δE): δ = 10^u·max_j‖x_j‖, or 0 when u is None."""
    with working_precision(digits):
        u = case.get("log10_delta")
        if u is None:
            return mpmath.mpf(0), x
        delta = mpmath.power(10, mpmath.mpf(u)) * max(norm2(r, digits) for r in x)
        e = perturbation(case, len(x), len(x[0]))
        return delta, [
            [a + delta * b for a, b in zip(r, s, strict=True)] for r, s in zip(x, e, strict=True)
        ]


def attn_margin(residual: bool = True, rate: float = 1.0):
    """ln(δ′ + rounding) − ln max_i ‖A_τ(X̃)_i − A_∞(X)_i‖ (``residual=False`` drops the
    δ carried by the residual, ``rate`` ≠ 1 claims e^{−rate·τγ}: negative controls)."""

    def margin(case: Mapping[str, Any], digits: int) -> Any:
        w0 = sublayer_weights(case, "mha")
        n_heads, d_head = int(case["n_heads"]), int(case["d_head"])
        rho, tau0 = mpmath.mpf(case["rho"]), float(10 ** float(case["log10_tau"]))
        with working_precision(digits):
            w = w0.at(rho)
            x = w.get("x", digits)
            parts = AttentionParts.read(w, "sub", "norm", n_heads, d_head, digits)
            _, scores = attention_branch(x, parts, keep_for(case, len(x)), None, digits)
            spread = max(max(r) - min(r) for h in scores for r in h)
        work = guard_digits(digits, exp_loss(tau0 * spread))
        with working_precision(work):
            w = w0.at(rho)
            x = w.get("x", work)
            parts = AttentionParts.read(w, "sub", "norm", n_heads, d_head, work)
            keep = keep_for(case, len(x))
            tau = scale_from_log10(case["log10_tau"], work)
            delta, xt = _perturbed(case, x, work)
            try:
                sat = attention_sublayer(x, parts, keep, None, work)
                out = attention_sublayer(xt, parts, keep, tau, work)
                bound = attention_step_bound(x, delta, parts, keep, work, tau, rate)
            except HomogeneityInputError:
                return vacuous("a row of W^o H is constant: LN is undefined here")
            lhs = max(distance(a, b, work) for a, b in zip(out, sat, strict=True))
            allowance = rounding_allowance(work, *[v for r in sat for v in r])
            if lhs <= allowance:
                return vacuous("the sublayer output did not move (to the working precision)")
            return log_margin((bound if residual else bound - delta) + allowance, lhs, work)

    return margin


def ff_margin(residual: bool = True):
    """ln(δ′ + rounding) − ln max_i ‖F(Ỹ)_i − F(Y)_i‖ (``residual=False``: control)."""

    def margin(case: Mapping[str, Any], digits: int) -> Any:
        w0 = sublayer_weights(case, "ff")
        with working_precision(digits):
            w = w0.at(mpmath.mpf(case["rho"]))
            y = w.get("x", digits)
            parts = FeedForwardParts.read(w, "sub", "norm", digits)
            delta, yt = _perturbed(case, y, digits)
            try:
                base = ff_sublayer(y, parts, digits)
                out = ff_sublayer(yt, parts, digits)
                bound = ff_step_bound(y, delta, parts, digits)
            except HomogeneityInputError:
                return vacuous("a row of W^f ReLU(W^i Y) is constant: LN is undefined here")
            lhs = max(distance(a, b, digits) for a, b in zip(out, base, strict=True))
            allowance = rounding_allowance(digits, *[v for r in base for v in r])
            if lhs <= allowance:
                return vacuous("the sublayer output did not move (δ = 0)")
            return log_margin((bound if residual else bound - delta) + allowance, lhs, digits)

    return margin


def _deltas(zero: bool = True) -> st.SearchStrategy[float | None]:
    """log10 of δ/max_j‖x_j‖ in [−12, 1]; None (δ = 0) where that tests something."""
    options = [st.floats(-12.0, 1.0), st.sampled_from([-6.0, 0.0, 1.0])]
    return st.one_of(*options, st.just(None)) if zero else st.one_of(*options)


def attn_cases() -> st.SearchStrategy[dict[str, Any]]:
    return sublayer_cases(
        "mha", st.floats(0.5, 1.5), log10_tau=st.floats(0.0, 1.5), log10_delta=_deltas()
    )


def ff_cases() -> st.SearchStrategy[dict[str, Any]]:
    return sublayer_cases(
        "ff", st.floats(0.3, 4.0), d_ff=(3, 6), causal=False, log10_delta=_deltas(zero=False)
    )


#: a replayed T1*.scale case: an encoder case with ρ ≤ 8 and c ≤ 10^40
SCALE_SCHEMA = encoder_schema(8.0, log10_c=cs.Real(0.0, 40.0))
_SIZES = {"seed": cs.Integer(0, 2**31), "n": cs.Integer(1, 6), "d_model": cs.Integer(1, 6)}
#: log10 of the relative size of the input perturbation (null: none)
_DELTA = cs.Nullable(cs.Real(-40.0, 3.0))
#: a replayed T1*.attn case: a sublayer case with ρ ≤ 5 (the score spread, hence the
#: digits, grows like ρ²) and the temperature τ ≤ 10^3
ATTN_SCHEMA = cs.Record(
    {
        **_SIZES,
        "n_heads": cs.Integer(1, 3),
        "d_head": cs.Integer(1, 4),
        "causal": cs.Boolean(),
        "rho": cs.Real(1e-3, 5.0),
        "log10_tau": cs.Real(0.0, 3.0),
        "log10_delta": _DELTA,
    }
)
#: a replayed T1*.ff case: a sublayer case with ρ ≤ 8
FF_SCHEMA = cs.Record(
    {**_SIZES, "d_ff": cs.Integer(1, 8), "rho": cs.Real(1e-3, 8.0), "log10_delta": _DELTA}
)
_MHA = {"seed": 0, "n": 3, "d_model": 3, "n_heads": 1, "d_head": 2, "causal": False}
ATTN_CONSTRUCTIONS = (
    dict(_MHA, rho=2.0, log10_tau=0.0, log10_delta=None),
    dict(_MHA, rho=2.0, log10_tau=1.0, log10_delta=-9.0),
    dict(_MHA, seed=3, n_heads=2, rho=1.0, log10_tau=0.5, log10_delta=0.0),
    dict(_MHA, seed=5, rho=1.0, log10_tau=0.0, log10_delta=1.0),
    dict(_MHA, seed=3, rho=1.5, log10_tau=1.0, log10_delta=None),
)
FF_CONSTRUCTIONS = (
    {"seed": 0, "n": 3, "d_model": 3, "d_ff": 4, "rho": 1.0, "log10_delta": -3.0},
    {"seed": 1, "n": 2, "d_model": 4, "d_ff": 5, "rho": 3.0, "log10_delta": 0.0},
    {"seed": 0, "n": 3, "d_model": 3, "d_ff": 5, "rho": 1.0, "log10_delta": 1.0},
)


def attn_search(residual: bool = True, rate: float = 1.0, what: str = "") -> PropertySearch:
    return PropertySearch(
        claim_id="T1*.attn",
        strategy=attn_cases(),
        margin=attn_margin(residual, rate),
        search=(
            "attention sublayers (1–2 heads, d_model 2–4, 2–4 tokens, causal or not), "
            "θ = ρθ₀ with X and γ in θ, ρ ∈ [0.5, 1.5], τ = 10^v, v ∈ [0, 1.5], input "
            "rows moved by ≤ δ = 10^u max‖x_j‖, u ∈ [−12, 1] or δ = 0"
            + (f"; {what}" if what else "")
        ),
        constructions=ATTN_CONSTRUCTIONS,
        examples_scale=0.5,
        margin_label="ln(δ′ + rounding) − ln max_i ‖A_τ(X̃)_i − A_∞(X)_i‖",
        precision="mpmath (digits raised by τ·spread of the scores / ln 10)",
        describe=lambda c: repr(dict(c)),
    )


def ff_search(residual: bool = True, what: str = "") -> PropertySearch:
    return PropertySearch(
        claim_id="T1*.ff",
        strategy=ff_cases(),
        margin=ff_margin(residual),
        search=(
            "feed-forward sublayers (d_model 2–4, d_ff 2–6, 2–4 tokens), θ = ρθ₀ with Y and "
            "γ in θ, ρ ∈ [0.3, 4], input rows moved by ≤ δ = 10^u max‖y_j‖, u ∈ [−12, 1]"
            + (f"; {what}" if what else "")
        ),
        constructions=FF_CONSTRUCTIONS,
        examples_scale=0.5,
        margin_label="ln(δ′ + rounding) − ln max_i ‖F(Ỹ)_i − F(Y)_i‖",
        describe=lambda c: repr(dict(c)),
    )


CLAIMS = (
    Claim(
        id="T1*.scale",
        title="T1* step 0: f(cθ)/c is the encoder at inverse temperature c⁴",
        corrects="T1",
        statement=(
            "For every bias-free ReLU encoder with the paper's pre-norm and the LN of D9, "
            "every θ where it is defined and all c ≥ 1: f(cθ)/c = Φ_{c⁴}(θ), the encoder "
            "at θ with every query weight multiplied by c⁴ (softmax(c⁴S) in every head)."
        ),
        expected="verified",
        check=lambda ctx: check_property(scale_search(), ctx),
        replay=scale_margin,
        case_schema=SCALE_SCHEMA,
        explanation=(
            "The embedding has degree 1, Q and K degree 2, the scores degree 4, V degree "
            "2; bias-free linear maps add one, ReLU keeps the degree, the ε-free LN "
            "removes it and the gain γ restores degree 1. So only the scores' scale "
            "survives, as a temperature."
        ),
        negative_controls=(
            property_control(
                "mutated component: biases",
                "with biases the scores are not c⁴S: the identity must be refuted",
                lambda: scale_search(bias=True, what="biases"),
            ),
            property_control(
                "mutated component: GeLU",
                "GeLU is not 1-homogeneous: the identity must be refuted",
                lambda: scale_search(activation="gelu", what="GeLU"),
            ),
        ),
    ),
    Claim(
        id="T1*.attn",
        title="T1* step: attention sublayer with a perturbed input",
        corrects="T1",
        statement=(
            "For every bias-free attention sublayer A(X) = X + γ⊙LN(W^o[H₁; …]) (LN of "
            "D9), every input X at which LN(W^o H_∞(X)) is defined, every δ ≥ 0, every X̃ "
            "with ‖X̃_j − X_j‖ ≤ δ for all j and every τ ≥ 1: max_i ‖A_τ(X̃)_i − "
            "A_∞(X)_i‖ ≤ δ′(X, δ, τ), the attention step of docs/usage/t1_bound.md "
            "(A_τ: softmax(τS), A_∞: the generalised argmax)."
        ),
        expected="verified",
        check=lambda ctx: check_property(attn_search(), ctx),
        replay=attn_margin(),
        case_schema=ATTN_SCHEMA,
        negative_controls=(
            property_control(
                "residual term dropped",
                "δ′ without the δ the residual X carries must be refuted for large δ",
                lambda: attn_search(residual=False, what="residual dropped"),
            ),
            property_control(
                "wrong rate e^{−2τγ}",
                "a softmax term at twice its rate must be refuted (δ = 0)",
                lambda: attn_search(rate=2.0, what="rate 2"),
            ),
        ),
    ),
    Claim(
        id="T1*.ff",
        title="T1* step: feed-forward sublayer with a perturbed input",
        corrects="T1",
        statement=(
            "For every bias-free ReLU feed-forward sublayer F(Y) = Y + γ⊙LN(W^f ReLU(W^i "
            "Y)) (LN of D9), every Y at which it is defined, every δ ≥ 0 and every Ỹ with "
            "‖Ỹ_j − Y_j‖ ≤ δ for all j: max_i ‖F(Ỹ)_i − F(Y)_i‖ ≤ δ + ‖γ‖_∞ max_i "
            "min(2, 2‖W^f‖₂‖W^i‖₂δ/‖v_i − μ(v_i)‖), v_i = W^f ReLU(W^i Y_i)."
        ),
        expected="verified",
        check=lambda ctx: check_property(ff_search(), ctx),
        replay=ff_margin(),
        case_schema=FF_SCHEMA,
        negative_controls=(
            property_control(
                "residual term dropped",
                "δ′ without the δ the residual Y carries must be refuted for large δ",
                lambda: ff_search(residual=False, what="residual dropped"),
            ),
        ),
    ),
)
