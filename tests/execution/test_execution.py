"""The checked execution path (homogeneity.execution) on small hand-made models.

The kernels it switches and restores, the low-precision ops it lifts or keeps, the
breakdown policy (a single point raises NumericalBreakdown naming ρ and the op or module;
a sweep stops and records), and the output selection. Each property has a negative
control.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from homogeneity.check import check_homogeneity
from homogeneity.components import EncoderOutput
from homogeneity.errors import HomogeneityInputError, NumericalBreakdown
from homogeneity.euler_identity import euler
from homogeneity.execution import (
    CheckedExecution,
    ExecutionReport,
    LowPrecisionMode,
    checked_backends,
    select_output,
    sweep,
)
from homogeneity.execution.module_paths import ModulePathTracker
from homogeneity.scale_error import degree_from_ratio, homogeneity_curve, homogeneity_error
from homogeneity.scaling import Ray
from homogeneity.tolerances import noise_floor
from tests.helpers.module_state import assert_unchanged, snapshot
from tests.helpers.torch_settings import sdpa_settings

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(4, 5, bias=False), nn.ReLU(), nn.Linear(5, 3, bias=False)
    ).double()


def x4() -> torch.Tensor:
    return torch.randn(3, 4, dtype=torch.float64, generator=gen(2))


# -- kernels: switched inside, restored afterwards, also on errors -------------------


@pytest.mark.parametrize("fastpath", [True, False])
def test_checked_backends_switch_and_restore_even_on_errors(fastpath):
    previous = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(fastpath)
    try:
        before = sdpa_settings()
        with checked_backends():
            inside = sdpa_settings()
        assert inside[0] is False and inside[3] is True  # fast path off, math kernel on
        assert not inside[1] and not inside[2] and not inside[4]  # fused kernels off
        assert sdpa_settings() == before
        with pytest.raises(RuntimeError, match="boom"), checked_backends():
            raise RuntimeError("boom")
        assert sdpa_settings() == before
    finally:
        torch.backends.mha.set_fastpath_enabled(previous)


def test_settings_are_restored_after_a_model_that_raises_and_after_a_breakdown():
    class Raises(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.ones(2, dtype=torch.float64))

        def forward(self, x):
            if self.w.sum() > 3:
                raise RuntimeError("model error")
            return torch.exp(self.w * x * 1e3)

    before = sdpa_settings()
    ray = Ray(Raises(), (torch.ones(2, dtype=torch.float64),))
    with pytest.raises(RuntimeError, match="model error"):
        ray(2.0)
    assert sdpa_settings() == before
    with pytest.raises(NumericalBreakdown):
        ray(1.0)  # exp(1000) overflows
    assert sdpa_settings() == before
    assert torch.backends.mha.get_fastpath_enabled()


def test_forward_mode_runs_through_sdpa_and_multihead_attention():
    """Negative control included: the same forward-mode pass with torch's default
    kernels raises NotImplementedError on the MHA fast path."""
    mha = nn.MultiheadAttention(8, 2, batch_first=True).double().eval()
    x = torch.randn(2, 5, 8, dtype=torch.float64, generator=gen())

    class SelfAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mha = mha

        def forward(self, x):
            return self.mha(x, x, x, need_weights=False)[0]

    model = SelfAttention().eval()
    ray = Ray(model, (x,))
    value, tangent = ray.jvp(1.0)
    assert torch.isfinite(tangent).all() and tangent.abs().sum() > 0
    assert ray.execution.mha_calls == 1 and ray.execution.sdpa_calls == 0
    assert "nn.MultiheadAttention fast path: off" in str(ray.execution)
    import torch.autograd.forward_ad as fwAD

    with pytest.raises(NotImplementedError), torch.no_grad(), fwAD.dual_level():
        w = mha.in_proj_weight.detach()
        torch.func.functional_call(model, {"mha.in_proj_weight": fwAD.make_dual(w, w)}, (x,))


# -- low precision -------------------------------------------------------------------


class Islands(nn.Module):
    """A float32 cast inside, like T5's variance, plus a float32 softmax."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(4, 4, bias=False).double()
        self.inner = nn.Identity()

    def forward(self, x):
        h = self.proj(x)
        variance = h.to(torch.float32).pow(2).mean(-1, keepdim=True)
        h = h * torch.rsqrt(variance + 1e-6)
        return F.softmax(h, dim=-1, dtype=torch.float32).to(x.dtype) * h


