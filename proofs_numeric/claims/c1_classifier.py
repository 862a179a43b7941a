"""C1: a ∼1 encoder followed by a linear classifier is ∼2.

True as an implication. Under D3 a ∼1 encoder is exactly 1-homogeneous on ‖θ‖ ≥ ρ (the
D3 collapse), so C = W f₀ (W ∈ θ, no bias) is exactly 2-homogeneous there. In the relative
form the error transfers exactly, because C(cθ)/c² = (cW) f₀(cθ)/c² = W f₀(cθ)/c:

    ‖C(cθ)/c² − C(θ)‖ ≤ ‖W‖_F ‖f₀(cθ)/c − f₀(θ)‖    for all c ≥ 1.

Checked on real encoders (the paper's setting, where T1* shows the right-hand side decays
faster than exponentially), first-token pooling. A classifier bias b adds b(1/c − 1):
C is then not ∼2 (negative control).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mpmath
from hypothesis import strategies as st

from homogeneity.errors import HomogeneityInputError
from proofs_numeric import case_schema as cs
from proofs_numeric.claim import Claim
from proofs_numeric.claims._d3 import rounding_allowance
from proofs_numeric.claims._encoders import (
    encoder_cases,
    encoder_schema,
    head_weights,
    mp_encoder,
    pooled_logits,
    score_digits,
)
from proofs_numeric.precision import distance, frobenius_norm, working_precision
from proofs_numeric.search import (
    PropertySearch,
    check_property,
    log_margin,
    property_control,
    scale_from_log10,
)


def margin_for(degree: int = 2, bias: bool = False):
    def margin(case: Mapping[str, Any], digits: int) -> Any:
        enc, head = mp_encoder(case), head_weights(case, bias)
        rho = mpmath.mpf(case["rho"])
        work = score_digits(enc, case["ids"], rho, digits, 2 * float(case["log10_c"]))
        with working_precision(work):
            c = scale_from_log10(case["log10_c"], work)
            try:
                h1 = enc.at(rho).run(case["ids"], digits=work)[0]
                hc = enc.at(rho * c).run(case["ids"], digits=work)[0]
            except HomogeneityInputError:
                return mpmath.inf  # LN of a constant row: the encoder is undefined here
            c1 = pooled_logits(enc.at(rho), head.at(rho), case["ids"], work)
            cc = pooled_logits(enc.at(rho * c), head.at(rho * c), case["ids"], work)
            ck = mpmath.power(c, degree)
            lhs = distance([a / ck for a in cc], c1, work)
            w_f = frobenius_norm(head.at(rho).get("proj.weight", work), work)
            rhs = w_f * distance([a / c for a in hc], h1, work)
            return log_margin(rhs + rounding_allowance(work, *c1), lhs, work)

    return margin


def cases() -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda base, lc: dict(base, log10_c=lc),
        encoder_cases(True, st.floats(0.5, 2.0)),
        st.floats(0.0, 12.0),
    )


#: a replayed case: an encoder case of T1 with ρ ≤ 4 and c ≤ 10^15
CASE_SCHEMA = encoder_schema(4.0, log10_c=cs.Real(0.0, 15.0))

CONSTRUCTIONS = (
    {
        "seed": 0,
        "cfg": {
            "vocab_size": 4,
            "d_model": 3,
            "n_heads": 1,
            "d_head": 2,
            "d_ff": 5,
            "n_layers": 2,
            "max_len": 3,
            "placement": "paper-prenorm",
            "norm": "proof",
            "bias": False,
            "activation": "relu",
        },
        "ids": [1, 2, 0],
        "rho": 1.0,
        "log10_c": 0.3,
    },
)


def search(degree: int = 2, bias: bool = False, what: str = "") -> PropertySearch:
    return PropertySearch(
        claim_id="C1",
        strategy=cases(),
        margin=margin_for(degree, bias),
        search=(
            "bias-free paper-pre-norm encoders (1–2 layers, ReLU/GeLU) with a linear "
            "classifier on the first token, θ = ρθ₀ (all parameters), ρ ∈ [0.5, 2], "
            "c = 10^v, v ∈ [0, 12]" + (f"; {what}" if what else "")
        ),
        constructions=CONSTRUCTIONS,
        examples_scale=0.3,
        margin_label="ln(‖W‖_F ‖f₀(cθ)/c − f₀(θ)‖ + rounding) − ln ‖C(cθ)/c² − C(θ)‖",
        describe=lambda c: f"seed {c['seed']}, cfg {c['cfg']}, ρ = {c['rho']}",
    )


CLAIMS = (
    Claim(
        id="C1",
        title="Classifier on a ∼1 encoder is ∼2",
        statement=(
            "If the encoder f is ∼1 in θ, the classifier C(θ) = W f₀(θ) (W ∈ θ, no "
            "bias, first-token pooling) is ∼2: for all c ≥ 1, ‖C(cθ)/c² − C(θ)‖ ≤ "
            "‖W‖_F ‖f₀(cθ)/c − f₀(θ)‖ (relative form), and C is exactly 2-homogeneous "
            "wherever f is exactly 1-homogeneous (D3, by the collapse)."
        ),
        expected="verified",
        check=lambda ctx: check_property(search(), ctx),
        replay=margin_for(),
        case_schema=CASE_SCHEMA,
        describe=search().describe,
        negative_controls=(
            property_control("wrong degree 1", "C is not ∼1", lambda: search(1)),
            property_control(
                "mutated component: classifier bias",
                "a bias adds b(1/c − 1) and must break the transfer",
                lambda: search(2, True, "classifier bias"),
            ),
        ),
    ),
)
