"""P1∞: the saturated value of a k-homogeneous part (k ≥ 1) is ±∞ by the sign of f(x; θ)
(0 where f(x; θ) = 0), and the useful limit is the direction.

If f(x; cθ) = c^k f(x; θ) with k ≥ 1 then for each coordinate j, f_j(x; cθ) = c^k
f_j(x; θ) → sign(f_j(x; θ))·∞ when f_j(x; θ) ≠ 0 and stays 0 when it is 0, while
f(x; cθ)/‖f(x; cθ)‖ = f(x; θ)/‖f(x; θ)‖ for every c > 0: the saturated network s_f
of D1 exists in the extended reals, coordinate-wise, and carries only signs; the
direction (or f(cθ)/c^k) carries the rest.

Checked exactly (rational arithmetic) on bias-free ReLU networks of depth L = k ∈ {1,
2, 3} (with or without a ReLU on the output, which makes exact zeros common) and on
products of k linear forms in θ, by computing the limit **without assuming
homogeneity**: :mod:`proofs_numeric.claims._extended_reals` evaluates the network
symbolically as a vector of polynomials in c (exact beyond a Cauchy root bound) and takes
the limit of each coordinate and of the direction; it is cross-checked against direct
rational evaluation of f(x; cθ) at several c beyond that bound, where f(x; cθ) =
c^k f(x; θ) must hold exactly. With biases the same machinery shows what breaks: the
limit follows the sign of the top-degree term, not of f(x; θ).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

from hypothesis import strategies as st

from proofs_numeric.claim import CheckContext, Claim, Verdict
from proofs_numeric.claims._exact_heads import int_matrices
from proofs_numeric.claims._extended_reals import (
    ExtendedReal,
    degree,
    direct_value,
    direction_limit,
    evaluate,
    ladder,
    limit,
    positively_proportional,
    ray_polynomials,
)
from proofs_numeric.search import PropertySearch, check_property, property_control

Rule = Callable[[Fraction], ExtendedReal]


def sign_rule(value: Fraction) -> ExtendedReal:
    """P1∞'s claimed limit of a coordinate with value f_j(x; θ)."""
    if value > 0:
        return "+inf"
    if value < 0:
        return "-inf"
    return Fraction(0)


def finite_rule(value: Fraction) -> ExtendedReal:
    """Negative control: the degree-0 reading, lim f(x; cθ) = f(x; θ)."""
    return value


def p1inf_margin(rule: Rule = sign_rule):
    """1 when every part holds; else −(number of failed parts), a finite number."""

    def margin(case: Mapping[str, Any], digits: int) -> float:
        at_one = direct_value(case, Fraction(1))
        polys, bound = ray_polynomials(case)
        failures = 0
        # (a) the symbolic ray form agrees with direct evaluation beyond its root bound
        for c in ladder(bound):
            if [evaluate(p, c) for p in polys] != direct_value(case, c):
                failures += 1
        # (b) the claimed limit of every coordinate
        failures += sum(limit(p) != rule(v) for p, v in zip(polys, at_one, strict=True))
        # (c) the limit direction is that of f(x; θ) (where f(x; θ) ≠ 0)
        if any(at_one):
            a = direction_limit(polys)
            if a is None or not positively_proportional(a, at_one):
                failures += 1
        # (d) k-homogeneity itself at every c of the ladder (premise of the statement)
        if case.get("biases") is None:
            k = degree(case)
            failures += sum(
                direct_value(case, c) != [c**k * v for v in at_one] for c in ladder(bound)
            )
        return 1.0 if failures == 0 else -float(failures)

    return margin


@st.composite
def network_cases(draw: st.DrawFn, with_biases: bool = False) -> dict[str, Any]:
    depth = draw(st.integers(1, 3))
    widths = [draw(st.integers(1, 3))] + [draw(st.integers(1, 3)) for _ in range(depth)]
    weights = [draw(int_matrices(widths[i + 1], widths[i], 3)) for i in range(depth)]
    case: dict[str, Any] = {
        "kind": "mlp",
        "x": draw(st.lists(st.integers(-3, 3), min_size=widths[0], max_size=widths[0])),
        "weights": weights,
        "relu_output": draw(st.booleans()),
    }
    if with_biases:
        case["biases"] = [
            draw(st.lists(st.integers(-3, 3), min_size=w, max_size=w)) for w in widths[1:]
        ]
    return case


@st.composite
def product_cases(draw: st.DrawFn) -> dict[str, Any]:
    dim, k, out = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    forms = [
        [draw(st.lists(st.integers(-2, 2), min_size=dim, max_size=dim)) for _ in range(k)]
        for _ in range(out)
    ]
    theta = draw(st.lists(st.integers(-3, 3), min_size=dim, max_size=dim))
    return {"kind": "product", "theta": theta, "forms": forms}


