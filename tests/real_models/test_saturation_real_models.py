"""The saturation analyses on the models researchers use, as the user has them (default
attention implementation, fast paths on, no wrappers), each number against an
independent computation.

Models: tiny random-init ``transformers`` GPT-2, BERT, RoBERTa, T5 encoder and Llama
(grouped-query attention, rotary embeddings, RMS norm, gated SiLU MLP) built from configs;
``torch.nn.TransformerEncoder`` post-norm and ``norm_first``; a nanoGPT-style causal GPT
with tied embeddings calling ``F.scaled_dot_product_attention``, written here.

The independent computation is a float64 copy of the model with every parameter
multiplied in place (``p.mul_(rho)``), run with eager attention and
``output_hidden_states``/``output_attentions`` (for ``torch.nn``: layer by layer, with
``need_weights``), its float32 casts patched out where the adapters keep them in float64
(T5's and Llama's norms, Llama's rotary tables and eager softmax), and averaged over the
real tokens by hand.
"""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from homogeneity.adapters import (
    Batch,
    FunctionAdapter,
    HuggingFaceAdapter,
    ModuleAdapter,
    Trace,
    adapter_for,
)
from homogeneity.constants import ATTENDED_THRESHOLD
from homogeneity.errors import HomogeneityInputError, NumericalBreakdown
from homogeneity.saturation import (
    analyse_saturation,
    convergence_curves,
    saturation_level,
)
from tests.helpers.module_state import assert_unchanged, snapshot
from tests.helpers.transformers_float64 import patch_float32_islands
from tests.helpers.user_models import tiny_config

transformers = pytest.importorskip("transformers", reason="needs transformers")
transformers.logging.set_verbosity_error()

pytestmark = pytest.mark.usefixtures("one_torch_thread")

F64 = torch.float64
RHO = 1000.0
GRID = (1.0, 10.0, 100.0, 1000.0, 1e4)
VOCAB = 40


# -- the models ------------------------------------------------------------------------
def hf_model(family: str) -> nn.Module:
    """A tiny random-init transformers model of ``family``, in eval mode, float32, with
    the default attention implementation (SDPA)."""
    torch.manual_seed(0)
    t = transformers
    if family == "gpt2":
        model = t.GPT2Model(
            tiny_config("gpt2", vocab=VOCAB, positions=16, bos_token_id=0, eos_token_id=0)
        )
    elif family == "bert":
        model = t.BertModel(tiny_config("bert", vocab=VOCAB, positions=16))
    elif family == "roberta":
        model = t.RobertaModel(tiny_config("roberta", vocab=VOCAB, positions=20, pad_token_id=1))
    elif family == "t5":
        buckets = dict(relative_attention_num_buckets=8, relative_attention_max_distance=16)
        model = t.T5EncoderModel(tiny_config("t5", vocab=VOCAB, positions=16, **buckets))
    elif family == "llama":
        model = t.LlamaModel(tiny_config("llama", vocab=VOCAB, positions=16))
    else:
        raise ValueError(family)
    assert model.config._attn_implementation == "sdpa"  # the default, as users have it
    return model.eval()


HF_FAMILIES = ("gpt2", "bert", "roberta", "t5", "llama")
CAUSAL = {"gpt2": True, "bert": False, "roberta": False, "t5": False, "llama": True}


def id_batch() -> Batch:
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(3, VOCAB, (2, 7), generator=g)
    mask = torch.ones(2, 7, dtype=torch.bool)
    mask[1, 5:] = False
    ids[1, 5:] = 1  # the pad id of RoBERTa
    return Batch.from_ids(ids, mask)


@pytest.fixture
def float64_islands_patched(monkeypatch):
    patch_float32_islands(monkeypatch)


def hand_hf(model: nn.Module, batch: Batch, rho: float) -> tuple[list, list]:
    """Hidden states and attentions of a float64 copy with p.mul_(rho), eager attention."""
    ref = copy.deepcopy(model).double()
    assert isinstance(ref, transformers.PreTrainedModel)
    ref.set_attn_implementation("eager")
    with torch.no_grad():
        for p in ref.parameters():
            p.mul_(rho)
        out = ref(
            input_ids=batch.ids,
            attention_mask=batch.padding_mask.long(),
            output_hidden_states=True,
            output_attentions=True,
        )
    return list(out.hidden_states), list(out.attentions)


