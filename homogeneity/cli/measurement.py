"""Predict and measure the degree of one model, with a progress bar along the ray.

This is :func:`homogeneity.agreement.check_degree` (the degree engine on one side, the
decay of the homogeneity error along ρ ↦ f(x; ρθ) on the other, both on the same inputs
and dtype) with the ray's evaluations counted on a tqdm bar, since a large model takes a
while over ~100 ray points.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm import tqdm

from homogeneity.agreement import DegreeAgreement
from homogeneity.degree import measure_degree
from homogeneity.experiments.degree_table import DegreeCase
from homogeneity.rules import predict_degree
from homogeneity.scaling import Patterns, Ray


@dataclass
class CountingRay(Ray):
    """A :class:`Ray` that calls ``on_evaluation()`` after every f(x; ρθ) it computes."""

    on_evaluation: Callable[[], None] = field(default=lambda: None, repr=False)

    def __call__(self, rho: float) -> torch.Tensor:
        out = super().__call__(rho)
        self.on_evaluation()
        return out


def ray_grid(rho_min: float, rho_max: float, points: int) -> list[float]:
    """``points`` geometric ρ values from ``rho_min`` to ``rho_max``."""
    return [float(r) for r in np.geomspace(rho_min, rho_max, points)]


@dataclass
class Measurement:
    """The agreement of prediction and measurement, and the ray it was measured on."""

    agreement: DegreeAgreement
    ray: Ray


def measure_case(
    case: DegreeCase,
    parameters: Patterns = None,
    *,
    c: float = 2.0,
    rhos: Sequence[float] | None = None,
    dtype: torch.dtype = torch.float64,
    progress: bool | None = None,
) -> Measurement:
    """Rules and measurement for ``case`` (``progress=None``: a bar only on a terminal)."""
    model, inputs = case.build(), case.inputs()
    predicted = predict_degree(model, 0, parameters, inputs=inputs, dtype=dtype)
    n_points = len(rhos) if rhos is not None else 49
    with tqdm(
        total=2 * n_points + 2,
        desc="ray evaluations",
        unit="eval",
        leave=False,
        disable=None if progress is None else not progress,
    ) as bar:

        def tick() -> None:
            if bar.total is not None and bar.n >= bar.total:
                bar.total += 32  # the grid was refined between the peak and the floor
            bar.update()

        ray = CountingRay(model, inputs, parameters, {}, dtype=dtype, on_evaluation=tick)
        measured = measure_degree(ray, c, rhos)
    return Measurement(DegreeAgreement(predicted, measured), ray)
