"""NormTracker: exact measurements, JSON lines as they come, and no effect on training."""

import json
import math

import pytest
import torch

from homogeneity.dynamics.controlled import NormalisedRegression, initial_theta
from homogeneity.dynamics.tracker import NormTracker, read_records, series
from homogeneity.errors import HomogeneityInputError
from homogeneity.experiments.corpus import make_corpus, sample_batch
from homogeneity.experiments.lm_model import CausalLM, LMConfig, lm_loss, parameter_groups
from homogeneity.saturation import saturation_level
from tests.helpers.user_models import tiny_config

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def corpus():
    return make_corpus("pcfg", n_tokens=5000, seed=0)


def small_lm(corpus, placement="paper-prenorm"):
    cfg = LMConfig(
        corpus.vocab_size,
        d_model=16,
        n_heads=2,
        d_ff=32,
        n_layers=2,
        max_len=12,
        placement=placement,
    )
    return CausalLM(cfg, generator=torch.Generator().manual_seed(0))


def train(model, corpus, steps, tracker=None, callback=False):
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    if tracker is not None and not callback:
        tracker.attach(opt)
    gen = torch.Generator().manual_seed(1)
    losses = []
    for _ in range(steps):
        x, y = sample_batch(corpus.train, 4, 12, gen)
        loss = lm_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        if tracker is not None and callback:
            with tracker.step(lr=opt.param_groups[0]["lr"]):
                opt.step()
        else:
            opt.step()
        losses.append(loss.item())
    return losses


def probe(corpus):
    return sample_batch(corpus.valid, 2, 12, torch.Generator().manual_seed(5))[0]


@pytest.mark.parametrize("callback", [False, True])
def test_tracked_run_equals_untracked_run_bit_for_bit(corpus, tmp_path, callback):
    plain = small_lm(corpus)
    tracked = small_lm(corpus)
    rng_before = torch.get_rng_state()
    losses_plain = train(plain, corpus, 25)
    tracker = NormTracker(
        tracked,
        groups=parameter_groups(tracked),
        every=2,
        path=tmp_path / "log.jsonl",
        saturation_inputs=probe(corpus),
        saturation_every=4,
        saturation_kwargs={"layers": True},
        saturation_output=lambda out: out,
    )
    losses_tracked = train(tracked, corpus, 25, tracker, callback)
    tracker.close()
    assert losses_plain == losses_tracked
    for (n, a), (_, b) in zip(
        plain.state_dict().items(), tracked.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), n
    assert torch.equal(torch.get_rng_state(), rng_before)  # nobody drew global randomness
    assert len(tracker.records) == 13 and tracker.records[0]["saturation"]["level"] is not None


def test_measurements_match_a_direct_computation():
    """Plain GD on a scale-invariant loss: δ = −η∇L ⊥ θ, so alignment 0 and
    ‖θ_{t+1}‖² = ‖θ_t‖² + ‖δ_t‖²; the tracker must report exactly that."""
    obj = NormalisedRegression(20, seed=3)
    layer = torch.nn.Module()
    layer.theta = torch.nn.Parameter(initial_theta(20, 2.0, 0))
    opt = torch.optim.SGD(layer.parameters(), lr=0.5)
    tracker = NormTracker(layer, every=1).attach(opt)
    for t in range(10):
        opt.zero_grad()
        before = layer.theta.detach().clone()
        obj(layer.theta, t).backward()
        grad = layer.theta.grad.clone()
        opt.step()
        rec = tracker.records[-1]["groups"]["all"]
        delta = layer.theta.detach() - before
        assert rec["step_norm"] == pytest.approx(float(delta.norm()), rel=1e-12)
        assert rec["step_norm"] == pytest.approx(0.5 * float(grad.norm()), rel=1e-12)
        assert abs(rec["alignment"]) < 1e-12
        assert rec["next_norm"] ** 2 == pytest.approx(
            rec["norm"] ** 2 + rec["step_norm"] ** 2, rel=1e-12
        )
        assert rec["relative_step"] == pytest.approx(rec["step_norm"] / (0.5 * rec["norm"]))
        assert math.cos(rec["angular_update"]) == pytest.approx(rec["direction_similarity"])
    tracker.close()


def test_weight_decay_gives_negative_alignment():
    """Negative control for the alignment sign: pure weight decay (zero gradient) moves θ
    straight toward 0, cos(θ, δ) = −1."""
    layer = torch.nn.Linear(4, 4, bias=False)
    opt = torch.optim.SGD(layer.parameters(), lr=0.1, weight_decay=0.5)
    tracker = NormTracker(layer).attach(opt)
    layer.weight.grad = torch.zeros_like(layer.weight)
    opt.step()
    assert tracker.records[0]["groups"]["all"]["alignment"] == pytest.approx(-1.0, abs=1e-6)