def hand_visible(batch: Batch, causal: bool) -> torch.Tensor:
    n = batch.shape[1]
    keep = batch.padding_mask[:, None, None, :].expand(-1, 1, n, -1)
    if causal:
        keep = keep & torch.ones(n, n, dtype=torch.bool).tril()
    return keep


def hand_d14(a: list, b: list, mask: torch.Tensor) -> list[float]:
    return [
        float(F.cosine_similarity(x[mask], y[mask], dim=-1).mean())
        for x, y in zip(a, b, strict=True)
    ]


def hand_attended(attn: torch.Tensor, visible: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per head: mean over real queries of the visible keys with weight > 1e-5."""
    count = ((attn > ATTENDED_THRESHOLD) & visible).sum(-1).double()  # (B, H, Q)
    rows = mask[:, None, :].expand_as(count)
    return torch.stack([count[:, h][rows[:, h]].mean() for h in range(count.shape[1])])


def assert_hardmax_matches(saturated: tuple, finite: list, mask: torch.Tensor) -> None:
    """Every real row of the saturated attention is a generalised argmax (weight 1/|M| on
    its support, 0 elsewhere) whose support holds the finite attention's largest key."""
    for a_sat, a_hand in zip(saturated, finite, strict=True):
        real = mask[:, None, :].expand(a_sat.shape[:-1])
        rows, hand = a_sat[real], a_hand[real]
        top = rows.amax(-1, keepdim=True)
        assert torch.all((rows == 0) | (rows == top))
        assert torch.allclose(rows.sum(-1), torch.ones(len(rows), dtype=rows.dtype))
        picked = torch.gather(rows, -1, hand.argmax(-1, keepdim=True))
        assert torch.equal(picked, top)


# -- transformers models -----------------------------------------------------------------
@pytest.mark.parametrize("family", HF_FAMILIES)
def test_transformers_model_as_it_is(family, float64_islands_patched):
    model = hf_model(family)
    before = snapshot(model)
    configs = {
        id(c): copy.deepcopy(vars(c))
        for m in model.modules()
        if (c := getattr(m, "config", None)) is not None
    }
    registry = dict(transformers.AttentionInterface._global_mapping)
    batch = id_batch()
    mask = batch.padding_mask
    adapter = adapter_for(model)
    assert isinstance(adapter, HuggingFaceAdapter)
    assert "AttentionInterface" in adapter.describe()["attention"]
    assert adapter.causal == CAUSAL[family]

    # D14 per layer, padding excluded, against the hand-scaled copy
    h1, a1 = hand_hf(model, batch, 1.0)
    hr, ar = hand_hf(model, batch, RHO)
    level = saturation_level(model, batch.ids, kwargs={"attention_mask": mask.long()})
    assert len(level.layers) == 3 and level.n_tokens == int(mask.sum())
    assert level.layers == pytest.approx(hand_d14(h1, hr, mask), abs=1e-10)
    assert "output_hidden_states" in level.output and level.all_scaled

    # head statistics against the eager copy's attentions and the hand-made visibility
    an = analyse_saturation(model, [batch])
    assert an.attention.startswith("transformers AttentionInterface")
    visible = hand_visible(batch, CAUSAL[family])
    n_heads = ar[0].shape[1]
    assert len(an.heads_at_one) == len(an.heads_at_rho) == 2 * n_heads
    for heads, attentions in ((an.heads_at_one, a1), (an.heads_at_rho, ar)):
        for layer, attn in enumerate(attentions):
            expected = hand_attended(attn, visible, mask)
            got = [h.attended for h in heads if h.layer == layer + 1]
            assert got == pytest.approx(expected.tolist(), abs=1e-12)
    n_visible = visible.expand(-1, -1, mask.shape[1], -1).sum(-1).double()[mask[:, None]].mean()
    assert an.heads_at_one[0].visible == pytest.approx(float(n_visible), abs=1e-12)
    assert an.level.layers == pytest.approx(level.layers, abs=1e-12)

    # the exact saturated forward: hardmax rows, close to the proxy at large ρ ...
    e = an.exact
    assert e is not None and min(e.proxy_vs_saturated_at_rho) > 1 - 1e-6
    assert min(e.argmax_agreement) == 1.0
    sat = adapter.run(batch, 1e4, saturated=True)
    hand_big, attn_big = hand_hf(model, batch, 1e4)
    for got, want in zip(sat.hidden_states, hand_big, strict=True):
        cos = F.cosine_similarity(got[mask], want[mask], dim=-1)
        assert float(cos.min()) > 1 - 1e-9
    assert_hardmax_matches(sat.attentions, attn_big, mask)
    # ... and not the model at ρ = 1 (the comparison can fail)
    s1 = adapter.run(batch, 1.0, saturated=True)
    assert max(float((a - b).abs().max()) for a, b in zip(s1.attentions, a1, strict=True)) > 0.3

    # convergence along the ray
    c = convergence_curves(model, [batch], GRID)
    assert c.rhos == GRID and c.breakdown is None
    assert c.saturation[GRID.index(RHO)] == pytest.approx(level.layers, abs=1e-10)
    assert c.reference.startswith("limit")
    assert all(1 - x < 1e-2 for x in c.to_limit[-1])
    assert min(c.argmax_to_limit[-1]) >= min(c.argmax_to_limit[0])
    assert sum(c.head_kinds[-1].values()) == 2 * n_heads

    # the user's model, its configs and transformers' registry are as they were
    assert_unchanged(model, before)
    for m in model.modules():
        c_ = getattr(m, "config", None)
        if c_ is not None:
            assert vars(c_) == configs[id(c_)]
    assert model.config._attn_implementation == "sdpa"
    assert transformers.AttentionInterface._global_mapping == registry


def test_float32_islands_are_lifted_and_reported():
    """T5's RMS norm computes its variance in float32; kept as the model has it, D14 in a
    float64 run differs from the float64 mathematics by float32 rounding."""
    model = hf_model("t5")
    batch = id_batch()
    lifted = HuggingFaceAdapter(model)
    kept = HuggingFaceAdapter(model, lift=False)
    a = saturation_level(lifted, batch)
    b = saturation_level(kept, batch)
    assert "float32 ops lifted to float64" in lifted.last_forward_notes()
    assert kept.last_forward_notes() == ""
    gap = max(abs(x - y) for x, y in zip(a.layers, b.layers, strict=True))
    assert 1e-12 < gap < 1e-4
    # far out the float32 variance overflows (inf), rsqrt(inf) = 0 and the states are
    # exactly zero: a breakdown, never a number; lifted, the float64 run is fine
    assert saturation_level(lifted, batch, rho=1e12).layers[-1] > -1
    with pytest.raises(NumericalBreakdown, match="zero"):
        saturation_level(kept, batch, rho=1e12)
    with pytest.raises(NumericalBreakdown) as info:
        analyse_saturation(kept, [batch], rho=1e12, exact=False)
    assert info.value.rho == 1e12 and info.value.where.startswith("hidden state")


# -- torch.nn transformers -----------------------------------------------------------------
def torch_encoder(norm_first: bool) -> nn.TransformerEncoder:
    torch.manual_seed(1)
    layer = nn.TransformerEncoderLayer(
        8, 2, 16, dropout=0.0, batch_first=True, norm_first=norm_first, activation="gelu"
    )
    return nn.TransformerEncoder(layer, 2, enable_nested_tensor=not norm_first).eval()


def vector_batch() -> Batch:
    g = torch.Generator().manual_seed(4)
    x = torch.randn(2, 6, 8, generator=g)
    mask = torch.ones(2, 6, dtype=torch.bool)
    mask[1, 4:] = False
    return Batch.from_embeddings(x, mask)


def hand_torch(enc: nn.TransformerEncoder, batch: Batch, rho: float) -> tuple[list, list]:
    """Layer by layer on a float64 copy with p.mul_(rho); attentions from need_weights."""
    ref = copy.deepcopy(enc).double()
    pad = ~batch.padding_mask
    assert batch.embeddings is not None
    x = batch.embeddings.double()
    states, attentions = [x], []
    with torch.no_grad():
        for p in ref.parameters():
            p.mul_(rho)
        for layer in ref.layers:
            inp = layer.norm1(x) if layer.norm_first else x
            _, w = layer.self_attn(
                inp, inp, inp, key_padding_mask=pad, need_weights=True, average_attn_weights=False
            )
            attentions.append(w)
            x = layer(x, src_key_padding_mask=pad)
            states.append(x)
    return states, attentions


@pytest.mark.parametrize("norm_first", [False, True])
def test_torch_transformer_encoder_as_it_is(norm_first):
    enc = torch_encoder(norm_first)
    before = snapshot(enc)
    fastpath = torch.backends.mha.get_fastpath_enabled()
    batch = vector_batch()
    mask = batch.padding_mask
    adapter = adapter_for(enc)
    assert isinstance(adapter, ModuleAdapter) and adapter.layers == "layers"
    h1, a1 = hand_torch(enc, batch, 1.0)
    hr, ar = hand_torch(enc, batch, RHO)

    level = saturation_level(enc, batch.embeddings, kwargs={"src_key_padding_mask": ~mask})
    assert len(level.layers) == 3
    assert level.layers == pytest.approx(hand_d14(h1, hr, mask), abs=1e-10)
    assert "forward hooks" in level.output

    an = analyse_saturation(enc, [batch])
    assert an.attention == "F.multi_head_attention_forward"
    visible = hand_visible(batch, False)
    for heads, attentions in ((an.heads_at_one, a1), (an.heads_at_rho, ar)):
        for layer, attn in enumerate(attentions):
            got = [h.attended for h in heads if h.layer == layer + 1]
            assert got == pytest.approx(hand_attended(attn, visible, mask).tolist(), abs=1e-12)
    assert an.heads_at_one[0].visible == pytest.approx(
        float(visible.sum(-1).expand(-1, -1, 6).double()[mask[:, None]].mean())
    )
    e = an.exact
    assert min(e.proxy_vs_saturated_at_rho) > 1 - 1e-6 and min(e.argmax_agreement) == 1.0
    sat = adapter.run(batch, 1e4, saturated=True)
    big, _ = hand_torch(enc, batch, 1e4)
    for got, want in zip(sat.hidden_states, big, strict=True):
        assert float(F.cosine_similarity(got[mask], want[mask], dim=-1).min()) > 1 - 1e-9

    c = convergence_curves(enc, [batch], GRID)
    assert c.breakdown is None
    assert c.saturation[GRID.index(RHO)] == pytest.approx(level.layers, abs=1e-10)
    assert torch.backends.mha.get_fastpath_enabled() == fastpath
    assert_unchanged(enc, before)


def test_multihead_attention_alone():
    torch.manual_seed(2)
    mha = nn.MultiheadAttention(8, 2, batch_first=True).eval()
    batch = vector_batch()
    an = analyse_saturation(mha, [batch], exact=False)
    ref = copy.deepcopy(mha).double()
    x = batch.embeddings.double()
    with torch.no_grad():
        _, w = ref(x, x, x, key_padding_mask=~batch.padding_mask, average_attn_weights=False)
    got = [h.attended for h in an.heads_at_one]
    want = hand_attended(w, hand_visible(batch, False), batch.padding_mask).tolist()
    assert got == pytest.approx(want, abs=1e-12)


# -- a user's own GPT -------------------------------------------------------------------------
class Block(nn.Module):
    def __init__(self, d: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.c_attn, self.c_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.c_fc, self.c_out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def qkv(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        return tuple(
            t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v)
        )

    def forward(self, x: torch.Tensor, attention: torch.Tensor | None = None) -> torch.Tensor:
        q, k, v = self.qkv(x)
        if attention is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            y = attention @ v
        x = x + self.c_proj(y.transpose(1, 2).reshape(x.shape))
        return x + self.c_out(F.gelu(self.c_fc(self.ln_2(x))))


class GPT(nn.Module):
    """nanoGPT in miniature: token and position embeddings, causal blocks, tied head."""

    def __init__(self, vocab: int = VOCAB, d: int = 8, n_layers: int = 2, n_heads: int = 2):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(16, d)
        self.h = nn.ModuleList(Block(d, n_heads) for _ in range(n_layers))
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.lm_head.weight = self.wte.weight  # tied

    def forward(self, idx: torch.Tensor) -> tuple[torch.Tensor, None]:
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device))
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x)), None

    def by_hand(self, idx: torch.Tensor) -> tuple[list, list]:
        """States and attentions with attention written out (no SDPA)."""
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        states, attentions = [x], []
        n = idx.shape[1]
        causal = torch.ones(n, n, dtype=torch.bool).tril()
        for block in self.h:
            assert isinstance(block, Block)
            q, k, _ = block.qkv(x)
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
            a = torch.softmax(scores.masked_fill(~causal, float("-inf")), dim=-1)
            attentions.append(a)
            x = block(x, a)
            states.append(x)
        states.append(self.lm_head(self.ln_f(x)))
        return states, attentions


