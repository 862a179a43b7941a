"""The adapter interface: our Encoder, any module through FunctionAdapter, several batches
in one evaluation, parameter selection, bad input, and CUDA when present."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from homogeneity.adapters import (
    Batch,
    EncoderAdapter,
    FunctionAdapter,
    ModuleAdapter,
    Trace,
    adapter_for,
)
from homogeneity.components import Encoder
from homogeneity.errors import HomogeneityInputError
from homogeneity.saturation import analyse_saturation, saturation_level
from tests.helpers.encoders import bert_style_encoder

F64 = torch.float64


def bert_like(seed: int = 0, device: str | None = None) -> Encoder:
    enc = bert_style_encoder(
        seed, n_layers=2, vocab_size=30, d_model=12, n_heads=3, d_ff=24, max_len=12
    )
    return enc.to(device) if device else enc


def batches() -> list[Batch]:
    g = torch.Generator().manual_seed(3)
    a = Batch(torch.randint(0, 30, (2, 7), generator=g), torch.ones(2, 7, dtype=torch.bool))
    mask = torch.ones(3, 11, dtype=torch.bool)
    mask[0, 4:] = False
    b = Batch(
        torch.randint(0, 30, (3, 11), generator=g), mask, torch.randint(0, 2, (3, 11), generator=g)
    )
    return [a, b]


def test_encoder_adapter_trace_is_encoder_run():
    enc = bert_like()
    adapter = EncoderAdapter(enc)
    b = batches()[1]
    trace = adapter.run(b, 1.0)
    with torch.no_grad():
        out = enc.run(b.ids, b.padding_mask, token_type_ids=b.token_type_ids, collect=True)
    assert len(trace.hidden_states) == 3 and len(trace.attentions) == 2
    for x, y in zip(trace.hidden_states, out.hidden_states, strict=True):
        assert torch.equal(x, y)
    scaled = adapter.run(b, 7.0)
    with torch.no_grad():
        for p in enc.parameters():
            p.mul_(7.0)
        ref = enc.run(b.ids, b.padding_mask, token_type_ids=b.token_type_ids, collect=True)
    for x, y in zip(scaled.hidden_states, ref.hidden_states, strict=True):
        assert torch.allclose(x, y, rtol=1e-12, atol=1e-12)


def test_several_batches_in_one_ray_equal_one_ray_each():
    adapter = EncoderAdapter(bert_like())
    bs = batches()
    together = adapter.ray(bs)(1000.0)
    assert isinstance(together, list) and len(together) == 2
    for b, t in zip(bs, together, strict=True):
        alone = adapter.ray(b)(1000.0)
        for x, y in zip(
            t.hidden_states + t.attentions, alone.hidden_states + alone.attentions, strict=True
        ):
            assert torch.equal(x, y)
    sat = adapter.ray(bs, saturated=True)(1.0)
    assert all(float(a.max()) <= 1.0 for t in sat for a in t.attentions)


def test_parameter_selection_uses_the_encoders_own_names():
    enc = bert_like()
    adapter = EncoderAdapter(enc, parameters=["*.weight"])
    names = adapter.scaled_names()
    assert "tokens.weight" in names and all(n.endswith(".weight") for n in names)
    assert not any(n.startswith("encoder.") for n in names)
    level = saturation_level(adapter, batches()[0])
    assert not level.all_scaled and set(level.scaled) == set(names)
    with pytest.raises(HomogeneityInputError, match="selects nothing"):
        EncoderAdapter(enc, parameters=["nothing.*"])


def test_function_adapter_agrees_with_the_encoder_adapter():
    """A module seen only through its ``forward`` (last hidden state) gives the same final
    saturation level as the Encoder adapter."""
    enc = bert_like(1)
    generic = FunctionAdapter(
        enc,
        arguments=lambda b: ((b.ids, b.padding_mask), {"token_type_ids": b.token_type_ids}),
        trace=lambda out: Trace((out,)),
    )
    for b in batches():
        ours = saturation_level(EncoderAdapter(enc), b)
        theirs = saturation_level(generic, b)
        assert theirs.layers == pytest.approx((ours.layers[-1],), abs=1e-13)


def test_function_adapter_on_a_plain_module():
    class TwoLayer(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 4, dtype=F64)
            self.lin = nn.Linear(4, 4, dtype=F64)

        def forward(self, ids):
            h0 = self.emb(ids)
            return h0, torch.tanh(self.lin(h0))

    adapter = FunctionAdapter(
        TwoLayer(),
        arguments=lambda b: ((b.ids,), {}),
        trace=lambda out: Trace(tuple(out)),
        parameters=["lin.*"],
    )
    level = saturation_level(adapter, torch.tensor([[1, 2, 3]]), rho=1e3)
    assert level.layers[0] == pytest.approx(1.0, abs=1e-15)  # embedding not scaled
    assert level.scaled == ("lin.weight", "lin.bias")
    with pytest.raises(HomogeneityInputError, match="no exact saturated forward"):
        adapter.ray(Batch.from_ids(torch.tensor([1, 2])), saturated=True)
    bad = FunctionAdapter(TwoLayer(), arguments=lambda b: ((b.ids,), {}), trace=lambda out: out)
    with pytest.raises(HomogeneityInputError, match="must return"):
        bad.run(Batch.from_ids(torch.tensor([1, 2])))


def test_adapter_for_and_bad_construction():
    enc = bert_like()
    assert isinstance(adapter_for(enc), EncoderAdapter)
    adapter = EncoderAdapter(enc)
    assert adapter_for(adapter) is adapter
    with pytest.raises(HomogeneityInputError, match="set it on the adapter"):
        adapter_for(adapter, ["*.weight"])
    # any other module gets the generic adapter (attention captured by torch functions)
    assert isinstance(adapter_for(nn.Linear(2, 2)), ModuleAdapter)
    with pytest.raises(HomogeneityInputError, match="torch.nn.Module"):
        adapter_for("not a model")
    with pytest.raises(HomogeneityInputError, match="FunctionAdapter"):
        EncoderAdapter(nn.Linear(2, 2))
    with pytest.raises(HomogeneityInputError, match="Batch"):
        adapter.ray([])


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda: Batch(torch.ones(2, 3), torch.ones(2, 3, dtype=torch.bool)), "integer"),
        (
            lambda: Batch(torch.ones(2, 0, dtype=torch.long), torch.ones(2, 0, dtype=torch.bool)),
            "at least one",
        ),
        (lambda: Batch(torch.ones(2, 3, dtype=torch.long), torch.ones(2, 3)), "bool"),
        (
            lambda: Batch(torch.ones(2, 3, dtype=torch.long), torch.zeros(2, 3, dtype=torch.bool)),
            "no real token",
        ),
        (
            lambda: Batch(
                torch.ones(2, 3, dtype=torch.long),
                torch.ones(2, 3, dtype=torch.bool),
                torch.zeros(2, 4, dtype=torch.long),
            ),
            "token_type_ids",
        ),
    ],
)
def test_bad_batches(make, message):
    with pytest.raises(HomogeneityInputError, match=message):
        make()


def test_analysis_never_modifies_the_model():
    enc = bert_like()
    before = {n: p.detach().clone() for n, p in enc.named_parameters()}
    analyse_saturation(enc, batches())
    for n, p in enc.named_parameters():
        assert torch.equal(p, before[n])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    cpu, gpu = bert_like(2), bert_like(2, device="cuda")
    bs = batches()
    a = analyse_saturation(cpu, bs)
    b = analyse_saturation(gpu, bs)
    assert b.level.layers == pytest.approx(a.level.layers, abs=1e-10)
    assert b.exact.proxy_vs_limit == pytest.approx(a.exact.proxy_vs_limit, abs=1e-10)
    assert [h.kind for h in b.heads_at_rho] == [h.kind for h in a.heads_at_rho]


def test_softcapped_attention_is_the_capped_softmax():
    """The one attention function computes c·tanh(q kᵀ·s / c) before the softmax when a
    model caps its scores; without the cap the weights differ (negative control)."""
    from homogeneity.adapters.attention_math import AttentionRecorder, dot_product_attention

    g = torch.Generator().manual_seed(3)
    q, k, v = (torch.randn(1, 2, 4, 3, dtype=F64, generator=g) * 3 for _ in range(3))
    scale, cap = 0.5, 1.5
    capped, probs = dot_product_attention(
        AttentionRecorder(), q, k, v, scale=scale, keep=None, bias=None, source="t", softcap=cap
    )
    want = torch.softmax(torch.tanh(q @ k.transpose(-1, -2) * scale / cap) * cap, dim=-1)
    assert torch.allclose(probs, want, rtol=1e-14, atol=0)
    assert torch.allclose(capped, want @ v, rtol=1e-14, atol=0)
    _, plain = dot_product_attention(
        AttentionRecorder(), q, k, v, scale=scale, keep=None, bias=None, source="t"
    )
    assert float((plain - probs).abs().max()) > 1e-3
