"""Issue 4, item 2: overhead of NormTracker on a training step of the small LM.

The model and batch are the defaults of ``python -m homogeneity.experiments.norm_growth``
(d_model 64, 2 layers, 4 heads, FF 128, batch 16 × 32 tokens, AdamW). Blocks of 100
optimizer steps are timed in interleaved rounds, untracked against tracked on an identical
copy, so load from other processes hits both alike:

* the experiments' setting: a record every 5 steps (6 parameter groups), D14 saturation
  on an 8-sequence probe every 100 steps: target ≤ 10% of the step time;
* a record on every step, no saturation (the per-record cost, reported);
* one saturation measurement as a multiple of one training step (reported).

Run with ``python -m pytest benchmarks/bench_dynamics_tracker.py --benchmark-enable -s``.
"""

from __future__ import annotations

import copy

import torch

from benchmarks.conftest import paired_medians
from homogeneity.dynamics.tracker import NormTracker
from homogeneity.experiments.corpus import make_corpus, sample_batch
from homogeneity.experiments.lm_model import CausalLM, LMConfig, lm_loss, parameter_groups

BLOCK = 100


def _setup():
    corpus = make_corpus("pcfg", n_tokens=20_000, seed=0)
    cfg = LMConfig(corpus.vocab_size, d_model=64, n_heads=4, d_ff=128, n_layers=2, max_len=32)
    model = CausalLM(cfg, generator=torch.Generator().manual_seed(0))
    probe = sample_batch(corpus.valid, 8, 32, torch.Generator().manual_seed(999))[0]
    return corpus, model, probe


def _trainer(model, corpus, tracker=None):
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    if tracker is not None:
        tracker.attach(opt)
    gen = torch.Generator().manual_seed(1)

    def block():
        for _ in range(BLOCK):
            x, y = sample_batch(corpus.train, 16, 32, gen)
            loss = lm_loss(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    return block


def test_tracker_overhead(benchmark, report_ratio, single_thread):
    corpus, model, probe = _setup()
    tracked_model = copy.deepcopy(model)
    dense_model = copy.deepcopy(model)
    experiment = NormTracker(tracked_model, groups=parameter_groups(tracked_model), every=5,
                             saturation_inputs=probe, saturation_every=100,
                             saturation_kwargs={"layers": True},
                             saturation_output=lambda out: out, keep_in_memory=False)
    dense = NormTracker(dense_model, groups=parameter_groups(dense_model), every=1,
                        keep_in_memory=False)
    t = paired_medians({"plain": _trainer(model, corpus),
                        "tracked": _trainer(tracked_model, corpus, experiment),
                        "dense": _trainer(dense_model, corpus, dense)}, repeats=5, warmup=1)
    overhead = t["tracked"] / t["plain"] - 1
    per_record = t["dense"] / t["plain"] - 1
    step = t["plain"] / BLOCK
    params = {n: p.detach() for n, p in tracked_model.named_parameters()}
    sat = paired_medians({"saturation": lambda: experiment.probe.measure(params)},
                         repeats=5, warmup=1)["saturation"]
    benchmark(lambda: experiment.probe.measure(params))
    report_ratio("tracker overhead, every 5 steps + D14 every 100", overhead, "≤ 0.10",
                 f"step {step * 1e3:.1f} ms untracked")
    report_ratio("tracker overhead, a record every step, no D14", per_record, "",
                 "cost of one record relative to one step")
    report_ratio("one D14 measurement / one training step", sat / step, "",
                 f"{sat * 1e3:.1f} ms (float64, 8×32 probe, per layer)")
    experiment.close()
    dense.close()
    assert overhead <= 0.10, f"tracker overhead {overhead:.1%} of a step (target ≤ 10%)"
