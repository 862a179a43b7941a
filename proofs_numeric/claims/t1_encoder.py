"""T1: a bias-free transformer encoder with the paper's pre-norm is ∼1 in all its
parameters, at any depth (refuted under D3), and T1*: the relative-form bound that holds,
derived layer by layer from P4* and L5* (``docs/usage/t1_bound.md``; the steps are the
claims T1*.scale, T1*.attn and T1*.ff of :mod:`proofs_numeric.claims.t1_steps`).

Under D3 (absolute, c-uniform) the claim fails by the D3 collapse: f(cθ) − c f(θ) =
c (f(cθ)/c − f(θ)) and the bracket is a fixed non-zero vector (the softmax is never
exactly saturated), so the error is unbounded in c. The check finds c with error ≥ 1 and
replays it at several points of the ray (ρ·(1, 1.5, 2), c·(1, 100)).

T1*: for a bias-free ReLU encoder with the paper's pre-norm and the LN of D9, every token
i and all c ≥ 1, ‖f(cθ)_i/c − f(θ)_i‖ ≤ 2δ_L(θ), with δ_L computed from the saturated
encoder at θ alone (:func:`proofs_numeric.claims._t1_bound.encoder_bound`). The search
tries non-degenerate encoders only: d_model ≥ 3, heads of dimension ≥ 2 and distinct
tokens (with d_model = 2 the LN of D9 takes only the values ±(1, −1)/√2, one head
dimension and repeated tokens without positions make attention exactly tied: there the
encoder is often exactly homogeneous and the bound has nothing to bound).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import mpmath
from hypothesis import strategies as st

from homogeneity.errors import HomogeneityInputError
from proofs_numeric import case_schema as cs
from proofs_numeric.claim import Claim
from proofs_numeric.claims._d3 import rounding_allowance
from proofs_numeric.claims._encoders import (
    describe_encoder_case,
    encoder_cases,
    encoder_schema,
    mp_encoder,
    paper_config,
    paper_configs,
    score_digits,
)
from proofs_numeric.claims._t1_bound import encoder_bound, tempered
from proofs_numeric.claims._transformer import collapse_margin, max_row_distance, scale_exponents
from proofs_numeric.precision import working_precision
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

#: A refutation of T1 is replayed at ρ·(1, 1.5, 2) and c·(1, 100) past the chosen c.
RAY_RHO_FACTORS, RAY_LOG10_C_STEPS = (1.0, 1.5, 2.0), (0.0, 2.0)

FAST_Q, SLOW_Q = 1.5, 1.25


def paper_margin(case: Mapping[str, Any], digits: int) -> Any:
    """−ln max|f(cθ) − c f(θ)| at c of :func:`chosen_scale` (c ≈ 4/‖f_sat(θ) − f(θ)‖_∞
    unless the case fixes c; < 0: error ≥ 1).

    f(cθ)/c → f_sat(θ), the saturated encoder (exactly 1-homogeneous), so the D3 error
    c‖f(cθ)/c − f(θ)‖ ≈ c‖f_sat(θ) − f(θ)‖ reaches 4 at about c = 4/gap."""
    enc = mp_encoder(case)
    rho = mpmath.mpf(case["rho"])
    work = score_digits(enc, case["ids"], rho, digits)
    with working_precision(work):
        try:
            f1 = enc.at(rho).run(case["ids"], digits=work)
            fs = enc.at(rho).run(case["ids"], saturated=True, digits=work)
        except HomogeneityInputError:
            return vacuous("LN of a constant row: the encoder is undefined here")
        return collapse_margin(
            case,
            f1,
            fs,
            lambda c: enc.at(rho * c).run(case["ids"], digits=work),
            work,
            "exactly saturated: the encoder is exactly 1-homogeneous at θ",
        )


def paper_ray(case: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The points of the ray through a T1 counterexample that its replay checks."""
    return geometric_ray(
        {**case, "log10_c": case.get("log10_c", 0.0)},
        {"rho": RAY_RHO_FACTORS},
        {"log10_c": RAY_LOG10_C_STEPS},
    )


