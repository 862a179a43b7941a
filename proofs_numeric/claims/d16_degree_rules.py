"""D16: the degree bookkeeping of Table 1, for exact and for approximate homogeneity.

For exact homogeneity the rules are elementary (a weight multiplies the degree's scale by
c, ReLU and sums keep it, products add, the ε-free LN removes it, a gain sets it to 1).
The paper adds that "the same rules hold for approximate homogeneity". Under D3 that is
false for two rules: the product (L4: a positive degree times a non-exact ∼0 factor) and
the layer norm (L5: the spread of the normalised vector can be as small as its error).
The check runs each rule on family inputs: exactness at high precision for exact inputs,
and the D3 statement (probe d = 0.01) for ∼ inputs, through the searches of L2–L5.

D16* is Table 1 with explicit error propagation in the relative form (D3*): if the input
errors are |f(cθ)/c^{k_f} − f(θ)| ≤ ε_f(θ), then

==============  =================================================================
rule            output error bound (all c ≥ 1)
==============  =================================================================
weight W ∈ θ    ‖W‖_F ‖ε_f‖                         (degree k_f + 1)
ReLU            ε_f                                  (degree k_f)
sum             ε_f + ε_g                            (equal degrees)
product         |f|ε_g + |g|ε_f + ε_fε_g             (degree k_f + k_g; L4*)
LN (D9)         2‖ε_f‖/‖f − μ(f)‖                    (degree 0; L5*)
γ ⊙ LN, γ ∈ θ   ‖γ‖_∞ · 2‖ε_f‖/‖f − μ(f)‖            (degree 1)
==============  =================================================================

so the rules hold for approximate homogeneity exactly where these bounds decay: with
polynomially bounded factors and a spread bounded below. This is the bookkeeping that
``homogeneity.rules`` implements with its kinds (exact / approximate / asymptotic).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mpmath
from hypothesis import strategies as st

from proofs_numeric import families as fam
from proofs_numeric.claim import Claim
from proofs_numeric.claims import l2_relu, l3_sum, l4_product, l5_layer_norm
from proofs_numeric.claims._d3 import digits_for, radii, rounding_allowance
from proofs_numeric.precision import distance, frobenius_norm, matvec, norm2
from proofs_numeric.search import (
    PropertySearch,
    check_property,
    log_margin,
    property_control,
    replay_control,
    scale_from_log10,
)
from proofs_numeric.strategies import log10_scales, unit_vectors

DIM = 3


# -- the weight rule (the only rule without its own lemma) ---------------------------------


def weight_margin(relative: bool = True, degree_shift: int = 0):
    """W f with W ∈ θ: exact inputs must give exactly degree k + 1; ∼ inputs obey
    ‖W(cθ)f(cθ)/c^{k+1} − W f(θ)‖ ≤ ‖W‖_F‖ε_f‖ (relative) or the D3 probe (absolute)."""

    def margin(case: Mapping[str, Any], digits: int) -> Any:
        specs, r = case["f"], float(case["r"])
        k = fam.degree(specs[0]) + 1 + degree_shift
        work = digits_for(digits, r, case["log10_c"], k)
        with mpmath.workdps(work):
            theta = fam.point(case["direction"], r, work)
            c = scale_from_log10(case["log10_c"], work)
            w = [[mpmath.mpf(v) * r for v in row] for row in case["w"]]  # W = r·W₀ ∈ θ
            f1 = [fam.evaluate(s, theta, work) for s in specs]
            fc = [fam.evaluate(s, [c * t for t in theta], work) for s in specs]
            y1 = matvec(w, f1, work)
            yc = [c * v for v in matvec(w, fc, work)]
            ck = mpmath.power(c, k)
            if relative:
                lhs = distance([a / ck for a in yc], y1, work)
                w_f = frobenius_norm(w, work)
                eps = norm2([fam.envelope(s, theta, work) for s in specs], work)
                return log_margin(w_f * eps + rounding_allowance(work, *y1), lhs, work)
            lhs = max(abs(a - ck * b) for a, b in zip(yc, y1, strict=True))
            bound = mpmath.exp(-mpmath.mpf("0.01") * r) + rounding_allowance(work, *y1)
            return log_margin(bound, lhs, work)

    return margin


def weight_cases(exact_only: bool) -> st.SearchStrategy[dict[str, Any]]:
    k = st.sampled_from([1, 2])
    members = k.flatmap(
        lambda d: st.lists(
            fam.polys(DIM, (d,))
            if exact_only
            else st.one_of(
                fam.polys(DIM, (d,)),
                st.builds(
                    lambda p, s: {"kind": "polysat", "poly": p, "sat": s},
                    fam.polys(DIM, (d,)),
                    fam.sats(DIM),
                ),
            ),
            min_size=2,
            max_size=3,
        )
    )
    return members.flatmap(
        lambda f: st.fixed_dictionaries(
            {
                "f": st.just(f),
                "w": st.lists(
                    st.lists(st.floats(-1, 1), min_size=len(f), max_size=len(f)),
                    min_size=1,
                    max_size=3,
                ),
                "direction": unit_vectors(DIM),
                "r": radii(),
                "log10_c": log10_scales(20),
            }
        )
    )


# -- rule dispatch ---------------------------------------------------------------------

PAPER_RULES = {
    "weight": (lambda: weight_margin(relative=False), lambda: weight_cases(True)),
    "relu": (lambda: l2_relu.margin_for(l2_relu.relu), l2_relu.cases),
    "sum": (lambda: l3_sum.margin_for(), l3_sum.cases),
    "product": (lambda: l4_product.paper_margin, l4_product.paper_cases),
    "layer norm": (lambda: l5_layer_norm.paper_margin, l5_layer_norm.paper_vectors),
}
CORRECTED_RULES = {
    "weight": (lambda: weight_margin(relative=True), lambda: weight_cases(False)),
    "relu": (lambda: l2_relu.margin_for(l2_relu.relu), l2_relu.cases),
    "sum": (lambda: l3_sum.margin_for(), l3_sum.cases),
    "product": (lambda: l4_product.relative_margin(), l4_product.relative_cases),
    "layer norm": (lambda: l5_layer_norm.corrected_margin(), lambda: l5_layer_norm._vectors(1.0)),
}


def dispatch(rules: Mapping[str, Any], overrides: Mapping[str, Any] | None = None):
    margins = {name: make() for name, (make, _) in rules.items()}
    margins.update(overrides or {})

    def margin(case: Mapping[str, Any], digits: int) -> Any:
        return margins[case["rule"]](case["case"], digits)

    return margin


def rule_cases(rules: Mapping[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        *[
            strategy().map(lambda c, n=name: {"rule": n, "case": c})
            for name, (_, strategy) in rules.items()
        ]
    )


_W_CASE = {
    "f": [
        {"kind": "poly", "a": 1.0, "ws": [[1.0, 0.0, 0.0]]},
        {"kind": "poly", "a": 2.0, "ws": [[0.0, 1.0, 1.0]]},
    ],
    "w": [[0.5, -1.0]],
    "direction": [1.0, 2.0, 3.0],
    "r": 50.0,
    "log10_c": 10.0,
}
CONSTRUCTIONS = (
    {"rule": "weight", "case": _W_CASE},
    {"rule": "sum", "case": l3_sum.CONSTRUCTIONS[0]},
    {"rule": "relu", "case": l2_relu.CONSTRUCTIONS[0]},
    {"rule": "layer norm", "case": l5_layer_norm.degenerate_case()},
    {"rule": "product", "case": l4_product.PAPER_CONSTRUCTIONS[0]},
)
CORRECTED_CONSTRUCTIONS = (
    {"rule": "weight", "case": _W_CASE},
    {"rule": "layer norm", "case": l5_layer_norm.degenerate_case()},
    {"rule": "product", "case": l4_product.RELATIVE_CONSTRUCTIONS[0]},
)


def paper_search() -> PropertySearch:
    return PropertySearch(
        claim_id="D16",
        strategy=rule_cases(PAPER_RULES),
        margin=dispatch(PAPER_RULES),
        search=(
            "each rule of Table 1 on family inputs: a weight in θ times exact products; "
            "ReLU, sums, products and LN of exact and ∼0 members (the searches of L2–L5), "
            "D3 read with the probe d = 0.01 where it has no constants"
        ),
        constructions=CONSTRUCTIONS,
        examples_scale=0.5,
        margin_label="the margin of the rule's own check (see L2–L5)",
        describe=lambda c: f"rule '{c['rule']}' on ∼ inputs: {c['case']}",
    )


def corrected_search(overrides: Mapping[str, Any] | None = None, what: str = "") -> PropertySearch:
    return PropertySearch(
        claim_id="D16*",
        strategy=rule_cases(CORRECTED_RULES),
        margin=dispatch(CORRECTED_RULES, overrides),
        search=(
            "each rule of Table 1 with its error-propagation bound, on family inputs "
            "(exact products, ∼0 members, poly × sat of degree 1–2)" + (f"; {what}" if what else "")
        ),
        constructions=CORRECTED_CONSTRUCTIONS,
        examples_scale=0.5,
        margin_label="ln(propagated bound + rounding) − ln(output error), per rule",
        describe=lambda c: f"rule '{c['rule']}': {c['case']}",
    )


CLAIMS = (
    Claim(
        id="D16",
        title="Table 1 degree rules hold for approximate homogeneity too",
        statement=(
            "Weight k → k+1, ReLU k → k, sum of two degree-k terms → k, product "
            "k₁, k₂ → k₁ + k₂, LN k → 0 (with gain → 1) hold for exactly homogeneous "
            "inputs, and (the paper) the same rules hold for ∼ inputs in the sense of D3."
        ),
        expected="refuted",
        check=lambda ctx: check_property(paper_search(), ctx),
        replay=dispatch(PAPER_RULES),
        explanation=(
            "True for exact homogeneity; for ∼ the LN rule fails (L5) and so does the "
            "product rule (L4). D16* gives the rules with their error propagation."
        ),
        negative_controls=(
            replay_control(
                "a non-counterexample is not replayed as one",
                "the product rule at θ₁·σ(‖θ‖), ‖θ‖ = 150, c = 10 holds (a finite margin); "
                "the replay must agree",
                {"rule": "product", "case": l4_product.NON_COUNTEREXAMPLE},
                dispatch(PAPER_RULES),
            ),
        ),
    ),
    Claim(
        id="D16*",
        title="Table 1 with explicit error propagation (relative form)",
        corrects="D16",
        statement=(
            "If |f(cθ)/c^{k_f} − f(θ)| ≤ ε_f(θ) (and likewise g) for all c ≥ 1, then for "
            "all c ≥ 1 the output of each rule is within: weight W ∈ θ: ‖W‖_F‖ε_f‖; "
            "ReLU: ε_f; sum (k_f = k_g): ε_f + ε_g; product: |f|ε_g + |g|ε_f + ε_fε_g; "
            "LN (D9): 2‖ε_f‖/‖f − μ(f)‖ — of the same expression at θ scaled by the "
            "rule's degree (k_f + 1, k_f, k_f, k_f + k_g, 0)."
        ),
        expected="verified",
        check=lambda ctx: check_property(corrected_search(), ctx),
        replay=dispatch(CORRECTED_RULES),
        negative_controls=(
            property_control(
                "wrong LN rule: no division by the spread",
                "the LN bound 2‖ε‖ (the paper's reading) must be refuted",
                lambda: corrected_search(
                    {"layer norm": l5_layer_norm.corrected_margin(True)}, "LN bound 2‖ε‖"
                ),
            ),
            property_control(
                "wrong weight rule: degree k instead of k + 1",
                "a scaled weight adds one degree: must be refuted",
                lambda: corrected_search({"weight": weight_margin(True, -1)}, "weight rule k → k"),
            ),
        ),
    ),
)
