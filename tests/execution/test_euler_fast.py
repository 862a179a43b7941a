"""The one-product tangent rule of the Euler check's forward-mode pass.

When the tangent is θ itself, a product x·W with a scaled weight has the tangent
(x + ẋ)·W: :class:`~homogeneity.execution.self_tangent.SelfTangentProducts` computes it
with one product where forward-mode AD makes two. It must give the numbers of plain
forward-mode AD to rounding on every model family the package supports, take the rule on
the products it is meant for, and stay off wherever a tangent is not its primal (a subset
of parameters scaled, a tangent equal in value but stored apart, any other direction).
Two deliberately wrong rules are negative controls: the same comparison must catch them.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest
import torch
import torch.autograd.forward_ad as fwAD
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, jvp

import homogeneity.execution.self_tangent as self_tangent
import homogeneity.scaling as scaling
from homogeneity.components import Encoder, EncoderConfig
from homogeneity.euler_identity import euler
from homogeneity.execution.backends import checked_backends
from homogeneity.execution.self_tangent import SelfTangentProducts, self_tangent_primal
from homogeneity.scaling import Ray
from tests.helpers.module_state import assert_unchanged, snapshot
from tests.real_models.test_execution_real_models import MODELS, build

pytestmark = pytest.mark.usefixtures("one_torch_thread")

#: relative agreement with plain forward-mode AD (float64; measured: below 1e-15)
TOLERANCE = 1e-12


def encoder_component() -> tuple[nn.Module, tuple]:
    cfg = EncoderConfig(
        vocab_size=30, d_model=16, n_heads=2, d_ff=32, n_layers=2, max_len=8, bias=True
    )
    torch.manual_seed(4)
    model = Encoder(cfg, dtype=torch.float64)
    return model, (torch.randint(0, 30, (2, 8), generator=torch.Generator().manual_seed(5)),)


def mlp_with_biases() -> tuple[nn.Module, tuple]:
    torch.manual_seed(6)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    return model, (torch.randn(5, 4, dtype=torch.float64),)


def all_models() -> dict[str, tuple[nn.Module, tuple]]:
    models = {name: build(name) for name in MODELS}
    models["encoder-component"] = encoder_component()
    models["mlp-biases"] = mlp_with_biases()
    return models


@pytest.fixture(scope="module")
def models():
    return all_models()


class CountingProducts(SelfTangentProducts):
    """Remembers every instance, so a test can read how many calls took the rule."""

    made: list[SelfTangentProducts] = []

    def __init__(self) -> None:
        super().__init__()
        CountingProducts.made.append(self)


@pytest.fixture
def counting(monkeypatch):
    CountingProducts.made = []
    monkeypatch.setattr(scaling, "SelfTangentProducts", CountingProducts)
    return CountingProducts


def torch_func_jvp(ray: Ray) -> tuple[torch.Tensor, torch.Tensor]:
    """(f, θ·∇f) by torch.func.jvp through the same checked path (``Ray.at``), with the
    tangent θ on the selected parameters: functorch's own forward mode, no dual-tensor
    API and no self-tangent rule."""
    names = ray.scaled_names
    point = tuple(ray.theta[n] for n in names)
    out = jvp(lambda *v: ray.at(dict(zip(names, v, strict=True))), point, point)
    return out[0], out[1]  # (primal, tangent): no auxiliary output


def relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def fast_vs_plain(ray: Ray) -> tuple[float, float, bool]:
    """(relative difference of θ·∇f to torch.func.jvp, to plain dual tensors, whether
    the values are bit-identical to plain dual tensors)."""
    value, fast = ray.jvp(1.0)
    plain_value, plain = ray.jvp(1.0, self_tangent_products=False)
    _, reference = torch_func_jvp(ray)
    return relative(fast, reference), relative(fast, plain), torch.equal(value, plain_value)


# -- every model family ----------------------------------------------------------------


@pytest.mark.parametrize("name", [*sorted(MODELS), "encoder-component", "mlp-biases"])
def test_same_numbers_as_plain_forward_mode_on_every_model(models, counting, name):
    model, inputs = models[name]
    before = snapshot(model)
    ray = Ray(model, inputs)
    to_func, to_plain, same_value = fast_vs_plain(ray)
    assert to_func <= TOLERANCE and to_plain <= TOLERANCE, (to_func, to_plain)
    assert same_value
    # the rule was taken (on the first of the two Ray.jvp calls)
    assert counting.made[0].handled > 0
    assert_unchanged(model, before)


#: products and lookups with a scaled weight in each model: GPT-2's 4 Conv1D per block
#: and 2 embeddings; nanoGPT's 4 linear maps per block, 2 lookups and the tied head; the
#: component Encoder's 12 Linear (its lookups index the weight, ``E[ids]``, which is not
#: a product: plain AD)
WEIGHT_PRODUCTS = {"gpt2": 10, "nanogpt": 11, "mlp-biases": 2, "encoder-component": 12}


@pytest.mark.parametrize("name", sorted(WEIGHT_PRODUCTS))
def test_the_rule_is_taken_on_every_weight_product(models, counting, name):
    model, inputs = models[name]
    Ray(model, inputs).jvp(1.0)
    assert counting.made[0].handled == WEIGHT_PRODUCTS[name]


@pytest.mark.parametrize(
    ("name", "parameters"),
    [
        ("mlp-biases", ["0.weight"]),  # the first layer's bias is unselected: no shortcut
        ("mlp-biases", ["*.bias"]),  # no weight is self-tangent: plain AD throughout
        ("gpt2", ["h.0.*"]),
        ("gpt2", ["*.weight"]),
        ("nanogpt", ["wte.weight"]),  # the tied weight: lookup and output head
        ("bert", ["*attention*"]),
        ("llama", ["*mlp*"]),
    ],
)
def test_a_subset_of_parameters(models, counting, name, parameters):
    model, inputs = models[name]
    ray = Ray(model, inputs, parameters=parameters)
    to_func, to_plain, same_value = fast_vs_plain(ray)
    assert to_func <= TOLERANCE and to_plain <= TOLERANCE, (to_func, to_plain)
    assert same_value
    if parameters == ["*.bias"]:
        assert counting.made[0].handled == 0


def test_euler_result_is_unchanged(models):
    model, inputs = models["gpt2"]
    ray = Ray(model, inputs)
    fast = euler(ray)
    _, plain = ray.jvp(1.0, self_tangent_products=False)
    value, _ = ray.jvp(1.0)
    k_plain = float((value.flatten() @ plain.flatten()) / (value.flatten() @ value.flatten()))
    assert fast.degree_estimate == pytest.approx(k_plain, rel=1e-13)


# -- negative controls: wrong rules are caught by the comparison ---------------------


def test_a_rule_that_forgets_the_input_tangent_is_caught(models, monkeypatch):
    """ẏ = x·W instead of (x + ẋ)·W."""
    monkeypatch.setattr(self_tangent, "_plus", lambda primal, tangent: primal)
    for name in ("gpt2", "mlp-biases", "encoder-component", "llama"):
        model, inputs = models[name]
        to_func, to_plain, _ = fast_vs_plain(Ray(model, inputs))
        assert to_func > 1e-3 and to_plain > 1e-3, name


def test_a_rule_that_forgets_the_bias_tangent_is_caught(models, monkeypatch):
    """ẏ = (x + ẋ)·W without ḃ (the lookup shortcut kept)."""
    original = self_tangent._linear

    def no_bias_tangent(args, kwargs):
        x, w, b = (list(args) + [kwargs.get("bias")])[:3]
        return original((x, w, fwAD.unpack_dual(b).primal if b is not None else None), {})

    monkeypatch.setitem(self_tangent._HANDLERS, F.linear, no_bias_tangent)
    model, inputs = models["mlp-biases"]
    to_func, to_plain, _ = fast_vs_plain(Ray(model, inputs))
    assert to_func > 1e-3 and to_plain > 1e-3


# -- the rule is off wherever a tangent is not its primal ----------------------------


def _dual_pass(model, params, tangents, inputs, mode):
    with fwAD.dual_level(), mode:
        duals = {n: fwAD.make_dual(p, tangents[n]) for n, p in params.items()}
        out = functional_call(model, duals, inputs).last_hidden_state
        return fwAD.unpack_dual(out).tangent


@pytest.mark.parametrize("kind", ["random", "clone"])
def test_off_when_the_tangent_is_not_the_primal_itself(models, kind):
    """A random direction, and θ itself stored in other memory: the mode must not apply
    its rule (it is decided by memory, not by value) and the numbers are plain AD's."""
    model, inputs = models["gpt2"]
    params = {n: p.detach().double() for n, p in model.named_parameters()}
    g = torch.Generator().manual_seed(0)
    tangents = {
        n: (torch.randn(p.shape, generator=g, dtype=p.dtype) if kind == "random" else p.clone())
        for n, p in params.items()
    }
    mode = SelfTangentProducts()
    with checked_backends():
        fast = _dual_pass(model, params, tangents, inputs, mode)
        plain = _dual_pass(model, params, tangents, inputs, contextlib.nullcontext())
    assert mode.handled == 0
    assert torch.equal(fast, plain)


