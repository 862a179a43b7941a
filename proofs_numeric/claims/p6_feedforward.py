"""P6: the feed-forward sublayer FF(X) = γ ⊙ LN(W^f ReLU(W^i X)) + X (D12) is ∼1.

True, and exactly so: by the D3 collapse (claim D3) a ∼1 input X is exactly 1-homogeneous
on ‖θ‖ ≥ ρ; then W^i X has degree 2, ReLU keeps it, W^f makes it 3, LN (D9) maps it to an
exactly scale-invariant vector, the gain γ gives degree 1 and the residual X is degree 1:
FF(cθ) = c FF(θ) exactly, so D3 holds with any d (checked with d = 1). The statement needs
FF to be defined: LN(v) is undefined where the row v = W^f ReLU(W^i x) is constant, e.g. a
token whose pre-activations are all ≤ 0 (then v = 0); such θ (a set of positive measure)
are outside the statement.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mpmath
from hypothesis import strategies as st

from homogeneity.errors import HomogeneityInputError
from proofs_numeric.claim import Claim
from proofs_numeric.claims._transformer import (
    ff_sublayer,
    sublayer_cases,
    sublayer_schema,
    sublayer_weights,
    theta_norm,
)
from proofs_numeric.precision import exp_loss, guard_digits, working_precision
from proofs_numeric.search import (
    PropertySearch,
    check_property,
    log_margin,
    property_control,
    scale_from_log10,
)


def margin_for(degree: int = 1, activation: str = "relu"):
    """ln e^{−‖θ‖} − ln max_entry |FF(cθ) − c^k FF(θ)| (digits raised past e^{−‖θ‖})."""

    def margin(case: Mapping[str, Any], digits: int) -> Any:
        w0 = sublayer_weights(case, "ff")
        r = theta_norm(w0.at(mpmath.mpf(case["rho"])), 30)
        work = guard_digits(digits, exp_loss(r), degree * float(case["log10_c"]))
        with working_precision(work):
            rho, c = mpmath.mpf(case["rho"]), scale_from_log10(case["log10_c"], work)
            try:
                f1 = ff_sublayer(w0.at(rho), work, activation)
                fc = ff_sublayer(w0.at(rho * c), work, activation)
            except HomogeneityInputError:
                return mpmath.inf  # LN(constant row): FF undefined here, outside the claim
            ck = mpmath.power(c, degree)
            err = max(
                abs(a - ck * b)
                for ra, rb in zip(fc, f1, strict=True)
                for a, b in zip(ra, rb, strict=True)
            )
            return log_margin(mpmath.exp(-theta_norm(w0.at(rho), work)), err, work)

    return margin


CONSTRUCTIONS = (
    {"seed": 0, "n": 3, "d_model": 3, "d_ff": 4, "rho": 3.0, "log10_c": 30.0, "causal": False},
    {"seed": 7, "n": 2, "d_model": 2, "d_ff": 2, "rho": 0.3, "log10_c": 0.001, "causal": False},
)


def search(degree: int = 1, activation: str = "relu", what: str = "") -> PropertySearch:
    return PropertySearch(
        claim_id="P6",
        strategy=sublayer_cases("ff", st.floats(0.3, 3.0), st.floats(0.0, 30.0)),
        margin=margin_for(degree, activation),
        search=(
            "feed-forward sublayers (d_model 2–4, d_ff 2–5, 2–4 tokens), θ = ρθ₀ with X "
            "and γ in θ, ρ ∈ [0.3, 3], c = 10^v, v ∈ [0, 30]; θ where FF is undefined are "
            "skipped" + (f"; {what}" if what else "")
        ),
        constructions=CONSTRUCTIONS,
        examples_scale=0.5,
        margin_label="ln e^{−‖θ‖} − ln max|FF(cθ) − c FF(θ)|",
        precision="mpmath (guard digits raised by ‖θ‖/ln 10 + log10 c)",
        describe=lambda c: f"seed {c['seed']}, ρ = {c['rho']}, c = 10^{c['log10_c']}",
    )


CLAIMS = (
    Claim(
        id="P6",
        title="Feed-forward sublayer of a ∼1 input is ∼1",
        statement=(
            "If X is ∼1 in θ (D3), then FF(X) = γ ⊙ LN(W^f ReLU(W^i X)) + X (D12) is "
            "∼1 in all parameters: for all c ≥ 1 and every θ with ‖θ‖ ≥ ρ at which FF is "
            "defined, |FF(cθ) − c FF(θ)| ≤ e^{−d‖θ‖} (here with d = 1; in fact the "
            "error is exactly 0)."
        ),
        expected="verified",
        check=lambda ctx: check_property(search(), ctx),
        replay=margin_for(),
        case_schema=sublayer_schema("ff", 5.0, 40.0),
        describe=search().describe,
        explanation=(
            "Exact: ReLU, bias-free linear maps and the ε-free LN are exactly "
            "homogeneous, and a ∼1 input is exactly 1-homogeneous (D3 collapse). "
            "FF is undefined where a row of W^f ReLU(W^i X) is constant."
        ),
        negative_controls=(
            property_control("wrong degree 2", "FF is not ∼2", lambda: search(2)),
            property_control(
                "mutated component: GeLU instead of ReLU",
                "GeLU is not exactly homogeneous; with D3's c-uniform bound the "
                "error grows with c and must exceed e^{−‖θ‖}",
                lambda: search(1, "gelu", "GeLU"),
            ),
        ),
    ),
)
