"""Saturation of a model along the ray ρ ↦ f(x; ρθ) (SPEC D1, D7, D8, D14).

Modules, one job each:

============  ==========================================================================
level         D14: mean token cosine between f(x; θ) and f(x; ρθ), per layer, for any
              module, adapter or Ray (:func:`saturation_level`)
convergence   the same, the distance to the exact limit direction, attention entropy,
              argmax switches and head types as functions of ρ (:func:`convergence_curves`)
exact         the finite-ρ proxy against the exact saturated forward, and the one-pass
              E3/E5 analysis (:func:`analyse_saturation`)
walk          the one loop behind both: evaluations along the ray with the breakdown
              policy, and what is measured at each point (:class:`RayWalk`)
heads         D8/E5 head statistics and classification (:class:`HeadStatistics`)
attention     visible keys, row entropy, argmax agreement of attention maps
batching      length buckets, token-weighted means, finiteness checks
============  ==========================================================================

Everything works through the adapter interface of :mod:`homogeneity.adapters`, so it
applies to our components, to ported checkpoints, to ``transformers`` models, to
``torch.nn`` transformers and to any ``torch.nn.Module``.
"""

from homogeneity.errors import NumericalBreakdown
from homogeneity.saturation.attention import attention_entropy, visible_keys
from homogeneity.saturation.batching import length_buckets
from homogeneity.saturation.convergence import (
    DEFAULT_RHOS,
    LIMIT_RHO,
    ConvergenceCurves,
    convergence_curves,
    limit_trace,
)
from homogeneity.saturation.exact import (
    SaturatedComparison,
    SaturationAnalysis,
    analyse_saturation,
)
from homogeneity.saturation.heads import (
    ATTENDED_THRESHOLD,
    HEAD_KINDS,
    POSITION_KINDS,
    HeadStatistics,
    HeadStats,
    HeadTypeRule,
    head_type_counts,
    key_locations,
)
from homogeneity.saturation.level import (
    PAPER_RHO,
    SaturationLevel,
    mean_token_cosine,
    saturation_level,
    token_cosine,
)
from homogeneity.saturation.walk import Breakdown, PointMeasures, RayWalk

__all__ = [
    "ATTENDED_THRESHOLD",
    "Breakdown",
    "PointMeasures",
    "RayWalk",
    "ConvergenceCurves",
    "DEFAULT_RHOS",
    "HEAD_KINDS",
    "HeadStatistics",
    "HeadStats",
    "HeadTypeRule",
    "LIMIT_RHO",
    "NumericalBreakdown",
    "PAPER_RHO",
    "POSITION_KINDS",
    "SaturatedComparison",
    "SaturationAnalysis",
    "SaturationLevel",
    "analyse_saturation",
    "attention_entropy",
    "convergence_curves",
    "head_type_counts",
    "key_locations",
    "length_buckets",
    "limit_trace",
    "mean_token_cosine",
    "saturation_level",
    "token_cosine",
    "visible_keys",
]
