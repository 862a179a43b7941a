"""A toy claim's pieces for the tests of the claim framework: a property search over
x ∈ [−10, 10] with any margin, and a negative control that is always rejected."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from proofs_numeric.claim import ControlOutcome, NegativeControl
from proofs_numeric.search import Case, MarginFn, PropertySearch

#: a control that is always rejected (for claims whose controls are not under test)
NOOP = NegativeControl("noop", "", lambda ctx: ControlOutcome(True, ""))


def toy_search(
    margin: MarginFn,
    strategy: st.SearchStrategy[Case] | None = None,
    constructions: Sequence[Case] = (),
    **options: Any,
) -> PropertySearch:
    """The search of claim "TOY": ``margin`` on ``strategy``'s cases (default: one float
    ``x`` in [−10, 10]) after ``constructions``; ``options`` are further
    :class:`PropertySearch` fields (``examples_scale``, ``ray``, …)."""
    return PropertySearch(
        "TOY",
        strategy if strategy is not None else st.fixed_dictionaries({"x": st.floats(-10, 10)}),
        margin,
        "toy",
        constructions,
        **options,
    )
