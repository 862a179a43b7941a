"""A model's predicted degree (the rules of SPEC D16) set against its measured degree.

Four outcomes, in the package's checker convention (``.passed``, and an ``undetermined``
that is neither a pass nor a failure):

``agree``          the kinds match, the degrees within :data:`DEGREE_TOLERANCE`, and for an
                   asymptotic degree the measured polynomial order within
                   :data:`ORDER_RELATIVE_TOLERANCE` of the predicted one;
``disagree``       a prediction and a measurement that contradict each other;
``no prediction``  an op without a degree rule fed the output (named, with its module
                   path): the rules say nothing, which is not a disagreement;
``undetermined``   the measurement could not classify the decay (too few usable points).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from homogeneity.constants import DEGREE_TOLERANCE, ORDER_RELATIVE_TOLERANCE
from homogeneity.degree import MeasuredDegree, measure_degree
from homogeneity.rules import Degree, DegreeDerivation, predict_degree
from homogeneity.scaling import OutputSelector, Patterns, Ray, default_output

AgreementOutcome = Literal["agree", "disagree", "no prediction", "undetermined"]


@dataclass
class DegreeAgreement:
    """A model's predicted degree (rules, SPEC D16) set against its measured degree."""

    predicted: DegreeDerivation
    measured: MeasuredDegree

    @property
    def outcome(self) -> AgreementOutcome:
        if not self.predicted.predicted:
            return "no prediction"
        if self.measured.kind == "undetermined":
            return "undetermined"
        return "agree" if self._match() else "disagree"

    def _match(self) -> bool:
        p, m = self.predicted.degree, self.measured
        if p.kind != m.kind:
            return False
        if p.kind == "none":
            return True
        # p.value is None only for kind "none" (returned above)
        if p.value is None or m.value is None or abs(p.value - m.value) >= DEGREE_TOLERANCE:
            return False
        if p.kind == "asymptotic":
            rate, order = m.profile.fit.rate, p.order  # both set for an asymptotic degree
            if rate is None or order is None:
                return False
            return abs(rate - order) <= ORDER_RELATIVE_TOLERANCE * order
        return True

    @property
    def passed(self) -> bool:
        """Prediction and measurement agree."""
        return self.outcome == "agree"

    @property
    def agree(self) -> bool:
        """The older name of :attr:`passed`."""
        return self.passed

    @property
    def undetermined(self) -> bool:
        """Neither a pass nor a failure: no prediction, or a measurement that could not
        classify the decay."""
        return self.outcome in ("no prediction", "undetermined")

    @property
    def reason(self) -> str:
        """Why the outcome is what it is, in one line."""
        if self.outcome == "no prediction":
            return str(self.predicted.missing)
        if self.outcome == "undetermined":
            return f"the measured decay is undetermined ({self.measured.profile.fit})"
        return ""

    def __str__(self) -> str:
        verdict = {
            "agree": "AGREE",
            "disagree": "DISAGREE",
            "no prediction": f"NO PREDICTION ({self.reason})",
            "undetermined": f"UNDETERMINED ({self.reason})",
        }[self.outcome]
        predicted = (
            f"no prediction: {self.predicted.missing}"
            if self.outcome == "no prediction"
            else f"predicted: {self.predicted.degree}"
        )
        return f"{predicted}\n{self.measured}\n=> {verdict}"


def check_degree(
    model: nn.Module,
    inputs: Any = (),
    parameters: Patterns = None,
    *,
    input_degree: Degree | float = 0,
    kwargs: Mapping[str, Any] | None = None,
    output: OutputSelector = default_output,
    dtype: torch.dtype = torch.float64,
    c: float = 2.0,
    rhos: Sequence[float] | None = None,
    low_precision: str = "lift",
) -> DegreeAgreement:
    """Predict the degree of ``model`` from the rules and measure it along the ray, both
    on the same inputs, output and dtype (``low_precision``: see
    :class:`~homogeneity.scaling.Ray`; the prediction is about the mathematics and does
    not depend on it)."""
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    ray = Ray(model, inputs, parameters, kwargs or {}, output, dtype, low_precision=low_precision)
    measured = measure_degree(ray, c, rhos)  # first: the ray diagnoses inputs of a wrong kind
    predicted = predict_degree(
        model,
        input_degree,
        parameters,
        inputs=inputs,
        kwargs=kwargs,
        output=output,
        dtype=dtype,
    )
    return DegreeAgreement(predicted, measured)