def test_self_tangent_is_decided_by_memory():
    p = torch.randn(3, 4, dtype=torch.float64)
    with fwAD.dual_level():
        own = fwAD.make_dual(p, p)
        assert self_tangent_primal(own) is not None
        assert self_tangent_primal(own.T) is not None  # views of it too
        assert self_tangent_primal(own.chunk(2, dim=1)[1]) is not None
        assert self_tangent_primal(fwAD.make_dual(p, p.clone())) is None  # equal values
        assert self_tangent_primal(fwAD.make_dual(p, 2 * p)) is None
        assert self_tangent_primal(own.contiguous().T.contiguous()) is None  # a copy
        assert self_tangent_primal(p) is None  # no tangent at all
        assert self_tangent_primal(own * 1.0) is None


# -- each rule against plain AD, op by op --------------------------------------------


@dataclass(frozen=True)
class Op:
    """A call, its operands' shapes, and the operands that can be the self-tangent
    weight of its rule."""

    call: Callable[..., torch.Tensor]
    shapes: tuple[tuple[int, ...], ...]
    weights: tuple[int, ...]


OPS = {
    "linear": Op(lambda x, w, b: F.linear(x, w, b), ((2, 5, 4), (3, 4), (3,)), (1,)),
    "linear-no-bias": Op(lambda x, w: F.linear(x, w), ((5, 4), (3, 4)), (1,)),
    "linear-keywords": Op(
        lambda x, w, b: F.linear(input=x, weight=w, bias=b), ((5, 4), (3, 4), (3,)), (1,)
    ),
    "addmm": Op(lambda c, a, b: torch.addmm(c, a, b), ((3,), (5, 4), (4, 3)), (1, 2)),
    "addmm-scaled": Op(
        lambda c, a, b: torch.addmm(c, a, b, beta=0.5, alpha=-2.0),
        ((5, 3), (5, 4), (4, 3)),
        (1, 2),
    ),
    "method-addmm": Op(lambda c, a, b: c.addmm(a, b), ((5, 3), (5, 4), (4, 3)), (1, 2)),
    "matmul": Op(lambda a, b: a @ b.T, ((2, 5, 4), (3, 4)), (0, 1)),
    "matmul-left": Op(lambda a, b: torch.matmul(a, b), ((3, 5), (2, 5, 4)), (0, 1)),
    "rmatmul": Op(lambda a, b: b.__rmatmul__(a), ((5, 4), (4, 3)), (0, 1)),
    "mm": Op(lambda a, b: torch.mm(a, b), ((5, 4), (4, 3)), (0, 1)),
    "method-mm": Op(lambda a, b: a.mm(b), ((5, 4), (4, 3)), (0, 1)),
}

