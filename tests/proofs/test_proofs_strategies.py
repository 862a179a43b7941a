"""The reusable Hypothesis strategies keep their promises."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from homogeneity.components import EncoderConfig
from homogeneity.errors import HomogeneityInputError
from proofs_numeric import strategies as S


@given(S.score_rows(max_size=8))
def test_score_rows_structure(row) -> None:
    scores, keep = row["scores"], row["keep"]
    assert len(scores) == len(keep) and any(keep)
    vis = [s for s, k in zip(scores, keep, strict=True) if k]
    top = max(vis)
    assert sum(1 for s in vis if s == top) == row["ties"]
    others = [s for s in vis if s != top]
    assert (row["gap"] is None) == (not others)
    if others:
        assert row["gap"] == top - max(others) > 0


@given(S.score_rows(ties=2, gap=0.5, offset=0.0, masked=False, min_size=3))
def test_score_rows_chosen_ties_and_gap(row) -> None:
    assert row["ties"] == 2 and row["gap"] == 0.5 and all(row["keep"])


@given(S.masks(5, min_visible=2))
def test_masks_keep_enough(mask) -> None:
    assert sum(mask) >= 2


@given(S.masks(3, allow_all_masked=True))
def test_masks_may_be_empty_when_asked(mask) -> None:
    assert len(mask) == 3


@given(S.unit_vectors(4))
def test_unit_vectors(v) -> None:
    assert math.isclose(math.sqrt(sum(t * t for t in v)), 1.0, rel_tol=1e-12)


@given(S.parameter_rays(3, 2.0, 50.0))
def test_parameter_rays(ray) -> None:
    assert 2.0 <= ray["norm"] <= 50.0 + 1e-9 and ray["log10_c"] >= 0


@given(S.magnitudes(-3, 3, allow_zero=False), S.log10_scales(400))
def test_magnitudes_and_scales(x, lc) -> None:
    assert x != 0 and (abs(x) >= 1e-3 - 1e-18)
    assert 0 <= lc <= 400


@pytest.mark.parametrize("top", [0.0, 0.005, 2.5, 12.0])
def test_scales_never_leave_their_range(top) -> None:
    """Every draw of log10_scales(top) lies in [0, top], landmarks and near-one draws too
    (a top of 12 once drew the landmark 20)."""
    drawn: list[float] = []

    @settings(max_examples=300, database=None, derandomize=True)
    @given(S.log10_scales(top))
    def draw(lc: float) -> None:
        drawn.append(lc)

    draw()
    assert drawn and all(0 <= lc <= top for lc in drawn)
    if top >= 3.0:  # the landmarks inside the range are still drawn
        assert {0.0, 1.0, 3.0} <= set(drawn)


@given(S.encoder_configs(("paper-prenorm", "postnorm"), ("proof", "layernorm"), None))
def test_encoder_configs_are_valid(cfg) -> None:
    assert isinstance(cfg, EncoderConfig) and cfg.n_layers >= 1


@given(st.sampled_from([-5.0, 0.0, 3.0, float("nan"), float("inf"), -float("inf")]))
def test_toward_accepts_any_margin(x) -> None:
    S.toward(x)


@pytest.mark.parametrize(
    "call",
    [
        lambda: S.magnitudes(3, -3),
        lambda: S.log10_scales(-1),
        lambda: S.unit_vectors(0),
        lambda: S.masks(0),
        lambda: S.masks(2, min_visible=3),
        lambda: S.parameter_rays(2, 0, 1),
        lambda: S.encoder_configs(max_layers=0),
    ],
)
def test_bad_arguments(call) -> None:
    with pytest.raises(HomogeneityInputError):
        call()
