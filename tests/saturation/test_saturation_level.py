"""Saturation level (SPEC D14) on models whose answer is known in closed form."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from homogeneity.adapters import Batch
from homogeneity.components import Encoder
from homogeneity.errors import HomogeneityInputError
from homogeneity.saturation import (
    NumericalBreakdown,
    mean_token_cosine,
    saturation_level,
    token_cosine,
)
from homogeneity.scaling import Ray
from tests.helpers.encoders import bert_style_encoder

F64 = torch.float64


class MixedDegree(nn.Module):
    """f(x; θ) = A x + (B x) ⊙ (C x): a degree-1 plus a degree-2 term in θ = (A, B, C)."""

    def __init__(self, d: int, generator: torch.Generator) -> None:
        super().__init__()
        self.A, self.B, self.C = (
            nn.Parameter(torch.randn(d, d, dtype=F64, generator=generator)) for _ in range(3)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.A.T + (x @ self.B.T) * (x @ self.C.T)


def bert_like(n_layers: int = 2, seed: int = 0) -> Encoder:
    return bert_style_encoder(seed, n_layers=n_layers)


def test_exactly_homogeneous_model_is_fully_saturated():
    g = torch.Generator().manual_seed(1)
    torch.manual_seed(1)  # the layers' initialisation, independent of the tests run before
    model = nn.Sequential(nn.Linear(5, 7, bias=False), nn.ReLU(), nn.Linear(7, 3, bias=False))
    model = model.double()
    x = torch.randn(11, 5, dtype=F64, generator=g)
    level = saturation_level(model, x, rho=1000.0)
    assert level.layers == pytest.approx((1.0,), abs=1e-13)
    assert level.all_scaled and level.n_tokens == 11


def test_mixed_degree_matches_closed_form():
    """f(ρθ) = ρa + ρ²b, so cos(f(θ), f(ρθ)) = cos(a + b, a/ρ + b), token by token."""
    g = torch.Generator().manual_seed(2)
    model = MixedDegree(4, g)
    x = torch.randn(9, 4, dtype=F64, generator=g)
    with torch.no_grad():
        a, b = x @ model.A.T, (x @ model.B.T) * (x @ model.C.T)
    for rho in (2.0, 1000.0):
        expected = torch.nn.functional.cosine_similarity(a + b, a / rho + b, dim=-1).mean()
        level = saturation_level(model, x, rho=rho)
        assert level.value == pytest.approx(float(expected), abs=1e-12)
    # scaling only A: f = ρa + b, cos(a + b, ρa + b)
    expected = torch.nn.functional.cosine_similarity(a + b, 7.0 * a + b, dim=-1).mean()
    assert saturation_level(model, x, rho=7.0, parameters="A").value == pytest.approx(
        float(expected), abs=1e-12
    )


def test_encoder_reports_every_layer_and_ignores_padding():
    enc = bert_like(n_layers=2)
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(0, 40, (2, 9), generator=g)
    mask = torch.ones(2, 9, dtype=torch.bool)
    mask[1, 5:] = False
    level = saturation_level(enc, Batch(ids, mask))
    assert len(level.layers) == 3 and level.n_tokens == 14
    # the padded batch equals the token-weighted mean of the two sequences run alone
    first = saturation_level(enc, Batch.from_ids(ids[0]))
    second = saturation_level(enc, Batch.from_ids(ids[1, :5]))
    for layer in range(3):
        combined = (9 * first.layers[layer] + 5 * second.layers[layer]) / 14
        assert level.layers[layer] == pytest.approx(combined, abs=1e-12)
    # the padded tokens' ids must not matter either
    ids2 = ids.clone()
    ids2[1, 5:] = 0
    assert saturation_level(enc, Batch(ids2, mask)).layers == pytest.approx(level.layers, abs=1e-12)


def test_encoder_takes_ids_as_a_tensor_a_one_tuple_or_a_batch():
    enc = bert_like(n_layers=2)
    ids = torch.tensor([[1, 2, 3, 4], [4, 3, 2, 1]])
    want = saturation_level(enc, Batch.from_ids(ids)).layers
    assert saturation_level(enc, ids).layers == want
    assert saturation_level(enc, (ids,)).layers == want
    with pytest.raises(HomogeneityInputError, match="Batch or a tensor of token ids"):
        saturation_level(enc, (ids, ids))


def test_saturation_level_never_touches_the_module():
    enc = bert_like()
    before = {n: p.detach().clone() for n, p in enc.named_parameters()}
    saturation_level(enc, torch.tensor([[1, 2, 3, 4]]), rho=1e4)
    for n, p in enc.named_parameters():
        assert torch.equal(p, before[n]), n


def test_ray_input_and_rho_one_is_identity():
    enc = bert_like()
    level = saturation_level(enc, torch.tensor([[5, 6, 7]]), rho=1.0)
    assert level.layers == pytest.approx((1.0,) * 3, abs=1e-14)
    ray = Ray(nn.Linear(3, 2, bias=False).double(), inputs=(torch.ones(4, 3, dtype=F64),))
    assert saturation_level(ray, rho=5.0).value == pytest.approx(1.0, abs=1e-14)
    with pytest.raises(HomogeneityInputError, match="already a Ray"):
        saturation_level(ray, torch.ones(1), rho=5.0)


@pytest.mark.parametrize("rho", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_rho(rho):
    with pytest.raises(HomogeneityInputError, match="rho"):
        saturation_level(bert_like(), torch.tensor([[1, 2]]), rho=rho)


def test_zero_output_is_reported_not_averaged():
    model = nn.Linear(3, 2, bias=False).double()
    with torch.no_grad():
        model.weight.zero_()
    with pytest.raises(NumericalBreakdown, match="zero hidden vector"):
        saturation_level(model, torch.ones(4, 3, dtype=F64))


def test_token_cosine_and_mask_shape():
    a = torch.tensor([[1.0, 0.0], [0.0, 0.0]], dtype=F64)
    b = torch.tensor([[1.0, 1.0], [1.0, 0.0]], dtype=F64)
    cos = token_cosine(a, b)
    assert cos[0] == pytest.approx(1 / math.sqrt(2)) and math.isnan(float(cos[1]))
    assert mean_token_cosine(a, b, torch.tensor([True, False])) == pytest.approx(1 / math.sqrt(2))
    with pytest.raises(HomogeneityInputError, match="token_mask has shape"):
        mean_token_cosine(a, b, torch.tensor([True]))


def test_token_cosine_of_huge_vectors_does_not_overflow():
    a = torch.tensor([[3e200, 4e200]], dtype=F64)
    b = torch.tensor([[4e200, 3e200]], dtype=F64)
    assert float(token_cosine(a, b)[0]) == pytest.approx(24 / 25)
