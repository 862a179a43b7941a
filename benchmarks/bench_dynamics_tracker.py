"""Issue 4, item 2: overhead of NormTracker on a training step of the small LM.

The model and batch are the defaults of ``python -m homogeneity.experiments.norm_growth``
(d_model 64, 2 layers, 4 heads, FF 128, batch 16 × 32 tokens, AdamW). Blocks of 100
optimizer steps are timed in interleaved rounds, untracked against tracked on an identical
copy, so load from other processes hits both alike:

* the experiments' setting: a record every 5 steps (6 parameter groups), D14 saturation
  on an 8-sequence probe every 100 steps: target ≤ 10% of the step time. The tracker's
  own time is measured inside its callbacks (a subclass that times them) and divided by
  the untracked training time of the same number of steps: on a shared machine the
  difference of two end-to-end totals is noisier than the overhead itself (it is
  reported too);
* a record on every step, no saturation (the per-record cost, reported);
* one saturation measurement as a multiple of one training step (reported).

Each figure is the median over 7 rounds of the per-round ratio (every variant timed once
per round, in rotated order), so load that drifts between rounds cancels.

Run with ``python -m pytest benchmarks/bench_dynamics_tracker.py --benchmark-enable -s``.
"""

from __future__ import annotations

import copy
import statistics
import time

import torch

from benchmarks.conftest import paired_medians
from homogeneity.dynamics.tracker import NormTracker
from homogeneity.experiments.corpus import make_corpus, sample_batch
from homogeneity.experiments.lm_model import CausalLM, LMConfig, lm_loss, parameter_groups

BLOCK = 100


class TimedTracker(NormTracker):
    """A NormTracker that adds up the wall time spent in its own callbacks."""

    spent = 0.0

    def before_step(self, lr=None):
        start = time.perf_counter()
        super().before_step(lr)
        self.spent += time.perf_counter() - start

    def after_step(self):
        start = time.perf_counter()
        super().after_step()
        self.spent += time.perf_counter() - start


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


def paired_ratios(fns: dict, baseline: str, rounds: int = 7) -> dict[str, float]:
    """Median over rounds of time(fn)/time(baseline), each round timing every function
    once in a rotated order: load that drifts between rounds cancels in each ratio."""
    names = list(fns)
    ratios: dict[str, list[float]] = {n: [] for n in names if n != baseline}
    for _ in range(1):  # warm-up round
        for fn in fns.values():
            fn()
    for r in range(rounds):
        times = {}
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            fns[name]()
            times[name] = time.perf_counter() - start
        for n in ratios:
            ratios[n].append(times[n] / times[baseline])
    return {n: statistics.median(v) for n, v in ratios.items()}


def test_tracker_overhead(benchmark, report_ratio, single_thread):
    corpus, model, probe = _setup()
    tracked_model = copy.deepcopy(model)
    dense_model = copy.deepcopy(model)
    experiment = TimedTracker(
        tracked_model,
        groups=parameter_groups(tracked_model),
        every=5,
        saturation_inputs=probe,
        saturation_every=100,
        saturation_kwargs={"layers": True},
        saturation_output=lambda out: out,
        keep_in_memory=False,
    )
    dense = TimedTracker(
        dense_model, groups=parameter_groups(dense_model), every=1, keep_in_memory=False
    )
    plain = _trainer(model, corpus)
    tracked_block = _trainer(tracked_model, corpus, experiment)
    dense_block = _trainer(dense_model, corpus, dense)
    ratios = paired_ratios(
        {"plain": plain, "tracked": tracked_block, "dense": dense_block}, "plain"
    )
    # the tracker's own time, measured inside its callbacks over fresh blocks of steps
    experiment.spent = dense.spent = 0.0
    t_plain = 0.0
    for _ in range(5):
        start = time.perf_counter()
        plain()
        t_plain += time.perf_counter() - start
        tracked_block()
        dense_block()
    overhead = experiment.spent / t_plain
    per_record = dense.spent / t_plain
    step = t_plain / (5 * BLOCK)
    params = {n: p.detach() for n, p in tracked_model.named_parameters()}
    sat = paired_medians(
        {"saturation": lambda: experiment.probe.measure(params)}, repeats=5, warmup=1
    )["saturation"]
    benchmark(lambda: experiment.probe.measure(params))
    report_ratio(
        "tracker overhead, every 5 steps + D14 every 100",
        overhead,
        "≤ 0.10",
        f"time in the tracker / untracked step time; step {step * 1e3:.1f} ms",
    )
    report_ratio(
        "tracker overhead, a record every step, no D14",
        per_record,
        "",
        "cost of one record relative to one step",
    )
    report_ratio(
        "end to end: tracked / untracked block − 1 (every 5)",
        ratios["tracked"] - 1,
        "",
        "difference of two noisy totals; the direct figure above is the one",
    )
    report_ratio(
        "end to end: tracked / untracked block − 1 (every step)", ratios["dense"] - 1, "", ""
    )
    report_ratio(
        "one D14 measurement / one training step",
        sat / step,
        "",
        f"{sat * 1e3:.1f} ms (float64, 8×32 probe, per layer)",
    )
    experiment.close()
    dense.close()
    assert overhead <= 0.10, f"tracker overhead {overhead:.1%} of a step (target ≤ 10%)"