def test_saturation_matches_the_package_definition(corpus):
    model = small_lm(corpus)
    x = probe(corpus)
    tracker = NormTracker(
        model,
        saturation_inputs=x,
        saturation_kwargs={"layers": True},
        saturation_output=lambda out: out,
    )
    rec = tracker.record_state()
    direct = saturation_level(model, (x,), kwargs={"layers": True}, output=lambda out: out)
    assert rec["saturation"]["layers"] == pytest.approx(list(direct.layers), rel=1e-12)
    assert rec["saturation"]["level"] == pytest.approx(direct.value, rel=1e-12)


def test_records_are_written_as_they_come_and_survive_interruption(corpus, tmp_path):
    model = small_lm(corpus)
    path = tmp_path / "run" / "log.jsonl"
    tracker = NormTracker(model, every=3, path=path)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    tracker.attach(opt)
    gen = torch.Generator().manual_seed(0)
    with pytest.raises(RuntimeError, match="interrupted"):
        for t in range(20):
            x, y = sample_batch(corpus.train, 2, 12, gen)
            opt.zero_grad()
            lm_loss(model(x), y).backward()
            opt.step()
            if t == 10:
                # what another process sees on disk now, before close():
                on_disk = read_records(path)
                assert [r["step"] for r in on_disk] == [0, 3, 6, 9]
                raise RuntimeError("interrupted")
    with open(path, "a") as f:  # a torn last line, as a killed writer could leave
        f.write('{"step": 12, "gro')
    recs = read_records(path)
    assert [r["step"] for r in recs] == [0, 3, 6, 9]
    steps, norms = series(recs, "all", "norm")
    assert steps == [0, 3, 6, 9] and all(n > 0 for n in norms)
    tracker.close()


def test_non_finite_values_are_written_as_null(tmp_path):
    layer = torch.nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        layer.weight.zero_()
    opt = torch.optim.SGD(layer.parameters(), lr=0.1)
    tracker = NormTracker(layer, path=tmp_path / "z.jsonl").attach(opt)
    layer.weight.grad = torch.zeros_like(layer.weight)
    opt.step()  # θ = 0 and δ = 0: every cosine is undefined
    tracker.close()
    line = (tmp_path / "z.jsonl").read_text().strip()
    assert "NaN" not in line and json.loads(line)["groups"]["all"]["alignment"] is None


def test_bad_arguments_are_refused(corpus):
    model = small_lm(corpus)
    with pytest.raises(HomogeneityInputError, match="every"):
        NormTracker(model, every=0)
    with pytest.raises(HomogeneityInputError, match="multiple"):
        NormTracker(model, every=3, saturation_every=4, saturation_inputs=probe(corpus))
    with pytest.raises(HomogeneityInputError, match="selects nothing"):
        NormTracker(model, groups={"x": ["missing.*"]})
    other = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1)
    with pytest.raises(HomogeneityInputError, match="none of the model's parameters"):
        NormTracker(model).attach(other)
    with pytest.raises(HomogeneityInputError, match="torch.optim.Optimizer"):
        NormTracker(model).attach(object())


def test_small_angles_of_float32_models_are_accurate():
    """An update 10⁻⁴ the size of θ: arccos of a cosine near 1 would lose every digit in
    float32; the tracker's angle must match a float64 computation on the same tensors."""
    layer = torch.nn.Linear(64, 64, bias=False)  # float32
    opt = torch.optim.SGD(layer.parameters(), lr=1.0)
    tracker = NormTracker(layer).attach(opt)
    before = layer.weight.detach().clone().double()
    gen = torch.Generator().manual_seed(0)
    noise = torch.randn(64, 64, generator=gen)
    layer.weight.grad = 1e-4 * layer.weight.detach().norm() * noise / 64
    opt.step()
    after = layer.weight.detach().double()
    cos = float((before * after).sum() / (before.norm() * after.norm()))
    delta = after - before
    perp = delta - float((before * delta).sum() / before.norm() ** 2) * before
    expected = math.atan2(float(perp.norm()), float((before * after).sum() / before.norm()))
    rec = tracker.records[0]["groups"]["all"]
    assert rec["angular_update"] == pytest.approx(expected, rel=1e-4)
    assert rec["direction_similarity"] == pytest.approx(cos, abs=1e-12)
    assert rec["alignment"] == pytest.approx(
        float((before * delta).sum() / (before.norm() * delta.norm())), abs=1e-5
    )


# -- the fast record path against a direct computation of every field --------------------