@torch.no_grad()
def test_low_precision_mode_lifts_records_and_keeps():
    x = x4()
    model = Islands()
    with (
        ModulePathTracker(model) as tracker,
        LowPrecisionMode(torch.float64, lift=True, tracker=tracker) as mode,
    ):
        lifted = model(x)
    assert lifted.dtype == torch.float64
    assert [(op.module, op.op, op.source, op.target) for op in mode.ops] == [
        ("<model>", "aten._to_copy", torch.float64, torch.float32),
        ("<model>", "aten._to_copy", torch.float64, torch.float32),
    ]
    # kept: the model as written (float32 rounding shows at ~1e-7)
    with LowPrecisionMode(torch.float64, lift=False) as keep:
        kept = model(x)
    as_written = model(x)
    assert torch.equal(kept, as_written) and keep.ops == []  # no tracker: nothing recorded
    assert 1e-10 < float((kept - lifted).norm() / lifted.norm()) < 1e-5
    # the lifted run is the float64 mathematics
    h = model.proj(x)
    h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + 1e-6)
    assert torch.allclose(lifted, F.softmax(h, dim=-1) * h, rtol=1e-14, atol=0)


def test_a_model_without_low_precision_ops_runs_without_the_mode():
    ray = Ray(mlp(), (x4(),))
    ray(1.0)
    assert ray.execution.low_precision_ops == () and not ray._execution.lifting
    islands = Ray(Islands(), (x4(),))
    islands(1.0)
    assert islands._execution.lifting and islands.execution.lifted
    # two casts, one site: (module, op, dtypes)
    assert "float32 ops lifted to float64: 1 site(s) in 1 module(s) (<model>)" in str(
        islands.execution
    )
    kept = Ray(Islands(), (x4(),), low_precision="keep")
    assert not kept._execution.lifting and kept.noise_floor == noise_floor(torch.float32)


def test_low_precision_option_is_validated():
    with pytest.raises(HomogeneityInputError, match="low_precision='fast'"):
        Ray(mlp(), (x4(),), low_precision="fast")
    with pytest.raises(HomogeneityInputError, match="low_precision"):
        check_homogeneity(mlp(), x4(), 2, low_precision="float32")


# -- the breakdown policy -----------------------------------------------------------


def test_check_homogeneity_at_an_overflowing_rho_is_a_breakdown_not_a_verdict():
    """Used to report FAILED with k̂ = nan. Now: NumericalBreakdown naming ρ and the op
    and module of the first infinity, with advice that fits a float64 run."""
    model = mlp()
    before = snapshot(model)
    with pytest.raises(NumericalBreakdown) as info:
        check_homogeneity(model, x4(), 2, rho=1e300)
    exc = info.value
    assert exc.rho == 1e300
    assert exc.where == "aten.mm (float64) in module '2' (Linear)"
    assert "smaller rho" in exc.suggestion and "float64" not in exc.suggestion
    assert_unchanged(model, before)
    # negative control: at a reasonable ρ the same check passes
    assert check_homogeneity(model, x4(), 2, rho=10.0).passed


def test_float32_breakdown_suggests_float64():
    model = mlp()
    with pytest.raises(NumericalBreakdown) as info:
        check_homogeneity(model, x4(), 2, rho=1e25, dtype=torch.float32)
    assert info.value.rho == 1e25 and "dtype=torch.float64" in info.value.suggestion
    assert "float32" in info.value.where


