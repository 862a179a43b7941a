"""The small LM: corpora, the causal model in three placements, a short tracked training
run end to end (seconds), the weight-decay grid through any Executor, and the CLIs."""

import json
import random
from concurrent.futures import Executor, Future

import pytest
import torch

from homogeneity.components.residual import PLACEMENTS
from homogeneity.errors import HomogeneityInputError
from homogeneity.experiments import corpus as C
from homogeneity.experiments.e2_e4_e7_norm_growth import NormGrowthConfig, run_norm_growth
from homogeneity.experiments.e2_e4_e7_norm_growth.command import main
from homogeneity.experiments.e8_weight_decay import (
    WeightDecayGridConfig,
    format_grid,
    outcome,
    run_weight_decay_grid,
)
from homogeneity.experiments.lm_model import CausalLM, LMConfig, parameter_groups
from homogeneity.experiments.lm_training import TrainConfig, effective_lrs, lr_factor
from homogeneity.rules import predict_degree

pytestmark = pytest.mark.usefixtures("one_torch_thread")


TINY = dict(
    d_model=16,
    n_heads=2,
    d_ff=32,
    n_layers=2,
    steps=40,
    batch_size=4,
    seq_len=12,
    corpus_tokens=3000,
    track_every=2,
    dense_until=6,
    saturation_every=10,
    progress=False,
)


# -- corpora -------------------------------------------------------------------------------


