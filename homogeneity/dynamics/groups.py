"""Parameter groups: named sets of a model's parameters that the dynamics are measured on.

A group is a name and glob patterns over ``model.named_parameters()`` (the same patterns
as :class:`homogeneity.scaling.Ray`). Every quantity of SPEC D6 and A1 (‖θ‖, ‖δ‖,
cos(θ, δ), cos(θ_t, θ_{t+1})) is computed on the concatenation of a group's tensors,
without ever building that concatenation:

    ⟨a, b⟩_G = Σ_{p ∈ G} ⟨a_p, b_p⟩,    ‖a‖_G = √⟨a, a⟩_G.

Sums are accumulated in float64 whatever the parameters' dtype.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from homogeneity.errors import HomogeneityInputError
from homogeneity.scaling import Patterns, select_parameter_names

#: Groups as resolved names: group name -> parameter names (in model order).
ResolvedGroups = dict[str, list[str]]


def resolve_groups(names: Sequence[str], groups: Mapping[str, Patterns] | None) -> ResolvedGroups:
    """Turn ``{group: patterns}`` into ``{group: [parameter names]}``.

    ``None`` gives the single group ``{"all": every parameter}``. A pattern that selects
    nothing raises :class:`HomogeneityInputError` naming it (from
    :func:`select_parameter_names`); so does an empty mapping or a non-string group name.
    """
    if groups is None:
        return {"all": list(names)}
    if not isinstance(groups, Mapping) or not groups:
        raise HomogeneityInputError(
            f"groups must be a non-empty mapping {{name: glob patterns}} (or None for one "
            f"group of all parameters), got {groups!r}"
        )
    resolved: ResolvedGroups = {}
    for group, patterns in groups.items():
        if not isinstance(group, str) or not group:
            raise HomogeneityInputError(
                f"groups has the key {group!r}; group names must be non-empty strings"
            )
        resolved[group] = select_parameter_names(list(names), patterns)
    return resolved


def module_groups(
    model: nn.Module, depth: int = 1, include_all: bool = True
) -> dict[str, list[str]]:
    """One group per module prefix of ``depth`` dotted components, plus ``"all"``.

    For an LM with parameters ``encoder.layers.0.…``, depth 3 gives ``encoder.layers.0``,
    ``encoder.layers.1``, ``encoder.tokens`` … Returned as glob patterns (``prefix.*``, or the
    exact name for a parameter shallower than ``depth``).
    """
    if depth < 1:
        raise HomogeneityInputError(f"depth={depth} must be ≥ 1 (1: top-level modules)")
    out: dict[str, list[str]] = {"all": ["*"]} if include_all else {}
    for name, _ in model.named_parameters():
        parts = name.split(".")
        if len(parts) > depth:
            prefix = ".".join(parts[:depth])
            out.setdefault(prefix, [prefix + ".*"])
        else:
            out.setdefault(name, [name])
    return out


def group_dot(
    a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor], names: Sequence[str]
) -> float:
    """⟨a, b⟩ over the parameter tensors ``names`` (float64 accumulation)."""
    total = 0.0
    for n in names:
        total += float(torch.sum(a[n].to(torch.float64) * b[n].to(torch.float64)))
    return total


def group_norm(a: Mapping[str, torch.Tensor], names: Sequence[str]) -> float:
    """‖a‖ over the parameter tensors ``names``."""
    return math.sqrt(max(group_dot(a, a, names), 0.0))


def cosine(dot: float, norm_a: float, norm_b: float) -> float:
    """dot/(‖a‖‖b‖), NaN when either vector is zero (the angle is undefined)."""
    if norm_a == 0.0 or norm_b == 0.0:
        return math.nan
    return dot / (norm_a * norm_b)