@pytest.mark.parametrize(
    "call",
    [
        lambda ray: euler(ray, 2, rho=1e300),
        lambda ray: homogeneity_error(ray, 2.0, 2, rho=1e300),
        lambda ray: degree_from_ratio(ray, rho=1e300),
        lambda ray: ray(1e300),
        lambda ray: ray.jvp(1e300),
    ],
)
def test_every_single_point_check_raises_the_breakdown(call):
    ray = Ray(mlp(), (x4(),))
    with pytest.raises(NumericalBreakdown) as info:
        call(ray)
    assert info.value.rho == 1e300 and "module '2'" in info.value.where


def test_breakdown_at_c_times_rho_names_that_point():
    ray = Ray(mlp(), (x4(),))
    with pytest.raises(NumericalBreakdown) as info:
        homogeneity_error(ray, 1e10, 2, rho=1e150)
    assert info.value.rho == pytest.approx(1e160)


def test_overflow_of_the_scaled_parameters_themselves():
    model = mlp()
    with torch.no_grad():
        model[0].weight[0, 0] = 10.0
    with pytest.raises(NumericalBreakdown) as info:
        Ray(model, (x4(),))(1e308)
    assert "ρ·θ is not finite" in info.value.where and "'0.weight'" in info.value.where


def test_exactly_zero_outputs_are_breakdowns_naming_the_module():
    model = mlp()
    x = -x4().abs()
    with torch.no_grad():
        model[0].weight.copy_(model[0].weight.abs())  # every pre-activation negative
    ray = Ray(model, (x,))
    for call in (
        lambda: euler(ray),
        lambda: homogeneity_error(ray, 2.0, 2),
        lambda: degree_from_ratio(ray),
    ):
        with pytest.raises(NumericalBreakdown, match="exactly zero") as info:
            call()
        assert info.value.where == "module '1' (ReLU)"
    # negative control: with inputs of both signs the output is not zero
    assert math.isfinite(degree_from_ratio(Ray(model, (x4(),))))


def test_sweep_stops_at_the_first_breakdown_and_records_it():
    ray = Ray(mlp(), (x4(),))
    seen: list[float] = []

    def evaluate(rho: float) -> float:
        seen.append(rho)
        return homogeneity_error(ray, 2.0, 2, rho).relative

    result = sweep([1.0, 1e100, 1e200, 1e300, 1.0], evaluate)
    assert result.rhos == [1.0, 1e100] and len(result.results) == 2
    assert result.stopped_at == 1e200 and result.breakdown is not None
    assert result.breakdown.rho in (1e200, 2e200)  # the point of the ray that broke: ρ or c·ρ
    assert seen == [1.0, 1e100, 1e200]  # nothing after the breakdown is evaluated
    # negative controls: a sweep without breakdown records none; other errors propagate
    clean = sweep([1.0, 2.0], evaluate)
    assert clean.breakdown is None and clean.stopped_at is None and len(clean.results) == 2
    with pytest.raises(ZeroDivisionError):
        sweep([1.0], lambda rho: 1 / 0)


def test_homogeneity_curve_stops_at_the_first_breakdown():
    ray = Ray(mlp(), (x4(),))
    curve = homogeneity_curve(ray, [0.5, 2.0, 1e200, 3.0], 2, rho=1e100)
    assert [e.c for e in curve] == [0.5, 2.0]
    assert curve.breakdown is not None and curve.breakdown.rho == pytest.approx(1e300)
    clean = homogeneity_curve(ray, [0.5, 2.0], 2)
    assert clean.breakdown is None and max(e.relative for e in clean) < 1e-13


