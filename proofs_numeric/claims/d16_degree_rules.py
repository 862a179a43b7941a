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
weight W ∈ θ    ‖W‖₂ ‖Δ_f(c)‖ ≤ ‖W‖_F ‖ε_f‖           (degree k_f + 1)
ReLU            ε_f                                  (degree k_f)
sum             ε_f + ε_g                            (equal degrees)
product         |f|ε_g + |g|ε_f + ε_fε_g             (degree k_f + k_g; L4*)
LN (D9)         2‖ε_f‖/‖f − μ(f)‖                    (degree 0; L5*)
γ ⊙ LN, γ ∈ θ   ‖γ‖_∞ · 2‖ε_f‖/‖f − μ(f)‖            (degree 1)
==============  =================================================================

with Δ_f(c) = f(cθ)/c^{k_f} − f(θ) the input error at the same c. D16*'s check tests the
weight rule with that sharpest constant, ‖W‖₂ (attained when Δ_f lies along W's top right
singular vector, so 0.99‖W‖₂ is refuted), and exactness to rounding for exact inputs
(:mod:`proofs_numeric.claims._weight_rule`).

The rules hold for approximate homogeneity exactly where these bounds decay: with
polynomially bounded factors and a spread bounded below. This is the bookkeeping that
``homogeneity.rules`` implements with its kinds (exact / approximate / asymptotic).

The degree each case is checked against is the one ``homogeneity.rules`` gives: the degree
engine (:func:`homogeneity.degree_engine.trace_degree`) runs the rule's torch op (a matrix
product with a degree-1 weight, ReLU, a sum, a product, the D9 layer norm) on inputs of the
case's degrees. A wrong rule in the engine therefore refutes the claim (a negative control
swaps the product rule for one that adds a degree).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import mpmath
import torch
from hypothesis import strategies as st

from homogeneity.components.functional import proof_layer_norm
from homogeneity.degree_engine import OP_RULES, OpRule, TensorDegree, trace_degree
from homogeneity.errors import HomogeneityInputError
from proofs_numeric import case_schema as cs
from proofs_numeric import families as fam
from proofs_numeric.claim import Claim
from proofs_numeric.claims import l2_relu, l3_sum, l4_product, l5_layer_norm
from proofs_numeric.claims._d3 import digits_for, ray_fields, rounding_allowance
from proofs_numeric.claims._weight_rule import (
    ALIGNED_CASES,
    exact_members,
    mixed_members,
    sharp_weight_margin,
    weight_cases,
    weight_rule_point,
)
from proofs_numeric.precision import working_precision
from proofs_numeric.search import (
    PropertySearch,
    check_property,
    log_margin,
    property_control,
    replay_control,
    scale_from_log10,
)

DIM = 3


# -- the degrees homogeneity.rules gives ---------------------------------------------------


def _vector() -> torch.Tensor:
    return torch.tensor([1.0, 2.0, 4.0], dtype=torch.float64)


#: each rule of Table 1 as the torch op the engine interprets, and its arguments (distinct
#: tensors: each carries its own degree); the weight rule's first argument is the weight
#: (degree 1), the others take the case's degrees
TABLE1_OPS: dict[str, tuple[Callable[..., torch.Tensor], Callable[[], tuple]]] = {
    "weight": (torch.mv, lambda: (torch.ones(2, 3, dtype=torch.float64), _vector())),
    "relu": (torch.relu, lambda: (_vector(),)),
    "sum": (torch.add, lambda: (_vector(), _vector())),
    "product": (torch.mul, lambda: (_vector(), _vector())),
    "layer norm": (proof_layer_norm, lambda: (_vector(),)),
}


class EngineDegrees:
    """The output degree the degree engine derives for a rule of Table 1 from its input
    degrees (cached: the engine runs once per rule and input degrees). ``table`` replaces
    the engine's rule table, for the negative control."""

    def __init__(self, table: Mapping[str, OpRule] | None = None) -> None:
        self.table = table
        self._cache: dict[tuple, float] = {}

    def __call__(self, rule: str, *degrees: int) -> float:
        key = (rule, degrees)
        if key not in self._cache:
            fn, args = TABLE1_OPS[rule]
            weight = (1,) if rule == "weight" else ()
            derivation = trace_degree(fn, args(), (*weight, *degrees), self.table)
            if derivation.degree.value is None:
                raise AssertionError(f"the engine gives {rule} no degree: {derivation.degree}")
            self._cache[key] = derivation.degree.value
        return self._cache[key]


ENGINE = EngineDegrees()


def shifted_table(op: str) -> dict[str, OpRule]:
    """The engine's rule table with ``op``'s rule one degree too high (a wrong rule)."""

    def shift(call: Any) -> TensorDegree:
        td = OP_RULES[op].apply(call)
        if not isinstance(td, TensorDegree) or td.degree.value is None:
            raise HomogeneityInputError(
                f"op={op!r}: its rule gives {td!r}, not one degree to shift; use an op whose "
                "rule gives its output a degree, such as 'aten.mul'"
            )
        return TensorDegree(td.degree.with_value(td.degree.value + 1))

    wrong = dataclasses.replace(OP_RULES[op], apply=shift)
    return {**OP_RULES, **{name: wrong for name in OP_RULES[op].ops}}


