"""Homogeneity, saturation and norm-growth analyses for transformers and any torch module.

The central object is the ray ρ ↦ f(x; ρθ) for a chosen group θ of a model's parameters:
its degree (homogeneity), its limit (saturation), how fast it gets there, its derivative
at ρ = 1 (Euler: θ·∇f = k f) and how training moves along it.

    from homogeneity import check_homogeneity, check_degree, predict_degree
"""

from homogeneity.decay import DecayFit, classify_decay
from homogeneity.degree import (
    DecayProfile,
    DegreeAgreement,
    EulerResult,
    HomogeneityCheckError,
    HomogeneityReport,
    MeasuredDegree,
    check_degree,
    check_homogeneity,
    decay_profile,
    degree_from_ratio,
    euler,
    homogeneity_curve,
    homogeneity_error,
    measure_degree,
)
from homogeneity.rules import Degree, DegreeDerivation, predict_degree, register_rule
from homogeneity.scaling import Ray
from homogeneity.validation import HomogeneityInputError

__all__ = [
    "DecayFit",
    "DecayProfile",
    "Degree",
    "DegreeAgreement",
    "DegreeDerivation",
    "EulerResult",
    "HomogeneityCheckError",
    "HomogeneityInputError",
    "HomogeneityReport",
    "MeasuredDegree",
    "Ray",
    "check_degree",
    "check_homogeneity",
    "classify_decay",
    "decay_profile",
    "degree_from_ratio",
    "euler",
    "homogeneity_curve",
    "homogeneity_error",
    "measure_degree",
    "predict_degree",
    "register_rule",
]
