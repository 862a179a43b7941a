"""P5: the multi-head sublayer MSA(X) = γ ⊙ LN(W^o H) + X (D11) is ∼1 (refuted under D3),
and P5* with an explicit relative bound.

Under D3's absolute, c-uniform bound the claim fails at every θ where the attention is
not exactly saturated: MSA(cθ) − c MSA(θ) = c γ ⊙ (LN(Z(cθ)) − LN(Z(θ))) with
Z = W^o H, and the bracket is a fixed non-zero vector (of size ≈ e^{−gap}), so the error
grows linearly in c (the D3 collapse). The check finds c with error ≥ 1.

P5* (relative form, exact X): MSA(cθ)/c − MSA(θ) = γ ⊙ (LN(Z(cθ)) − LN(Z(θ))) and
LN(Z(cθ)) = LN(Z(cθ)/c³), so by L5* and P4*, for every token i and all c ≥ 1,

    ‖MSA(cθ)_i/c − MSA(θ)_i‖ ≤ 2‖γ‖_∞ ‖W^o‖_F · (Σ_h B_{h,i}²)^{1/2} / ‖Z_i(θ) − μ(Z_i(θ))‖

with B_{h,i} the P4* bound of head h at row i. The layer norm divides by the spread of
Z_i: the sublayer is ∼1 along rays where Z_i is not (nearly) constant.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mpmath
from hypothesis import strategies as st

from proofs_numeric import case_schema as cs
from proofs_numeric.claim import Claim
from proofs_numeric.claims._d3 import rounding_allowance
from proofs_numeric.claims._transformer import (
    collapse_margin,
    head_outputs,
    head_score_digits,
    keep_for,
    msa,
    row_head_bound,
    sublayer_cases,
    sublayer_schema,
    sublayer_weights,
)
from proofs_numeric.precision import (
    AttentionTrace,
    centre,
    distance,
    frobenius_norm,
    linear,
    norm2,
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

#: A refutation of P5 is replayed at ρ·(1, 1.5, 2) (‖θ‖ doubles, the gaps grow 16×) and
#: at c·(1, 100) beyond the chosen c: the error must stay ≥ 1 at every point.
RAY_RHO_FACTORS, RAY_LOG10_C_STEPS = (1.0, 1.5, 2.0), (0.0, 2.0)


def paper_ray(case: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The points of the ray through a P5 counterexample that its replay checks."""
    return geometric_ray(
        {**case, "log10_c": case.get("log10_c", 0.0)},
        {"rho": RAY_RHO_FACTORS},
        {"log10_c": RAY_LOG10_C_STEPS},
    )


def paper_margin(case: Mapping[str, Any], digits: int) -> Any:
    """−ln max|MSA(cθ) − c MSA(θ)| at c of :func:`chosen_scale` (< 0: error ≥ 1).

    MSA(cθ)/c → MSA_sat(θ) (argmax attention, exactly 1-homogeneous), so the D3 error
    c‖MSA(cθ)/c − MSA(θ)‖ ≈ c‖MSA_sat(θ) − MSA(θ)‖ reaches 4 at about c = 4/gap."""
    w0 = sublayer_weights(case, "mha")
    work = head_score_digits(w0, case, digits)
    with working_precision(work):
        rho = mpmath.mpf(case["rho"])
        return collapse_margin(
            case,
            msa(w0.at(rho), case, work),
            msa(w0.at(rho), case, work, saturated=True),
            lambda c: msa(w0.at(rho * c), case, work),
            work,
            "exactly saturated: MSA is exactly 1-homogeneous at θ",
        )


def corrected_margin(degree: int = 1, gain: bool = True):
    def margin(case: Mapping[str, Any], digits: int) -> Any:
        w0 = sublayer_weights(case, "mha")
        d_head = int(case["d_head"])
        work = head_score_digits(w0, case, digits, degree * float(case["log10_c"]))
        with working_precision(work):
            rho, c = mpmath.mpf(case["rho"]), scale_from_log10(case["log10_c"], work)
            w = w0.at(rho)
            trace: list[AttentionTrace] = []
            heads = head_outputs(w, case, work, trace)
            m1, mc = msa(w, case, work, gain), msa(w0.at(rho * c), case, work, gain)
            x = w.get("x", work)
            keep = keep_for(case, len(x))
            v = linear(x, w.get("sub.value.weight", work), digits=work)
            wo = w.get("sub.output.weight", work)
            wo_f = frobenius_norm(wo, work)
            g_inf = max(abs(t) for t in w.get("norm.weight", work))
            z = linear(heads, wo, digits=work)
            ck = mpmath.power(c, degree)
            worst = mpmath.inf
            for i in range(len(x)):
                heads_bound = row_head_bound(trace[0].scores, i, keep[i], v, d_head, work)
                spread = norm2(centre(z[i], work), work)
                bound = 2 * g_inf * wo_f * heads_bound / spread
                lhs = distance([a / ck for a in mc[i]], m1[i], work)
                worst = min(worst, log_margin(bound + rounding_allowance(work, *m1[i]), lhs, work))
            return worst

    return margin