KINDS = ("self", "other", "none")


def _op_pass(op: Op, kinds: Sequence[str], mode) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``op`` on operands whose tangent is the primal ("self"), a random tensor
    ("other") or absent ("none"), under ``mode``: (value, tangent)."""
    g = torch.Generator().manual_seed(0)
    primals = [torch.randn(s, generator=g, dtype=torch.float64) for s in op.shapes]
    others = [torch.randn(s, generator=g, dtype=torch.float64) for s in op.shapes]
    with fwAD.dual_level(), mode:
        args = [
            p if kind == "none" else fwAD.make_dual(p, p if kind == "self" else o)
            for p, o, kind in zip(primals, others, kinds, strict=True)
        ]
        value, tangent = fwAD.unpack_dual(op.call(*args))
        return value.clone(), None if tangent is None else tangent.clone()


@pytest.mark.parametrize("name", sorted(OPS))
def test_each_rule_matches_plain_forward_mode(name):
    op = OPS[name]
    for kinds in itertools.product(KINDS, repeat=len(op.shapes)):
        mode = SelfTangentProducts()
        value, tangent = _op_pass(op, kinds, mode)
        plain_value, plain_tangent = _op_pass(op, kinds, contextlib.nullcontext())
        assert torch.equal(value, plain_value), kinds
        assert mode.handled == any(kinds[i] == "self" for i in op.weights), kinds
        if plain_tangent is None:
            assert tangent is None, kinds
            continue
        error = float((tangent - plain_tangent).norm())
        assert error <= TOLERANCE * float(plain_tangent.norm()), (kinds, error)


def test_embedding_rule_matches_plain_forward_mode():
    g = torch.Generator().manual_seed(1)
    weight = torch.randn(10, 4, generator=g, dtype=torch.float64)
    ids = torch.randint(0, 10, (3, 5), generator=g)
    for fn in (
        lambda w: F.embedding(ids, w),
        lambda w: F.embedding(ids, w, padding_idx=0),
        lambda w: torch.embedding(w, ids),
        lambda w: F.embedding(input=ids, weight=w),
    ):
        results = []
        for mode in (SelfTangentProducts(), contextlib.nullcontext()):
            with fwAD.dual_level(), mode:
                out = fn(fwAD.make_dual(weight, weight))
                results.append(tuple(t.clone() for t in fwAD.unpack_dual(out)))
        assert torch.equal(results[0][0], results[1][0])
        assert torch.equal(results[0][1], results[1][1])
        # the tangent is a copy: an in-place update of the value must not reach it
        assert results[0][0].data_ptr() != results[0][1].data_ptr()


def test_max_norm_embedding_takes_plain_ad_and_the_model_is_left_alone():
    """F.embedding with max_norm renormalises its weight in place: the rule does not
    apply, and θ's memory is never shared with the user's model for such a model."""
    torch.manual_seed(2)
    model = nn.Sequential(nn.Embedding(10, 4, max_norm=0.5), nn.Linear(4, 2)).double()
    with torch.no_grad():
        model[0].weight.mul_(3.0)
    ids = torch.randint(0, 10, (3, 5))
    before = snapshot(model)
    ray = Ray(model, (ids,))
    for _ in range(2):
        ray(1.0)
        ray.jvp(1.0)
    assert_unchanged(model, before)
    assert not ray._parameters_read_only


def test_values_at_rho_one_share_theta_and_match_a_copy(models):
    """At ρ = 1 (after the first pass) θ's memory is passed as is: the numbers must be
    those of a pass on a copy (the first pass), and the model unchanged."""
    model, inputs = models["nanogpt"]
    before = snapshot(model)
    ray = Ray(model, inputs)
    first = ray(1.0)  # the first pass: on copies
    assert ray._parameters_read_only
    again = ray(1.0)
    params = ray.scaled_params(1.0)
    assert all(params[n] is ray.base[n] for n in ray.scaled_names)
    assert torch.equal(first, again)
    value, tangent = ray.jvp(1.0)
    assert torch.equal(value, first)
    assert relative(tangent, torch_func_jvp(ray)[1]) <= TOLERANCE
    assert_unchanged(model, before)


def test_rho_other_than_one_still_scales(models):
    model, inputs = models["mlp"]
    ray = Ray(model, inputs)
    ray(1.0)
    value, tangent = ray.jvp(3.0)
    # the MLP is exactly 2-homogeneous: f(3θ) = 9 f(θ) and (3θ)·∇f(3θ) = 2 f(3θ)
    assert torch.allclose(value, 9 * ray(1.0), rtol=1e-13, atol=0)
    assert torch.allclose(tangent, 2 * value, rtol=1e-13, atol=0)
