"""C1: a ∼1 encoder followed by a linear classifier is ∼2.

True, and under D3 it is a statement about exact homogeneity: by the D3 collapse a ∼1
encoder is exactly 1-homogeneous on ‖θ‖ ≥ ρ, so C = W f₀ (W ∈ θ, no bias) is exactly
2-homogeneous there: C(cθ) = (cW) f₀(cθ) = c² W f₀(θ). The check tests that exactness
where the package's encoders are exactly 1-homogeneous (the saturated encoder, argmax
attention, of a bias-free ReLU paper-pre-norm encoder, and the encoder itself on a
one-token input), to the rounding of the working precision: any classifier bias, a wrong
degree, or classifier weights not scaled with θ fail it by hundreds of nats.

(The relative form, ‖C(cθ)/c² − C(θ)‖ ≤ ‖W‖₂‖f₀(cθ)/c − f₀(θ)‖, is an identity plus the
operator-norm inequality; a check of it could only fail by rounding, so it is not one.)
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
    paper_config,
    score_digits,
)
from proofs_numeric.claims._transformer import scale_exponents
from proofs_numeric.precision import classifier, working_precision
from proofs_numeric.search import (
    PropertySearch,
    check_property,
    log_margin,
    property_control,
    scale_from_log10,
    vacuous,
)


def margin_for(degree: int = 2, bias: bool = False, head_in_theta: bool = True):
    """ln(rounding allowance) − ln max_k |C(cθ)_k − c^k C(θ)_k| where the encoder is
    exactly 1-homogeneous: its saturated form (``case["exact"] == "saturated"``) or a
    one-token input (``"one-token"``). ``degree``, ``bias`` and ``head_in_theta=False``
    (W not scaled with θ) are the negative controls."""

    def margin(case: Mapping[str, Any], digits: int) -> Any:
        enc, head = mp_encoder(case), head_weights(case, bias)
        saturated = case["exact"] == "saturated"
        ids = case["ids"] if saturated else case["ids"][:1]
        rho, log10_c = mpmath.mpf(case["rho"]), float(case["log10_c"])
        # the scores at cθ are c⁴ S: their rounding must stay below the score gaps
        work = score_digits(enc, ids, rho, digits, 4 * log10_c)
        with working_precision(work):
            c = scale_from_log10(log10_c, work)
            head_c = head.at(rho * c) if head_in_theta else head.at(rho)
            try:
                c1 = classifier(enc.at(rho), head.at(rho), ids, saturated=saturated, digits=work)
                cc = classifier(enc.at(rho * c), head_c, ids, saturated=saturated, digits=work)
            except HomogeneityInputError:
                return vacuous("LN of a constant row: the encoder is undefined here")
            ck = mpmath.power(c, degree)
            err = max(abs(a - ck * b) for a, b in zip(cc, c1, strict=True))
            return log_margin(rounding_allowance(work, *[ck * b for b in c1]), err, work)

    return margin


def cases() -> st.SearchStrategy[dict[str, Any]]:
    relu = encoder_cases(True, st.floats(0.5, 2.0)).filter(
        lambda c: c["cfg"]["activation"] == "relu"
    )
    return st.builds(
        lambda base, exact, lc: dict(base, exact=exact, log10_c=lc),
        relu,
        st.sampled_from(["saturated", "one-token"]),
        scale_exponents(12.0),
    )


#: a replayed case: an encoder case of T1 with ρ ≤ 4, c ≤ 10^15 and where it is exact
CASE_SCHEMA = encoder_schema(
    4.0, log10_c=cs.Real(0.0, 15.0), exact=cs.Choice(("saturated", "one-token"))
)

CONSTRUCTIONS = (
    {
        "seed": 0,
        "cfg": paper_config(),
        "ids": [1, 2, 0],
        "rho": 1.0,
        "exact": "saturated",
        "log10_c": 0.3,
    },
)


def search(
    degree: int = 2, bias: bool = False, head_in_theta: bool = True, what: str = ""
) -> PropertySearch:
    constructions = CONSTRUCTIONS + (dict(CONSTRUCTIONS[0], exact="one-token", log10_c=12.0),)
    return PropertySearch(
        claim_id="C1",
        strategy=cases(),
        margin=margin_for(degree, bias, head_in_theta),
        search=(
            "bias-free ReLU paper-pre-norm encoders with the LN of D9 (1–2 layers) where "
            "they are exactly 1-homogeneous (saturated attention, or one-token inputs), a "
            "linear classifier W ∈ θ on the first token, θ = ρθ₀, ρ ∈ [0.5, 2], c = 10^v, "
            "v ∈ [0, 12] and c → 1⁺; exactness to the rounding of the working precision"
            + (f"; {what}" if what else "")
        ),
        constructions=constructions,
        examples_scale=0.3,
        margin_label="ln(rounding allowance) − ln max|C(cθ) − c² C(θ)|",
        precision="mpmath (digits raised by the score spread and 4·log10 c)",
        describe=lambda c: f"seed {c['seed']}, cfg {c['cfg']}, ρ = {c['rho']}, {c['exact']}",
    )


CLAIMS = (
    Claim(
        id="C1",
        title="Classifier on a ∼1 encoder is ∼2",
        statement=(
            "If the encoder f is ∼1 in θ (D3), the classifier C(θ) = W f₀(θ) (W ∈ θ, no "
            "bias, first-token pooling) is ∼2 (D3): by the D3 collapse f is exactly "
            "1-homogeneous on ‖θ‖ ≥ ρ, and there C(cθ) = c²C(θ) for all c ≥ 1 (checked to "
            "the rounding of the working precision where f is exactly 1-homogeneous)."
        ),
        expected="verified",
        check=lambda ctx: check_property(search(), ctx),
        replay=margin_for(),
        case_schema=CASE_SCHEMA,
        describe=search().describe,
        explanation=(
            "Under D3 the claim is its exactness part: a ∼1 encoder is exactly "
            "1-homogeneous, and (cW) f₀(cθ) = c² W f₀(θ). In the relative form the error "
            "transfers by the identity C(cθ)/c² − C(θ) = W(f₀(cθ)/c − f₀(θ)), so "
            "‖C(cθ)/c² − C(θ)‖ ≤ ‖W‖₂ ‖f₀(cθ)/c − f₀(θ)‖, which only rounding could break."
        ),
        negative_controls=(
            property_control("wrong degree 1", "C is not ∼1", lambda: search(1)),
            property_control(
                "mutated component: classifier bias",
                "a bias b adds b(1 − c²) and must break the exactness",
                lambda: search(2, True, what="classifier bias"),
            ),
            property_control(
                "mutated component: W not in θ",
                "a classifier whose weights are not scaled with θ has degree 1: must fail",
                lambda: search(2, False, False, "W fixed"),
            ),
        ),
    ),
)
