"""Margins of a claim search on its random cases alone (no hand-made cases, no shrinking):
a negative control must be rejected by what the search draws, not only by the
constructions placed in front of it."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings

from proofs_numeric.precision import working_precision
from proofs_numeric.search import PropertySearch


def sampled_margins(search: PropertySearch, examples: int, digits: int = 50) -> list[Any]:
    """The margins of ``examples`` cases drawn (derandomized) from ``search.strategy``."""
    return [m for _, m in sampled_cases(search, examples, digits)]


def sampled_cases(
    search: PropertySearch, examples: int, digits: int = 50
) -> list[tuple[dict[str, Any], Any]]:
    """(case, margin) for ``examples`` cases drawn (derandomized) from ``search.strategy``."""
    margins: list[tuple[dict[str, Any], Any]] = []

    @settings(
        max_examples=examples,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(search.strategy)
    def draw(case: dict[str, Any]) -> None:
        with working_precision(digits):
            margins.append((dict(case), search.margin(case, digits)))

    draw()
    return margins
