"""Loading BERT checkpoints: round trip on a tiny checkpoint written here, and every kind of
bad input (missing/truncated/corrupt files, config not matching the weights, bad text).

These tests need no weights package: the checkpoint is built in a temporary folder with
the Hugging Face parameter names written out by hand (independently of the loader's map).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

from homogeneity.adapters import Batch
from homogeneity.components import Encoder
from homogeneity.errors import HomogeneityInputError
from homogeneity.pretrained import (
    CheckpointFileError,
    bert_random_init,
    encoder_config,
    expected_shapes,
    load_bert,
    read_header,
)

WORDS = ["the", "cat", "sat", "on", "mat", "a", "dog", "ran", ".", ",", "##s", "big"]
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CONFIG = {
    "architectures": ["BertModel"],
    "model_type": "bert",
    "hidden_act": "gelu",
    "hidden_size": 8,
    "intermediate_size": 16,
    "num_attention_heads": 2,
    "num_hidden_layers": 2,
    "max_position_embeddings": 12,
    "type_vocab_size": 2,
    "vocab_size": len(SPECIAL) + len(WORDS),
    "layer_norm_eps": 1e-12,
    "position_embedding_type": "absolute",
    "pad_token_id": 0,
}


def hf_name(ours: str) -> str:
    """Our parameter name → the Hugging Face BertModel name (written out by hand)."""
    fixed = {
        "tokens.weight": "embeddings.word_embeddings.weight",
        "positions.weight": "embeddings.position_embeddings.weight",
        "token_types.weight": "embeddings.token_type_embeddings.weight",
        "embedding_norm.weight": "embeddings.LayerNorm.weight",
        "embedding_norm.bias": "embeddings.LayerNorm.bias",
    }
    if ours in fixed:
        return fixed[ours]
    _, i, *rest = ours.split(".")
    part = ".".join(rest[:-1])
    table = {
        "attention.sublayer.query": "attention.self.query",
        "attention.sublayer.key": "attention.self.key",
        "attention.sublayer.value": "attention.self.value",
        "attention.sublayer.output": "attention.output.dense",
        "attention.norm": "attention.output.LayerNorm",
        "feedforward.sublayer.inner": "intermediate.dense",
        "feedforward.sublayer.outer": "output.dense",
        "feedforward.norm": "output.LayerNorm",
    }
    return f"encoder.layer.{i}.{table[part]}.{rest[-1]}"


def token_ids(batch: Batch) -> torch.Tensor:
    """The batch's token ids (an encoded text always has them)."""
    assert batch.ids is not None
    return batch.ids


def write_tokenizer(path: Path) -> None:
    vocab = {t: i for i, t in enumerate(SPECIAL + WORDS)}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)],
    )
    tok.save(str(path))


