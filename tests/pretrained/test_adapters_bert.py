"""The adapter interface on a model we did not write: ``transformers``' BertModel on the
MiniLM files, analysed through :class:`FunctionAdapter`, gives the same saturation levels
and head statistics as our port analysed through :class:`EncoderAdapter`."""

from __future__ import annotations

import pytest
import torch

from homogeneity.adapters import FunctionAdapter, Trace
from homogeneity.pretrained import MINILM_INSTALL_HINT, load_minilm, minilm_folder
from homogeneity.saturation import analyse_saturation

pytestmark = [
    pytest.mark.pretrained,
    pytest.mark.skipif(
        minilm_folder() is None, reason=f"weights package not installed: {MINILM_INSTALL_HINT}"
    ),
]


def test_bert_model_through_function_adapter_matches_our_port():
    transformers = pytest.importorskip("transformers", reason="needs transformers")
    ours = load_minilm()
    hf = transformers.BertModel.from_pretrained(
        str(ours.files.folder),
        local_files_only=True,
        attn_implementation="eager",
        torch_dtype=torch.float64,
        add_pooling_layer=False,
    ).eval()
    adapter = FunctionAdapter(
        hf,
        arguments=lambda b: (
            (),
            dict(
                input_ids=b.ids,
                attention_mask=b.padding_mask.long(),
                token_type_ids=b.token_type_ids,
                output_hidden_states=True,
                output_attentions=True,
            ),
        ),
        trace=lambda out: Trace(tuple(out.hidden_states), tuple(out.attentions)),
    )
    tok = ours.encode(["It is a truth universally acknowledged.", "Call me Ishmael."])
    special = {"[CLS]": tok.special.cls, "[SEP]": tok.special.sep}
    theirs = analyse_saturation(adapter, [tok.batch], special_tokens=special)
    mine = analyse_saturation(ours.adapter(), [tok.batch], special_tokens=special, exact=False)
    assert theirs.level.all_scaled and mine.level.all_scaled
    assert theirs.level.layers == pytest.approx(mine.level.layers, abs=1e-9)
    for a, b in zip(
        theirs.heads_at_rho + theirs.heads_at_one,
        mine.heads_at_rho + mine.heads_at_one,
        strict=True,
    ):
        assert (a.layer, a.head, a.kind) == (b.layer, b.head, b.kind)
        assert a.attended == pytest.approx(b.attended, abs=1e-9)
        assert a.locations == pytest.approx(b.locations, abs=1e-9)
