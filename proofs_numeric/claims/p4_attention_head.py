"""P4: the attention head of D10 is ∼1 when its input is ∼1 (refuted), and P4*.

Degree count: with X 1-homogeneous in θ and W^q, W^k, W^v in θ, Q = X W^qᵀ and K have
degree 2, the scores S = QKᵀ/√d_k degree 4, softmax(S) degree ∼0 and V = X W^vᵀ degree 2,
so H = softmax(S) V has degree 2, not 1: H(cθ) − c H(θ) ≈ (c² − c) H(θ) is unbounded in c
(and by the D3 collapse, degree 2 is not ∼ in the literal D3 sense either, since the
softmax is never exactly saturated). ``homogeneity.rules.predict_degree`` on an
``AttentionHead`` with input degree 1 also gives ∼2.

P4* (exact X, relative form). With S(cθ) = c⁴S(θ) and V(cθ) = c²V(θ),
H(cθ)/c² − H(θ) = (softmax(c⁴S) − softmax(S)) V, and each row of softmax(ρS) lies within
ℓ1 distance 2(|V_i|−|M_i|)e^{−ργ_i}/|M_i| of argmax(S_i) (tail bound), so for all c ≥ 1:

    ‖H(cθ)_i/c² − H(θ)_i‖₂ ≤ 4(|V_i| − |M_i|)/|M_i| · e^{−γ_i(θ)} · max_j ‖V_j(θ)‖₂

per head (rows of several heads add in quadrature), γ_i(θ) = ‖θ‖⁴ γ_i(θ̂) the gap of
score row i. The head is ∼2 along every ray, uniformly on cones where the gaps are
bounded below, and not uniformly near ties.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mpmath
from hypothesis import strategies as st

from homogeneity.components import AttentionHead
from homogeneity.rules import predict_degree
from proofs_numeric import case_schema as cs
from proofs_numeric.claim import Claim
from proofs_numeric.claims._d3 import rounding_allowance
from proofs_numeric.claims._transformer import (
    head_outputs,
    head_score_digits,
    keep_for,
    max_scaled_error,
    row_head_bound,
    sublayer_cases,
    sublayer_schema,
    sublayer_weights,
    with_tempered_queries,
)
from proofs_numeric.precision import (
    AttentionTrace,
    Weights,
    distance,
    guard_digits,
    linear,
    working_precision,
)
from proofs_numeric.search import (
    PropertySearch,
    along_ray,
    check_property,
    geometric_ray,
    log_margin,
    property_control,
    replay_control,
    scale_from_log10,
    with_ray,
)

#: The points of the ray that a refutation of P4 is replayed at: ρ·(1, 4, 16) (‖θ‖ grows
#: by 16×) and c·(1, 10) (the error must not shrink along either).
RAY_RHO_FACTORS, RAY_LOG10_C_STEPS = (1.0, 4.0, 16.0), (0.0, 1.0)


def _point(case: Mapping[str, Any], value_bias: bool = False) -> Weights:
    return sublayer_weights(case, "mha", value_bias)


def paper_margin(case: Mapping[str, Any], digits: int) -> Any:
    """−ln max_entry |H(cθ) − c H(θ)|: < 0 means an error ≥ 1 > e^{−d‖θ‖} for every d > 0."""
    w0 = _point(case)
    work = guard_digits(digits)
    with working_precision(work):
        rho, c = mpmath.mpf(case["rho"]), scale_from_log10(case["log10_c"], work)
        h1 = head_outputs(w0.at(rho), case, work)
        hc = head_outputs(w0.at(rho * c), case, work)
        return log_margin(mpmath.mpf(1), max_scaled_error(hc, h1, c), work)


def corrected_margin(degree: int = 2, value_bias: bool = False, temperature: float = 1.0):
    def margin(case: Mapping[str, Any], digits: int) -> Any:
        w0 = _point(case, value_bias)
        lhs_w0 = with_tempered_queries(w0, temperature) if temperature != 1.0 else w0
        d_head = int(case["d_head"])
        rho, log10_c = mpmath.mpf(case["rho"]), case["log10_c"]
        work = head_score_digits(w0, case, digits, degree * float(log10_c))
        with working_precision(work):
            c = scale_from_log10(log10_c, work)
            w = w0.at(rho)
            trace: list[AttentionTrace] = []
            h1 = head_outputs(w, case, work, trace)
            hc = head_outputs(lhs_w0.at(rho * c), case, work)
            h1m = head_outputs(lhs_w0.at(rho), case, work) if lhs_w0 is not w0 else h1
            x = w.get("x", work)
            v = linear(x, w.get("sub.value.weight", work), w.maybe("sub.value.bias", work), work)
            keep = keep_for(case, len(x))
            ck = mpmath.power(c, degree)
            allowance = rounding_allowance(work, *[t for r in h1 for t in r])
            worst = mpmath.inf
            for i in range(len(x)):
                # (Σ_h ‖error of head h‖²)^{1/2} is the error of the whole row of [H₁; …; H_h]
                lhs = distance([a / ck for a in hc[i]], h1m[i], work)
                bound = row_head_bound(trace[0].scores, i, keep[i], v, d_head, work)
                worst = min(worst, log_margin(bound + allowance, lhs, work))
            return worst

    return margin


PAPER_CONSTRUCTIONS = (
    {
        "seed": 0,
        "n": 3,
        "d_model": 3,
        "n_heads": 1,
        "d_head": 2,
        "rho": 2.0,
        "log10_c": 3.0,
        "causal": False,
    },
)
#: P4 holds here (error < 1 at c > 1, not the trivial c = 1 where every head has error 0).
NON_COUNTEREXAMPLE = dict(PAPER_CONSTRUCTIONS[0], rho=0.3, log10_c=0.01)
CORRECTED_CONSTRUCTIONS = (
    {
        "seed": 1,
        "n": 3,
        "d_model": 3,
        "n_heads": 1,
        "d_head": 2,
        "rho": 2.5,
        "log10_c": 6.0,
        "causal": False,
    },
    {
        "seed": 2,
        "n": 4,
        "d_model": 2,
        "n_heads": 2,
        "d_head": 1,
        "rho": 1.5,
        "log10_c": 0.5,
        "causal": True,
    },
    {
        "seed": 3,
        "n": 2,
        "d_model": 4,
        "n_heads": 1,
        "d_head": 3,
        "rho": 0.5,
        "log10_c": 12.0,
        "causal": False,
    },
)


def paper_search() -> PropertySearch:
    return PropertySearch(
        claim_id="P4",
        strategy=sublayer_cases("mha", st.floats(0.3, 3.0), st.floats(1.0, 30.0)),
        margin=paper_margin,
        search=(
            "heads with 1–2 heads, d_model 2–4, 2–4 tokens (causal or not), θ = ρθ₀ with "
            "θ₀ the package initialisation and X a parameter, ρ ∈ [0.3, 3], c = 10^v"
        ),
        constructions=PAPER_CONSTRUCTIONS,
        margin_label="−ln max|H(cθ) − cH(θ)| (< 0: error ≥ 1, above e^{−d‖θ‖} for every d)",
        precision="mpmath",
        examples_scale=0.5,
        describe=lambda c: (
            f"seed {c['seed']}, ρ = {c['rho']}, c = 10^{c['log10_c']}: the "
            f"error grows like (c² − c)‖H(θ)‖ along the whole ray ρθ₀"
        ),
        ray=paper_ray,
    )


def paper_ray(case: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The points ρ·(1, 4, 16) × c·(1, 10) of the ray through a P4 counterexample: the
    error (c² − c)‖H(θ)‖ ≥ 1 at every one of them refutes every (d, ρ)."""
    return geometric_ray(case, {"rho": RAY_RHO_FACTORS}, {"log10_c": RAY_LOG10_C_STEPS})


