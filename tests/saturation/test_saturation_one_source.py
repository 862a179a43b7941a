"""The saturation analyses and the homogeneity checks share one source for each rule: the
output selection, the float32 lifting, the breakdown policy, and the padding mask and
causality of a model's own inputs and configuration."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from homogeneity import adapters, execution
from homogeneity.adapters import Batch, EncoderAdapter, HuggingFaceAdapter
from homogeneity.errors import NumericalBreakdown
from homogeneity.execution import SweepBreakdown
from homogeneity.saturation import Breakdown, analyse_saturation, limit_trace, saturation_level
from homogeneity.scaling import Ray
from tests.real_models.test_saturation_real_models import hf_model, id_batch
from tests.saturation.test_saturation_convergence import bert_encoder

F64 = torch.float64
RHO = 1000.0


class TwoStates(nn.Module):
    """Returns a tuple of two same-shape tensors: (output, a residual stream)."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.tanh(self.a(x))
        return torch.tanh(self.b(h)), h


class MaskedTokens(nn.Module):
    """Takes an attention_mask keyword as a Hugging Face model would, and ignores it."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(4, 6), nn.Linear(6, 4)

    def forward(self, x: torch.Tensor, attention_mask: torch.Tensor | None = None):
        return self.b(torch.tanh(self.a(x)))


def test_a_tuple_of_same_shape_tensors_is_not_per_layer():
    """One output rule (the Ray's): a tuple is never read as per-layer outputs, whatever
    the shapes of its entries; the report names the entry compared."""
    torch.manual_seed(11)
    model = TwoStates().double()
    x = torch.randn(3, 5, 4, dtype=F64)
    level = saturation_level(model, x, rho=RHO)
    with torch.no_grad():
        base, scaled = (
            model(x)[0],
            torch.func.functional_call(
                model, {n: RHO * p for n, p in model.named_parameters()}, (x,)
            )[0],
        )
    expected = float(F.cosine_similarity(base, scaled, dim=-1).mean())
    assert len(level.layers) == 1 and level.value == pytest.approx(expected, abs=1e-12)
    assert "output[0] of a tuple of 2" in level.output and "not read as per-layer" in level.output


def test_a_plain_module_is_averaged_over_its_own_padding_mask():
    """The attention_mask in a plain module's keyword inputs is the token mask by default
    (read where the Ray reads it); padding is left out of the mean."""
    torch.manual_seed(12)
    model = MaskedTokens().double()
    x = torch.randn(2, 5, 4, dtype=F64)
    mask = torch.ones(2, 5, dtype=torch.long)
    mask[1, 2:] = 0
    level = saturation_level(model, x, rho=RHO, kwargs={"attention_mask": mask})
    with torch.no_grad():
        base = model(x)
        scaled = torch.func.functional_call(
            model, {n: RHO * p for n, p in model.named_parameters()}, (x,)
        )
    cos = F.cosine_similarity(base, scaled, dim=-1)
    real = float(cos[mask.bool()].mean())
    everywhere = float(cos.mean())
    assert abs(real - everywhere) > 1e-6  # the padding changes the mean: the test can fail
    assert level.value == pytest.approx(real, abs=1e-12) and level.n_tokens == 7
    assert "padding mask" in level.tokens
    # a Ray with the same keyword inputs reads the same mask
    ray = Ray(model, (x,), kwargs={"attention_mask": mask})
    assert saturation_level(ray, rho=RHO).value == pytest.approx(real, abs=1e-12)
    # an explicit token_mask still wins
    every = saturation_level(
        model, x, rho=RHO, kwargs={"attention_mask": mask}, token_mask=torch.ones(2, 5).bool()
    )
    assert every.value == pytest.approx(everywhere, abs=1e-12)


def test_the_limit_evaluation_breaks_down_instead_of_returning_infinities():
    """limit_trace is a single point of the ray: where its float32 evaluation overflows it
    raises NumericalBreakdown with ρ and the layer, as every other point does."""
    adapter = EncoderAdapter(bert_encoder(0, dtype=torch.float32))
    batch = Batch.from_ids(torch.tensor([[3, 4, 5, 6]]))
    finite = limit_trace(adapter, batch, limit_rho=10.0, dtype=torch.float32)
    assert all(bool(torch.isfinite(h).all()) for h in finite.hidden_states)
    with pytest.raises(NumericalBreakdown) as info:
        limit_trace(adapter, batch, limit_rho=1e30, dtype=torch.float32)
    assert info.value.rho == 1e30 and info.value.where.startswith(("hidden state", "attention"))
    assert "float64" in info.value.suggestion


def test_one_record_and_one_detection_of_transformers_models():
    """The sweep record of the saturation analyses is the execution package's, and one
    function says what a transformers model is."""
    assert Breakdown is SweepBreakdown
    assert adapters.is_transformers_model is execution.is_transformers_model
    assert adapters.select_output is execution.select_output
    record = SweepBreakdown(1e3, "hidden state 1", "overflow")
    assert record.message == record.reason == "overflow"


@pytest.mark.parametrize(("family", "source"), [("gpt2", "is_causal"), ("bert", None)])
def test_causality_of_a_transformers_model_comes_from_the_one_reader(family, source):
    """HuggingFaceAdapter.causal and its description come from
    execution.model_inputs.causality, the reader every Ray uses."""
    model = hf_model(family)
    adapter = HuggingFaceAdapter(model)
    causal, where = execution.causality(model, ())
    assert adapter.causal is bool(causal)
    masks = adapter.describe()["masks"]
    if source is None:
        assert not adapter.causal and "causal" not in masks
    else:
        assert adapter.causal and where in masks and source in masks


class Float32Norm(nn.Module):
    """An RMS norm that computes its variance in float32, as T5's does."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.a(x)
        variance = h.to(torch.float32).pow(2).mean(-1, keepdim=True)
        return h * torch.rsqrt(variance + 1e-6).to(h.dtype)


def test_kept_float32_ops_are_described_and_not_reported_as_lifted():
    """The reports of the analyses say what the ray's execution did with float32
    islands: lifted by default, kept with their noise floor on request, nothing when the
    model has none."""
    model = hf_model("t5")
    kept = HuggingFaceAdapter(model, lift=False)
    level = saturation_level(kept, id_batch())
    assert kept.last_forward_notes() == ""
    assert "kept" in kept.describe()["dtype"]
    assert "kept in the float64 run" in level.low_precision and "noise floor" in level.low_precision
    lifted = HuggingFaceAdapter(model)
    level = saturation_level(lifted, id_batch())
    notes = lifted.last_forward_notes()
    assert "float32 ops lifted to float64" in notes and "layer_norm" in notes
    assert "float32 ops lifted to float64" in level.low_precision
    analysis = analyse_saturation(lifted, [id_batch()], exact=False)
    assert "lifted to float64" in analysis.low_precision == analysis.level.low_precision
    assert saturation_level(hf_model("bert"), id_batch()).low_precision == ""
    torch.manual_seed(13)
    plain = saturation_level(Float32Norm().double(), torch.randn(3, 4, dtype=F64))
    assert "lifted to float64" in plain.low_precision


def test_a_zero_output_breakdown_names_its_point_of_the_ray():
    """The single-point policy: the breakdown carries the ρ where the output is zero (here
    already at θ) and the layer, from the shared messages of execution.breakdown."""
    model = nn.Linear(3, 2, bias=False).double()
    with torch.no_grad():
        model.weight.zero_()
    with pytest.raises(NumericalBreakdown, match="exactly zero") as info:
        saturation_level(model, torch.ones(4, 3, dtype=F64), rho=RHO)
    assert info.value.rho == 1.0 and info.value.where == "layer 0"
