"""``homogeneity saturation --weights FOLDER --text FILE`` on checkpoint folders of every
tested family, built here from tiny random models (``save_pretrained``) and a
``tokenizer.json`` made with the ``tokenizers`` library; the numbers it reports are
checked against a hand-scaled copy, and its random-init copy against the family's own
initialisation under the seed."""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING

import pytest
import torch
import torch.nn.functional as F

from homogeneity.experiments.e3_pretrained_saturation.command import main
from homogeneity.pretrained.transformers_checkpoint import load_transformers_checkpoint
from tests.helpers.transformers_float64 import patch_float32_islands
from tests.helpers.user_models import tiny_config

transformers = pytest.importorskip("transformers", reason="needs transformers")
tokenizers = pytest.importorskip("tokenizers", reason="needs tokenizers")
if TYPE_CHECKING:
    from tokenizers import Tokenizer
transformers.logging.set_verbosity_error()

pytestmark = pytest.mark.usefixtures("one_torch_thread")

WORDS = "the cat sat on a mat and dog ran to house it was red big small".split()
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "<s>", "</s>"]
SENTENCES = [
    "the cat sat on a mat",
    "a big dog ran to the red house",
    "it was small",
    "the dog sat",
]


def tokenizer_json(family: str) -> Tokenizer:
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    vocab = {t: i for i, t in enumerate(SPECIALS + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.add_special_tokens(SPECIALS)
    templates = {
        "bert": ("[CLS] $A [SEP]", [("[CLS]", 2), ("[SEP]", 3)]),
        "roberta": ("<s> $A </s>", [("<s>", 4), ("</s>", 5)]),
        "t5": ("$A </s>", [("</s>", 5)]),
        "llama": ("<s> $A", [("<s>", 4)]),
    }
    if family in templates:
        single, special = templates[family]
        tok.post_processor = processors.TemplateProcessing(single=single, special_tokens=special)
    return tok


#: the special-token ids of each family's tiny config
CHECKPOINT_TOKENS: dict[str, dict[str, int]] = {
    "gpt2": {"bos_token_id": 4, "eos_token_id": 5},
    "bert": {},
    "roberta": {"pad_token_id": 0},
    "t5": {"pad_token_id": 0, "decoder_start_token_id": 0},
    "llama": {"pad_token_id": 0},
}


def checkpoint_config(family: str):
    """The config of the tiny checkpoint: 32 tokens, 32 positions (RoBERTa 2 more)."""
    positions = 34 if family == "roberta" else 32
    return tiny_config(family, vocab=32, positions=positions, **CHECKPOINT_TOKENS[family])


def checkpoint_folder(tmp_path, family: str):
    folder = tmp_path / family
    torch.manual_seed(11)
    model = transformers.AutoModel.from_config(checkpoint_config(family))
    model.save_pretrained(folder)
    tokenizer_json(family).save(str(folder / "tokenizer.json"))
    return folder


def text_file(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text("\n".join(SENTENCES[:2] + [""] + SENTENCES[2:]) + "\n", encoding="utf-8")
    return path


def hand_level(model, batch, rho: float = 1000.0) -> list[float]:
    """D14 per layer of a float64 copy scaled in place (encoder of an encoder–decoder)."""
    ref = copy.deepcopy(model).double()
    if getattr(ref.config, "is_encoder_decoder", False):
        ref = ref.get_encoder()
    ref.set_attn_implementation("eager")
    mask = batch.padding_mask
    kw = {"input_ids": batch.ids, "attention_mask": mask.long(), "output_hidden_states": True}
    with torch.no_grad():
        h1 = ref(**kw).hidden_states
        for p in ref.parameters():
            p.mul_(rho)
        hr = ref(**kw).hidden_states
    return [
        float(F.cosine_similarity(a[mask], b[mask], dim=-1).mean())
        for a, b in zip(h1, hr, strict=True)
    ]


@pytest.mark.parametrize("family", ["gpt2", "bert", "roberta", "t5", "llama"])
def test_any_checkpoint_any_text(tmp_path, family, capsys, monkeypatch):
    folder = checkpoint_folder(tmp_path, family)
    out = tmp_path / "out"
    args = ["--out", str(out), "--weights", str(folder), "--text", str(text_file(tmp_path)),
            "--extra-seeds", "--no-convergence", "--backend", "transformers"]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "E3 saturation level" in printed and f"{family} pretrained" in printed
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert data["family"] == family and data["backend"] == "transformers"
    assert data["n_sentences"] == 4 and data["text_source"].endswith("(one sentence per line)")
    assert "AttentionInterface" in data["adapter"]["attention"]

    # the numbers are those of a hand-scaled copy, on the same (length-sorted) batch
    patch_float32_islands(monkeypatch)
    ckpt = load_transformers_checkpoint(folder)
    batch = ckpt.tokenizer.encode(SENTENCES).batch
    assert data["pretrained"]["saturation_level"] == pytest.approx(
        hand_level(ckpt.model, batch), abs=1e-9
    )
    # the random copy: the family's own initialisation, drawn under seed 0
    torch.manual_seed(0)
    fresh = transformers.AutoModel.from_config(ckpt.model.config).eval()
    assert data["random"]["saturation_level"] == pytest.approx(hand_level(fresh, batch), abs=1e-9)
    assert "AutoModel.from_config" in data["random_init"]
    assert data["pretrained"]["heads"]["rho_1"] is not None
    assert (out / "e3_saturation_per_layer.png").stat().st_size > 1000


def test_bert_folder_goes_through_the_port_by_default(tmp_path):
    folder = checkpoint_folder(tmp_path, "bert")
    out = tmp_path / "out"
    args = ["--out", str(out), "--weights", str(folder), "--text", str(text_file(tmp_path)),
            "--extra-seeds", "--no-convergence", "--json"]  # fmt: skip
    assert main(args) == 0
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert data["backend"] == "port" and data["adapter"]["adapter"] == "EncoderAdapter"
    ckpt = load_transformers_checkpoint(folder)
    batch = ckpt.tokenizer.encode(SENTENCES).batch
    assert data["pretrained"]["saturation_level"] == pytest.approx(
        hand_level(ckpt.model, batch), abs=1e-9
    )


def test_command_line_errors_are_one_line_with_exit_2(tmp_path, capsys):
    folder = checkpoint_folder(tmp_path, "gpt2")
    out = str(tmp_path / "out")
    capsys.readouterr()
    assert main(["--out", out, "--weights", str(folder), "--text", str(tmp_path / "no.txt")]) == 2
    assert capsys.readouterr().err.startswith("homogeneity: error:")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    assert main(["--out", out, "--weights", str(folder), "--text", str(empty)]) == 2
    assert "holds no sentence" in capsys.readouterr().err
    (folder / "tokenizer.json").unlink()
    assert main(["--out", out, "--weights", str(folder)]) == 2
    assert "tokenizer.json" in capsys.readouterr().err
    for bad in (["--rho", "0"], ["--batch-size", "0"], ["--backend", "onnx"]):
        assert main(["--out", out, *bad]) == 2  # returned, not raised (homogeneity.cli.errors)
        err = capsys.readouterr().err
        assert err.startswith("homogeneity: error:") and f"argument {bad[0]}" in err


def test_every_option_has_help_and_its_default(capsys):
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: homogeneity saturation")
    for option in ("--weights", "--text", "--backend", "--sentences", "--rho", "--seed",
                   "--extra-seeds", "--batch-size", "--device", "--progress"):  # fmt: skip
        assert option in text
    from homogeneity.cli.parser import help_line, parser_actions
    from homogeneity.experiments.e3_pretrained_saturation.command import build_parser

    parser = build_parser()
    for action in parser_actions(parser):
        line = help_line(parser, action)
        assert "default" in line or "required" in line, (action.option_strings, line)


def _imports(path, names: list[str]) -> set[str]:
    """Modules of ``names`` that the file imports anywhere but under ``if TYPE_CHECKING``."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for n in ast.walk(node)}
    return {
        n.module
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.module in names and id(n) not in skipped
    }


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(n: str, stack: list[str]) -> list[str] | None:
        if state.get(n) == 1:
            return [*stack, n]
        if state.get(n) == 2:
            return None
        state[n] = 1
        for m in sorted(graph.get(n, ())):
            found = visit(m, [*stack, n])
            if found:
                return found
        state[n] = 2
        return None

    for n in sorted(graph):
        found = visit(n, [])
        if found:
            return found
    return None


def test_e3_and_e5_modules_import_without_cycles():
    """No import cycle among the E3/E5 modules, counting imports inside functions (only
    TYPE_CHECKING imports are left out); the check finds a planted cycle."""
    import importlib
    from pathlib import Path

    names = [
        f"homogeneity.experiments.{pkg}.{mod}"
        for pkg, mods in (
            ("e3_pretrained_saturation", ("subjects", "compute", "report", "plots", "command")),
            ("e5_head_types", ("compute", "report", "plots", "command")),
        )
        for mod in mods
    ] + ["homogeneity.experiments.pretrained_saturation"]
    graph = {n: _imports(Path(importlib.util.find_spec(n).origin), names) for n in names}
    assert _find_cycle(graph) is None
    assert graph["homogeneity.experiments.e3_pretrained_saturation.report"]  # edges are seen
    planted = {**graph, names[0]: graph[names[0]] | {names[2]}}  # subjects -> report -> ...
    assert _find_cycle(planted) is not None
