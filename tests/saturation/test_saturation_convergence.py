"""Convergence along the ray and the exact saturated forward, on small encoders where the
answer is known.

* Positive control: the paper's bias-free "pre-norm" encoder with the proofs' layer norm
  and ReLU is exactly 1-homogeneous up to its saturating softmax, so the components'
  saturated forward at θ *is* the limit direction.
* Negative control: a BERT-style encoder (post-norm, biases, GeLU, ε) mixes degrees, so
  s(θ) is *not* the limit; the limit is reached by s(ρθ) with direction error O(1/ρ).
"""

from __future__ import annotations

import math

import pytest
import torch

from homogeneity.adapters import Batch, EncoderAdapter, FunctionAdapter, Trace
from homogeneity.components import Encoder, EncoderConfig
from homogeneity.errors import HomogeneityInputError
from homogeneity.saturation import (
    ConvergenceCurves,
    NumericalBreakdown,
    analyse_saturation,
    convergence_curves,
    length_buckets,
    limit_trace,
    mean_token_cosine,
)
from tests.helpers.encoders import bert_style_encoder

F64 = torch.float64


def paper_encoder(seed: int = 0) -> Encoder:
    cfg = EncoderConfig(vocab_size=40, d_model=16, n_heads=2, d_ff=32, n_layers=3, max_len=16)
    return Encoder(cfg, dtype=F64, generator=torch.Generator().manual_seed(seed))


def bert_encoder(seed: int = 0, dtype: torch.dtype = F64) -> Encoder:
    return bert_style_encoder(seed, n_layers=3, dtype=dtype)


@pytest.fixture
def batch() -> Batch:
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 40, (3, 10), generator=g)
    mask = torch.ones(3, 10, dtype=torch.bool)
    mask[2, 6:] = False
    return Batch(ids, mask)