def test_nanogpt_style_model_as_it_is():
    torch.manual_seed(5)
    gpt = GPT().eval()
    before = snapshot(gpt)
    ids = torch.randint(0, VOCAB, (2, 6), generator=torch.Generator().manual_seed(6))
    batch = Batch.from_ids(ids)
    adapter = adapter_for(gpt)
    assert isinstance(adapter, ModuleAdapter) and adapter.layers == "h"

    def hand(rho):
        ref = copy.deepcopy(gpt).double()
        with torch.no_grad():
            for p in ref.parameters():
                p.mul_(rho)
            return ref.by_hand(ids)

    (h1, a1), (hr, ar) = hand(1.0), hand(RHO)
    every = torch.ones(2, 6, dtype=torch.bool)
    level = saturation_level(adapter, batch)
    assert len(level.layers) == 4  # embedding, 2 blocks, logits
    assert level.layers == pytest.approx(hand_d14(h1, hr, every), abs=1e-10)
    # the plain module: its output is (logits, None), and the report says it took logits
    plain = saturation_level(gpt, ids)
    assert plain.layers == pytest.approx(level.layers[-1:], abs=1e-10)
    assert plain.output.startswith("output[0]")

    an = analyse_saturation(adapter, [batch])
    assert an.attention == "F.scaled_dot_product_attention"
    visible = hand_visible(batch, True)
    for heads, attentions in ((an.heads_at_one, a1), (an.heads_at_rho, ar)):
        for layer, attn in enumerate(attentions):
            got = [h.attended for h in heads if h.layer == layer + 1]
            assert got == pytest.approx(hand_attended(attn, visible, every).tolist(), abs=1e-12)
    assert an.heads_at_one[0].visible == pytest.approx(3.5)  # (n + 1)/2 for n = 6, causal
    assert min(an.exact.proxy_vs_saturated_at_rho) > 1 - 1e-6
    sat = adapter.run(batch, 1e4, saturated=True)
    big, _ = hand(1e4)
    for got, want in zip(sat.hidden_states, big, strict=True):
        assert (
            float(F.cosine_similarity(got.flatten(0, 1), want.flatten(0, 1), dim=-1).min())
            > 1 - 1e-9
        )
    c = convergence_curves(adapter, [batch], GRID)
    assert c.breakdown is None
    assert c.saturation[GRID.index(RHO)] == pytest.approx(level.layers, abs=1e-10)
    assert_unchanged(gpt, before)