def reference_record(before: dict, after: dict, groups: dict, lr: float | None) -> dict:
    """Every field of a record computed directly, group by group: the group's tensors
    concatenated, δ and the products in the tracked tensors' common dtype (float64 if
    they differ), the sums in float64, then the formulas of the tracker's docstring
    (what the tracker computed before it used one preallocated buffer)."""
    dtypes = {before[n].dtype for names in groups.values() for n in names}
    common = next(iter(dtypes)) if len(dtypes) == 1 else torch.float64  # of all tracked
    out = {}
    for group, names in groups.items():
        a = torch.cat([before[n].reshape(-1).to(common) for n in names])
        b = torch.cat([after[n].reshape(-1).to(common) for n in names])
        d = b - a
        sq = float((a * a).sum(dtype=torch.float64))
        dsq = float((d * d).sum(dtype=torch.float64))
        dot = float((a * d).sum(dtype=torch.float64))
        n0, dn = math.sqrt(sq), math.sqrt(dsq)
        along = n0 + dot / n0
        perp = math.sqrt(max(dsq - (dot / n0) ** 2, 0.0))
        n1 = math.hypot(along, perp)
        out[group] = {
            "norm": n0,
            "next_norm": n1,
            "step_norm": dn,
            "alignment": dot / (n0 * dn) if dn > 0 else None,
            "direction_similarity": along / n1,
            "angular_update": math.atan2(perp, along),
            "relative_step": dn / (lr * n0) if lr else None,
        }
    return out


class Recorder:
    """θ_t and θ_{t+1} of every step, taken by the test's own optimizer hooks."""

    def __init__(self, model, opt):
        self.pairs = []
        self._before = None
        opt.register_step_pre_hook(lambda *_: self._pre(model))
        opt.register_step_post_hook(lambda *_: self._post(model))

    def _pre(self, model):
        self._before = {n: p.detach().clone() for n, p in model.named_parameters()}

    def _post(self, model):
        after = {n: p.detach().clone() for n, p in model.named_parameters()}
        self.pairs.append((self._before, after))


def assert_record_matches(record: dict, expected: dict, rel: float = 1e-12) -> None:
    assert record.keys() == expected.keys()
    for group, fields in expected.items():
        got = record[group]
        assert got.keys() == fields.keys(), group
        for key, want in fields.items():
            if want is None:
                assert got[key] is None, (group, key)
            elif key in ("alignment", "angular_update"):  # may be near 0: absolute
                assert got[key] == pytest.approx(want, rel=rel, abs=rel), (group, key)
            else:
                assert got[key] == pytest.approx(want, rel=rel), (group, key)


def tiny_hf_gpt2(dtype=torch.float32):
    transformers = pytest.importorskip("transformers")
    cfg = tiny_config("gpt2", vocab=64, positions=12, bos_token_id=0, eos_token_id=1)
    torch.manual_seed(0)
    return transformers.GPT2LMHeadModel(cfg).to(dtype)