def write_checkpoint(
    folder: Path,
    encoder: Encoder,
    config: dict | None = None,
    tensors: dict[str, torch.Tensor] | None = None,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    state = {
        hf_name(n): p.detach().to(torch.float32).contiguous() for n, p in encoder.named_parameters()
    }
    d = encoder.config.d_model
    state["pooler.dense.weight"] = torch.zeros(d, d)
    state["pooler.dense.bias"] = torch.zeros(d)
    state["embeddings.position_ids"] = torch.arange(encoder.config.max_len)[None]
    if tensors is not None:
        state = tensors
    save_file(state, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps(config or CONFIG))
    write_tokenizer(folder / "tokenizer.json")
    return folder


@pytest.fixture
def reference() -> Encoder:
    """A BERT-shaped encoder with non-trivial parameters (float32-representable)."""
    cfg = encoder_config(CONFIG)
    enc = Encoder(cfg, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for p in enc.parameters():
            p.copy_(p.to(torch.float32).to(torch.float64))
    return enc


@pytest.fixture
def folder(tmp_path: Path, reference: Encoder) -> Path:
    return write_checkpoint(tmp_path / "tiny", reference)


def test_round_trip_is_exact(folder: Path, reference: Encoder):
    model = load_bert(folder)
    assert model.config == reference.config
    assert set(model.ignored) == {
        "pooler.dense.weight",
        "pooler.dense.bias",
        "embeddings.position_ids",
    }
    assert model.source_dtype == "F32"
    ours = dict(model.encoder.named_parameters())
    for name, p in reference.named_parameters():
        assert ours[name].dtype == torch.float64
        assert torch.equal(ours[name], p), name
    tok = model.encode(["The cat sat.", "A big dog ran, the cats sat."])
    ids = token_ids(tok.batch)
    out_a = model.encoder.run(ids, tok.batch.padding_mask, collect=True)
    out_b = reference.run(ids, tok.batch.padding_mask, collect=True)
    for a, b in zip(out_a.hidden_states, out_b.hidden_states, strict=True):
        assert torch.equal(a, b)
    assert not model.encoder.training


def test_expected_shapes_agree_with_the_built_encoder(reference: Encoder):
    assert expected_shapes(reference.config) == {
        n: tuple(p.shape) for n, p in reference.named_parameters()
    }


def test_prefixed_and_gamma_beta_names_are_accepted(tmp_path: Path, reference: Encoder):
    folder = write_checkpoint(tmp_path / "x", reference)
    header = read_header(folder / "model.safetensors")
    from safetensors.torch import load_file

    tensors = load_file(str(folder / "model.safetensors"))
    renamed = {}
    for name, t in tensors.items():
        new = "bert." + name
        new = new.replace("LayerNorm.weight", "LayerNorm.gamma").replace(
            "LayerNorm.bias", "LayerNorm.beta"
        )
        renamed[new] = t
    assert len(header) == len(renamed)
    save_file(renamed, str(folder / "model.safetensors"))
    model = load_bert(folder)
    name = "embedding_norm.weight"
    assert torch.equal(model.encoder.get_parameter(name), reference.get_parameter(name))


def test_float32_build(folder: Path, reference: Encoder):
    model = load_bert(folder, dtype=torch.float32)
    assert next(model.encoder.parameters()).dtype == torch.float32
    assert torch.equal(model.encoder.tokens.weight, reference.tokens.weight.float())


# -- bad files -----------------------------------------------------------------------------
@pytest.mark.parametrize("missing", ["model.safetensors", "config.json", "tokenizer.json"])
def test_missing_file(folder: Path, missing: str):
    (folder / missing).unlink()
    with pytest.raises(CheckpointFileError, match=missing.replace(".", r"\.")):
        load_bert(folder)


def test_not_a_folder(tmp_path: Path):
    with pytest.raises(CheckpointFileError, match="not a folder"):
        load_bert(tmp_path / "nowhere")


@pytest.mark.parametrize("cut", [4, 20, 1000])
def test_truncated_weights(folder: Path, cut: int):
    path = folder / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[:-cut] if cut < len(data) - 8 else data[:cut])
    with pytest.raises(CheckpointFileError, match="truncated"):
        load_bert(folder)


def test_file_shorter_than_its_length_field(folder: Path):
    (folder / "model.safetensors").write_bytes(b"\x01\x02")
    with pytest.raises(CheckpointFileError, match="truncated"):
        load_bert(folder)


def test_corrupt_header(folder: Path):
    path = folder / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[8:12] = b"\xff\xfe{["
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointFileError, match="corrupt header"):
        load_bert(folder)


def test_trailing_garbage(folder: Path):
    path = folder / "model.safetensors"
    path.write_bytes(path.read_bytes() + b"junk")
    with pytest.raises(CheckpointFileError, match="unexplained bytes"):
        load_bert(folder)


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("hidden_size", 16, "does not belong to these weights"),
        ("intermediate_size", 32, "does not belong to these weights"),
        ("vocab_size", 40, "does not belong to these weights"),
        ("num_hidden_layers", 3, "missing tensors"),
        ("num_hidden_layers", 1, "unexpected tensors"),
    ],
)
def test_config_not_matching_weights(folder: Path, field: str, value: int, message: str):
    config = dict(CONFIG, **{field: value})
    if field == "hidden_size":
        config["num_attention_heads"] = 2
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointFileError, match=message):
        load_bert(folder)


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("model_type", "roberta", "only 'bert'"),
        ("hidden_act", "relu", "only 'gelu'"),
        ("position_embedding_type", "relative_key", "only 'absolute'"),
        ("is_decoder", True, "only encoders"),
        ("num_attention_heads", 3, "not divisible"),
        ("layer_norm_eps", "tiny", "must be a float"),
    ],
)
def test_unsupported_config(folder: Path, field: str, value, message: str):
    (folder / "config.json").write_text(json.dumps(dict(CONFIG, **{field: value})))
    with pytest.raises(CheckpointFileError, match=message):
        load_bert(folder)


def test_config_missing_field_and_bad_json(folder: Path):
    config = dict(CONFIG)
    del config["layer_norm_eps"]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointFileError, match="lacks the field 'layer_norm_eps'"):
        load_bert(folder)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(CheckpointFileError, match="not valid JSON"):
        load_bert(folder)