def test_generated_corpora_are_deterministic_and_well_formed():
    a = C.make_corpus("pcfg", n_tokens=3000, seed=3)
    b = C.make_corpus("pcfg", n_tokens=3000, seed=3)
    assert torch.equal(a.train, b.train) and a.vocab == b.vocab
    assert not torch.equal(a.train, C.make_corpus("pcfg", n_tokens=3000, seed=4).train)
    rng = random.Random(0)
    for _ in range(200):
        sentence = C.pcfg_sentence(rng)
        assert sentence[-1] == "."
        # subject–verb agreement of the main clause: a plural head noun takes a plural verb
        verbs = [
            w
            for w in sentence
            if w
            in C._VI["sg"] + C._VT["sg"] + C._VS["sg"] + C._VI["pl"] + C._VT["pl"] + C._VS["pl"]
        ]
        assert verbs
        word = C.dyck_word(rng)
        depth = 0
        for ch in word:
            depth += 1 if ch in "([" else -1
            assert depth >= 0
        assert depth == 0
        w = C.counting_word(rng)
        n = w.count("a")
        assert w == ["a"] * n + ["b"] * n
        m = C.majority_word(rng)
        assert m[-2] == "=" and m[-1] == ("a" if m[:-2].count("a") > len(m[:-2]) // 2 else "b")


def test_text_file_corpus(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("the cat sat on the mat\n" * 60 + "a rare word\n", encoding="utf-8")
    c = C.make_corpus("text", text_file=path, max_vocab=6)
    assert C.UNK in c.vocab and C.EOS in c.vocab and len(c.vocab) <= 6
    chars = C.text_corpus(path, level="char")
    assert "c" in chars.vocab
    with pytest.raises(HomogeneityInputError, match="text_file"):
        C.make_corpus("text")
    with pytest.raises(HomogeneityInputError, match="not a file"):
        C.make_corpus("text", text_file=tmp_path / "missing.txt")
    with pytest.raises(HomogeneityInputError, match="unknown"):
        C.make_corpus("wikitext")


# -- the model -----------------------------------------------------------------------------


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_causal_lm_is_causal_in_every_placement(placement):
    cfg = LMConfig(
        vocab_size=9, d_model=8, n_heads=2, d_ff=16, n_layers=2, max_len=10, placement=placement
    )
    lm = CausalLM(cfg, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    ids = torch.randint(0, 9, (2, 10), generator=torch.Generator().manual_seed(1))
    changed = ids.clone()
    changed[:, 6:] = (changed[:, 6:] + 1) % 9
    a, b = lm(ids), lm(changed)
    assert torch.allclose(a[:, :6], b[:, :6], atol=0, rtol=0)
    assert not torch.allclose(a[:, 6:], b[:, 6:])
    layers = lm(ids, layers=True)
    assert len(layers) == 3 and torch.equal(layers[-1], a)
    groups = parameter_groups(lm)
    assert {"all", "encoder-no-emb", "embeddings", "head", "layer.0", "layer.1"} <= set(groups)


def test_paper_setting_predicts_degree_two():
    """C1: the bias-free paper-prenorm LM with the proofs' layer norm is ∼2 in θ."""
    cfg = LMConfig(
        vocab_size=9,
        d_model=8,
        n_heads=2,
        d_ff=16,
        n_layers=2,
        max_len=10,
        norm="proof",
        bias=False,
    )
    d = predict_degree(CausalLM(cfg)).degree
    assert d.value == 2 and d.kind == "approximate"


def test_schedules():
    cfg = TrainConfig(steps=100, schedule="inverse-sqrt", warmup=10, lr=1.0)
    assert lr_factor(cfg, 0) == pytest.approx(0.1) and lr_factor(cfg, 9) == pytest.approx(1.0)
    assert lr_factor(cfg, 39) == pytest.approx(0.5)
    ada = TrainConfig(steps=5, optimizer="adafactor", lr=0.5)  # ρ_t = min(lr, 1/√t)
    assert effective_lrs(ada) == pytest.approx([0.5, 0.5, 0.5, 0.5, 1 / 5**0.5])
    with pytest.raises(HomogeneityInputError, match="optimizer"):
        TrainConfig(optimizer="lion")


# -- a short run, end to end -------------------------------------------------------------------


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("lm") / "run"
    return out, run_norm_growth(NormGrowthConfig(out=str(out), **TINY))


def test_short_training_run_end_to_end(short_run):
    out, res = short_run
    for name in ("dynamics.jsonl", "results.json", "norm.png", "alignment.png", "saturation.png"):
        assert (out / name).is_file(), name
    saved = json.loads((out / "results.json").read_text())
    assert saved == json.loads(json.dumps(res.to_dict(), default=str))
    assert saved["norm"]["law"]["verdict"] in ("selected", "indistinguishable", "no-fit")
    lines = (out / "dynamics.jsonl").read_text().splitlines()
    # steps 0..5 densely, then every 2nd step up to 39, then the final state
    assert len(lines) == 6 + len(range(6, 40, 2)) + 1
    assert res.training.final_loss < res.training.first_loss
    assert res.analysis.saturation["steps"] == [0, 10, 20, 30, 40]
    assert 0 < res.seconds and res.training.train_seconds <= res.seconds
    assert res.analysis.alignment["verdict"] in (
        "rise-then-decay",
        "decay (no early rise)",
        "rise (no decay)",
        "flat",
    )
    # the growth-law fit uses the regular grid only (dense early records left out)
    assert res.analysis.curves["encoder-no-emb"]["steps"][:4] == [0, 2, 4, 6]


def test_reanalyse_a_finished_run(short_run, capsys):
    out, first = short_run
    (out / "norm.png").unlink()
    assert main(["--reanalyse", str(out)]) == 0
    assert (out / "norm.png").is_file()
    again = json.loads((out / "results.json").read_text())
    assert again["norm"]["final"] == first.analysis.norm["final"]
    assert again["seconds"] == first.seconds
    assert "growth law" in capsys.readouterr().out


def test_cli_prints_the_figures(tmp_path, capsys):
    args = [
        "--placement",
        "pre-ln",
        "--steps",
        "30",
        "--d-model",
        "16",
        "--n-heads",
        "2",
        "--d-ff",
        "32",
        "--seq-len",
        "12",
        "--batch-size",
        "4",
        "--corpus",
        "dyck",
        "--corpus-tokens",
        "3000",
        "--track-every",
        "2",
        "--saturation-every",
        "10",
        "--out",
        str(tmp_path / "cli"),
        "--no-progress",
    ]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "growth law" in text and "alignment" in text and "saturation" in text
    assert (
        main(
            [
                "--placement",
                "pre-ln",
                "--track-every",
                "3",
                "--saturation-every",
                "10",
                "--no-progress",
                "--out",
                str(tmp_path / "bad"),
            ]
        )
        == 2
    )
    capsys.readouterr()
    assert main(["--reanalyse", str(tmp_path / "cli"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    saved = json.loads((tmp_path / "cli" / "results.json").read_text())
    assert len(rows) == 1 and rows[0]["norm_final"] == saved["norm"]["final"]


class InlineExecutor(Executor):
    """A synchronous Executor: any concurrent.futures.Executor must work for the grid."""

    def __init__(self):
        self.submitted = 0

    def submit(self, fn, /, *args, **kwargs):
        self.submitted += 1
        f = Future()
        f.set_result(fn(*args, **kwargs))
        return f


def test_weight_decay_grid_through_any_executor(tmp_path):
    base = NormGrowthConfig(**{**TINY, "saturation_every": 0, "out": None})
    cfg = WeightDecayGridConfig(
        lrs=(1e-2,), weight_decays=(0.0, 30.0), steps=30, base=base, out=str(tmp_path / "grid")
    )
    ex = InlineExecutor()
    res = run_weight_decay_grid(cfg, executor=ex, progress=False)
    assert ex.submitted == 2
    by_wd = {c["weight_decay"]: c for c in res.cells}
    assert by_wd[30.0]["outcome"] == "shrinks"  # ηλ = 0.3 per step cannot be outgrown
    assert by_wd[30.0]["predicted_outcome"] == "shrinks"
    assert (tmp_path / "grid" / "grid.png").is_file()
    assert "η \\ λ" in format_grid(res)
    assert outcome(1.02, 0.01) == "grows" and outcome(0.995, 0.01) == "flat"


# -- the figures say what they rest on ---------------------------------------------------------


def test_norm_figure_names_every_law_it_draws_with_points_and_r2(short_run):
    from homogeneity.experiments.e2_e4_e7_norm_growth.plots import norm_figure

    _, run = short_run
    ax = norm_figure(run.records, run.to_dict()).axes[0]
    title = ax.get_title()
    fits = [t.get_text() for t in ax.get_legend().get_texts() if "R² =" in t.get_text()]
    n = len(run.analysis.curves["encoder-no-emb"]["steps"])
    assert fits and all(label.endswith(f", {n} points") for label in fits), fits
    for label in fits:
        assert label.split(":")[0] in title, (label, title)  # drawn ⇒ named
    for jargon in ("→", "E2:", "indistinguishable", "no-fit", "selected:"):
        assert jargon not in title


@pytest.mark.parametrize(
    "law, expected",
    [
        (
            {"verdict": "selected", "best": "exp(∫η)", "contenders": ["exp(∫η)"]},
            ["best, by far: exponential in ∫η", "dashed: √t"],
        ),
        (
            {"verdict": "indistinguishable", "best": "t", "contenders": ["t", "sqrt(t)"]},
            ["fit the parameter norm equally well: linear in t, √t"],
        ),
        (
            {"verdict": "no-fit", "best": "t^(1/4)", "contenders": ["t^(1/4)", "t"], "min_r2": 0.9},
            ["No law fits", "closest: t^(1/4)", "dashed: √t"],
        ),
    ],
)
def test_norm_title_is_plain_and_names_the_laws_drawn(law, expected):
    """The old title named the contenders but drew the best law and √t (skipping
    exp(∫η), so it could draw a law it did not name)."""
    from homogeneity.experiments.e2_e4_e7_norm_growth.plots import T5_LAW, kept_laws, norm_title

    kept = kept_laws(law)
    comparison = [] if T5_LAW in kept else [T5_LAW]
    title = " ".join(norm_title(law, kept, comparison).split())  # line breaks as spaces
    for fragment in expected:
        assert fragment in title, title


def test_compute_returns_a_dataclass_and_results_json_is_its_dict(short_run):
    import dataclasses

    out, run = short_run
    assert dataclasses.is_dataclass(run) and run.partial is False
    saved = json.loads((out / "results.json").read_text())
    assert list(saved) == [
        "experiment",
        "label",
        "title",
        "config",
        "corpus",
        "vocab_size",
        "n_parameters",
        "train_seconds",
        "first_loss",
        "final_loss",
        "valid",
        "initial_rms",
        "norm",
        "norm_all",
        "alignment",
        "alignment_all",
        "a1",
        "saturation",
        "block_norm_ratios",
        "curves",
        "seconds",
        "plots",
    ]
    assert json.loads((out / "config.json").read_text()) == run.config.to_dict()


def test_reanalyse_a_partial_run(tmp_path, capsys):
    """A run cut short (as by Ctrl-C) has config.json and a log but no results.json; it is
    analysed from the records it has and marked partial."""
    from homogeneity.experiments.e2_e4_e7_norm_growth import NormGrowthConfig as Cfg
    from homogeneity.experiments.e2_e4_e7_norm_growth import run_norm_growth as train

    out = tmp_path / "cut"
    full = train(Cfg(out=str(out), **{**TINY, "steps": 30}))
    (out / "results.json").unlink()
    log = out / "dynamics.jsonl"
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines[:20]) + "\n")  # the records written before the stop
    assert main(["--reanalyse", str(out)]) == 0
    text = capsys.readouterr().out
    assert "partial: interrupted after step" in text
    saved = json.loads((out / "results.json").read_text())
    assert saved["partial"] is True and saved["final_loss"] is None
    assert saved["initial_rms"] == full.training.initial_rms  # rebuilt from the config
