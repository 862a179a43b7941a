"""The public entry points on CUDA tensors give the CPU's answers (skipped without a GPU).

CI has no GPU; these run wherever one is present
(``python -m pytest tests/entry_points/test_cuda.py``).
Each test builds the same float64 model on both devices from one seeded generator and
compares what a researcher reads: Euler's k̂ and residual, the gradcheck-style report,
the decay law along the ray, the D16 agreement, the D14 saturation level, the tracker's
norm/step/alignment records. Models are never left modified, on either device.
"""

from __future__ import annotations

import pytest
import torch

from homogeneity import (
    Ray,
    check_degree,
    check_homogeneity,
    decay_profile,
    euler,
    homogeneity_error,
)
from homogeneity.components import Encoder, EncoderConfig, FeedForward
from homogeneity.dynamics.tracker import NormTracker
from homogeneity.saturation import saturation_level
from tests.helpers.module_state import assert_unchanged, snapshot

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

F64 = torch.float64


def feed_forward(device: str, bias: bool = False, activation: str = "relu") -> FeedForward:
    """Built on ``device`` from a CPU generator (not built on the CPU and moved)."""
    g = torch.Generator().manual_seed(0)
    return FeedForward(6, 10, activation, bias=bias, dtype=F64, device=device, generator=g)


def encoder(device: str, placement: str = "paper-prenorm", bias: bool = False) -> Encoder:
    """Built on ``device`` from a CPU generator (not built on the CPU and moved)."""
    cfg = EncoderConfig(
        vocab_size=11,
        d_model=8,
        n_heads=2,
        d_head=4,
        d_ff=12,
        n_layers=2,
        max_len=6,
        placement=placement,
        bias=bias,
    )
    return Encoder(cfg, dtype=F64, device=device, generator=torch.Generator().manual_seed(1))


def inputs(device: str) -> torch.Tensor:
    return torch.randn(3, 6, generator=torch.Generator().manual_seed(2), dtype=F64).to(device)


def tokens(device: str) -> torch.Tensor:
    return torch.tensor([[1, 4, 2, 9, 3, 5], [7, 7, 1, 0, 2, 8]], device=device)


def test_euler_and_scale_error_match_cpu():
    results = {}
    for device in ("cpu", "cuda"):
        ray = Ray(feed_forward(device), (inputs(device),))
        results[device] = (euler(ray), homogeneity_error(ray, 3.0, 2.0))
    (e_cpu, h_cpu), (e_gpu, h_gpu) = results["cpu"], results["cuda"]
    assert e_gpu.degree_estimate == pytest.approx(e_cpu.degree_estimate, rel=1e-12)
    assert e_gpu.degree_estimate == pytest.approx(2.0, abs=1e-10)
    assert e_gpu.residual < 1e-10
    assert h_gpu.relative == pytest.approx(h_cpu.relative, abs=1e-12)


def test_check_homogeneity_on_cuda_accepts_and_rejects_like_cpu():
    model = feed_forward("cuda")
    before = snapshot(model)
    report = check_homogeneity(model, (inputs("cuda"),), 2.0)
    assert report.passed
    biased = feed_forward("cuda", bias=True)
    wrong = check_homogeneity(biased, (inputs("cuda"),), 2.0, raise_exception=False)
    cpu_wrong = check_homogeneity(
        feed_forward("cpu", bias=True), (inputs("cpu"),), 2.0, raise_exception=False
    )
    assert not wrong.passed and not cpu_wrong.passed
    assert_unchanged(model, before)
    assert all(p.device.type == "cuda" for p in model.parameters())


def test_decay_law_along_the_ray_matches_cpu():
    """A GeLU feed-forward layer is ∼2 with exponential decay on both devices."""
    fits = {}
    for device in ("cpu", "cuda"):
        fits[device] = decay_profile(
            Ray(feed_forward(device, activation="gelu"), (inputs(device),)), 2.0
        )
    assert fits["cuda"].fit.kind == fits["cpu"].fit.kind == "exponential"
    assert fits["cuda"].fit.rate == pytest.approx(fits["cpu"].fit.rate, rel=1e-6)


@pytest.mark.parametrize("placement, bias", [("paper-prenorm", False), ("postnorm", True)])
def test_degree_agreement_on_cuda(placement, bias):
    verdicts = {}
    for device in ("cpu", "cuda"):
        agreement = check_degree(encoder(device, placement, bias), (tokens(device),))
        verdicts[device] = (agreement.agree, agreement.measured.kind)
    assert verdicts["cuda"] == verdicts["cpu"]
    assert verdicts["cuda"][0]


def test_saturation_level_matches_cpu():
    levels = {}
    for device in ("cpu", "cuda"):
        model = encoder(device, "postnorm", True)
        before = snapshot(model)
        levels[device] = saturation_level(model, (tokens(device),)).layers
        assert_unchanged(model, before)
    assert list(levels["cuda"]) == pytest.approx(list(levels["cpu"]), abs=1e-10)


def test_tracker_records_match_cpu():
    records = {}
    for device in ("cpu", "cuda"):
        model = feed_forward(device)
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        tracker = NormTracker(model, every=1).attach(opt)
        x = inputs(device)
        for _ in range(3):
            opt.zero_grad()
            model(x).pow(2).sum().backward()
            opt.step()
        records[device] = [r["groups"]["all"] for r in tracker.records]
        tracker.close()
    for a, b in zip(records["cpu"], records["cuda"], strict=True):
        for key in ("norm", "step_norm", "alignment"):
            assert b[key] == pytest.approx(a[key], rel=1e-9, abs=1e-12)


def test_seeded_components_are_the_same_numbers_on_cuda():
    """A CPU generator initialises a CUDA model with the CPU model's very numbers."""
    cpu, gpu = encoder("cpu", "postnorm", True), encoder("cuda", "postnorm", True)
    for (n, a), (_, b) in zip(cpu.named_parameters(), gpu.named_parameters(), strict=True):
        assert b.device.type == "cuda" and torch.equal(a, b.cpu()), n