PAPER_CONSTRUCTIONS = (
    {
        "seed": 0,
        "n": 3,
        "d_model": 3,
        "n_heads": 2,
        "d_head": 2,
        "rho": 1.5,
        "log10_c": 0.0,
        "causal": False,
    },
)
CORRECTED_CONSTRUCTIONS = (
    {
        "seed": 4,
        "n": 3,
        "d_model": 3,
        "n_heads": 2,
        "d_head": 2,
        "rho": 2.0,
        "log10_c": 5.0,
        "causal": False,
    },
    {
        "seed": 5,
        "n": 4,
        "d_model": 2,
        "n_heads": 1,
        "d_head": 2,
        "rho": 1.0,
        "log10_c": 0.3,
        "causal": True,
    },
)


def paper_search() -> PropertySearch:
    return PropertySearch(
        claim_id="P5",
        strategy=sublayer_cases("mha", st.floats(0.5, 2.5), st.just(0.0)),
        margin=paper_margin,
        search=(
            "multi-head sublayers (1–2 heads, d_model 2–4, 2–4 tokens), θ = ρθ₀ with X "
            "and γ in θ, ρ ∈ [0.5, 2.5]; c = 4/‖MSA_sat(θ) − MSA(θ)‖_∞"
        ),
        constructions=PAPER_CONSTRUCTIONS,
        examples_scale=0.3,
        margin_label="−ln max|MSA(cθ) − c MSA(θ)| at the chosen c (< 0: error ≥ 1)",
        describe=lambda c: (
            f"seed {c['seed']}, ρ = {c['rho']}: |MSA(cθ) − c MSA(θ)| grows "
            f"linearly in c (never exactly saturated softmax), so no d > 0 "
            f"works at any ‖θ‖"
        ),
        ray=paper_ray,
    )


def corrected_search(degree: int = 1, gain: bool = True, what: str = "") -> PropertySearch:
    return PropertySearch(
        claim_id="P5*",
        strategy=sublayer_cases("mha", st.floats(0.3, 2.5), st.floats(0.0, 30.0)),
        margin=corrected_margin(degree, gain),
        search=(
            "multi-head sublayers (1–2 heads, d_model 2–4, 2–4 tokens, causal or not), "
            "θ = ρθ₀, ρ ∈ [0.3, 2.5], c = 10^v, v ∈ [0, 30]" + (f"; {what}" if what else "")
        ),
        constructions=CORRECTED_CONSTRUCTIONS,
        examples_scale=0.4,
        margin_label="min over tokens of ln(bound + rounding) − ln ‖MSA(cθ)_i/c − MSA(θ)_i‖",
        describe=lambda c: f"seed {c['seed']}, ρ = {c['rho']}, c = 10^{c['log10_c']}",
    )


CLAIMS = (
    Claim(
        id="P5",
        title="Multi-head sublayer of a ∼1 input is ∼1",
        statement=(
            "If X is ∼1 in θ (D3), then MSA(X) = γ ⊙ LN(W^o[H₁;…;H_h]) + X (D11) is "
            "∼1 in all parameters: there are d > 0, ρ with |MSA(cθ) − c MSA(θ)| ≤ "
            "e^{−d‖θ‖} for all c ≥ 1, ‖θ‖ ≥ ρ."
        ),
        expected="refuted",
        check=lambda ctx: check_property(paper_search(), ctx),
        replay=along_ray(paper_margin),
        case_schema=with_ray(
            sublayer_schema("mha", 5.0, 40.0),
            rho=cs.Real(1e-3, 10.0),
            log10_c=cs.Real(0.0, 42.0),
        ),
        describe=paper_search().describe,
        explanation=(
            "c γ ⊙ (LN(Z(cθ)) − LN(Z(θ))) grows linearly in c because the softmax is "
            "never exactly saturated; D3's c-uniform absolute bound cannot hold (D3 "
            "collapse). The relative form holds with the bound of P5*."
        ),
        negative_controls=(
            replay_control(
                "a non-counterexample is not replayed as one",
                "at c = 1.01 the error c‖MSA(cθ)/c − MSA(θ)‖ is below 1 (a finite "
                "margin): the replay must find no violation",
                dict(PAPER_CONSTRUCTIONS[0], rho=0.5, c=1.01),
                along_ray(paper_margin),
            ),
        ),
    ),
    Claim(
        id="P5*",
        title="Multi-head sublayer: ∼1 with a bound through P4* and L5*",
        corrects="P5",
        statement=(
            "If X is exactly 1-homogeneous in θ, then for all c ≥ 1, every θ and every "
            "token i: ‖MSA(cθ)_i/c − MSA(θ)_i‖ ≤ 2‖γ‖_∞‖W^o‖_F (Σ_h B_{h,i}²)^{1/2}/"
            "‖Z_i(θ) − μ(Z_i(θ))‖, with Z = W^o H and B_{h,i} the P4* bound of head h; "
            "so MSA is ∼1 (relative form) along rays where the score gaps grow and Z_i "
            "is not constant."
        ),
        expected="verified",
        check=lambda ctx: check_property(corrected_search(), ctx),
        replay=corrected_margin(),
        case_schema=sublayer_schema("mha", 5.0, 40.0),
        describe=corrected_search().describe,
        negative_controls=(
            property_control("wrong degree 2", "MSA is not ∼2", lambda: corrected_search(2)),
            property_control(
                "mutated component: no gain γ",
                "LN(Z) + X adds a degree-0 to a degree-1 term: must fail",
                lambda: corrected_search(1, False, "γ removed"),
            ),
        ),
    ),
)
