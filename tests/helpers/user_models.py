"""The models researchers use, built tiny and as a user has them, and their independent
float64 reference: one copy for the real-model tests and the Euler tangent-rule tests.

* :func:`hf_model`: a random-init ``transformers`` GPT-2, BERT, RoBERTa, T5 encoder or
  Llama (grouped-query attention, rotary embeddings, RMS norm, gated SiLU MLP) from a
  config, with its default attention implementation (SDPA); :func:`torch_encoder` (a
  ``torch.nn.TransformerEncoder``, post-norm or ``norm_first``), :class:`NanoGPT` (a
  causal GPT with tied input/output embeddings, as nanoGPT writes it) and :func:`mlp`
  (bias-free, ReLU: exactly 2-homogeneous).
* :func:`scaled_float64_copy`: the reference f(x; cθ), a float64 ``copy.deepcopy`` with
  every (unique) parameter multiplied by c in place, its float32 casts patched out
  (T5's and Llama's RMS norms, Llama's rotary angles), since the checks lift them too.
* :func:`left_as_the_user_has_it`: asserts on exit that a call left the model (state,
  flags, gradients, hooks, attention implementation) and torch's global settings alone.
"""

from __future__ import annotations

import contextlib
import copy
import types
from collections.abc import Iterator
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from homogeneity.execution.module_hooks import HOOK_TABLES
from tests.helpers.module_state import assert_unchanged, snapshot
from tests.helpers.torch_settings import global_settings

VOCAB = 40
SEQ = 6
#: the transformers families :func:`hf_model` builds
HF_FAMILIES = ("gpt2", "bert", "roberta", "t5", "llama")


class CausalSelfAttention(nn.Module):
    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.c_attn = nn.Linear(d, 3 * d, bias=False)
        self.c_proj = nn.Linear(d, d, bias=False)

    def qkv(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Queries, keys and values, (B, H, T, d/H) each."""
        b, t, d = x.shape
        q, k, v = self.c_attn(x).split(d, dim=2)
        return tuple(z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(x)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(x.shape))


class Block(nn.Module):
    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(d, bias=False)
        self.attn = CausalSelfAttention(d, heads)
        self.ln_2 = nn.LayerNorm(d, bias=False)
        self.mlp = nn.Sequential(
            nn.Linear(d, 4 * d, bias=False), nn.GELU(), nn.Linear(4 * d, d, bias=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class NanoGPT(nn.Module):
    """nanoGPT's model.py in miniature: tied token embedding and output head."""

    def __init__(self, d: int = 16, heads: int = 2, layers: int = 2) -> None:
        super().__init__()
        self.wte = nn.Embedding(VOCAB, d)
        self.wpe = nn.Embedding(SEQ, d)
        self.h = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d, bias=False)
        self.lm_head = nn.Linear(d, VOCAB, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device))
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


def tiny_config(family: str, *, vocab: int, positions: int, **extra: Any) -> Any:
    """The ``transformers`` config of a tiny model of ``family`` (one of
    :data:`HF_FAMILIES`): 2 layers of width 16 (GPT-2, BERT, RoBERTa: 2 heads; T5: 2
    heads of 8; Llama: 4 query heads sharing 2 key/value heads), feed-forward width 32
    (GPT-2: its own 4 × 16), ``vocab`` tokens and ``positions`` positions (T5 has none).
    ``extra`` adds the special-token ids and whatever else a test needs."""
    t = pytest.importorskip("transformers")
    if family == "gpt2":
        return t.GPT2Config(
            n_layer=2, n_embd=16, n_head=2, n_positions=positions, vocab_size=vocab, **extra
        )
    if family == "t5":
        return t.T5Config(
            num_layers=2, d_model=16, d_kv=8, num_heads=2, d_ff=32, vocab_size=vocab, **extra
        )
    sizes = dict(
        num_hidden_layers=2,
        hidden_size=16,
        intermediate_size=32,
        max_position_embeddings=positions,
        vocab_size=vocab,
    )
    if family == "bert":
        return t.BertConfig(num_attention_heads=2, **sizes, **extra)
    if family == "roberta":
        return t.RobertaConfig(num_attention_heads=2, **sizes, **extra)
    if family == "llama":
        return t.LlamaConfig(num_attention_heads=4, num_key_value_heads=2, **sizes, **extra)
    raise KeyError(family)