HF_GROUPS = {
    "all": None,
    "embeddings": ["transformer.wte.*", "transformer.wpe.*"],
    "blocks": ["transformer.h.*"],
    "h.0": ["transformer.h.0.*"],
    # not nested in the others and not contiguous in name order
    "biases-and-h1-ln": ["*.bias", "transformer.h.1.ln_*"],
    "final_norm": ["transformer.ln_f.*"],
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_every_record_matches_a_direct_computation_on_hf_gpt2(dtype):
    model = tiny_hf_gpt2(dtype)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    recorder = Recorder(model, opt)
    tracker = NormTracker(model, groups=HF_GROUPS, every=1).attach(opt)
    gen = torch.Generator().manual_seed(1)
    for _ in range(6):
        x = torch.randint(0, 64, (4, 12), generator=gen)
        loss = model(input_ids=x, labels=x).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    tracker.close()
    groups = tracker.groups
    assert len(tracker.records) == len(recorder.pairs) == 6
    for record, (before, after) in zip(tracker.records, recorder.pairs, strict=True):
        assert_record_matches(record["groups"], reference_record(before, after, groups, 3e-3))
    state = tracker.record_state()
    final = recorder.pairs[-1][1]
    for group, names in groups.items():
        norm = math.sqrt(sum(float((final[n] * final[n]).sum(dtype=torch.float64)) for n in names))
        assert state["groups"][group]["norm"] == pytest.approx(norm, rel=1e-12)


def test_the_comparison_catches_a_wrong_record():
    """Negative control for the reference comparison: a record with one field off by a
    relative 1e-9 (or a missing None) must fail it."""
    model = tiny_hf_gpt2()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    recorder = Recorder(model, opt)
    tracker = NormTracker(model, groups=HF_GROUPS).attach(opt)
    x = torch.randint(0, 64, (2, 12), generator=torch.Generator().manual_seed(0))
    model(input_ids=x, labels=x).loss.backward()
    opt.step()
    expected = reference_record(*recorder.pairs[0], tracker.groups, 0.1)
    assert_record_matches(tracker.records[0]["groups"], expected)
    wrong = json.loads(json.dumps(tracker.records[0]["groups"]))
    wrong["h.0"]["step_norm"] *= 1 + 1e-9
    with pytest.raises(AssertionError):
        assert_record_matches(wrong, expected)


def test_mixed_dtypes_and_a_dtype_change_during_the_run():
    """Parameters of two dtypes: products and δ in float64 (their common dtype); after
    model.double() mid-run the buffers follow the new dtype."""
    model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Linear(5, 3))
    model[1].double()
    groups = {"all": None, "first": ["0.*"], "weights": ["*.weight"]}

    def run(steps):
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        recorder = Recorder(model, opt)
        tracker = NormTracker(model, groups=groups).attach(opt)
        gen = torch.Generator().manual_seed(2)
        for _ in range(steps):
            x = torch.randn(7, 6, generator=gen).to(model[0].weight.dtype)
            y = model[1](model[0](x).double()).pow(2).sum()
            opt.zero_grad()
            y.backward()
            opt.step()
        tracker.close()
        return tracker, recorder

    tracker, recorder = run(3)
    for record, pair in zip(tracker.records, recorder.pairs, strict=True):
        assert_record_matches(record["groups"], reference_record(*pair, tracker.groups, 0.05))
    model.double()
    tracker, recorder = run(2)
    for record, pair in zip(tracker.records, recorder.pairs, strict=True):
        assert_record_matches(record["groups"], reference_record(*pair, tracker.groups, 0.05))


def test_saturation_at_every_recorded_step_matches_the_package_definition(corpus):
    """The probe reuses one ray across measurements (its first pass runs once): each
    measurement must still be D14 at that step's parameters."""
    model = small_lm(corpus)
    x = probe(corpus)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-2)
    recorder = Recorder(model, opt)
    tracker = NormTracker(
        model,
        every=2,
        saturation_inputs=x,
        saturation_kwargs={"layers": True},
        saturation_output=lambda out: out,
    ).attach(opt)
    gen = torch.Generator().manual_seed(1)
    for _ in range(7):
        xb, yb = sample_batch(corpus.train, 4, 12, gen)
        opt.zero_grad()
        lm_loss(model(xb), yb).backward()
        opt.step()
    tracker.close()
    levels = [r["saturation"]["layers"] for r in tracker.records]
    assert len(levels) == 4 and len({tuple(v) for v in levels}) == 4  # they do change
    for record in tracker.records:
        before, _ = recorder.pairs[record["step"]]
        copy_at_step = small_lm(corpus)
        copy_at_step.load_state_dict(before)
        direct = saturation_level(
            copy_at_step, (x,), kwargs={"layers": True}, output=lambda out: out
        )
        assert record["saturation"]["layers"] == pytest.approx(list(direct.layers), rel=1e-12)


def test_probe_values_are_checked_like_a_new_ray(corpus):
    """Reusing the probe's ray must refuse what building one refuses: a NaN or an inf
    anywhere in the parameters (negative controls of the fused finiteness check), a
    wrong shape, an unknown name."""
    from homogeneity.dynamics.saturation_probe import SaturationProbe

    model = small_lm(corpus)
    sat = SaturationProbe(model, probe(corpus), kwargs={"layers": True}, output=lambda o: o)
    params = {n: p.detach().clone() for n, p in model.named_parameters()}
    sat.measure(params)  # builds the ray
    ray = sat._ray
    last = list(params)[-1]
    for bad in (float("nan"), float("inf")):
        broken = dict(params)
        broken[last] = params[last].clone()
        broken[last].view(-1)[0] = bad
        with pytest.raises(HomogeneityInputError, match="NaN or infinite"):
            sat.measure(broken)
        with pytest.raises(HomogeneityInputError, match="NaN or infinite"):
            ray.with_values(broken)
    # finite entries whose 2-norm overflows float32 are finite: accepted
    huge = torch.full_like(params[last], 3e38)
    assert torch.equal(ray.with_values({last: huge}).base[last], huge.to(torch.float64))
    with pytest.raises(HomogeneityInputError, match="shape"):
        ray.with_values({last: torch.zeros(3)})
    with pytest.raises(HomogeneityInputError, match="does not have"):
        ray.with_values({"no.such.weight": torch.zeros(3)})
    assert sat.measure(params).level == pytest.approx(sat.measure(params).level, rel=0)