def test_a_nan_from_a_deliberate_minus_inf_mask_is_not_blamed():
    """Attention masks fill with -inf on purpose; the locator passes over them and names
    the real overflow."""

    def fn(p, x):
        scores = (p["w"] * x).masked_fill(torch.tensor([False, True]), float("-inf"))
        return torch.softmax(scores, -1) * torch.exp(p["w"] * 1e3)

    ray = Ray(fn, (torch.ones(2, dtype=torch.float64),), params={"w": torch.ones(2)})
    with pytest.raises(NumericalBreakdown) as info:
        ray(1.0)
    assert info.value.where.startswith("aten.exp")


# -- output selection -----------------------------------------------------------------


def test_select_output_rules():
    t = torch.ones(2, 3)
    a = torch.zeros(2, 3, 3)
    assert select_output(t).description == "the output tensor"
    pair = select_output((t, a))
    assert pair.tensors[0] is t and pair.description == "output[0] of a tuple of 2"
    layers = [torch.full((2, 3), float(i)) for i in range(3)]
    last = select_output(layers)
    assert last.tensors[0] is layers[-1] and "output[-1] of a list of 3" in last.description
    every = select_output(layers, per_layer=True)
    assert every.value == layers and every.per_layer
    # a tuple is not per-layer, even when asked for per-layer outputs
    asked = select_output((t, t), per_layer=True)
    assert asked.tensors == (t,) and "not read as per-layer" in asked.description
    # a list of different shapes is not per-layer either
    assert select_output([t, a]).tensors[0] is t
    enc = EncoderOutput(last=t, hidden_states=layers)
    assert select_output(enc).tensors[0] is t
    assert select_output(enc, per_layer=True).value == layers
    with pytest.raises(HomogeneityInputError, match="output="):
        select_output({"a": t})


def test_the_selected_output_is_named_in_the_reports():
    class WithWeights(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(4, 4, bias=False).double()

        def forward(self, x):
            y = self.lin(x)
            return y, torch.softmax(y, -1)

    report = check_homogeneity(WithWeights(), x4(), 1)
    assert "output: output[0] of a tuple of 2" in str(report)
    assert report.euler.execution.output == "output[0] of a tuple of 2"


def test_per_layer_outputs_of_a_plain_module():
    class Layers(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(4, 4, bias=False).double()
            self.b = nn.Linear(4, 4, bias=False).double()

        def forward(self, x):
            h1 = self.a(x)
            return [x, h1, self.b(h1)]

    model = Layers()
    layers = Ray(model, (x4(),), per_layer=True)(2.0)
    assert len(layers) == 3 and torch.equal(layers[0], x4())
    assert torch.allclose(layers[2], 4.0 * model.b(model.a(x4())), rtol=1e-14)
    assert torch.allclose(Ray(model, (x4(),))(2.0), layers[2], rtol=0, atol=0)


# -- the report ------------------------------------------------------------------------


def test_execution_report_prints_plain_lines():
    report = ExecutionReport(torch.float64, output="the output tensor", sdpa_calls=2)
    assert str(report).splitlines() == [
        "output: the output tensor",
        "SDPA: math kernel (fused kernels have no forward-mode AD): 2 call(s)",
    ]
    assert report.noise_floor == noise_floor(torch.float64) and report.low_precision_floor is None


def test_causality_of_plain_modules_comes_from_the_attention_calls():
    def attend(p, x, causal):
        q = x @ p["w"]
        return F.scaled_dot_product_attention(q, q, q, is_causal=causal)

    x = torch.randn(1, 4, 3, dtype=torch.float64, generator=gen())
    params = {"w": torch.eye(3, dtype=torch.float64)}
    assert Ray(attend, (x, True), params=params).causal is True
    assert Ray(attend, (x, False), params=params).causal is False
    assert Ray(mlp(), (x4(),)).causal is None


def test_checked_execution_probes_once():
    calls = []
    execution = CheckedExecution(None, torch.float64)
    for _ in range(3):
        execution.run(lambda: calls.append(1))
    assert execution.probed and len(calls) == 3