def mismatch_margin(
    values: Callable[[list[Any]], list[Any] | None], case: Mapping[str, Any], k: Any
):
    """ln(rounding) − ln max|out(cθ) − c^k out(θ)| for a degree k the lemma does not
    check: a rule whose degree is wrong shows as an error far above rounding (+∞ where
    ``values`` is undefined, None, at θ or cθ)."""
    specs = case["f"] if isinstance(case["f"], list) else [case["f"], case["g"]]
    r = float(case["r"])
    work = digits_for(30, r, case["log10_c"], k)
    with working_precision(work):
        theta = fam.point(case["direction"], r, work)
        c = scale_from_log10(case["log10_c"], work)
        at = values([fam.evaluate(s_, theta, work) for s_ in specs])
        scaled = values([fam.evaluate(s_, [c * t for t in theta], work) for s_ in specs])
        if at is None or scaled is None:
            return mpmath.inf
        ck = mpmath.power(c, k)
        err = max(abs(a - ck * b) for a, b in zip(scaled, at, strict=True))
        return log_margin(rounding_allowance(work, *at, *scaled), err, work)


def relu_margin(engine: EngineDegrees):
    def margin(case: Mapping[str, Any], digits: int) -> Any:
        k = fam.degree(case["f"])
        return l2_relu.margin_for(l2_relu.relu, engine("relu", k) - k)(case, digits)

    return margin


def sum_margin(engine: EngineDegrees):
    def margin(case: Mapping[str, Any], digits: int) -> Any:
        kf, kg = fam.degree(case["f"]), fam.degree(case["g"])
        return l3_sum.margin_for(degree_shift=engine("sum", kf, kg) - kf)(case, digits)

    return margin


def product_margin(engine: EngineDegrees, lemma: Callable[[Mapping[str, Any], int], Any]):
    def margin(case: Mapping[str, Any], digits: int) -> Any:
        kf, kg = fam.degree(case["f"]), fam.degree(case["g"])
        k = engine("product", kf, kg)
        if k == kf + kg:
            return lemma(case, digits)
        return mismatch_margin(lambda v: [v[0] * v[1]], case, k)

    return margin


def layer_norm_margin(engine: EngineDegrees, lemma: Callable[[Mapping[str, Any], int], Any]):
    def margin(case: Mapping[str, Any], digits: int) -> Any:
        k = engine("layer norm", fam.degree(case["f"][0]))
        if k == 0:
            return lemma(case, digits)

        def normed(v: list[Any]) -> list[Any] | None:
            mu = mpmath.fsum(v) / len(v)
            norm = mpmath.sqrt(mpmath.fsum((t - mu) ** 2 for t in v))
            return None if norm == 0 else [(t - mu) / norm for t in v]

        return mismatch_margin(normed, case, k)

    return margin


# -- the weight rule (the only rule without its own lemma) ---------------------------------


def weight_margin(engine: EngineDegrees = ENGINE):
    """W f with W ∈ θ, paper reading: ‖W(cθ)f(cθ) − c^k W f(θ)‖_∞ against the D3 probe
    e^{−0.01‖θ‖} (k the engine's degree, k_f + 1)."""

    def margin(case: Mapping[str, Any], digits: int) -> Any:
        r = float(case["r"])
        k = engine("weight", fam.degree(case["f"][0]))
        work = digits_for(digits, r, case["log10_c"], k)
        with working_precision(work):
            pt = weight_rule_point(case, work)
            ck = mpmath.power(pt.c, k)
            lhs = max(abs(a - ck * b) for a, b in zip(pt.yc, pt.y1, strict=True))
            bound = mpmath.exp(-mpmath.mpf("0.01") * r) + rounding_allowance(work, *pt.y1)
            return log_margin(bound, lhs, work)

    return margin


#: a replayed weight case: 1–4 family members of ℝ³, W with ≤ 4 rows of one entry per
#: member, θ = r·θ̂, c ≤ 10^20
WEIGHT_SCHEMA = cs.Where(
    cs.Record(
        {
            "f": cs.ListOf(fam.member_schema(DIM), 1, 4),
            "w": cs.ListOf(cs.real_list(-10.0, 10.0, 1, 4), 1, 4),
            **ray_fields(DIM, 20.0),
        }
    ),
    lambda c: all(len(row) == len(c["f"]) for row in c["w"]),
    "every row of w must have one entry per member of f",
)


def rules_schema(product: cs.Schema) -> cs.Schema:
    """A replayed D16 case: the rule's name and a case of the claim that rule comes from."""
    return cs.Tagged(
        "rule",
        {
            name: cs.Record({"case": schema})
            for name, schema in {
                "weight": WEIGHT_SCHEMA,
                "relu": l2_relu.CASE_SCHEMA,
                "sum": l3_sum.CASE_SCHEMA,
                "product": product,
                "layer norm": l5_layer_norm.CASE_SCHEMA,
            }.items()
        },
    )


