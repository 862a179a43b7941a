"""The ray ρ ↦ f(x; ρθ) (homogeneity.scaling.Ray).

Properties: the caller's module is never modified (bit for bit), float32 modules are
evaluated in float64, unselected parameters stay at their values, ‖θ‖ is the norm of the
selected group only. Each comes with a negative control showing the test can fail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch.func import functional_call

from homogeneity.components import AttentionHead, Encoder, EncoderConfig, Linear, ProofLayerNorm
from homogeneity.errors import HomogeneityInputError
from homogeneity.scaling import Ray, default_output, select_parameter_names
from tests.helpers.module_state import assert_unchanged, snapshot

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request):
    return torch.device(request.param)


def mlp(dtype=torch.float64, device="cpu", seed=0, bias=True) -> nn.Sequential:
    g = torch.Generator().manual_seed(seed)
    return nn.Sequential(
        Linear(4, 5, bias, dtype=dtype, generator=g),
        nn.ReLU(),
        Linear(5, 3, bias, dtype=dtype, generator=g),
    ).to(device)


def x_for(dtype=torch.float64, device="cpu", seed=1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(6, 4, dtype=dtype, generator=g).to(device)


scales = st.floats(1e-3, 1e3)
pattern_sets = st.sampled_from([None, "*.weight", ["0.*"], ["2.bias", "0.weight"], "2.*"])


# -- the module is never touched -------------------------------------------------------


@given(rho=scales, patterns=pattern_sets)
def test_ray_never_modifies_the_module(rho, patterns):
    model = mlp()
    before = snapshot(model)
    ray = Ray(model, (x_for(),), patterns)
    ray(rho)
    ray.at(ray.theta, rho)
    ray.scaled_params(rho)
    assert_unchanged(model, before)


def test_ray_never_modifies_a_float32_module_in_training_mode(device):
    model = mlp(torch.float32, device)
    model.train()
    before = snapshot(model)
    ray = Ray(model, (x_for(torch.float32, device),))
    ray(3.0)
    assert_unchanged(model, before)
    assert all(m.training for m in model.modules())


def test_snapshot_detects_a_change():
    """Negative control for the helper above: scaling a parameter in place is caught,
    and so is a leftover gradient."""
    model = mlp()
    before = snapshot(model)
    with torch.no_grad():
        model[0].weight.mul_(1.0 + 2**-40)  # one ulp-scale change
    with pytest.raises(AssertionError):
        assert_unchanged(model, before)
    model = mlp()
    before = snapshot(model)
    model(x_for()).sum().backward()
    with pytest.raises(AssertionError):
        assert_unchanged(model, before)


# -- dtype ---------------------------------------------------------------------------


def test_float32_module_is_evaluated_in_float64(device):
    model = mlp(torch.float32, device)
    x = x_for(torch.float32, device)
    ray = Ray(model, (x,))
    y = ray(1.0)
    assert y.dtype == torch.float64 and y.device.type == device.type
    assert all(t.dtype == torch.float64 for t in ray.base.values())
    # float32 → float64 is exact, so the ray at ρ = 1 is the float64 copy of the model
    reference = mlp(torch.float32, device).double()(x.double())
    assert torch.equal(y, reference)
    # negative control: the same computation in float32 is not bit-equal in float64
    y32 = Ray(model, (x,), dtype=torch.float32)(1.0)
    assert y32.dtype == torch.float32
    assert not torch.equal(y32.double(), y)
    assert torch.allclose(y32.double(), y, rtol=1e-5, atol=1e-6)


def test_integer_inputs_are_kept():
    """Token ids are not cast to the working dtype."""
    cfg = EncoderConfig(vocab_size=7, d_model=4, n_heads=1, d_ff=4, n_layers=1, max_len=5)
    enc = Encoder(cfg, dtype=torch.float32, generator=torch.Generator().manual_seed(0))
    ids = torch.tensor([[1, 2, 3]])
    ray = Ray(enc, (ids,))
    assert ray.inputs[0].dtype == torch.int64
    assert ray(2.0).dtype == torch.float64


# -- selection -----------------------------------------------------------------------


@given(rho=scales)
def test_unselected_parameters_stay_unscaled(rho):
    model = mlp()
    x = x_for()
    ray = Ray(model, (x,), ["0.weight"])
    params = {n: p.detach().clone() for n, p in model.named_parameters()}
    params["0.weight"] = rho * params["0.weight"]
    expected = functional_call(model, params, (x,))
    assert torch.allclose(ray(rho), expected, rtol=1e-13, atol=0)
    # negative control: scaling every parameter instead is a different function of ρ
    if abs(rho - 1) > 1e-3:
        everything = {n: rho * p.detach() for n, p in model.named_parameters()}
        assert not torch.allclose(ray(rho), functional_call(model, everything, (x,)))


def test_scaled_params_scale_exactly_the_selection():
    model = mlp()
    ray = Ray(model, (x_for(),), ["*.bias"])
    assert ray.scaled_names == ["0.bias", "2.bias"]
    params = ray.scaled_params(5.0)
    for n, p in model.named_parameters():
        factor = 5.0 if n.endswith("bias") else 1.0
        assert torch.equal(params[n], factor * p.detach())


@pytest.mark.parametrize(
    "patterns, expected",
    [
        (None, ["0.weight", "0.bias", "2.weight", "2.bias"]),
        ("*.weight", ["0.weight", "2.weight"]),
        (["0.*", "2.bias"], ["0.weight", "0.bias", "2.bias"]),
        ("2.b?as", ["2.bias"]),
    ],
)
def test_glob_selection(patterns, expected):
    model = mlp()
    assert Ray(model, (x_for(),), patterns).scaled_names == expected
    assert select_parameter_names([n for n, _ in model.named_parameters()], patterns) == expected


@pytest.mark.parametrize("patterns", ["weight", ["0.weight", "3.*"], "*.gain", []])
def test_selection_that_matches_nothing_is_refused(patterns):
    with pytest.raises(HomogeneityInputError, match="parameters"):
        Ray(mlp(), (x_for(),), patterns)


@given(patterns=pattern_sets)
def test_theta_norm_is_the_norm_of_the_selected_group(patterns):
    model = mlp()
    ray = Ray(model, (x_for(),), patterns)
    selected = [p for n, p in model.named_parameters() if n in ray.scaled_names]
    expected = math.sqrt(sum(float((p.detach().double() ** 2).sum()) for p in selected))
    assert ray.theta_norm() == pytest.approx(expected, rel=1e-14)
    # negative control: with a proper subset the norm of all parameters is larger
    if len(selected) < len(list(model.parameters())):
        everything = math.sqrt(
            sum(float((p.detach().double() ** 2).sum()) for p in model.parameters())
        )
        assert ray.theta_norm() < everything


def test_theta_norm_float32_module():
    model = mlp(torch.float32)
    ray = Ray(model, (x_for(torch.float32),), "0.weight")
    assert ray.theta_norm() == pytest.approx(
        float(model[0].weight.detach().double().norm()), rel=1e-15
    )


# -- plain functions, outputs ---------------------------------------------------------


def test_plain_function_with_params():
    w = torch.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=torch.float32)

    def fn(params, x):
        return torch.relu(x @ params["w"].T) * params["s"]

    params = {"w": w, "s": torch.tensor(2.0, dtype=torch.float32)}
    x = torch.tensor([[1.0, 1.0], [-1.0, 2.0]], dtype=torch.float32)
    ray = Ray(fn, (x,), "w", params=params)
    y = ray(3.0)
    assert y.dtype == torch.float64
    assert torch.allclose(y, 3.0 * fn(params, x).double())
    assert params["w"] is w and torch.equal(w, torch.tensor([[1.0, -2.0], [0.5, 3.0]]))


def test_default_output_picks_the_tensor():
    t = torch.ones(2)

    @dataclass
    class Out:
        last: torch.Tensor

    assert default_output(t) is t
    assert default_output((t, 3)) is t
    assert default_output(Out(t)) is t
    with pytest.raises(HomogeneityInputError, match="output="):
        default_output({"a": t})


def test_output_selector():
    model = mlp()
    ray = Ray(model, (x_for(),), output=lambda out: out[:, 0])
    assert ray(1.0).shape == (6,)


def test_ray_outputs_no_autograd_graph():
    ray = Ray(mlp(), (x_for(),))
    assert ray(2.0).grad_fn is None


def test_attention_head_on_ray_with_mask_kwarg():
    head = AttentionHead(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    x = torch.randn(2, 5, 4, dtype=torch.float64)
    mask = torch.tensor([[True] * 5, [True, True, True, False, False]])
    ray = Ray(head, (x,), "value.weight", kwargs={"padding_mask": mask})
    assert torch.allclose(ray(4.0), 4.0 * head(x, mask).detach(), rtol=1e-14)
    assert ray.kwargs["padding_mask"].dtype == torch.bool


def test_ray_of_a_scale_invariant_module_is_flat():
    norm = ProofLayerNorm(6, gain=False, dtype=torch.float64)
    lin = Linear(4, 6, bias=False, dtype=torch.float64)
    model = nn.Sequential(lin, norm)
    ray = Ray(model, (x_for(),))
    assert torch.allclose(ray(1e3), ray(1e-3), rtol=1e-12)