# -- the traps of the issue ----------------------------------------------------------------
class PerLayer(nn.Module):
    """Returns its per-layer states as a list of same-shape tensors."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 4)

    def forward(self, x):
        h1 = torch.tanh(self.a(x))
        return [x, h1, torch.tanh(self.b(h1))]


def test_list_of_layers_is_per_layer():
    torch.manual_seed(7)
    model = PerLayer().double()
    x = torch.randn(5, 4, dtype=F64)
    level = saturation_level(model, x)
    ref = copy.deepcopy(model)
    with torch.no_grad():
        base = ref(x)
        for p in ref.parameters():
            p.mul_(RHO)
        scaled = ref(x)
    expected = [
        float(F.cosine_similarity(a, b, dim=-1).mean()) for a, b in zip(base, scaled, strict=True)
    ]
    assert len(level.layers) == 3 and level.layers == pytest.approx(expected, abs=1e-12)
    assert level.layers[-1] < 0.999 and "per layer" in level.output


def test_a_tuple_with_attention_weights_is_not_per_layer():
    torch.manual_seed(8)
    mha = nn.MultiheadAttention(4, 2, batch_first=True).double().eval()
    x = torch.randn(1, 3, 4, dtype=F64)
    level = saturation_level(mha, x)
    assert len(level.layers) == 1  # (out, None) -> out, reported per layer by the adapter


def test_sdpa_attention_is_captured():
    """With SDPA (the default) transformers returns no attention maps; the adapter
    captures them through AttentionInterface."""
    an = analyse_saturation(hf_model("bert"), [id_batch()], exact=False)
    assert an.heads_at_one is not None and len(an.heads_at_one) == 4
    assert all(h.visible > 0 for h in an.heads_at_one)


def test_empty_attention_is_reported_not_counted():
    """A hand-written adapter that only gets SDPA's empty tuple says so instead of
    reporting zero heads of every kind."""
    model = hf_model("bert")
    batch = id_batch()
    documented = FunctionAdapter(
        model,
        arguments=lambda b: ((), dict(input_ids=b.ids, attention_mask=b.padding_mask.long(),
                                      output_hidden_states=True, output_attentions=True)),
        trace=lambda out: Trace(tuple(out.hidden_states), tuple(out.attentions)),
    )  # fmt: skip
    empty = analyse_saturation(documented, [batch])
    assert empty.heads_at_one is None and empty.attention.startswith("not captured")
    c = convergence_curves(documented, [batch], (1.0, 10.0))
    assert c.head_kinds == [{}, {}] and c.attention.startswith("not captured")


def test_a_model_without_attention_says_so():
    mlp = nn.Sequential(nn.Embedding(VOCAB, 4), nn.Linear(4, 4), nn.Tanh()).double()
    an = analyse_saturation(mlp, [id_batch()])
    assert an.heads_at_rho is None and "not captured" in an.attention
    assert len(an.level.layers) == 1


@pytest.mark.pretrained
def test_padding_is_excluded_on_minilm_by_default():
    """BERT with the real MiniLM weights and SDPA, a padded batch of the first four
    shipped sentences: D14 of layer 1 over the real tokens, not the padding."""
    from homogeneity.data import load_sentences
    from homogeneity.pretrained import load_minilm, minilm_folder

    if minilm_folder() is None:
        pytest.skip("weights package not installed")
    ours = load_minilm()
    bert = transformers.BertModel.from_pretrained(
        str(ours.files.folder), local_files_only=True, add_pooling_layer=False
    ).eval()
    tok = ours.encode([s.text for s in load_sentences(4)])
    ids, mask = tok.batch.ids, tok.batch.padding_mask
    level = saturation_level(bert, ids, kwargs={"attention_mask": mask.long()})
    hand = copy.deepcopy(bert).double()
    with torch.no_grad():
        h1 = hand(input_ids=ids, attention_mask=mask.long(), output_hidden_states=True)
        for p in hand.parameters():
            p.mul_(RHO)
        hr = hand(input_ids=ids, attention_mask=mask.long(), output_hidden_states=True)
    a, b = h1.hidden_states[1], hr.hidden_states[1]
    real = float(F.cosine_similarity(a[mask], b[mask], dim=-1).mean())
    with_padding = float(F.cosine_similarity(a, b, dim=-1).mean())
    assert level.layers[1] == pytest.approx(real, abs=1e-10)
    assert level.layers[1] == pytest.approx(0.0560, abs=5e-5)
    assert with_padding == pytest.approx(0.0096, abs=5e-5)  # what averaging padding gives


def test_bad_inputs_name_the_fix():
    model = hf_model("gpt2")
    with pytest.raises(HomogeneityInputError, match="attention_mask"):
        saturation_level(model, torch.tensor([[1, 2]]), kwargs={"head_mask": None})
    train = hf_model("bert").train()
    with pytest.raises(HomogeneityInputError, match="eval"):
        saturation_level(train, torch.tensor([[4, 5, 6]]))
    with pytest.raises(HomogeneityInputError, match="from_embeddings"):
        analyse_saturation(torch_encoder(False), [id_batch()])
