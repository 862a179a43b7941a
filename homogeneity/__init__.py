"""Homogeneity, saturation and norm-growth analyses for transformers and any torch module.

The central object is the ray ρ ↦ f(x; ρθ) for a chosen group θ of a model's parameters:
its degree (homogeneity), its limit (saturation), how fast it gets there, its derivative
at ρ = 1 (Euler: θ·∇f = k f) and how training moves along it.

    from homogeneity import check_homogeneity, check_degree, predict_degree

The names below are loaded on first use (PEP 562), so ``import homogeneity.errors`` and
the mpmath proof checker do not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    "DecayFit": "homogeneity.decay",
    "classify_decay": "homogeneity.decay",
    "DecayProfile": "homogeneity.degree",
    "DegreeAgreement": "homogeneity.agreement",
    "EulerResult": "homogeneity.euler_identity",
    "HomogeneityCheckError": "homogeneity.check",
    "HomogeneityReport": "homogeneity.check",
    "MeasuredDegree": "homogeneity.degree",
    "check_degree": "homogeneity.agreement",
    "check_homogeneity": "homogeneity.check",
    "decay_profile": "homogeneity.degree",
    "degree_from_ratio": "homogeneity.scale_error",
    "euler": "homogeneity.euler_identity",
    "homogeneity_curve": "homogeneity.scale_error",
    "homogeneity_error": "homogeneity.scale_error",
    "measure_degree": "homogeneity.degree",
    "Degree": "homogeneity.rules",
    "DegreeDerivation": "homogeneity.rules",
    "predict_degree": "homogeneity.rules",
    "register_rule": "homogeneity.rules",
    "Ray": "homogeneity.scaling",
    "HomogeneityInputError": "homogeneity.errors",
    "NumericalBreakdown": "homogeneity.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'homogeneity' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from homogeneity.agreement import DegreeAgreement as DegreeAgreement
    from homogeneity.agreement import check_degree as check_degree
    from homogeneity.check import HomogeneityCheckError as HomogeneityCheckError
    from homogeneity.check import HomogeneityReport as HomogeneityReport
    from homogeneity.check import check_homogeneity as check_homogeneity
    from homogeneity.decay import DecayFit as DecayFit
    from homogeneity.decay import classify_decay as classify_decay
    from homogeneity.degree import DecayProfile as DecayProfile
    from homogeneity.degree import MeasuredDegree as MeasuredDegree
    from homogeneity.degree import decay_profile as decay_profile
    from homogeneity.degree import measure_degree as measure_degree
    from homogeneity.errors import HomogeneityInputError as HomogeneityInputError
    from homogeneity.errors import NumericalBreakdown as NumericalBreakdown
    from homogeneity.euler_identity import EulerResult as EulerResult
    from homogeneity.euler_identity import euler as euler
    from homogeneity.rules import Degree as Degree
    from homogeneity.rules import DegreeDerivation as DegreeDerivation
    from homogeneity.rules import predict_degree as predict_degree
    from homogeneity.rules import register_rule as register_rule
    from homogeneity.scale_error import degree_from_ratio as degree_from_ratio
    from homogeneity.scale_error import homogeneity_curve as homogeneity_curve
    from homogeneity.scale_error import homogeneity_error as homogeneity_error
    from homogeneity.scaling import Ray as Ray
