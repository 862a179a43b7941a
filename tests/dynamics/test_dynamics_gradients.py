"""Gradient direction per parameter group (SPEC EU): Euler for a loss, orthogonality of
scale-invariant groups, ∇g(cθ) = c^(k−1)∇g(θ); each with a negative control."""

import copy

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from homogeneity.components import Encoder, EncoderConfig
from homogeneity.dynamics.gradients import (
    gradient_scaling,
    loss_euler,
    scale_invariance_orthogonality,
)
from homogeneity.errors import HomogeneityInputError

FF = ["layers.*.feedforward.sublayer.*"]
VO = ["layers.0.attention.sublayer.value.weight", "layers.0.attention.sublayer.output.weight"]
QK = ["layers.0.attention.sublayer.query.weight", "layers.0.attention.sublayer.key.weight"]
EMB = ["tokens.weight", "positions.weight"]
GROUPS = {"ff": FF, "vo": VO, "qk": QK, "emb": EMB, "all": None}

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def paper_encoder(seed=0, **kw):
    """The paper's bias-free encoder with the proofs' layer norm (T1)."""
    cfg = EncoderConfig(vocab_size=11, d_model=8, n_heads=2, d_ff=16, n_layers=2, max_len=8, **kw)
    return Encoder(cfg, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def data(seed=1):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, 11, (3, 6), generator=g)
    target = torch.randn(3, 6, 8, generator=g, dtype=torch.float64)
    return ids, (lambda f: ((f - target) ** 2).mean())


def test_euler_for_a_loss_holds_on_exact_groups_and_reports_approximate_ones():
    model = paper_encoder()
    ids, loss = data()
    rep = loss_euler(model, ids, loss, GROUPS)
    assert rep.passed, str(rep)
    assert rep.groups["ff"].judged and rep.groups["ff"].degree == 0
    assert rep.groups["ff"].residual < 1e-12
    assert rep.groups["vo"].residual < 1e-12
    # q/k enter through a softmax: ∼0 only, so not judged at this point, but measured
    assert not rep.groups["qk"].judged and rep.groups["qk"].residual > 1e-6


def test_euler_with_a_wrong_degree_fails():
    """Negative control: claiming the FF group has degree 1 must be rejected."""
    model = paper_encoder()
    ids, loss = data()
    rep = loss_euler(model, ids, loss, {"ff": FF}, degrees={"ff": 1.0})
    assert not rep.passed and "ff" in rep.failures[0]


def test_euler_estimates_the_degree_of_a_linear_map():
    lin = torch.nn.Linear(5, 3, bias=False).double()
    x = torch.randn(4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    rep = loss_euler(lin, x, lambda f: (f**3).sum(), degrees={"all": 1.0})
    assert rep.passed and abs(rep.groups["all"].degree_estimate - 1) < 1e-12


@given(seed=st.integers(0, 10_000), scale=st.floats(0.05, 20.0))
def test_scale_invariant_groups_are_orthogonal_anywhere(seed, scale):
    model = paper_encoder(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "feedforward.sublayer" in name:
                p.mul_(scale)
    ids, loss = data(seed + 1)
    rep = scale_invariance_orthogonality(model, ids, loss, {"ff": FF, "vo": VO})
    assert rep.passed, str(rep)


def test_non_scale_invariant_groups_fail_orthogonality():
    """Negative controls: embeddings, q/k, and a layer norm with ε are not orthogonal."""
    ids, loss = data()
    rep = scale_invariance_orthogonality(paper_encoder(), ids, loss, {"emb": EMB, "qk": QK})
    assert not rep.groups["emb"].orthogonal and not rep.groups["qk"].orthogonal
    assert len(rep.failures) == 2
    eps_model = paper_encoder(norm="layernorm", norm_eps=1e-2)
    rep = scale_invariance_orthogonality(eps_model, ids, loss, {"ff": FF})
    assert not rep.passed and abs(rep.groups["ff"].cosine) > 1e-8


def test_gradient_degree_for_exact_groups_and_wrong_degree_control():
    model = paper_encoder()
    ids, _ = data()
    rep = gradient_scaling(model, ids, {"ff": FF, "vo": VO})
    assert rep.passed, str(rep)
    for r in rep.groups.values():
        assert all(abs(e - (-1.0)) < 1e-9 for e in r.exponents)  # k − 1 = −1
    wrong = gradient_scaling(model, ids, {"ff": FF}, degrees={"ff": 1.0})
    assert not wrong.passed


def test_gradient_degree_of_a_homogeneous_objective():
    """g(θ) = ‖Wx‖³ is 3-homogeneous in W: ∇g(cW) = c²∇g(W)."""
    lin = torch.nn.Linear(4, 4, bias=False).double()
    x = torch.randn(2, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    rep = gradient_scaling(lin, x, objective=lambda f: f.norm() ** 3, scales=(0.3, 7.0))
    assert rep.passed and rep.groups["all"].degree == 3.0
    assert all(abs(e - 2.0) < 1e-10 for e in rep.groups["all"].exponents)


def test_the_callers_module_is_never_touched():
    model = paper_encoder()
    before = copy.deepcopy(model.state_dict())
    ids, loss = data()
    loss_euler(model, ids, loss, GROUPS)
    scale_invariance_orthogonality(model, ids, loss, GROUPS)
    gradient_scaling(model, ids, GROUPS)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
    assert all(p.grad is None for p in model.parameters())


def test_bad_inputs_name_the_argument():
    model = paper_encoder()
    ids, loss = data()
    with pytest.raises(HomogeneityInputError, match="selects nothing"):
        loss_euler(model, ids, loss, {"x": ["nope.*"]})
    with pytest.raises(HomogeneityInputError, match="scalar"):
        loss_euler(model, ids, lambda f: f, GROUPS)
    with pytest.raises(HomogeneityInputError, match="degrees names groups"):
        loss_euler(model, ids, loss, {"ff": FF}, degrees={"vo": 0})
    with pytest.raises(HomogeneityInputError, match="scales contains 1.0"):
        gradient_scaling(model, ids, {"ff": FF}, scales=(1.0, 2.0))
    with pytest.raises(HomogeneityInputError, match="groups must be a non-empty mapping"):
        scale_invariance_orthogonality(model, ids, loss, {})
