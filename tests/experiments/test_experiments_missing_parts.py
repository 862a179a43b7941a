"""The E3/E5 figures ask for the parts of a report they draw (the sweep over ρ, the head
statistics) and say which is missing, rather than fail on None."""

from __future__ import annotations

from typing import Any, cast

import pytest

from homogeneity.errors import HomogeneityInputError
from homogeneity.experiments.e3_pretrained_saturation.compute import ModelReport
from homogeneity.experiments.e3_pretrained_saturation.plots import convergence_of
from homogeneity.experiments.e5_head_types.plots import captured
from homogeneity.saturation import ConvergenceCurves, HeadStats


def model_report(convergence: ConvergenceCurves | None) -> ModelReport:
    return ModelReport("random", cast(Any, None), convergence, 0.0)


def test_convergence_of_a_report_without_the_sweep_names_the_model():
    with pytest.raises(HomogeneityInputError, match="random model has no convergence curves"):
        convergence_of(model_report(None))


def test_convergence_of_a_report_with_the_sweep_is_its_curves():
    curves = cast(ConvergenceCurves, object())
    assert convergence_of(model_report(curves)) is curves


@pytest.mark.parametrize("heads", [None, []])
def test_captured_without_head_statistics_says_so(heads: list[HeadStats] | None):
    with pytest.raises(HomogeneityInputError, match="no head statistics at ρ = 1"):
        captured(heads, "at ρ = 1")


def test_captured_with_head_statistics_is_them():
    heads = [cast(HeadStats, object())]
    assert captured(heads, "at ρ = 1") is heads
