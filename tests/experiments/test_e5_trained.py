"""E5 on a causal LM trained here (homogeneity.experiments.e5_head_types.trained*).

One tiny run (d_model 16, 2 heads, 2 layers, 12 steps, the paper's length 83) is checked
against counts and cosines computed here directly from the model's attention tensors and
outputs, without the saturation package; hand-made mean heads (query zeroed: every score
equal) are the positive control of the bimodality verdict, the trained model's all-argmax
limit its negative control."""

from __future__ import annotations

import copy
import json
from dataclasses import replace

import pytest
import torch

from homogeneity.constants import ATTENDED_THRESHOLD, LIMIT_RHO, PAPER_E5_SEQ_LEN, PAPER_RHO
from homogeneity.errors import HomogeneityInputError
from homogeneity.experiments.corpus import make_corpus
from homogeneity.experiments.e5_head_types import trained
from homogeneity.experiments.e5_head_types.trained_compute import (
    AS_TRAINED,
    LIMIT,
    TrainedHeadTypesConfig,
    count_heads,
    evaluation_windows,
    head_modes,
    regimes,
    run_trained_head_types,
    with_training,
)
from homogeneity.experiments.e5_head_types.trained_report import format_trained
from homogeneity.saturation import HeadStats, HeadTypeRule

pytestmark = pytest.mark.usefixtures("one_torch_thread")

RHO = f"ρ={PAPER_RHO:g}"


def tiny_config(**training) -> TrainedHeadTypesConfig:
    cfg = with_training(
        TrainedHeadTypesConfig(eval_sequences=4, batch_size=2),
        corpus="counting",
        corpus_tokens=3000,
        d_model=16,
        n_heads=2,
        d_ff=32,
        steps=12,
        batch_size=4,
        saturation_every=5,
        dense_until=0,
    )
    return with_training(cfg, **training) if training else cfg


@pytest.fixture(scope="module")
def run():
    cfg = tiny_config()
    result, model = run_trained_head_types(cfg)
    t = cfg.training
    corpus = make_corpus(t.corpus, n_tokens=t.corpus_tokens, seed=t.seed)
    ids = evaluation_windows(corpus.valid, cfg.eval_sequences, t.seq_len)
    return result, model, ids


def direct_counts(
    model, ids: torch.Tensor, rho: float, saturated: bool = False
) -> list[torch.Tensor]:
    """Per layer, (heads,) mean over windows and queries of #{k ≤ q : a_qk > 10⁻⁵}, from
    the encoder's own attention tensors at ρθ in float64 (an independent count)."""
    enc = copy.deepcopy(model.encoder).double()
    with torch.no_grad():
        for p in enc.parameters():
            p.mul_(rho)
        att = enc.run(ids, saturated=saturated, collect=True).attentions
    n = ids.shape[1]
    causal = torch.ones(n, n, dtype=torch.bool).tril()
    return [((a > ATTENDED_THRESHOLD) & causal).sum(-1).double().mean(dim=(0, 2)) for a in att]


def flat(per_layer: list[torch.Tensor]) -> list[float]:
    return [float(v) for layer in per_layer for v in layer]


def test_run_is_at_the_papers_length_and_d8_count(run):
    result, _, ids = run
    assert ids.shape == (4, PAPER_E5_SEQ_LEN)
    for m in result.modes.values():
        assert m.mean_visible == (PAPER_E5_SEQ_LEN + 1) / 2 == 42.0  # D8 (count)
    assert list(result.heads) == list(regimes())
    assert all(len(h) == 4 for h in result.heads.values())  # 2 layers × 2 heads


@pytest.mark.parametrize(
    ("regime", "rho", "saturated"),
    [(AS_TRAINED, 1.0, False), (RHO, PAPER_RHO, False), (LIMIT, LIMIT_RHO, True)],
)
def test_counts_match_a_count_from_the_attention_tensors(run, regime, rho, saturated):
    result, model, ids = run
    expected = flat(direct_counts(model, ids, rho, saturated))
    got = [h.attended for h in result.heads[regime]]
    assert got == pytest.approx(expected, abs=1e-12)


def test_the_independent_count_can_tell_regimes_apart(run):
    """Negative control of the comparison above: the count of another regime disagrees,
    so agreement is not automatic."""
    result, model, ids = run
    as_trained = flat(direct_counts(model, ids, 1.0))
    assert [h.attended for h in result.heads[LIMIT]] != pytest.approx(as_trained, abs=1e-3)
    assert [h.attended for h in result.heads[AS_TRAINED]] != pytest.approx(
        [1.0] * len(as_trained), abs=1e-3
    )


