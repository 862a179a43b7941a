"""For every component and for encoders of depth 1–4 in all three residual placements,
with and without biases, the predicted degree (the engine, SPEC D16) and the measured
behaviour along the ray (exact / exponential / polynomial decay) agree.

The same cases make the table printed by ``python -m homogeneity.experiments.degree_table``.
Negative controls: a component with a wrong registered rule, and predictions altered by
one unit of degree or one kind, must be reported as disagreeing; a missing prediction and
an undetermined measurement are neither agreement nor disagreement.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from homogeneity import components as C
from homogeneity.agreement import DegreeAgreement, check_degree
from homogeneity.degree import MeasuredDegree
from homogeneity.experiments.degree_table import (
    component_cases,
    degree_table,
    encoder_cases,
    format_table,
)
from homogeneity.rules import Degree, DegreeDerivation, MissingRule, register_rule, unregister_rule

COMPONENTS = component_cases()
ENCODERS = encoder_cases((1, 2, 3, 4), biases=(False, True), norms=("proof",))
EPS_ENCODERS = encoder_cases((1, 2), biases=(False, True), norms=("layernorm", "rmsnorm"))
CLASSIFIERS = encoder_cases((1,), biases=(False, True), norms=("proof",), classifier=True)


@pytest.mark.parametrize("case", COMPONENTS, ids=[c.name for c in COMPONENTS])
def test_component_prediction_matches_measurement(case):
    agreement = check_degree(case.build(), case.inputs())
    assert agreement.agree, str(agreement)


@pytest.mark.parametrize(
    "case",
    ENCODERS + EPS_ENCODERS + CLASSIFIERS,
    ids=[c.name for c in ENCODERS + EPS_ENCODERS + CLASSIFIERS],
)
def test_encoder_prediction_matches_measurement(case):
    agreement = check_degree(case.build(), case.inputs())
    assert agreement.agree, str(agreement)


def test_bias_free_paper_prenorm_is_approximately_1_homogeneous():
    """T1's claim, in the only variant where our rules and measurements support it."""
    for case in ENCODERS:
        if "paper-prenorm" in case.name and "no-bias" in case.name:
            m = check_degree(case.build(), case.inputs()).measured
            assert (m.kind, m.value) == ("approximate", 1.0), case.name


def test_attention_head_is_degree_2_not_1():
    """Recorded discrepancy with SPEC P4: with X ∼1 the head is ∼2 (V = W^v X)."""
    head = next(c for c in COMPONENTS if c.name == "attention head")
    agreement = check_degree(head.build(), head.inputs())
    assert agreement.predicted.degree.value == 2.0
    assert agreement.measured.value == 2.0 and agreement.measured.kind == "approximate"


# -- negative controls -----------------------------------------------------------------


class LinearClaimingNoBias(C.Linear):
    """A mutated component: computes x Wᵀ + b but a rule declares the bias-free degree."""


def test_wrong_rule_is_caught():
    g = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(
        C.Linear(6, 6, bias=False, dtype=torch.float64, generator=g),
        LinearClaimingNoBias(6, 6, bias=True, dtype=torch.float64, generator=g),
    )
    x = torch.randn(3, 6, dtype=torch.float64, generator=g)
    assert check_degree(model, x).passed  # the engine gets it right: asymptotic
    register_rule(LinearClaimingNoBias)(
        lambda m, d, ctx: ctx.record("wrong rule", d, Degree.exact(d.value + 1))
    )
    try:
        agreement = check_degree(model, x)
    finally:
        unregister_rule(LinearClaimingNoBias)
    assert agreement.predicted.degree == Degree.exact(2)
    assert agreement.measured.kind == "asymptotic"
    assert agreement.outcome == "disagree" and not agreement.passed and not agreement.agree
    assert not agreement.undetermined and str(agreement).endswith("=> DISAGREE")


def _altered(agreement: DegreeAgreement, degree: Degree) -> DegreeAgreement:
    derivation = DegreeDerivation(
        degree, agreement.predicted.steps, agreement.predicted.input_degree
    )
    return dataclasses.replace(agreement, predicted=derivation)


@pytest.mark.parametrize("case", [ENCODERS[0], ENCODERS[2], COMPONENTS[0]], ids=lambda c: c.name)
def test_altered_predictions_disagree(case):
    agreement = check_degree(case.build(), case.inputs())
    assert agreement.agree
    p = agreement.predicted.degree
    wrong_value = dataclasses.replace(p, value=p.value + 1)
    assert not _altered(agreement, wrong_value).agree
    other_kinds = {
        "exact": Degree.approximate(p.value),
        "approximate": Degree.exact(p.value),
        "asymptotic": Degree.approximate(p.value),
    }
    assert not _altered(agreement, other_kinds[p.kind]).agree
    if p.kind == "asymptotic":
        assert not _altered(agreement, dataclasses.replace(p, order=p.order + 1)).agree


def test_table_formats_every_row():
    rows = degree_table(COMPONENTS[:3])
    text = format_table(rows)
    for case in COMPONENTS[:3]:
        assert case.name in text
    assert "3/3 cases" in text


def test_outcomes_follow_the_checker_convention():
    """passed (with the alias agree), and two outcomes that are neither pass nor fail."""
    case = COMPONENTS[0]
    agreement = check_degree(case.build(), case.inputs())
    assert agreement.outcome == "agree" and agreement.passed and agreement.agree
    assert not agreement.undetermined and str(agreement).endswith("=> AGREE")
    missing = MissingRule("aten.lgamma", "block")
    unpredicted = dataclasses.replace(
        agreement,
        predicted=DegreeDerivation(Degree.none("no prediction"), [], Degree.exact(0), missing),
    )
    assert unpredicted.outcome == "no prediction" and unpredicted.undetermined
    assert not unpredicted.passed
    assert "DISAGREE" not in str(unpredicted)
    assert str(unpredicted).endswith("=> NO PREDICTION (no degree rule for aten.lgamma at 'block')")
    m = agreement.measured
    unmeasured = dataclasses.replace(
        agreement, measured=MeasuredDegree("undetermined", None, m.profile, m.euler)
    )
    assert unmeasured.outcome == "undetermined" and unmeasured.undetermined
    assert not unmeasured.passed and "UNDETERMINED" in str(unmeasured)
