"""The cost of the saturation analyses.

* The exact saturated forward (hardmax attention, ReLU, ε = 0) against the normal forward
  of the same MiniLM-shaped encoder (6 layers, d 384, 12 heads, FF 1536), same batch,
  timed in interleaved rounds: target ≤ 1.5×. The finite-ρ proxy (a Ray evaluation, which
  also rescales all 22.6M parameters) is reported beside it.
* The whole E3 + head analysis (pretrained and random-init MiniLM, D14 per layer, head
  statistics at ρ = 1 and ρ = 1000) on the 105 shipped sentences: target under a minute
  on 2 CPU cores, asserted when the machine is not shared (1-minute load average < 2);
  always asserted as a multiple of one plain forward pass over the same sentences, timed
  in the same run (≤ 6×: 1.5× the 4 passes it needs). The same with the exact saturated
  comparison and limit heads (10 passes) is reported beside it.

Run with ``python -m pytest benchmarks/bench_saturation.py --benchmark-enable -s``.
"""

from __future__ import annotations

import os
import time

import pytest
import torch

from benchmarks.conftest import paired_medians
from homogeneity.adapters import Batch, EncoderAdapter
from homogeneity.data import load_sentences
from homogeneity.pretrained import (
    MINILM_INSTALL_HINT,
    bert_random_init,
    load_minilm,
    minilm_folder,
)
from homogeneity.saturation import analyse_saturation, length_buckets
from tests.helpers.encoders import bert_style_config

MINILM_SHAPE = bert_style_config(
    vocab_size=30522, d_model=384, n_heads=12, d_ff=1536, n_layers=6, max_len=512
)


def _batch(n_seq: int = 16, length: int = 40) -> Batch:
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, 30000, (n_seq, length), generator=g)
    return Batch(ids, torch.ones_like(ids, dtype=torch.bool), torch.zeros_like(ids))


def test_saturated_forward_cost(benchmark, report_ratio):
    encoder = bert_random_init(MINILM_SHAPE, seed=0)
    b = _batch()
    ray = EncoderAdapter(encoder).ray(b)

    def normal():
        return encoder.run(b.ids, b.padding_mask, token_type_ids=b.token_type_ids, collect=True)

    def saturated():
        return encoder.run(
            b.ids, b.padding_mask, token_type_ids=b.token_type_ids, saturated=True, collect=True
        )

    with torch.no_grad():
        t = paired_medians(
            {"normal": normal, "saturated": saturated, "proxy": lambda: ray(1000.0)}, repeats=7
        )
        benchmark(saturated)
    ratio = t["saturated"] / t["normal"]
    report_ratio(
        "exact saturated forward / normal forward (MiniLM shape)",
        ratio,
        "≤ 1.5×",
        f"normal {t['normal'] * 1e3:.0f} ms, saturated {t['saturated'] * 1e3:.0f} ms, "
        f"16×40 tokens, float64, {torch.get_num_threads()} threads",
    )
    report_ratio(
        "finite-ρ proxy (Ray, rescales θ) / normal forward",
        t["proxy"] / t["normal"],
        "",
        f"proxy {t['proxy'] * 1e3:.0f} ms",
    )
    assert ratio <= 1.5, f"saturated forward costs {ratio:.2f}× the normal one (target ≤ 1.5×)"


#: the time budget for E3 + head analysis of 100 sentences on 2 CPU cores
BUDGET_S = 60.0
#: above this 1-minute load average the 2 cores are shared, and a wall-time budget says
#: nothing about our code: the absolute check is then reported but not asserted (the
#: ratio checks, measured in the same run, still are)
QUIET_LOAD = 2.0


@pytest.mark.pretrained
@pytest.mark.skipif(
    minilm_folder() is None, reason=f"weights package not installed: {MINILM_INSTALL_HINT}"
)
def test_e3_and_head_analysis_time(benchmark, report_ratio):
    """E3 (D14 per layer, pretrained and random init) + head statistics at ρ = 1 and ρ = 1000
    on the 105 sentences: 2 forward passes per model. Also timed: the same with the exact
    saturated comparison and the limit heads (5 passes per model)."""
    model = load_minilm()
    sentences = load_sentences()
    tok = model.encode([s.text for s in sentences])
    buckets = [b for _, b in length_buckets(tok.batch, 16)]
    special = {"[CLS]": tok.special.cls, "[SEP]": tok.special.sep}
    random_encoder = bert_random_init(model.config, seed=0)

    def one_forward(parts):
        with torch.no_grad():
            for b in parts:
                model.encoder.run(b.ids, b.padding_mask, token_type_ids=b.token_type_ids)

    def analysis(parts, exact: bool):
        for encoder in (model.encoder, random_encoder):
            analyse_saturation(EncoderAdapter(encoder), parts, special_tokens=special, exact=exact)

    # ratios: interleaved rounds on a third of the sentences, so load from other jobs
    # falls on the baseline and the analysis alike
    subset = buckets[::3]
    t = paired_medians(
        {
            "forward": lambda: one_forward(subset),
            "e3": lambda: analysis(subset, False),
            "exact": lambda: analysis(subset, True),
        },
        repeats=3,
        warmup=1,
    )
    # absolute: the whole analysis of all 105 sentences, once
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    benchmark.pedantic(analysis, args=(buckets, False), rounds=1, iterations=1)
    e3_heads = time.perf_counter() - start
    load = max(load_before, os.getloadavg()[0])
    threads = torch.get_num_threads()
    n_sub = sum(int(b.lengths.sum()) for b in subset)
    report_ratio(
        "E3 + head analysis, 105 sentences, 2 models (s)",
        e3_heads,
        "< 60 s",
        f"{threads} threads, {int(tok.batch.lengths.sum())} tokens, load avg {load:.1f}",
    )
    report_ratio(
        "E3 + head analysis / one forward pass (same sentences)",
        t["e3"] / t["forward"],
        "≤ 6×",
        f"{n_sub} tokens: forward {t['forward']:.2f} s, analysis {t['e3']:.2f} s; 4 passes needed",
    )
    report_ratio(
        "… with exact saturated comparison and limit heads / one forward",
        t["exact"] / t["forward"],
        "≤ 15×",
        f"{t['exact']:.2f} s; 10 passes needed",
    )
    assert t["e3"] / t["forward"] <= 6.0, (
        f"E3 + head analysis costs {t['e3'] / t['forward']:.1f} forward passes (4 needed)"
    )
    assert t["exact"] / t["forward"] <= 15.0, (
        f"with the exact comparison it costs {t['exact'] / t['forward']:.1f} passes (10 needed)"
    )
    if load < QUIET_LOAD:
        assert e3_heads < BUDGET_S, f"E3 + head analysis took {e3_heads:.1f} s (< 60 s)"
    else:
        report_ratio(
            "(absolute budget not asserted: machine shared)",
            load,
            f"< {QUIET_LOAD}",
            "1-minute load average on 2 cores",
        )
