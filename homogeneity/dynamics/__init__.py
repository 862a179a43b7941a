"""How training moves θ along and around the ray: gradient direction, norm growth,
alignment, saturation during training, growth-law fits and the theory's predictions.

Modules:

* :mod:`~homogeneity.dynamics.gradients`: θ·∇L against its Euler prediction, orthogonality
  of scale-invariant groups, ∇g(cθ) = c^{k−1}∇g(θ) (SPEC EU), per parameter group.
* :mod:`~homogeneity.dynamics.tracker`: :class:`NormTracker`, for any torch optimizer.
* :mod:`~homogeneity.dynamics.saturation_probe`: D14 at given parameter values (training).
* :mod:`~homogeneity.dynamics.growth_laws`: fits of t, √t, t^{1/4}, saturating
  exponential, (log t)^{1/L}, exp(∫η); model selection; free exponent with a CI.
* :mod:`~homogeneity.dynamics.predictions`: G1, G2 and the known results as functions.
* :mod:`~homogeneity.dynamics.controlled`: problems where those predictions are exact.
"""

from homogeneity.dynamics.gradients import (
    GradientScalingReport,
    LossEulerReport,
    OrthogonalityReport,
    gradient_scaling,
    loss_euler,
    scale_invariance_orthogonality,
)
from homogeneity.dynamics.groups import module_groups, resolve_groups
from homogeneity.dynamics.growth_laws import (
    LAW_NAMES,
    GrowthLawSelection,
    LawFit,
    PowerLawFit,
    fit_law,
    fit_power_law,
    lr_integral_at,
    select_growth_law,
)
from homogeneity.dynamics.saturation_probe import ProbeResult, SaturationProbe
from homogeneity.dynamics.tracker import NormTracker, read_records, series

__all__ = [
    "GradientScalingReport",
    "GrowthLawSelection",
    "LAW_NAMES",
    "LawFit",
    "LossEulerReport",
    "NormTracker",
    "OrthogonalityReport",
    "PowerLawFit",
    "ProbeResult",
    "SaturationProbe",
    "fit_law",
    "fit_power_law",
    "gradient_scaling",
    "loss_euler",
    "lr_integral_at",
    "module_groups",
    "read_records",
    "resolve_groups",
    "scale_invariance_orthogonality",
    "select_growth_law",
    "series",
]