def corrected_search(
    degree: int = 2, value_bias: bool = False, temperature: float = 1.0, what: str = ""
) -> PropertySearch:
    return PropertySearch(
        claim_id="P4*",
        strategy=sublayer_cases("mha", st.floats(0.3, 3.0), st.floats(0.0, 30.0)),
        margin=corrected_margin(degree, value_bias, temperature),
        search=(
            "heads with 1–2 heads, d_model 2–4, 2–4 tokens (causal or not), θ = ρθ₀, "
            "ρ ∈ [0.3, 3] (score gaps up to ~10³), c = 10^v, v ∈ [0, 30]"
            + (f"; {what}" if what else "")
        ),
        constructions=CORRECTED_CONSTRUCTIONS,
        examples_scale=0.5,
        margin_label="min over query rows of ln(bound + rounding) − ln ‖H(cθ)_i/c² − H(θ)_i‖",
        precision="mpmath (digits raised by the score spread / ln 10)",
        describe=lambda c: f"seed {c['seed']}, ρ = {c['rho']}, c = 10^{c['log10_c']}",
    )


def _rules_note() -> str:
    head = AttentionHead(3, 2, bias=False)
    degree = predict_degree(head, 1).degree
    return f"homogeneity.rules.predict_degree(AttentionHead, input degree 1): {degree}"