# -- rule dispatch ---------------------------------------------------------------------


def paper_rules(engine: EngineDegrees = ENGINE) -> dict[str, Any]:
    """Each rule's margin (the degree from ``engine``) and case strategy, paper reading."""
    return {
        "weight": (
            lambda: weight_margin(engine),
            lambda: weight_cases(exact_members),
        ),
        "relu": (lambda: relu_margin(engine), l2_relu.cases),
        "sum": (lambda: sum_margin(engine), l3_sum.cases),
        "product": (
            lambda: product_margin(engine, l4_product.paper_margin),
            l4_product.paper_cases,
        ),
        "layer norm": (
            lambda: layer_norm_margin(engine, l5_layer_norm.paper_margin),
            l5_layer_norm.paper_vectors,
        ),
    }


def corrected_rules(engine: EngineDegrees = ENGINE) -> dict[str, Any]:
    """Each rule's margin (the degree from ``engine``) and case strategy, D16*."""
    return {
        "weight": (
            lambda: sharp_weight_margin(rule=lambda k: engine("weight", k)),
            lambda: weight_cases(mixed_members),
        ),
        "relu": (lambda: relu_margin(engine), l2_relu.cases),
        "sum": (lambda: sum_margin(engine), l3_sum.cases),
        "product": (
            lambda: product_margin(engine, l4_product.relative_margin()),
            l4_product.relative_cases,
        ),
        "layer norm": (
            lambda: layer_norm_margin(engine, l5_layer_norm.corrected_margin()),
            lambda: l5_layer_norm._vectors(1.0),
        ),
    }


PAPER_RULES = paper_rules()
CORRECTED_RULES = corrected_rules()


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
    # the input error along W's top right singular vector: ‖W‖₂ is attained
    *({"rule": "weight", "case": case} for case in ALIGNED_CASES),
    {"rule": "layer norm", "case": l5_layer_norm.degenerate_case()},
    {"rule": "product", "case": l4_product.RELATIVE_CONSTRUCTIONS[0]},
)


def paper_search() -> PropertySearch:
    return PropertySearch(
        claim_id="D16",
        strategy=rule_cases(PAPER_RULES),
        margin=dispatch(PAPER_RULES),
        search=(
            "each rule of Table 1 at the degree the engine of homogeneity.rules gives its "
            "op, on family inputs: a weight in θ times exact products; "
            "ReLU, sums, products and LN of exact and ∼0 members (the searches of L2–L5), "
            "D3 read with the probe d = 0.01 where it has no constants"
        ),
        constructions=CONSTRUCTIONS,
        examples_scale=0.5,
        margin_label="the margin of the rule's own check (see L2–L5)",
        describe=lambda c: f"rule '{c['rule']}' on ∼ inputs: {c['case']}",
    )


def corrected_search(
    overrides: Mapping[str, Any] | None = None,
    what: str = "",
    engine: EngineDegrees = ENGINE,
) -> PropertySearch:
    rules = corrected_rules(engine)
    return PropertySearch(
        claim_id="D16*",
        strategy=rule_cases(rules),
        margin=dispatch(rules, overrides),
        search=(
            "each rule of Table 1 with its error-propagation bound, at the degree the engine "
            "of homogeneity.rules gives its op, on family inputs (exact products, ∼0 "
            "members, poly × sat of degree 1–2)" + (f"; {what}" if what else "")
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
        case_schema=rules_schema(l4_product.PAPER_SCHEMA),
        describe=paper_search().describe,
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
            "all c ≥ 1 the output of each rule is within: weight W ∈ θ: ‖W‖₂ times the "
            "input error at the same c (exactly k_f + 1 for exact inputs, to rounding); "
            "ReLU: ε_f; sum (k_f = k_g): ε_f + ε_g; product: |f|ε_g + |g|ε_f + ε_fε_g; "
            "LN (D9): 2‖ε_f‖/‖f − μ(f)‖ — of the same expression at θ scaled by the "
            "rule's degree (k_f + 1, k_f, k_f, k_f + k_g, 0)."
        ),
        expected="verified",
        check=lambda ctx: check_property(corrected_search(), ctx),
        replay=dispatch(CORRECTED_RULES),
        case_schema=rules_schema(l4_product.RELATIVE_SCHEMA),
        describe=corrected_search().describe,
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
                lambda: corrected_search(
                    {"weight": sharp_weight_margin(degree_shift=-1)}, "weight rule k → k"
                ),
            ),
            property_control(
                "weight rule: constant 0.99‖W‖₂",
                "‖W‖₂ is attained on the aligned constructions: a smaller constant must be refuted",
                lambda: corrected_search(
                    {"weight": sharp_weight_margin(0.99)}, "weight constant 0.99‖W‖₂"
                ),
            ),
            property_control(
                "wrong product rule in the engine: k₁ + k₂ + 1",
                "the engine of homogeneity.rules with a product rule one degree too high "
                "must be refuted",
                lambda: corrected_search(
                    what="engine product rule k₁ + k₂ + 1",
                    engine=EngineDegrees(shifted_table("aten.mul")),
                ),
            ),
        ),
    ),
)
