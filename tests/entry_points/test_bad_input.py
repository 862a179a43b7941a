"""Bad input: every entry point refuses it with a HomogeneityInputError
whose message names the argument at fault, and the caller's module is left exactly as it
was (state bit for bit, dtypes, training flags, no gradients), also after a failed check.

Entry points: Ray, euler, homogeneity_error / homogeneity_curve, degree_from_ratio,
decay_profile, check_homogeneity, check_degree, predict_degree, and the components'
own forward passes.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from homogeneity import HomogeneityInputError, NumericalBreakdown, predict_degree
from homogeneity.agreement import check_degree
from homogeneity.check import HomogeneityCheckError, check_homogeneity
from homogeneity.components import (
    AttentionHead,
    ClassifierHead,
    Encoder,
    EncoderConfig,
    LayerNorm,
    Linear,
    MultiHeadAttention,
)
from homogeneity.components import functional as F
from homogeneity.degree import decay_profile
from homogeneity.euler_identity import euler
from homogeneity.scale_error import degree_from_ratio, homogeneity_curve, homogeneity_error
from homogeneity.scaling import Ray
from tests.helpers.module_state import assert_unchanged, snapshot

# -- the "unchanged" contract ---------------------------------------------------------


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def mlp(dtype=torch.float64) -> nn.Sequential:
    return nn.Sequential(
        Linear(4, 5, False, dtype=dtype, generator=gen()),
        nn.ReLU(),
        Linear(5, 3, False, dtype=dtype, generator=gen(1)),
    )


def x4(dtype=torch.float64) -> torch.Tensor:
    return torch.randn(3, 4, dtype=dtype, generator=gen(2))


def raises_naming(argument: str):
    return pytest.raises(HomogeneityInputError, match=argument)


# Every Ray-based entry point, as a function of (model, inputs, keyword overrides).
ENTRY_POINTS = {
    "Ray": lambda m, x, **kw: Ray(m, (x,), **kw)(2.0),
    "euler": lambda m, x, **kw: euler(Ray(m, (x,), **kw)),
    "homogeneity_error": lambda m, x, **kw: homogeneity_error(Ray(m, (x,), **kw), 2.0, 2),
    "decay_profile": lambda m, x, **kw: decay_profile(Ray(m, (x,), **kw), 2),
    "check_homogeneity": lambda m, x, **kw: check_homogeneity(m, x, 2, **kw),
    "check_degree": lambda m, x, **kw: check_degree(m, x, **kw),
}
entry_points = pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))


# -- NaN and infinite parameters and inputs -------------------------------------------


@entry_points
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_parameter(entry, bad):
    model = mlp()
    with torch.no_grad():
        model[2].weight[1, 2] = bad
    before = snapshot(model)
    with raises_naming("parameter '2.weight'"):
        ENTRY_POINTS[entry](model, x4())
    assert_unchanged(model, before)


@entry_points
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_input(entry, bad):
    model = mlp()
    x = x4()
    x[0, 1] = bad
    before = snapshot(model)
    with raises_naming(r"inputs\[0\]"):
        ENTRY_POINTS[entry](model, x)
    assert_unchanged(model, before)


def test_non_finite_keyword_input():
    head = AttentionHead(4, 3, dtype=torch.float64)
    before = snapshot(head)

    class Wrapper(nn.Module):
        def __init__(self):
            super().__init__()
            self.head = head

        def forward(self, x, shift):
            return self.head(x + shift)

    shift = torch.tensor([0.0, math.nan, 0.0, 0.0], dtype=torch.float64)
    with raises_naming(r"kwargs\['shift'\]"):
        Ray(Wrapper(), (torch.ones(1, 2, 4, dtype=torch.float64),), kwargs={"shift": shift})
    assert_unchanged(head, before)


def test_finite_inputs_are_accepted():
    """Negative control: the same calls with finite values go through."""
    for entry in ENTRY_POINTS.values():
        entry(mlp(), x4())


# -- scales c and ρ -------------------------------------------------------------------

bad_scales = st.sampled_from([0.0, -0.0, -1.0, -1e-300, math.nan, math.inf, -math.inf])


@given(bad=bad_scales)
def test_bad_scales_are_refused_everywhere(bad):
    model = mlp()
    before = snapshot(model)
    ray = Ray(model, (x4(),))
    cases = [
        ("rho", lambda: ray(bad)),
        ("rho", lambda: euler(ray, 2, rho=bad)),
        ("c", lambda: homogeneity_error(ray, bad, 2)),
        ("rho", lambda: homogeneity_error(ray, 2.0, 2, rho=bad)),
        ("cs", lambda: homogeneity_curve(ray, [2.0, bad], 2)),
        ("c", lambda: degree_from_ratio(ray, bad)),
        ("c", lambda: decay_profile(ray, 2, c=bad)),
        ("rhos", lambda: decay_profile(ray, 2, rhos=[1.0, bad, 3.0])),
        ("cs", lambda: check_homogeneity(model, x4(), 2, cs=(bad,))),
        ("rho", lambda: check_homogeneity(model, x4(), 2, rho=bad)),
        ("c", lambda: check_degree(model, x4(), c=bad)),
        ("rhos", lambda: check_degree(model, x4(), rhos=[bad, 1.0, 2.0])),
    ]
    for argument, call in cases:
        with pytest.raises(HomogeneityInputError) as info:
            call()
        assert str(info.value).startswith(f"{argument}="), (argument, str(info.value))
        assert "> 0" in str(info.value)
    assert_unchanged(model, before)


def test_scales_that_are_not_numbers():
    ray = Ray(mlp(), (x4(),))
    with raises_naming("rho='two'"):
        ray("two")
    with raises_naming("cs is empty"):
        homogeneity_curve(ray, [], 2)
    with raises_naming("c=1"):
        degree_from_ratio(ray, 1.0)


# -- empty sequences, fully masked rows -----------------------------------------------


@entry_points
@pytest.mark.parametrize("shape", [(0, 4), (2, 0, 4)])
def test_empty_input(entry, shape):
    model = mlp()
    before = snapshot(model)
    with raises_naming(r"inputs\[0\] is empty"):
        ENTRY_POINTS[entry](model, torch.empty(*shape, dtype=torch.float64))
    assert_unchanged(model, before)


def test_empty_sequence_in_components():
    for m in (AttentionHead(4, 3), MultiHeadAttention(4, 2)):
        with raises_naming("x has an empty sequence"):
            m(torch.empty(2, 0, 4))
    enc = Encoder(EncoderConfig(vocab_size=5, d_model=4, n_heads=1, d_ff=4, n_layers=1))
    with raises_naming("ids has an empty sequence"):
        enc(torch.empty(2, 0, dtype=torch.long))
    before = snapshot(enc)
    with raises_naming(r"inputs\[0\] is empty"):
        check_homogeneity(enc, torch.empty(1, 0, dtype=torch.long), 1, approximate=True)
    assert_unchanged(enc, before)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("cls", [AttentionHead, MultiHeadAttention])
def test_row_with_every_position_masked(cls, causal):
    m = cls(4, 2, dtype=torch.float64)
    x = torch.randn(2, 3, 4, dtype=torch.float64, generator=gen())
    mask = torch.ones(2, 3, dtype=torch.bool)
    if causal:
        mask[1, 0] = False  # left padding: query 0 sees only key 0, which is padding
    else:
        mask[1] = False
    before = snapshot(m)
    for saturated in (False, True):
        with raises_naming("padding_mask"):
            m(x, mask, causal=causal, saturated=saturated)
    with raises_naming("padding_mask"):
        check_homogeneity(
            m, x, 1, kwargs={"padding_mask": mask, "causal": causal}, approximate=True
        )
    with raises_naming("padding_mask"):
        check_degree(m, x, kwargs={"padding_mask": mask, "causal": causal})
    assert_unchanged(m, before)
    # negative control: keep one position in the row and it works
    mask[1, 0] = True
    assert torch.isfinite(m(x, mask, causal=causal)).all()


def test_fully_masked_row_in_the_primitives():
    scores = torch.zeros(2, 3, dtype=torch.float64)
    keep = torch.tensor([[True, False, False], [False, False, False]])
    for fn in (F.masked_softmax, F.hardmax):
        with raises_naming("keep masks every key position"):
            fn(scores, keep)
    with raises_naming("boolean"):
        F.masked_softmax(scores, keep.long())


# -- parameter selection -------------------------------------------------------------


@entry_points
@pytest.mark.parametrize("patterns", ["weight", ["0.weight", "9.*"], "*.gain", []])
def test_selection_that_matches_nothing(entry, patterns):
    model = mlp()
    before = snapshot(model)
    with raises_naming("parameters"):
        ENTRY_POINTS[entry](model, x4(), parameters=patterns)
    assert_unchanged(model, before)


def test_selection_that_matches_nothing_in_predict_degree():
    model = mlp()
    before = snapshot(model)
    with raises_naming("parameters pattern 'weight' selects nothing"):
        predict_degree(model, 0, "weight")
    with raises_naming("model must be a torch.nn.Module"):
        predict_degree("not a module")  # type: ignore[arg-type]
    predict_degree(model, 0, "0.*")  # negative control
    assert_unchanged(model, before)


def test_pattern_message_lists_valid_names():
    with pytest.raises(HomogeneityInputError) as info:
        Ray(mlp(), (x4(),), "weight")
    assert "'0.weight'" in str(info.value) and "'*'" in str(info.value)


# -- integer dtypes -------------------------------------------------------------------


@entry_points
@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool])
def test_integer_working_dtype(entry, dtype):
    model = mlp()
    before = snapshot(model)
    with raises_naming("dtype="):
        ENTRY_POINTS[entry](model, x4(), dtype=dtype)
    assert_unchanged(model, before)


class WithIntegerParameter(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(4, dtype=torch.float64))
        self.count = nn.Parameter(torch.tensor([3]), requires_grad=False)

    def forward(self, x):
        return x * self.weight * self.count


@entry_points
def test_integer_parameter(entry):
    model = WithIntegerParameter()
    before = snapshot(model)
    with raises_naming("parameter 'count' has integer dtype"):
        ENTRY_POINTS[entry](model, x4())
    assert_unchanged(model, before)


# -- dropout in training mode --------------------------------------------------------


@entry_points
def test_active_dropout(entry):
    model = nn.Sequential(
        Linear(4, 4, False, dtype=torch.float64),
        nn.Dropout(0.5),
        Linear(4, 3, False, dtype=torch.float64),
    )
    model.train()
    before = snapshot(model)
    with raises_naming(r"dropout at '1'.*model\.eval\(\)"):
        ENTRY_POINTS[entry](model, x4())
    assert_unchanged(model, before)
    assert model.training  # not switched to eval behind the caller's back
    # negative controls: in eval mode, or with p = 0, the check runs
    model.eval()
    ENTRY_POINTS[entry](model, x4())
    zero = nn.Sequential(Linear(4, 4, False, dtype=torch.float64), nn.Dropout(0.0)).train()
    Ray(zero, (x4(),))(2.0)


# -- the module after successful and failed checks -----------------------------------


@entry_points
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("training", [False, True])
def test_module_unchanged_after_a_successful_call(entry, dtype, training):
    model = mlp(dtype).train(training)
    before = snapshot(model)
    ENTRY_POINTS[entry](model, x4(dtype))
    assert_unchanged(model, before)


def test_module_unchanged_after_a_failed_check():
    model = nn.Sequential(
        Linear(4, 5, True, dtype=torch.float32, generator=gen()),
        nn.ReLU(),
        Linear(5, 3, True, dtype=torch.float32, generator=gen(1)),
    )
    before = snapshot(model)
    with pytest.raises(HomogeneityCheckError):
        check_homogeneity(model, x4(torch.float32), 2)
    with pytest.raises(HomogeneityCheckError):
        check_homogeneity(model, x4(torch.float32), 2, approximate=True)
    assert not check_homogeneity(model, x4(torch.float32), 2, raise_exception=False).passed
    check_degree(model, x4(torch.float32), "*.weight")
    assert_unchanged(model, before)


def test_module_with_buffers_in_training_mode_is_unchanged():
    """A forward in training mode updates BatchNorm's running statistics in place; the
    ray works on copies, so the caller's buffers stay put. (Regression: float64 buffers
    used to be aliased and were updated by every evaluation.)"""
    for dtype in (torch.float64, torch.float32):
        model = nn.Sequential(nn.Linear(4, 5, bias=False), nn.BatchNorm1d(5)).to(dtype).train()
        before = snapshot(model)
        x = x4(dtype)
        Ray(model, (x,))(2.0)
        euler(Ray(model, (x,)))
        check_homogeneity(model, x, 1, raise_exception=False)
        assert_unchanged(model, before)


def test_the_unchanged_check_can_fail():
    """Negative control for assert_unchanged: an in-place update of a buffer, a flipped
    training flag and a created gradient are each caught."""
    model = nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5)).double().train()
    before = snapshot(model)
    model(x4())  # updates running statistics
    with pytest.raises(AssertionError):
        assert_unchanged(model, before)
    model = mlp()
    before = snapshot(model)
    model.eval()
    with pytest.raises(AssertionError):
        assert_unchanged(model, before)
    model = mlp()
    before = snapshot(model)
    model(x4()).sum().backward()
    with pytest.raises(AssertionError):
        assert_unchanged(model, before)


# -- other argument checks -------------------------------------------------------------


def test_plain_function_needs_params_and_modules_refuse_them():
    with raises_naming("params="):
        Ray(lambda p, x: x, (x4(),))
    with raises_naming("params"):
        Ray(mlp(), (x4(),), params={"w": torch.ones(2)})
    with raises_naming("model must be"):
        Ray(3, (x4(),))  # type: ignore[arg-type]
    with raises_naming("no parameters"):
        Ray(nn.ReLU(), (x4(),))


# -- inputs and models of the wrong kind ---------------------------------------------


@entry_points
@pytest.mark.parametrize(
    "bad, message",
    [
        (
            [[0.1, 0.2, 0.3, 0.4]] * 3,
            r"inputs\[0\] is a list of numbers|inputs\[0\]\[0\] is a list",
        ),
        ("numpy", r"inputs\[0\] is a numpy array.*torch.from_numpy"),
        (None, r"inputs\[0\] is None"),
        ("tensor list", r"inputs\[0\] is a list but the model needs a tensor there"),
    ],
)
def test_inputs_that_are_not_tensors(entry, bad, message):
    model = mlp()
    before = snapshot(model)
    if bad == "numpy":
        bad = x4().numpy()
    elif bad == "tensor list":
        bad = [x4(), x4()]
    with pytest.raises(HomogeneityInputError, match=message):
        ENTRY_POINTS[entry](model, bad)
    assert_unchanged(model, before)


@entry_points
def test_integer_ids_into_a_float_model(entry):
    model = mlp()
    before = snapshot(model)
    ids = torch.tensor([[1, 2, 3, 0]] * 3)
    with pytest.raises(
        HomogeneityInputError,
        match=r"inputs\[0\] has integer dtype torch.int64 but reaches torch.matmul in module "
        r"'0' \(Linear\).*x.double\(\)",
    ):
        ENTRY_POINTS[entry](model, ids)
    assert_unchanged(model, before)
    ENTRY_POINTS[entry](model, ids.double())  # negative control: floating inputs run


class Embedder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(6, 4, dtype=torch.float64)
        self.out = Linear(4, 3, False, dtype=torch.float64, generator=gen())

    def forward(self, ids):
        return self.out(self.emb(ids))


@entry_points
def test_float_ids_into_an_embedding(entry):
    model = Embedder()
    before = snapshot(model)
    with pytest.raises(
        HomogeneityInputError,
        match=r"inputs\[0\] is floating \(torch.float64\) but reaches F.embedding in module "
        r"'emb' \(Embedding\) as token ids.*x.long\(\)",
    ):
        ENTRY_POINTS[entry](model, torch.tensor([[1.0, 2.0, 3.0]]))
    assert_unchanged(model, before)
    ENTRY_POINTS[entry](model, torch.tensor([[1, 2, 3]]))  # negative control


@entry_points
def test_model_on_the_meta_device(entry):
    with torch.device("meta"):
        model = nn.Sequential(nn.Linear(4, 5, bias=False), nn.ReLU(), nn.Linear(5, 3, bias=False))
    before = [(n, p.device, p.shape) for n, p in model.named_parameters()]
    with raises_naming(r"parameter '0.weight' is on the meta device.*to_empty"):
        ENTRY_POINTS[entry](model, x4())
    assert [(n, p.device, p.shape) for n, p in model.named_parameters()] == before


def test_plain_function_with_a_number_as_a_parameter():
    def fn(p, x):
        return p["w"] * x

    with raises_naming(r"params\['w'\] is a float, not a tensor; pass torch.tensor\(2.0"):
        Ray(fn, (x4(),), params={"w": 2.0})
    with raises_naming(r"params\['w'\] is a float"):
        check_homogeneity(fn, x4(), 1, params={"w": 2.0})
    with raises_naming("params must be a dict"):
        Ray(fn, (x4(),), params=[2.0])  # type: ignore[arg-type]
    # negative control: a tensor parameter works
    assert check_homogeneity(fn, x4(), 1, params={"w": torch.tensor(2.0)}).passed


@entry_points
def test_integer_parameter_outside_the_selection_is_accepted(entry):
    model = WithIntegerParameter()
    before = snapshot(model)
    try:
        ENTRY_POINTS[entry](model, x4(), parameters="weight")
    except HomogeneityCheckError:  # degree 2 is claimed there; the model has degree 1
        assert entry == "check_homogeneity"
    assert_unchanged(model, before)
    report = check_homogeneity(model, x4(), 1, parameters="weight")
    assert report.passed and report.parameters == ["weight"]


def test_zero_output_has_no_degree():
    """An exactly zero output is a numerical breakdown (no direction to read a degree
    from), not bad input; it names the first module whose output was zero."""
    with pytest.raises(NumericalBreakdown, match="exactly zero") as info:
        euler(Ray(mlp(), (torch.zeros(3, 4, dtype=torch.float64),)))
    assert info.value.rho == 1.0 and info.value.where == "module '0' (Linear)"


def test_components_refuse_bad_configuration():
    with raises_naming("eps"):
        LayerNorm(4, eps=-1.0)
    with raises_naming("pooling"):
        ClassifierHead(4, 2, pooling="max")
    with raises_naming("d_model"):
        EncoderConfig(d_model=0)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"degree": "a"}, "degree"),
        ({"degree": float("nan")}, "degree"),
        ({"degree": 1.0, "rtol": -1.0}, "rtol"),
        ({"degree": 1.0, "euler_rtol": float("inf")}, "euler_rtol"),
    ],
)
def test_check_homogeneity_refuses_bad_degree_and_tolerances(kwargs, argument):
    from homogeneity.check import check_homogeneity
    from homogeneity.components import Linear
    from homogeneity.errors import HomogeneityInputError

    with pytest.raises(HomogeneityInputError, match=argument):
        check_homogeneity(Linear(2, 2, bias=False), torch.randn(3, 2), **kwargs)