def test_saturation_level_matches_cosines_computed_here(run):
    result, model, ids = run
    lm = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        base = lm(ids, layers=True)
        for p in lm.parameters():
            p.mul_(PAPER_RHO)
        scaled = lm(ids, layers=True)
    cos = [float(torch.nn.functional.cosine_similarity(a, b, dim=-1).mean()) for a, b in
           zip(base, scaled, strict=True)]  # fmt: skip
    assert list(result.final_levels) == pytest.approx(cos, abs=1e-10)
    assert result.saturated == (min(cos) >= result.config.target_saturation)
    assert result.saturation_steps[0] == 0 and result.saturation_steps[-1] == 12


def test_unsaturated_run_is_reported_as_such(run):
    result, _, _ = run
    above = replace(result, config=replace(result.config, target_saturation=1.0))
    assert not above.saturated
    assert "NOT saturated: stopped at" in format_trained(above)


def test_hand_made_mean_heads_make_the_limit_bimodal(run):
    """Positive control: zeroing a head's query makes every score 0, so the head is an
    exact mean head in every regime (ties share the weight in the limit, D7) and the
    limit histogram has both modes; the trained model's limit (all argmax) has not."""
    result, model, ids = run
    assert not result.modes[LIMIT].bimodal  # negative control: every head is argmax
    assert result.modes[LIMIT].argmax == 4
    edited = copy.deepcopy(model)
    sub = edited.encoder.layers[0].attention.sublayer
    d_head = sub.d_head
    with torch.no_grad():
        sub.query.weight[:d_head].zero_()
        sub.query.bias[:d_head].zero_()
    before = {n: p.clone() for n, p in edited.named_parameters()}
    heads, _ = count_heads(edited, ids, batch_size=2)
    assert all(torch.equal(p, before[n]) for n, p in edited.named_parameters())
    rule = HeadTypeRule()
    for regime, stats in heads.items():
        mean_head = stats[0]
        assert mean_head.attended == pytest.approx(42.0, abs=1e-12)
        assert mean_head.tv_to_uniform == pytest.approx(0.0, abs=1e-12)
        modes = head_modes(stats, regime, rule)
        assert modes.mean >= 1 and modes.uniform_mean >= 1
    limit = head_modes(heads[LIMIT], LIMIT, rule)
    assert limit.bimodal and limit.mean == 1 and limit.argmax == 3
    assert "bimodal: 3 argmax-mode" in limit.verdict


def _head(attended: float, visible: float = 42.0, tv: float = 0.5) -> HeadStats:
    return HeadStats(1, 0, attended, visible, attended / visible, 1.0, tv, 0.0, {}, {}, "")


def test_modes_need_both_ends_of_the_histogram():
    rule = HeadTypeRule()
    both = head_modes([_head(1.0), _head(41.0), _head(20.0)], "x", rule)
    assert both.bimodal and (both.argmax, both.between, both.mean) == (1, 1, 1)
    assert both.uniform_mean == 0  # TV 0.5: not a mean head in D8's sense
    assert not head_modes([_head(1.0), _head(1.2)], "x", rule).bimodal
    assert not head_modes([_head(41.0), _head(40.0, tv=0.1)], "x", rule).bimodal
    assert not head_modes([_head(20.0)], "x", rule).bimodal
    with pytest.raises(HomogeneityInputError, match="no heads"):
        head_modes([], "x", rule)


def test_bad_configuration_is_refused():
    with pytest.raises(HomogeneityInputError, match="saturation_every"):
        with_training(TrainedHeadTypesConfig(), saturation_every=0)
    with pytest.raises(HomogeneityInputError, match="target_saturation"):
        TrainedHeadTypesConfig(target_saturation=1.5)


def test_command_writes_report_and_figures(tmp_path, capsys):
    argv = ["--corpus", "majority", "--steps", "5", "--d-model", "8", "--n-heads", "2",
            "--d-ff", "16", "--seq-len", "10", "--eval-sequences", "2", "--saturation-every",
            "5", "--corpus-tokens", "2000", "--no-progress", "--out", str(tmp_path)]  # fmt: skip
    assert trained.main(argv) == 0
    text = capsys.readouterr().out
    assert "argmax mode" in text and "D14 per layer" in text
    data = json.loads((tmp_path / "e5_trained_report.json").read_text(encoding="utf-8"))
    assert data[0]["config"]["training"]["corpus"] == "majority"
    assert set(data[0]["modes"]) == set(regimes())
    assert (tmp_path / "e5_trained_histogram.png").stat().st_size > 0
    assert trained.main([*argv[:-2], "--saturation-every", "7", "--out", str(tmp_path)]) == 2
    assert "multiple of 5" in capsys.readouterr().err