def bound_margin(rate: float = 1.0, temperature: float = 1.0):
    """ln(2δ_L + rounding) − ln max_i ‖f(cθ)_i/c − f(θ)_i‖ (vacuous where the saturated
    encoder is undefined, or f is exactly 1-homogeneous at θ to the working precision).

    ``rate`` ≠ 1 claims the faster rate e^{−rate·γ} in every softmax bound and
    ``temperature`` ≠ 1 evaluates an encoder whose softmaxes run at temperature T (its
    query weights divided by T) against the bound of the original: negative controls."""

    def margin(case: Mapping[str, Any], digits: int) -> Any:
        enc0 = mp_encoder(case)
        rho, ids = mpmath.mpf(case["rho"]), case["ids"]
        work = score_digits(enc0, ids, rho, digits, 4 * float(case["log10_c"]))
        with working_precision(work):
            c = scale_from_log10(case["log10_c"], work)
            enc = enc0.at(rho)
            try:
                bound = encoder_bound(enc, ids, work, rate).bound
                lhs_enc = tempered(enc, 1 / mpmath.mpf(temperature), work)
                f1 = lhs_enc.run(ids, digits=work)
                lhs_c = tempered(enc0.at(rho * c), 1 / mpmath.mpf(temperature), work)
                fc = lhs_c.run(ids, digits=work)
            except HomogeneityInputError:
                return vacuous("a layer norm's input row is constant: f is undefined here")
            err = max_row_distance(fc, f1, c, work)
            allowance = rounding_allowance(work, *[v for r in f1 for v in r])
            if err <= allowance:
                return vacuous("f is exactly 1-homogeneous at θ (to the working precision)")
            return log_margin(bound + allowance, err, work)

    return margin


def non_degenerate_cases() -> st.SearchStrategy[dict[str, Any]]:
    """The paper's setting without its degenerate corners: d_model ≥ 3, heads of
    dimension ≥ 2, distinct tokens, ReLU; θ = ρθ₀ with ρ ∈ [2, 4] (score gaps from O(1)
    to O(10²)), c = 10^v, v ∈ [0, 30] and c → 1⁺."""

    distinct_ids = st.tuples(st.integers(2, 3), st.permutations(range(4))).map(
        lambda nd: nd[1][: nd[0]]
    )
    return st.fixed_dictionaries(
        {
            "seed": st.integers(0, 2**20),
            "cfg": paper_configs(d_model=(3, 4), d_head=(2, 3)),
            "ids": distinct_ids,
            "rho": st.floats(2.0, 4.0),
            "log10_c": scale_exponents(30.0),
        }
    )


_ENCODER = cast(cs.Record, encoder_schema(32.0))
#: a replayed T1 case: an encoder case with ρ ≤ 32, and the c it fixes (the
#: non-counterexample) or the log10 c of a point of its ray
PAPER_SCHEMA = cs.Record(
    _ENCODER.fields,
    optional={**_ENCODER.optional, "c": cs.Real(1.0, 1e40), "log10_c": cs.Real(0.0, 40.0)},
)
#: a replayed T1* case: an encoder case with ρ ≤ 32 and c ≤ 10^40
BOUND_SCHEMA = encoder_schema(32.0, log10_c=cs.Real(0.0, 40.0))

PAPER_CONSTRUCTIONS = ({"seed": 0, "cfg": paper_config(), "ids": [1, 2, 0], "rho": 1.0},)
#: T1 holds here: c = 1.01 keeps the D3 error below 1 (a finite margin, not c = 1).
NON_COUNTEREXAMPLE = {"seed": 0, "cfg": paper_config(), "ids": [1, 2, 0], "rho": 0.5, "c": 1.01}
BOUND_CONSTRUCTIONS = (
    {"seed": 3, "cfg": paper_config(), "ids": [1, 2, 0], "rho": 3.0, "log10_c": 30.0},
    {"seed": 0, "cfg": paper_config(), "ids": [1, 2, 0], "rho": 3.0, "log10_c": 0.001},
    {"seed": 1, "cfg": paper_config(n_heads=2), "ids": [3, 1], "rho": 2.5, "log10_c": 6.0},
    {
        "seed": 4,
        "cfg": paper_config(n_layers=1, d_model=4, max_len=0),
        "ids": [0, 3, 2],
        "rho": 2.0,
        "log10_c": 12.0,
    },
)


def paper_search() -> PropertySearch:
    return PropertySearch(
        claim_id="T1",
        strategy=encoder_cases(True, st.floats(0.5, 1.5)),
        margin=paper_margin,
        search=(
            "bias-free paper-pre-norm encoders with the LN of D9 (1–2 layers, d_model 2–4, "
            "1–2 heads, ReLU/GeLU), θ = ρθ₀, ρ ∈ [0.5, 1.5]; c = 4/‖f_sat(θ) − f(θ)‖_∞ "
            "with f_sat the saturated encoder"
        ),
        constructions=PAPER_CONSTRUCTIONS,
        examples_scale=0.2,
        margin_label="−ln max|f(cθ) − c f(θ)| at the chosen c (< 0: error ≥ 1)",
        describe=lambda c: (
            f"seed {c['seed']}, cfg {c['cfg']}, ids {c['ids']}, ρ = "
            f"{c['rho']}: f(cθ) − c f(θ) grows linearly in c at every θ"
        ),
        ray=paper_ray,
    )


