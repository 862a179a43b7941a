"""Degree bookkeeping (SPEC D16, homogeneity.rules): each rule of the paper's Table 1, the
kinds exact / approximate / asymptotic / none with their orders, the weakness order,
predictions of whole modules through the engine, user rules, parameter selection, and the
printed derivation.

Each rule is checked against the algebra, and where it matters against the numbers
(check_homogeneity), with a negative control that must come out differently. The op-level
rules of the engine and foreign models are in test_degree_engine.py.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from homogeneity import Degree, DegreeDerivation, HomogeneityInputError, predict_degree, rules
from homogeneity.check import HomogeneityCheckError, check_homogeneity
from homogeneity.components import (
    AttentionHead,
    EncoderClassifier,
    EncoderConfig,
    FeedForward,
    LayerNorm,
    Linear,
    MultiHeadAttention,
    ProofLayerNorm,
    ReLU,
    Residual,
    RMSNorm,
)
from homogeneity.rules import register_rule, unregister_rule

KINDS = ["exact", "approximate", "asymptotic", "none"]
ks = st.integers(0, 6).map(float)


@st.composite
def degrees(draw, kinds=("exact", "approximate", "asymptotic"), k=ks):
    kind = draw(st.sampled_from(kinds))
    if kind == "none":
        return Degree.none("test")
    if kind == "asymptotic":
        return Degree.asymptotic(draw(k), draw(st.integers(1, 6)), "test")
    return Degree(kind, draw(k))


def predict(model: nn.Module, d=0, parameters=None, **kw) -> Degree:
    return predict_degree(model, d, parameters, **kw).degree


def kvo(d: Degree) -> tuple:
    """Kind, value and order (the reason is prose)."""
    return d.kind, d.value, d.order


# -- the Degree value ------------------------------------------------------------------


def test_degree_validation():
    with pytest.raises(HomogeneityInputError, match="kind"):
        Degree("roughly", 1.0)
    with pytest.raises(HomogeneityInputError, match="value"):
        Degree("exact", None)
    with pytest.raises(HomogeneityInputError, match="value"):
        Degree("none", 1.0)
    with pytest.raises(HomogeneityInputError, match="order"):
        Degree("exact", 1.0, order=2.0)
    with pytest.raises(HomogeneityInputError, match="order"):
        Degree("asymptotic", 1.0)


def test_degree_printing_and_queries():
    assert str(Degree.exact(2)) == "=2 (exact)"
    assert str(Degree.approximate(1)) == "∼1 (approximate)"
    assert str(Degree.asymptotic(3, 2)) == "→3 (asymptotic, error O(ρ^-2))"
    assert "why" in str(Degree.none("why"))
    assert Degree.exact(1).is_homogeneous and Degree.approximate(1).is_homogeneous
    assert not Degree.asymptotic(1, 2).is_homogeneous and not Degree.none("x").is_homogeneous


# -- D16, one rule at a time -----------------------------------------------------------


@given(d=degrees())
def test_weight_multiply_adds_one_when_scaled(d):
    assert rules.scale_by_parameter(d, True) == d.with_value(d.value + 1)
    assert rules.scale_by_parameter(d, False) == d  # negative control: unscaled weight


def test_bias_needs_degree_one():
    """Linear + bias: W x has degree k+1, the bias degree 1, so the sum is homogeneous
    exactly when k + 1 = 1, i.e. a degree-0 input (the affine map of D16)."""
    lin = Linear(3, 3, bias=True)
    assert predict(lin, 0) == Degree.exact(1)  # affine map of a degree-0 input
    out = predict(lin, 1)  # W x of degree 2 plus a degree-1 bias
    assert (out.kind, out.value, out.order) == ("asymptotic", 2.0, 1.0)
    # bias scaled, weight not: W x (degree 1 if x is) + b (degree 1): homogeneous
    assert predict(lin, 1, "bias") == Degree.exact(1)
    # bias scaled, weight not, degree-0 input: a constant plus a degree-1 term
    out = predict(lin, 0, "bias")
    assert (out.kind, out.value, out.order) == ("asymptotic", 1.0, 1.0)


@given(d=degrees())
def test_relu_keeps_the_degree(d):
    assert rules.relu(d) == d
    for relu in (ReLU(), nn.ReLU()):
        assert kvo(predict(relu, d)) == kvo(d)


@given(k=ks)
def test_layer_norm_rules(k):
    """LN k → 0; LN with a scaled gain k → 1; with an unscaled gain k → 0."""
    d = Degree.exact(k)
    assert predict(ProofLayerNorm(4, gain=False), d) == Degree.exact(0)
    assert predict(ProofLayerNorm(4), d) == Degree.exact(1)
    assert predict(
        nn.Sequential(Linear(4, 4, bias=False), ProofLayerNorm(4)), d, "0.weight"
    ) == Degree.exact(0)
    # approximate inputs stay approximate (L5)
    assert kvo(predict(ProofLayerNorm(4, gain=False), Degree.approximate(k))) == (
        "approximate",
        0.0,
        None,
    )


@given(k=st.integers(1, 5).map(float), eps=st.sampled_from([1e-12, 1e-5, 0.1]))
def test_layer_norm_with_eps_is_asymptotic_of_order_2k(k, eps):
    for norm in (
        LayerNorm(4, eps, gain=False, bias=False),
        RMSNorm(4, eps, gain=False),
        nn.LayerNorm(4, eps, elementwise_affine=False),
    ):
        out = predict(norm, k)
        assert (out.kind, out.value, out.order) == ("asymptotic", 0.0, 2 * k)
        assert "ε" in out.reason or f"constant {eps:g}" in out.reason
    # negative controls: ε = 0 is exact, and a degree-0 input is unaffected by ε
    assert predict(LayerNorm(4, 0.0, gain=False, bias=False), k) == Degree.exact(0)
    assert predict(LayerNorm(4, eps, gain=False, bias=False), 0) == Degree.exact(0)


def test_layer_norm_gain_and_bias_with_eps():
    """γ LN_ε(x) + β for x of degree 1: the gain lifts to 1 keeping order 2; a scaled β
    (degree 1) keeps it; an unscaled β is a constant next to a degree-1 term: order 1."""
    ln = LayerNorm(4, 1e-5)
    out = predict(ln, 1)
    assert (out.kind, out.value, out.order) == ("asymptotic", 1.0, 2.0)
    out = predict(ln, 1, "weight")
    assert (out.kind, out.value, out.order) == ("asymptotic", 1.0, 1.0)


@given(a=degrees(), b=degrees())
def test_sum_of_equal_degrees(a, b):
    b = b.with_value(a.value)
    out = rules.add(a, b)
    assert out.value == a.value
    assert out.kind == min((a.kind, b.kind), key=lambda s: rules._STRENGTH[s])


@given(a=ks, gap=st.integers(1, 4))
def test_sum_of_unequal_degrees_is_asymptotic_in_the_gap(a, gap):
    out = rules.add(Degree.exact(a), Degree.exact(a + gap))
    assert (out.kind, out.value, out.order) == ("asymptotic", a + gap, float(gap))
    assert rules.add(Degree.exact(a + gap), Degree.exact(a)) == out  # symmetric
    assert "dominates" in out.reason


def test_sum_of_degree_one_and_three():
    out = rules.add(Degree.exact(1), Degree.exact(3), "residual sum")
    assert (out.kind, out.value, out.order) == ("asymptotic", 3.0, 2.0)
    assert "residual sum" in out.reason and "degree-1" in out.reason
    # the gap is capped by a faster-vanishing error already in the dominant term
    out = rules.add(Degree.exact(1), Degree.asymptotic(4, 1))
    assert (out.value, out.order) == (4.0, 1.0)


@given(a=degrees(), b=degrees())
def test_product_adds_degrees(a, b):
    out = rules.multiply(a, b)
    assert out.value == a.value + b.value
    assert out.kind == min((a.kind, b.kind), key=lambda s: rules._STRENGTH[s])
    if out.kind == "asymptotic":
        assert out.order == min(x.order for x in (a, b) if x.order is not None)


# -- saturating maps and GeLU ---------------------------------------------------------


@given(k=st.integers(1, 5).map(float), kind=st.sampled_from(["exact", "approximate"]))
def test_saturating_maps_give_approximate_zero(k, kind):
    d = Degree(kind, k)
    for m in (nn.Sigmoid(), nn.Tanh(), nn.Softmax(-1)):
        out = predict(m, d)
        assert out.kind == "approximate" and out.value == 0
    # an asymptotic input still saturates exponentially
    out = rules.saturating(Degree.asymptotic(k, 2), "σ")
    assert (out.kind, out.value, out.order) == ("approximate", 0.0, None)


def test_saturating_degree_zero_and_negative():
    assert rules.saturating(Degree.exact(0), "σ") == Degree.exact(0)  # σ of data: a constant
    assert rules.saturating(Degree.exact(-1), "σ").kind == "none"
    assert rules.saturating(Degree.none("x"), "σ").kind == "none"


@given(k=st.integers(1, 5).map(float))
def test_gelu_is_approximately_relu(k):
    out = rules.gelu(Degree.exact(k))
    assert (out.kind, out.value) == ("approximate", k)
    assert rules.gelu(Degree.exact(0)) == Degree.exact(0)
    assert kvo(predict(nn.GELU(), k)) == kvo(out)
    assert kvo(predict(nn.SiLU(), k)) == kvo(out)  # z σ(z): the same rule


# -- the weakness order ---------------------------------------------------------------


def test_weakness_order():
    e, ap, asy, no = (
        Degree.exact(1),
        Degree.approximate(1, "a"),
        Degree.asymptotic(1, 2, "b"),
        Degree.none("c"),
    )
    chain = [e, ap, asy, no]
    for i, x in enumerate(chain):
        for j, y in enumerate(chain):
            out = rules.add(x, y)
            assert out.kind == KINDS[max(i, j)], (x, y, out)
            assert rules.multiply(x, y).kind == KINDS[max(i, j)]
    assert rules.add(ap, e).reason == "a"  # the first rule that weakened it
    assert rules.add(no, e).reason == "c"


# -- torch.nn layers and compositions -------------------------------------------------


def test_torch_nn_rules():
    mlp = nn.Sequential(
        nn.Linear(3, 5, bias=False),
        nn.ReLU(),
        nn.Dropout(0.1),
        nn.Linear(5, 2, bias=False),
        nn.Identity(),
    )
    assert predict(mlp) == Degree.exact(2)
    assert predict(mlp, 0, "0.weight") == Degree.exact(1)
    assert predict(nn.Embedding(5, 3)) == Degree.exact(1)
    assert predict(nn.Embedding(5, 3), 0, "weight") == Degree.exact(1)
    biased = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))
    out = predict(biased)
    assert (out.kind, out.value, out.order) == ("asymptotic", 2.0, 1.0)
    assert predict(nn.Sequential(nn.Linear(3, 5, bias=False), nn.Tanh())).kind == "approximate"


@given(depth=st.integers(1, 5), bias=st.booleans())
def test_linear_chain_degree_is_depth(depth, bias):
    layers = [Linear(3, 3, bias=bias) for _ in range(depth)]
    out = predict(nn.Sequential(*layers))
    if not bias or depth == 1:
        assert out == Degree.exact(depth if not bias else 1)
    else:
        # negative control: biases from the second layer on leave a lower-degree term
        assert out.kind == "asymptotic" and out.value == depth and out.order == 1


def test_components_compose():
    assert predict(FeedForward(4, 6), 0) == Degree.exact(2)
    assert kvo(predict(FeedForward(4, 6, "gelu"), 1)) == ("approximate", 3.0, None)
    assert predict(FeedForward(4, 6), 1, "inner.*") == Degree.exact(2)
    assert kvo(predict(MultiHeadAttention(4, 2), 0)) == ("approximate", 2.0, None)
    res = Residual(FeedForward(4, 6), ProofLayerNorm(4), "paper-prenorm")
    assert predict(res, 1) == Degree.exact(1)
    out = predict(Residual(FeedForward(4, 6), ProofLayerNorm(4), "pre-ln"), 1)
    assert (out.kind, out.value, out.order) == ("asymptotic", 3.0, 2.0)
    assert predict(Residual(FeedForward(4, 6), ProofLayerNorm(4), "postnorm"), 1).value == 1


def test_every_parameter_takes_part_in_the_prediction():
    """The engine gives each parameter tensor its degree: scaling any single parameter of
    a biased classifier changes the prediction from the all-data degree 0 (an unscaled
    model is θ-free) to a positive or lower-degree-mixing one, so no parameter is silently
    treated as unscaled."""
    cfg = EncoderConfig(
        vocab_size=7,
        d_model=4,
        n_heads=2,
        d_ff=6,
        n_layers=1,
        max_len=5,
        norm="layernorm",
        bias=True,
        type_vocab_size=2,
        embedding_norm=True,
        final_norm=True,
        activation="gelu",
    )
    model = EncoderClassifier(
        cfg, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    for name, _ in model.named_parameters():
        out = predict(model, 0, name)
        assert out != Degree.exact(0), name


# -- unknown modules and user rules ---------------------------------------------------


class Doubler(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(2.0, dtype=torch.float64))

    def forward(self, x):
        return self.scale * x


def test_a_module_without_a_rule_is_predicted_from_its_ops():
    """No per-module rules any more: a module nobody registered is predicted from the ops
    its forward runs (scale · x: a product of degrees 1 and 0)."""
    assert predict(Doubler(), 0, inputs=torch.randn(3, dtype=torch.float64)) == Degree.exact(1)
    chain = nn.Sequential(nn.Linear(2, 2, bias=False), Doubler(), nn.Linear(2, 2, bias=False))
    assert predict(chain) == Degree.exact(3)


def test_a_module_that_does_not_say_its_inputs_needs_them():
    with pytest.raises(HomogeneityInputError, match="inputs"):
        predict_degree(Doubler())


class Scaler(Doubler):
    """A registered type: its rule declares degree 5 for the product (a wrong rule on
    purpose, so the override is visible)."""


def _claims_five(m, d, ctx):
    assert ctx.prefix in ("", "1")  # the module's own path
    assert ctx.scaled("scale")  # its parameter, qualified by that path
    return ctx.record("claims 5", d, Degree.exact(5))


def test_register_rule_overrides_the_engine_at_the_module_boundary():
    x = torch.randn(3, dtype=torch.float64)
    register_rule(Scaler)(_claims_five)
    try:
        assert predict(Scaler(), 0, inputs=x) == Degree.exact(5)
        chain = nn.Sequential(nn.Linear(3, 3, bias=False), Scaler(), nn.Tanh())
        der = predict_degree(chain)
        # the rule's output degree feeds the next op: tanh of a degree-5 input is ∼0
        assert kvo(der.degree) == ("approximate", 0.0, None)
        assert any(s.rule == "claims 5" and s.path == "1" for s in der.steps)

        # the module's own ops are not interpreted: an op without a rule inside it is fine
        class Odd(Scaler):
            def forward(self, x):
                return self.scale * torch.lgamma(x.abs() + 1)

        assert predict(Odd(), 0, inputs=x) == Degree.exact(5)  # subclass: MRO lookup
        # negative control: the parent type has no rule and is predicted by the engine
        assert predict(Doubler(), 0, inputs=x) == Degree.exact(1)
    finally:
        unregister_rule(Scaler)
    # and after unregistering, the engine again
    assert predict(Scaler(), 0, inputs=x) == Degree.exact(1)


def test_register_rule_gets_the_input_degree_and_must_return_a_degree():
    seen = []

    @register_rule(Scaler)
    def _rule(m, d, ctx):
        seen.append(d)
        return ctx.record(
            "scale", d, rules.multiply(d, rules.parameter_degree(ctx.scaled("scale")))
        )

    try:
        chain = nn.Sequential(nn.Linear(2, 2, bias=False), Scaler())
        assert predict(chain) == Degree.exact(2)
        assert seen[-1] == Degree.exact(1)
        assert predict(chain, 0, "1.scale") == Degree.exact(1)  # only the scale scaled
        assert seen[-1] == Degree.exact(0)
        check_homogeneity(Scaler(), torch.randn(3, dtype=torch.float64), 1)
        register_rule(Scaler)(lambda m, d, ctx: 2)
        with pytest.raises(HomogeneityInputError, match="must return"):
            predict(chain)
    finally:
        unregister_rule(Scaler)


# -- parameter selection --------------------------------------------------------------


def test_parameters_select_what_is_scaled_in_an_attention_head():
    """Scale only W^q, W^k of a head on data X (degree 0): Q and K have degree 1, the
    scores degree 2, softmax of positive degree is ∼0 and V = W^v X is unscaled (degree
    0), so H = A V is ∼0. Scale only W^v: A is untouched and H is exactly 1-homogeneous.
    Scale all three: ∼1."""
    head = AttentionHead(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    x = torch.randn(2, 5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    qk = ["query.weight", "key.weight"]
    assert kvo(predict(head, 0, qk)) == ("approximate", 0.0, None)
    assert predict(head, 0, "value.weight") == Degree.exact(1)
    assert kvo(predict(head, 0)) == ("approximate", 1.0, None)
    # the numbers agree
    check_homogeneity(head, x, 0, parameters=qk, approximate=True)
    check_homogeneity(head, x, 1, parameters="value.weight")
    check_homogeneity(head, x, 1, approximate=True)
    # negative controls: ∼0 in (W^q, W^k) is not exact; the wrong degree is rejected
    with pytest.raises(HomogeneityCheckError):
        check_homogeneity(head, x, 0, parameters=qk)
    with pytest.raises(HomogeneityCheckError):
        check_homogeneity(head, x, 1, parameters=qk, approximate=True)


def test_parameters_pattern_that_matches_nothing_is_refused():
    with pytest.raises(HomogeneityInputError, match="'query'"):
        predict_degree(AttentionHead(4, 3), 0, "query")
    with pytest.raises(HomogeneityInputError, match="model"):
        predict_degree(lambda x: x)  # type: ignore[arg-type]


# -- the printed derivation -----------------------------------------------------------


def test_derivation_prints_every_step():
    model = nn.Sequential(Linear(4, 4, bias=False), ReLU(), LayerNorm(4, 1e-5), FeedForward(4, 5))
    der = predict_degree(model, 0)
    assert isinstance(der, DegreeDerivation)
    text = str(der)
    lines = text.splitlines()
    assert lines[0] == f"predicted degree: {der.degree}"
    assert lines[1] == "input degree: =0 (exact)"
    assert lines[2].startswith("run: one float64 forward on example inputs")
    assert "math kernel" in lines[2]
    assert len(lines) == 3 + len(der.steps)
    paths = [s.path for s in der.steps]
    assert paths == ["0", "1", "2", "3.inner", "3.activation", "3.outer", "3", "<model>"]
    for step, line in zip(der.steps, lines[3:], strict=True):
        assert step.path in line and step.rule in line
        assert str(step.output_degree) in line
    assert [s.rule for s in der.steps[:3]] == ["Linear", "ReLU", "LayerNorm"]
    assert "constant 1e-05" in der.steps[2].output_degree.reason  # the norm's ε, where it acted
    assert "'2'" in der.steps[2].output_degree.reason
    # the last step's output is the predicted degree
    assert der.steps[-1].output_degree == der.degree


def test_input_degree_accepts_numbers_and_degrees():
    lin = Linear(3, 3, bias=False)
    assert predict_degree(lin, 2).degree == Degree.exact(3)
    assert predict_degree(lin, Degree.approximate(2)).degree.kind == "approximate"
    assert predict_degree(lin, Degree.none("no")).degree.kind == "none"