def hf_model(family: str) -> nn.Module:
    """A tiny random-init ``transformers`` model of ``family`` (:func:`tiny_config` with
    vocabulary :data:`VOCAB`, :data:`SEQ` positions, RoBERTa 2 more for its offset); pad
    id 1, so token ids from 3 up are ordinary tokens; BERT and RoBERTa without pooler."""
    t = pytest.importorskip("transformers")
    tokens = dict(bos_token_id=0, eos_token_id=2, pad_token_id=1)
    positions = SEQ + 2 if family == "roberta" else SEQ
    cfg = tiny_config(family, vocab=VOCAB, positions=positions, **tokens)
    if family == "gpt2":
        return t.GPT2Model(cfg)
    if family == "bert":
        return t.BertModel(cfg, add_pooling_layer=False)
    if family == "roberta":
        return t.RobertaModel(cfg, add_pooling_layer=False)
    if family == "t5":
        return t.T5EncoderModel(cfg)
    return t.LlamaModel(cfg)


def torch_encoder(norm_first: bool) -> nn.Module:
    """Two ``torch.nn.TransformerEncoderLayer``s of width 16 (2 heads, FF 32), batch-first."""
    layer = nn.TransformerEncoderLayer(
        16, 2, 32, dropout=0.0, batch_first=True, norm_first=norm_first
    )
    return nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)


def mlp() -> nn.Module:
    """A bias-free ReLU MLP 4 → 8 → 3: exactly 2-homogeneous in its parameters."""
    return nn.Sequential(nn.Linear(4, 8, bias=False), nn.ReLU(), nn.Linear(8, 3, bias=False))


# -- the independent computation ------------------------------------------------------
def _rms_norm_float64(self: Any, hidden_states: torch.Tensor) -> torch.Tensor:
    variance = hidden_states.pow(2).mean(-1, keepdim=True)
    return self.weight * (hidden_states * torch.rsqrt(variance + self.variance_epsilon))


def _rotary_float64(
    self: Any, x: torch.Tensor, position_ids: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    freqs = position_ids[..., None].to(x.dtype) * self.inv_freq.to(x.dtype)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos() * self.attention_scaling, emb.sin() * self.attention_scaling


def without_float32_casts(model: nn.Module) -> nn.Module:
    """Patch, on a copy, the forwards that compute in float32 by design (T5's and
    Llama's RMS norms, Llama's rotary angles) into their float64 mathematics."""
    # each is an instance attribute of the copy's module, shadowing its class's forward
    for m in model.modules():
        if type(m).__name__ in ("T5LayerNorm", "LlamaRMSNorm"):
            m.forward = types.MethodType(_rms_norm_float64, m)  # type: ignore[method-assign]
        if type(m).__name__ == "LlamaRotaryEmbedding":
            m.forward = types.MethodType(_rotary_float64, m)  # type: ignore[method-assign]
    return model


def scaled_float64_copy(model: nn.Module, c: float, patched: bool = True) -> nn.Module:
    """A float64 copy of ``model`` with every parameter multiplied by ``c`` in place (a
    tied weight is one parameter, scaled once); with ``patched``, its float32 casts
    patched out (:func:`without_float32_casts`)."""
    ref = copy.deepcopy(model).double()
    with torch.no_grad():
        for p in ref.parameters():
            p.mul_(c)
    return without_float32_casts(ref) if patched else ref


# -- the user's model and torch's settings are left alone -------------------------------
def hooks_of(model: nn.Module) -> list[tuple[str, list[str], list[int]]]:
    """Every submodule's attribute names and the sizes of its hook tables."""
    return [
        (type(m).__name__, sorted(m.__dict__), [len(getattr(m, t, {})) for t in HOOK_TABLES])
        for m in model.modules()
    ]


@contextlib.contextmanager
def left_as_the_user_has_it(model: nn.Module) -> Iterator[None]:
    """The model, its hooks, its attention implementation and torch's global settings
    are exactly as before the block (asserted on exit)."""
    before, hooks, settings = snapshot(model), hooks_of(model), global_settings()
    config = getattr(model, "config", None)
    attn = getattr(config, "_attn_implementation", None)
    yield
    assert_unchanged(model, before)
    assert hooks_of(model) == hooks
    assert global_settings() == settings
    if attn is not None:
        assert getattr(config, "_attn_implementation", None) == attn == "sdpa"