def test_unknown_tensor_and_integer_parameter(tmp_path: Path, reference: Encoder):
    from safetensors.torch import load_file

    folder = write_checkpoint(tmp_path / "a", reference)
    tensors = load_file(str(folder / "model.safetensors"))
    save_file(
        {**tensors, "cls.predictions.bias": torch.zeros(3)}, str(folder / "model.safetensors")
    )
    with pytest.raises(CheckpointFileError, match="unexpected tensors.*cls.predictions.bias"):
        load_bert(folder)
    tensors["embeddings.LayerNorm.bias"] = torch.zeros(8, dtype=torch.int64)
    save_file(tensors, str(folder / "model.safetensors"))
    with pytest.raises(CheckpointFileError, match="floating point"):
        load_bert(folder)


def test_non_finite_weights(tmp_path: Path, reference: Encoder):
    from safetensors.torch import load_file

    folder = write_checkpoint(tmp_path / "n", reference)
    tensors = load_file(str(folder / "model.safetensors"))
    tensors["encoder.layer.1.output.dense.weight"][0, 0] = math.nan
    save_file(tensors, str(folder / "model.safetensors"))
    with pytest.raises(CheckpointFileError, match="NaN or infinite"):
        load_bert(folder)


def test_tokenizer_bigger_than_vocabulary(folder: Path):
    (folder / "config.json").write_text(json.dumps(dict(CONFIG, vocab_size=CONFIG["vocab_size"])))
    vocab = {t: i for i, t in enumerate(SPECIAL + WORDS + ["extra"])}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.save(str(folder / "tokenizer.json"))
    with pytest.raises(CheckpointFileError, match="does not belong to these weights"):
        load_bert(folder)


def test_corrupt_tokenizer(folder: Path):
    (folder / "tokenizer.json").write_text("{}")
    with pytest.raises(CheckpointFileError, match="tokenizer file"):
        load_bert(folder)


# -- bad text ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "texts,message",
    [
        ([], "texts is empty"),
        ([""], r"texts\[0\] is empty"),
        (["the cat", "   \n"], r"texts\[1\] is empty"),
        ([3], "not a string"),
    ],
)
def test_bad_text(folder: Path, texts, message: str):
    model = load_bert(folder)
    with pytest.raises(HomogeneityInputError, match=message):
        model.encode(texts)


def test_text_over_max_length(folder: Path):
    model = load_bert(folder)  # max_position_embeddings = 12
    ok = "the cat sat on the mat the cat sat on"  # 10 words + [CLS] [SEP] = 12
    assert token_ids(model.encode([ok]).batch).shape == (1, 12)
    with pytest.raises(HomogeneityInputError, match=r"texts\[1\] is 13 tokens.*max_len=12"):
        model.encode([ok, ok + " mat"])


def test_padding_and_tokens(folder: Path):
    model = load_bert(folder)
    tok = model.encode(["The cats sat.", "A dog."])
    assert tok.tokens[0] == ("[CLS]", "the", "cat", "##s", "sat", ".", "[SEP]")
    ids = token_ids(tok.batch)
    assert ids.shape == (2, 7)
    assert tok.batch.padding_mask.sum(1).tolist() == [7, 5]
    assert ids[1, 5:].tolist() == [tok.special.pad] * 2
    assert (tok.special.cls, tok.special.sep, tok.special.pad) == (2, 3, 0)


def test_random_init_follows_bert(reference: Encoder):
    enc = bert_random_init(reference.config, seed=3)
    query_bias = enc.get_parameter("layers.0.attention.sublayer.query.bias")
    assert torch.equal(query_bias, torch.zeros_like(query_bias))
    norm_gain = enc.get_parameter("layers.1.feedforward.norm.weight")
    assert torch.equal(norm_gain, torch.ones_like(norm_gain))
    assert torch.equal(enc.tokens.weight[0], torch.zeros(8, dtype=torch.float64))
    big = bert_random_init(
        encoder_config(dict(CONFIG, hidden_size=64, intermediate_size=256, num_attention_heads=4)),
        seed=1,
    )
    w = big.get_parameter("layers.0.feedforward.sublayer.inner.weight")
    assert abs(float(w.detach().std()) - 0.02) < 0.001
    again = bert_random_init(reference.config, seed=3)
    assert all(torch.equal(a, b) for a, b in zip(enc.parameters(), again.parameters(), strict=True))
    with pytest.raises(HomogeneityInputError, match="pad_id"):
        bert_random_init(reference.config, pad_id=10_000)


def test_random_init_refuses_non_bert_norms(reference: Encoder):
    from dataclasses import replace

    with pytest.raises(HomogeneityInputError, match="norm='layernorm'"):
        bert_random_init(replace(reference.config, norm="rmsnorm"))