CONSTRUCTIONS = (
    # depth 2, one output positive, one negative, one exactly 0 (dead ReLU path)
    {
        "kind": "mlp",
        "x": [1, -2],
        "weights": [[[1, 0], [0, 1], [1, 1]], [[1, 0, 0], [-2, 1, 0], [0, 0, 1]]],
        "relu_output": False,
    },
    # ReLU output: exact zeros
    {
        "kind": "mlp",
        "x": [2, 1],
        "weights": [[[1, -1], [-1, 1]], [[1, 1], [-1, 0]]],
        "relu_output": True,
    },
    # depth 3 (k = 3)
    {
        "kind": "mlp",
        "x": [1],
        "weights": [[[2], [-1]], [[1, -1], [-1, 2]], [[1, 1]]],
        "relu_output": False,
    },
    # f(θ) = 0 everywhere on the input: every limit is 0
    {"kind": "mlp", "x": [0, 0], "weights": [[[1, 2]], [[3]]], "relu_output": False},
    # products of linear forms, k = 2 and k = 3, with a zero factor
    {
        "kind": "product",
        "theta": [1, -1, 2],
        "forms": [[[1, 0, 0], [0, 1, 1]], [[1, 1, 0], [2, 0, -1]]],
    },
    {"kind": "product", "theta": [2, 1], "forms": [[[1, 0], [0, 1], [1, -1]]]},
)

#: f = w₂·ReLU(w₁x) + b₂ with f(θ) = 3 − 4 < 0 but a positive top-degree term
BIASED_CONSTRUCTION = {
    "kind": "mlp",
    "x": [1],
    "weights": [[[3]], [[1]]],
    "biases": [[0], [-4]],
    "relu_output": False,
}


def search(rule: Rule = sign_rule, with_biases: bool = False, what: str = "") -> PropertySearch:
    strategy = st.one_of(network_cases(with_biases), product_cases())
    constructions = CONSTRUCTIONS + ((BIASED_CONSTRUCTION,) if with_biases else ())
    return PropertySearch(
        claim_id="P1∞",
        strategy=strategy if not with_biases else network_cases(True),
        margin=p1inf_margin(rule),
        search=(
            "ReLU networks of depth 1–3 (widths 1–3, integer weights in [−3, 3], ReLU output "
            "or not) and products of 1–3 linear forms in θ ∈ ℤ^{1..3}; limits computed "
            "symbolically along the ray and cross-checked at 4 values of c beyond the root "
            "bound" + (f"; {what}" if what else "")
        ),
        constructions=constructions,
        margin_label="1 if every coordinate's limit, the direction and the ray identity hold; "
        "else −(number of failed parts)",
        precision="exact rational arithmetic (fractions)",
        describe=lambda c: repr(dict(c)),
    )


def check(ctx: CheckContext) -> Verdict:
    return check_property(
        search(),
        ctx,
        notes="Limits are computed without assuming homogeneity (polynomials in c), so the "
        "sign rule is tested, not presupposed.",
    )


CLAIMS = (
    Claim(
        id="P1∞",
        title="Saturated k-homogeneous parts are ±∞ by sign; the direction is the limit",
        statement=(
            "For every f exactly k-homogeneous in θ with k ≥ 1, every x and θ and every "
            "output coordinate j: lim_{c→∞} f_j(x; cθ) = +∞ if f_j(x; θ) > 0, −∞ if "
            "f_j(x; θ) < 0 and 0 if f_j(x; θ) = 0; and where f(x; θ) ≠ 0, "
            "lim_{c→∞} f(x; cθ)/‖f(x; cθ)‖ = f(x; θ)/‖f(x; θ)‖. Checked exactly on "
            "bias-free ReLU networks (k = depth ≤ 3) and products of k ≤ 3 linear forms "
            "with integer parameters."
        ),
        expected="verified",
        check=check,
        explanation=(
            "D1's saturated network of a part with positive degree lives in the extended "
            "reals and only keeps signs; the direction f(cθ)/‖f(cθ)‖ (equivalently "
            "f(cθ)/c^k) is the informative limit, which is why the package reports "
            "saturation as a cosine (D14) and saturates only the degree-0 maps."
        ),
        negative_controls=(
            property_control(
                "wrong degree: the degree-0 reading",
                "claiming lim f(x; cθ) = f(x; θ) (what holds for k = 0) must be refuted",
                lambda: search(finite_rule, what="claimed limit f(x; θ)"),
            ),
            property_control(
                "mutated component: biases",
                "with biases the sign of f(x; θ) does not decide the limit: the sign rule "
                "must be refuted",
                lambda: search(with_biases=True, what="networks with biases"),
            ),
        ),
    ),
)