def test_homogeneous_encoder_saturated_forward_is_the_limit(batch):
    an = analyse_saturation(paper_encoder(), [batch])
    e = an.exact
    assert e.saturated_at_theta_vs_limit == pytest.approx((1.0,) * 4, abs=1e-12)
    assert e.proxy_vs_limit == pytest.approx((1.0,) * 4, abs=1e-12)
    # D14 at ρ = ∞ is then cos(f(θ), s(θ)), computed here directly
    adapter = EncoderAdapter(paper_encoder())
    f, s = adapter.run(batch), adapter.run(batch, saturated=True)
    direct = [
        mean_token_cosine(a, b, batch.padding_mask)
        for a, b in zip(f.hidden_states, s.hidden_states, strict=True)
    ]
    assert e.level_at_limit == pytest.approx(tuple(direct), abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_biased_post_norm_encoder_saturated_forward_is_not_the_limit(batch, seed):
    an = analyse_saturation(bert_encoder(seed), [batch])
    e = an.exact
    # the embedding output (ε → 0 only) is the limit, the layers are not
    assert e.saturated_at_theta_vs_limit[0] == pytest.approx(1.0, abs=1e-12)
    assert min(e.saturated_at_theta_vs_limit[1:]) < 0.9
    # at ρ = 1000 the proxy equals the saturated forward with the same parameters …
    assert min(e.proxy_vs_saturated_at_rho) > 1 - 1e-9
    # … and both are close to the limit
    assert min(e.proxy_vs_limit) > 1 - 1e-6
    assert e.argmax_agreement == pytest.approx((1.0,) * 3)


def test_direction_error_of_the_saturated_forward_is_of_order_one_over_rho(batch):
    """Residuals (degree 1) beside branches of degree 3 and biases of lower degree make
    s(ρθ)/ρ approach its limit like 1/ρ, so 1 − cos ∝ 1/ρ²."""
    adapter = EncoderAdapter(bert_encoder(0))
    limit = limit_trace(adapter, batch)
    sat = adapter.ray(batch, saturated=True)
    gaps = {}
    for rho in (1e3, 1e4):
        t = sat(rho)
        gaps[rho] = 1 - mean_token_cosine(
            t.hidden_states[-1], limit.hidden_states[-1], batch.padding_mask
        )
    ratio = gaps[1e3] / gaps[1e4]
    assert 50 < ratio < 200, gaps


def test_convergence_curves_on_the_homogeneous_encoder(batch):
    rhos = [1.0, 3.0, 10.0, 100.0, 1e3, 1e4]
    c = convergence_curves(paper_encoder(), [batch], rhos)
    assert c.rhos == tuple(rhos) and not c.breakdowns
    assert c.saturation[0] == pytest.approx([1.0] * 4, abs=1e-14)  # ρ = 1: cos(h, h)
    assert c.to_limit[-1] == pytest.approx([1.0] * 4, abs=1e-12)
    assert c.limit_entropy == pytest.approx([0.0] * 3, abs=1e-12)  # one-hot, no ties
    assert c.argmax_to_limit[-1] == pytest.approx([1.0] * 3)
    assert min(c.argmax_to_limit[0]) < 1.0  # at ρ = 1 some rows still look elsewhere
    for layer in range(3):
        entropies = [row[layer] for row in c.entropy]
        assert entropies[0] > 0.1 and entropies[-1] < 1e-6
    assert all(r is not None and r <= 100 for r in c.converged_at())
    assert c.reference.startswith("limit")
    assert sum(c.head_kinds[-1].values()) == 6 and c.head_kinds[-1]["argmax-like"] == 6


def test_converged_at_reads_the_tail():
    c = ConvergenceCurves(
        rhos=(1.0, 10.0, 100.0, 1000.0),
        saturation=[[1.0]] * 4,
        to_limit=[[0.5], [0.9999], [0.9], [0.99999]],
        entropy=[[1.0], [0.5], [0.003], [0.0]],
        limit_entropy=[0.0],
        reference="test",
    )
    assert c.converged_at(1e-3) == [1000.0]  # 10 is within tol but 100 is not again
    assert c.converged_at(0.2) == [10.0]
    assert c.entropy_converged_at(0.01) == [100.0]
    never = ConvergenceCurves(
        (1.0, 2.0), [[1.0]] * 2, [[0.1], [0.2]], [[1.0], [1.0]], [0.0], "test"
    )
    assert never.converged_at(1e-3) == [None]


def test_float32_overflow_is_recorded_not_hidden(batch):
    """In float32, ρ⁴-scaled scores and ρ³-scaled layer-norm inputs overflow at large ρ;
    the sweep stops at the first breakdown and records its ρ and layer (the one breakdown
    policy); a single point raises NumericalBreakdown with the same fields."""
    enc = bert_encoder(0)
    c = convergence_curves(enc, [batch], [1.0, 1e3, 1e12, 1e13], limit_rho=1e3, dtype=torch.float32)
    assert c.breakdown is not None and c.breakdown.rho == 1e12
    assert c.breakdown.where.startswith(("hidden state", "attention"))
    assert [r for r, _ in c.breakdowns] == [1e12]
    assert "NaN/inf" in c.breakdowns[0][1] and "float64" in c.breakdowns[0][1]
    assert c.rhos == (1.0, 1e3)  # kept up to the breakdown, nothing after it
    assert all(math.isfinite(x) for row in c.to_limit for x in row)
    with pytest.raises(NumericalBreakdown, match="reference evaluation"):
        convergence_curves(enc, [batch], [1.0, 10.0], limit_rho=1e12, dtype=torch.float32)
    with pytest.raises(NumericalBreakdown, match="not finite") as info:
        analyse_saturation(enc, [batch], rho=1e12, dtype=torch.float32)
    assert info.value.rho == 1e12 and info.value.where and "float64" in info.value.suggestion


def test_float64_stays_finite_up_to_the_limit_rho(batch):
    c = convergence_curves(bert_encoder(0), [batch], [1.0, 1e4, 1e6], limit_rho=1e8)
    assert not c.breakdowns


def test_adapters_without_exact_form_use_the_last_grid_rho(batch):
    enc = bert_encoder(0)
    adapter = FunctionAdapter(
        enc, arguments=lambda b: ((b.ids, b.padding_mask), {}), trace=lambda out: Trace((out,))
    )
    c = convergence_curves(adapter, [batch], [1.0, 10.0, 100.0])
    assert c.reference.startswith("largest grid") and c.to_limit[-1] == pytest.approx([1.0])
    an = analyse_saturation(adapter, [batch])
    # no attention maps in the trace: no head statistics, and the analysis says why
    assert an.exact is None and an.heads_at_limit is None and an.heads_at_rho is None
    assert an.attention.startswith("not captured")


def test_bad_grids(batch):
    with pytest.raises(HomogeneityInputError, match="increasing"):
        convergence_curves(paper_encoder(), [batch], [10.0, 1.0])
    with pytest.raises(HomogeneityInputError, match="rhos"):
        convergence_curves(paper_encoder(), [batch], [0.0, 1.0])
    with pytest.raises(HomogeneityInputError, match="batches is empty"):
        analyse_saturation(paper_encoder(), [])


def test_length_buckets_cover_every_row_once(batch):
    g = torch.Generator().manual_seed(5)
    lengths = torch.randint(1, 11, (11,), generator=g)
    ids = torch.randint(1, 40, (11, 10), generator=g)
    mask = torch.arange(10)[None] < lengths[:, None]
    big = Batch(ids, mask)
    seen = []
    for rows, sub in length_buckets(big, 4):
        seen += rows.tolist()
        assert sub.ids.shape[1] == int(lengths[rows].max())
        assert torch.equal(sub.ids[sub.padding_mask], ids[rows][mask[rows]])
    assert sorted(seen) == list(range(11))
