"""Hypothesis strategies of small transformer configurations.

Separate from :mod:`proofs_numeric.strategies` because
:class:`homogeneity.components.EncoderConfig` lives with the torch components: importing
this module imports torch, importing :mod:`proofs_numeric.strategies` does not (its
``encoder_configs`` is this one, loaded on first use).
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from homogeneity.components import EncoderConfig
from homogeneity.constants import NormKind, Placement
from homogeneity.errors import HomogeneityInputError


def encoder_configs(
    placements: Sequence[str] = (Placement.PAPER_PRENORM,),
    norms: Sequence[str] = (NormKind.PROOF,),
    bias: bool | None = False,
    max_layers: int = 2,
    activations: Sequence[str] = ("relu",),
) -> st.SearchStrategy[EncoderConfig]:
    """Small encoders (d_model ≤ 6, ≤ 2 heads, seq ≤ 4 tokens) for exhaustive checks."""
    if max_layers < 1:
        raise HomogeneityInputError(f"max_layers={max_layers} must be ≥ 1")
    bias_st = st.booleans() if bias is None else st.just(bias)

    @st.composite
    def build(draw: st.DrawFn) -> EncoderConfig:
        n_heads = draw(st.integers(1, 2))
        d_head = draw(st.integers(1, 3))
        return EncoderConfig(
            vocab_size=draw(st.integers(2, 6)),
            d_model=draw(st.integers(2, 6)),
            n_heads=n_heads,
            d_head=d_head,
            d_ff=draw(st.integers(2, 6)),
            n_layers=draw(st.integers(1, max_layers)),
            max_len=draw(st.sampled_from([0, 4])),
            placement=draw(st.sampled_from(list(placements))),
            norm=draw(st.sampled_from(list(norms))),
            bias=draw(bias_st),
            activation=draw(st.sampled_from(list(activations))),
        )

    return build()