def bound_search(rate: float = 1.0, temperature: float = 1.0, what: str = "") -> PropertySearch:
    return PropertySearch(
        claim_id="T1*",
        strategy=non_degenerate_cases(),
        margin=bound_margin(rate, temperature),
        search=(
            "non-degenerate bias-free ReLU paper-pre-norm encoders with the LN of D9 "
            "(1–2 layers, d_model 3–4, 1–2 heads of dimension 2–3, 2–3 distinct tokens, "
            "with or without positions), θ = ρθ₀, ρ ∈ [2, 4], c = 10^v, v ∈ [0, 30] and "
            "c → 1⁺" + (f"; {what}" if what else "")
        ),
        constructions=BOUND_CONSTRUCTIONS,
        examples_scale=0.3,
        margin_label="ln(2δ_L + rounding) − ln max_i ‖f(cθ)_i/c − f(θ)_i‖",
        precision="mpmath (digits raised by the score spread / ln 10)",
        describe=describe_encoder_case,
    )


CLAIMS = (
    Claim(
        id="T1",
        title="Bias-free pre-norm encoder is ∼1 at any depth",
        statement=(
            "For every bias-free encoder with the paper's pre-norm (X + γ⊙LN(F(X)), LN "
            "of D9) and embedding input, at any depth, there are d > 0 and ρ with "
            "|f(cθ) − c f(θ)| ≤ e^{−d‖θ‖} for all c ≥ 1 and ‖θ‖ ≥ ρ (D3, all "
            "parameters)."
        ),
        expected="refuted",
        check=lambda ctx: check_property(paper_search(), ctx),
        replay=along_ray(paper_margin),
        case_schema=with_ray(PAPER_SCHEMA),
        describe=paper_search().describe,
        explanation=(
            "The D3 collapse: f(cθ)/c − f(θ) is a fixed non-zero vector, so the "
            "absolute error grows linearly in c. T1* gives what holds."
        ),
        negative_controls=(
            replay_control(
                "a non-counterexample is not replayed as one",
                "at ρ = 0.5 and c = 1.01 the D3 error is below 1 (a finite margin): the "
                "replay must find no violation",
                NON_COUNTEREXAMPLE,
                along_ray(paper_margin),
            ),
        ),
    ),
    Claim(
        id="T1*",
        title="Encoder: relative-form bound through P4* and L5*, uniform in c",
        corrects="T1",
        statement=(
            "For every bias-free ReLU encoder with the paper's pre-norm and the LN of D9 "
            "(any depth, embedding input), every θ at which its saturated encoder is "
            "defined, every token i and all c ≥ 1: ‖f(cθ)_i/c − f(θ)_i‖ ≤ 2δ_L(θ), where "
            "δ_L is computed layer by layer from the saturated encoder at θ (its score "
            "gaps, operator norms, gains and LN spreads; docs/usage/t1_bound.md). Along a "
            "ray θ = ρθ₀ the gaps grow like ρ⁴, so where every score row has a unique "
            "maximiser 2δ_L decays like e^{−Θ(ρ⁴)}: f is ∼1 in the relative, ray-wise "
            "sense, faster than exponentially."
        ),
        expected="verified",
        check=lambda ctx: check_property(bound_search(), ctx),
        replay=bound_margin(),
        case_schema=BOUND_SCHEMA,
        describe=bound_search().describe,
        explanation=(
            "f(cθ)/c is the same encoder at θ with every softmax at inverse temperature "
            "c⁴ (T1*.scale); the distance to the saturated encoder is propagated through "
            "each attention sublayer (P4* with a perturbed input, then L5*: T1*.attn) and "
            "each feed-forward sublayer (T1*.ff). With biases, post-norm, Pre-LN or an ε "
            "in the norm the rescaling identity fails (T1*.scale's controls) and the "
            "relative error decays only polynomially (degree table)."
        ),
        negative_controls=(
            property_control(
                "wrong rate e^{−2γ}",
                "claiming every softmax term decays at twice its rate must be refuted",
                lambda: bound_search(rate=2.0, what="claimed rate 2γ"),
            ),
            property_control(
                "mutated component: softmax(S/2)",
                "an encoder at temperature 2 converges at rate γ/2 and must violate the "
                "bound computed for the original",
                lambda: bound_search(temperature=2.0, what="temperature 2"),
            ),
        ),
    ),
)
