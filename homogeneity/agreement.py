"""A model's predicted degree (the rules of SPEC D16) set against its measured degree."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from homogeneity.constants import DEGREE_TOLERANCE, ORDER_RELATIVE_TOLERANCE
from homogeneity.degree import MeasuredDegree, measure_degree
from homogeneity.rules import Degree, DegreeDerivation, predict_degree
from homogeneity.scaling import OutputSelector, Patterns, Ray, default_output


@dataclass
class DegreeAgreement:
    """A model's predicted degree (rules, SPEC D16) set against its measured degree."""

    predicted: DegreeDerivation
    measured: MeasuredDegree

    @property
    def agree(self) -> bool:
        p, m = self.predicted.degree, self.measured
        if p.kind != m.kind:
            return False
        if p.kind == "none":
            return True
        if m.value is None or abs(p.value - m.value) >= DEGREE_TOLERANCE:
            return False
        if p.kind == "asymptotic":
            return abs(m.profile.fit.rate - p.order) <= ORDER_RELATIVE_TOLERANCE * p.order
        return True

    def __str__(self) -> str:
        verdict = "AGREE" if self.agree else "DISAGREE"
        return f"predicted: {self.predicted.degree}\n{self.measured}\n=> {verdict}"


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
    """Predict the degree of ``model`` from its rules and measure it along the ray
    (``low_precision``: see :class:`~homogeneity.scaling.Ray`)."""
    ray = Ray(
        model,
        inputs if isinstance(inputs, tuple) else (inputs,),
        parameters,
        kwargs or {},
        output,
        dtype,
        low_precision=low_precision,
    )
    return DegreeAgreement(
        predict_degree(model, input_degree, parameters), measure_degree(ray, c, rhos)
    )
