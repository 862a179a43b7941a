"""The float32 casts of transformers' T5 and Llama code, patched out for a hand
computation in float64 (the saturation adapters keep those casts in the working dtype, so
an independent float64 computation has to do without them too)."""

from __future__ import annotations

import torch


def patch_float32_islands(monkeypatch) -> None:
    """T5's and Llama's RMS norm, Llama's rotary tables and eager softmax in the input's
    dtype, through pytest's ``monkeypatch`` (undone after the test)."""
    from transformers.models.llama import modeling_llama
    from transformers.models.t5 import modeling_t5

    def rms_norm(self, h):
        variance = h.pow(2).mean(-1, keepdim=True)
        return self.weight * (h * torch.rsqrt(variance + self.variance_epsilon))

    def rotary(self, x, position_ids):
        freqs = position_ids[..., None].to(x.dtype) * self.inv_freq.to(x.dtype)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos() * self.attention_scaling, emb.sin() * self.attention_scaling

    def llama_eager(module, query, key, value, attention_mask, scaling, dropout=0.0, **kw):
        key = modeling_llama.repeat_kv(key, module.num_key_value_groups)
        value = modeling_llama.repeat_kv(value, module.num_key_value_groups)
        w = torch.matmul(query, key.transpose(2, 3)) * scaling
        if attention_mask is not None:
            w = w + attention_mask
        w = torch.softmax(w, dim=-1)
        return torch.matmul(w, value).transpose(1, 2).contiguous(), w

    monkeypatch.setattr(modeling_t5.T5LayerNorm, "forward", rms_norm)
    monkeypatch.setattr(modeling_llama.LlamaRMSNorm, "forward", rms_norm)
    monkeypatch.setattr(modeling_llama.LlamaRotaryEmbedding, "forward", rotary)
    monkeypatch.setattr(modeling_llama, "eager_attention_forward", llama_eager)