CLAIMS = (
    Claim(
        id="P4",
        title="Attention head of a ∼1 input is ∼1",
        statement=(
            "If the input X is ∼1 in θ (D3), then the head H = softmax(QKᵀ/√d_k) V of "
            "D10 is ∼1 in (θ, W^k, W^q, W^v): there are d > 0, ρ with |H(cθ) − c H(θ)| "
            "≤ e^{−d‖θ‖} (entrywise) for all c ≥ 1, ‖θ‖ ≥ ρ."
        ),
        expected="refuted",
        check=lambda ctx: check_property(paper_search(), ctx, notes=_rules_note()),
        replay=along_ray(paper_margin),
        case_schema=with_ray(
            sublayer_schema("mha", 5.0, 40.0),
            rho=cs.Real(1e-3, 80.0),
            log10_c=cs.Real(0.0, 41.0),
        ),
        describe=paper_search().describe,
        explanation=(
            "V = X W^vᵀ already has degree 2, so H has degree 2: H(cθ) ≈ c²H(θ). "
            "The package's degree rules predict ∼2 as well."
        ),
        negative_controls=(
            replay_control(
                "a non-counterexample is not replayed as one",
                "at ρ = 0.3 and c = 10^0.01 the error is ≈ 1e−3 < 1 (a finite margin ≈ 6): "
                "the replay must find no violation",
                NON_COUNTEREXAMPLE,
                along_ray(paper_margin),
            ),
        ),
    ),
    Claim(
        id="P4*",
        title="Attention head: ∼2 with a gap-controlled error",
        corrects="P4",
        statement=(
            "If X is exactly 1-homogeneous in θ (e.g. an embedding), then for all "
            "c ≥ 1, every θ and every query row i (visible keys V_i, maximisers M_i of "
            "the score row S_i(θ), gap γ_i(θ)): ‖H(cθ)_i/c² − H(θ)_i‖₂ ≤ 4(|V_i| − "
            "|M_i|)/|M_i|·e^{−γ_i(θ)}·max_j ‖V_j(θ)‖₂ per head. Since γ_i(ρθ̂) = "
            "ρ⁴γ_i(θ̂), H is ∼2 (relative form) along every ray, uniformly on cones with "
            "gaps bounded below."
        ),
        expected="verified",
        check=lambda ctx: check_property(corrected_search(), ctx),
        replay=corrected_margin(),
        case_schema=sublayer_schema("mha", 5.0, 40.0),
        describe=corrected_search().describe,
        negative_controls=(
            property_control(
                "wrong degree 1",
                "the paper's degree must be refuted",
                lambda: corrected_search(1, what="claimed degree 1"),
            ),
            property_control(
                "mutated component: value bias",
                "V = W^v X + b breaks the degree of V; the bound must fail",
                lambda: corrected_search(value_bias=True, what="value bias"),
            ),
            property_control(
                "mutated component: softmax(S/2)",
                "a head at temperature 2 converges at rate γ/2: must fail",
                lambda: corrected_search(temperature=2.0, what="temperature 2"),
            ),
        ),
    ),
)
