"""Homogeneity, saturation and norm-growth analyses for transformers and any torch module.

The central object is the ray ρ ↦ f(x; ρθ) for a chosen group θ of a model's parameters:
its degree (homogeneity), its limit (saturation), how fast it gets there, its derivative
at ρ = 1 (Euler: θ·∇f = k f) and how training moves along it.
"""

from homogeneity.rules import Degree, DegreeDerivation, predict_degree, register_rule
from homogeneity.validation import HomogeneityInputError

__all__ = ["Degree", "DegreeDerivation", "HomogeneityInputError", "predict_degree",
           "register_rule"]
