"""The checks on models nobody here wrote, exactly as the user has them.

Tiny random-init Hugging Face GPT-2, BERT, RoBERTa, T5 encoder and Llama (grouped-query
attention, rotary embeddings, RMSNorm, gated SiLU MLP) with their default attention
implementation (SDPA), ``torch.nn.TransformerEncoder`` (post-norm and ``norm_first``, in
eval mode with the fast path on), a nanoGPT-style causal GPT with tied input/output
embeddings, and a bias-free MLP, all from :mod:`tests.helpers.user_models`. Every number
is checked against an independent computation: a hand-scaled float64 copy of the model
(``copy.deepcopy`` and ``p.mul_(c)``, run with torch's default settings), with its
float32 casts patched out where the check lifts them. Afterwards the user's model, its
hooks, its config and the global torch settings must be exactly as before.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.autograd.forward_ad as fwAD
from torch import nn
from torch.func import functional_call

from homogeneity.check import check_homogeneity
from homogeneity.errors import NumericalBreakdown
from homogeneity.euler_identity import euler
from homogeneity.scale_error import homogeneity_error
from homogeneity.scaling import Ray
from homogeneity.tolerances import noise_floor
from tests.helpers.user_models import (
    SEQ,
    VOCAB,
    NanoGPT,
    hf_model,
    hooks_of,
    left_as_the_user_has_it,
    mlp,
    scaled_float64_copy,
    torch_encoder,
)

transformers = pytest.importorskip("transformers")

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# -- the models ------------------------------------------------------------------------

# name -> (builder, the degree along the ray: exact for the MLP, asymptotic elsewhere)
MODELS = {
    "mlp": (mlp, 2.0),
    "gpt2": (lambda: hf_model("gpt2"), 1.0),
    "bert": (lambda: hf_model("bert"), 1.0),
    "roberta": (lambda: hf_model("roberta"), 1.0),
    "t5": (lambda: hf_model("t5"), 1.0),
    "llama": (lambda: hf_model("llama"), 1.0),
    "encoder-postnorm": (lambda: torch_encoder(False), 1.0),
    "encoder-norm-first": (lambda: torch_encoder(True), 2.0),
    "nanogpt": (NanoGPT, 2.0),
}


def build(name: str) -> tuple[nn.Module, tuple]:
    torch.manual_seed(sum(map(ord, name)))
    model = MODELS[name][0]().eval()
    g = torch.Generator().manual_seed(7)
    if name == "mlp":
        return model, (torch.randn(5, 4, generator=g),)
    if name.startswith("encoder"):
        return model, (torch.randn(2, SEQ, 16, generator=g),)
    return model, (torch.randint(3, VOCAB, (2, SEQ), generator=g),)


# -- the independent computation ------------------------------------------------------


def reference_output(model: nn.Module, inputs: tuple, c: float, patched: bool = True):
    ref = scaled_float64_copy(model, c, patched)
    args = tuple(x.double() if x.is_floating_point() else x for x in inputs)
    with torch.no_grad():
        out = ref(*args)
    return out if isinstance(out, torch.Tensor) else out.last_hidden_state


def reference_projections(model, inputs, rho, directions):
    """⟨u, (ρθ)·∇f(ρθ)⟩ for each u, by reverse mode on the hand-scaled copy (torch's
    default kernels; ⟨u, θ·∇f⟩ = ⟨θ, ∇_θ⟨u, f⟩⟩), independent of forward-mode AD."""
    ref = scaled_float64_copy(model, rho)
    params = list(ref.parameters())
    args = tuple(x.double() if x.is_floating_point() else x for x in inputs)
    out = ref(*args)
    out = out if isinstance(out, torch.Tensor) else out.last_hidden_state
    values = []
    for i, u in enumerate(directions):
        grads = torch.autograd.grad((u * out).sum(), params, retain_graph=i < len(directions) - 1)
        values.append(
            sum(float((p.detach() * g).sum()) for p, g in zip(params, grads, strict=True))
        )
    return values


def assert_derivative_matches(model, inputs, rho, tangent, value=None, tol=1e-10):
    """The ray's forward-mode derivative against reverse mode on the copy, projected on
    random unit directions (and on f itself)."""
    g = torch.Generator().manual_seed(3)
    directions = [torch.randn(tangent.shape, generator=g, dtype=torch.float64) for _ in range(3)]
    directions = [u / u.norm() for u in directions]
    if value is not None:
        directions.append(value / value.norm())
    expected = reference_projections(model, inputs, rho, directions)
    scale = float(tangent.norm())
    for u, want in zip(directions, expected, strict=True):
        assert abs(float((u * tangent).sum()) - want) <= tol * scale, (
            float((u * tangent).sum()),
            want,
        )


def relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


@pytest.fixture(scope="module")
def models():
    return {name: build(name) for name in MODELS}


# -- every check on every model, as built --------------------------------------------


def test_forward_mode_fails_on_these_models_without_the_checked_path(models):
    """Negative control: with torch's defaults (fused SDPA kernel, MHA fast path),
    forward-mode AD cannot run on the attention models, so the checks below test the
    package's own execution path, not a lucky default."""
    for name, (model, inputs) in models.items():
        if name == "mlp":
            continue
        params = {n: p.detach().double() for n, p in model.named_parameters()}
        args = tuple(x.double() if x.is_floating_point() else x for x in inputs)
        with pytest.raises(NotImplementedError), fwAD.dual_level():
            dual = {n: fwAD.make_dual(p, p) for n, p in params.items()}
            functional_call(model, dual, args)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_checks_run_on_the_model_as_built_and_match_a_hand_scaled_copy(models, name):
    model, inputs = models[name]
    degree = MODELS[name][1]
    with left_as_the_user_has_it(model):
        ray = Ray(model, inputs)
        # the ray at a point is the hand-scaled float64 copy at that point
        for rho in (0.5, 3.0):
            assert relative(ray(rho), reference_output(model, inputs, rho)) < 1e-12
        # Euler: the forward-mode derivative is the copy's finite-difference derivative
        rho = 2.0
        value, tangent = ray.jvp(rho)
        f0 = reference_output(model, inputs, rho)
        assert relative(value, f0) < 1e-12
        assert_derivative_matches(model, inputs, rho, tangent, f0)
        e = euler(ray, degree, rho)
        (f_dot_d,) = reference_projections(model, inputs, rho, [f0])
        assert e.degree_estimate == pytest.approx(f_dot_d / float((f0 * f0).sum()), rel=1e-9)
        residual = float((tangent - degree * f0).norm() / f0.norm())
        assert e.residual == pytest.approx(residual, rel=1e-9, abs=1e-13)
        # the homogeneity error at one scale
        err = homogeneity_error(ray, 3.0, degree, rho)
        f3 = reference_output(model, inputs, 3.0 * rho)
        expected_rel = relative(f3, (3.0**degree) * reference_output(model, inputs, rho))
        assert err.relative == pytest.approx(expected_rel, rel=1e-6, abs=1e-13)
        # check_homogeneity: exact on the bias-free MLP, approximate everywhere else
        if name == "mlp":
            report = check_homogeneity(model, inputs, degree)
            assert report.passed and report.euler.residual < 1e-12
            with pytest.raises(AssertionError):  # negative control: a wrong degree fails
                check_homogeneity(model, inputs, 1.0)
        else:
            report = check_homogeneity(
                model, inputs, degree, approximate=True, raise_exception=False
            )
            profile = report.profile
            assert profile is not None and len(profile.rhos) >= 49
            for i in (12, 30):
                r, c = profile.rhos[i], profile.c
                expected_i = relative(
                    reference_output(model, inputs, c * r),
                    (c**degree) * reference_output(model, inputs, r),
                )
                assert profile.relative[i] == pytest.approx(expected_i, rel=1e-5, abs=1e-13)
        text = str(report)
        assert "output: " in text


# -- the report says what the run took, and only that --------------------------------


@pytest.mark.parametrize(
    "name, lines, absent",
    [
        ("mlp", ["output: the output tensor"], ["SDPA", "fast path", "float32"]),
        ("gpt2", ["SDPA: math kernel", "causal: yes"], ["fast path", "float32"]),
        ("bert", ["SDPA: math kernel", "causal: no"], ["fast path", "float32"]),
        ("t5", ["SDPA: math kernel", "float32 ops lifted to float64"], ["fast path"]),
        ("llama", ["SDPA: math kernel", "float32 ops lifted to float64", "causal: yes"], []),
        ("encoder-postnorm", ["nn.MultiheadAttention fast path: off", "causal: no"], ["float32"]),
        ("encoder-norm-first", ["nn.MultiheadAttention fast path: off"], ["float32"]),
        ("nanogpt", ["SDPA: math kernel", "causal: yes"], ["fast path", "float32"]),
    ],
)
def test_execution_report_names_the_path_taken(models, name, lines, absent):
    model, inputs = models[name]
    text = str(Ray(model, inputs).execution)
    for line in lines:
        assert line in text, text
    for word in absent:
        assert word not in text, text


def test_low_precision_sites_are_named_by_module(models):
    report = Ray(*models["llama"]).execution
    modules = report.low_precision_modules
    assert "rotary_emb" in modules and "layers.0.input_layernorm" in modules and "norm" in modules
    assert report.lifted and report.low_precision_floor is None
    assert report.noise_floor == noise_floor(torch.float64)
    t5 = Ray(*models["t5"]).execution
    assert "encoder.block.0.layer.0.layer_norm" in t5.low_precision_modules
    assert all(op.target == torch.float32 for op in t5.low_precision_ops)


# -- float32 islands: lifted by default, kept on request -----------------------------


@pytest.mark.parametrize("name, rho, far", [("t5", 10.0, 2e4), ("llama", 10.0, 5e4)])
def test_float32_islands_are_lifted_and_can_be_kept(models, name, rho, far):
    """With lifting the float64 check sees the model's mathematics (the copy with its
    float32 casts patched out) down to 1e-12; keeping them reproduces the model as
    written (the unpatched float64 copy) with its float32 rounding near 1e-7."""
    model, inputs = models[name]
    lifted, kept = Ray(model, inputs), Ray(model, inputs, low_precision="keep")
    patched = reference_output(model, inputs, rho)
    as_written = reference_output(model, inputs, rho, patched=False)
    assert relative(lifted(rho), patched) < 1e-12
    assert relative(kept(rho), as_written) < 1e-12
    assert 1e-9 < relative(kept(rho), patched) < 1e-5  # the float32 rounding itself

    # forward-mode tangents are lifted too: the derivative matches the patched copy's
    assert_derivative_matches(model, inputs, rho, lifted.jvp(rho)[1])
    with pytest.raises(AssertionError):  # kept: the tangent carries float32 rounding
        assert_derivative_matches(model, inputs, rho, kept.jvp(rho)[1])

    # far along the ray the true homogeneity error is far below 1e-7 (c = 3: rounding
    # commutes with scaling by 2, not by 3); lifted, the check measures it
    c, k = 3.0, 1.0
    true = relative(
        reference_output(model, inputs, c * far), c**k * reference_output(model, inputs, far)
    )
    assert true < 1e-8
    assert homogeneity_error(lifted, c, k, far).relative == pytest.approx(true, rel=1e-6)
    if name == "t5":  # kept, it measures float32's rounding: a floor near 1e-7
        assert 3e-8 < homogeneity_error(kept, c, k, far).relative < 1e-6
    else:  # kept, Llama's float32 RMS norm overflows there: a breakdown, not a number
        with pytest.raises(NumericalBreakdown):
            homogeneity_error(kept, c, k, far)

    assert kept.execution.low_precision_floor == noise_floor(torch.float32)
    assert kept.noise_floor == noise_floor(torch.float32)
    assert "float32 ops kept in the float64 run" in str(kept.execution)
    assert lifted.noise_floor == noise_floor(torch.float64)


def test_check_homogeneity_threads_low_precision(models):
    model, inputs = models["t5"]
    kept = check_homogeneity(
        model, inputs, 1.0, approximate=True, raise_exception=False, low_precision="keep"
    )
    lifted = check_homogeneity(model, inputs, 1.0, approximate=True, raise_exception=False)
    assert "kept in the float64 run" in str(kept) and "lifted to float64" in str(lifted)
    assert kept.profile.fit.floor == noise_floor(torch.float32)
    assert lifted.profile.fit.floor == noise_floor(torch.float64)


def test_a_kept_float32_cast_that_overflows_is_a_breakdown_with_the_right_advice(models):
    """Llama's RMS norm squares its float32 states: past ρ ≈ 1e5 the variance is inf and
    the layer rounds to zero. That is a breakdown naming the op, advising the lifting."""
    model, inputs = models["llama"]
    kept = Ray(model, inputs, low_precision="keep")
    with pytest.raises(NumericalBreakdown) as info:
        homogeneity_error(kept, 3.0, 1.0, 1e6)
    assert info.value.rho == 1e6
    assert "LlamaRMSNorm" in str(info.value) and "aten.pow (float32)" in str(info.value)
    assert "low_precision='lift'" in info.value.suggestion
    assert "float64" not in info.value.suggestion.split("low_precision")[0]
    # with the default lifting the same point is fine
    assert math.isfinite(homogeneity_error(Ray(model, inputs), 3.0, 1.0, 1e6).relative)


# -- Hugging Face inputs: BatchEncoding, padding, causality, per-layer outputs -------


def test_batch_encoding_is_passed_as_keywords_and_gives_the_token_mask(models):
    model, (ids,) = models["bert"]
    mask = torch.ones_like(ids)
    mask[1, 4:] = 0
    encoding = transformers.BatchEncoding({"input_ids": ids, "attention_mask": mask})
    ray = Ray(model, encoding)
    assert ray.inputs == () and set(ray.kwargs) == {"input_ids", "attention_mask"}
    assert torch.equal(ray.token_mask, mask.bool())
    assert "token mask: attention_mask (10 of 12 tokens are real" in str(ray.execution)
    with torch.no_grad():
        expected = scaled_float64_copy(model, 1.0)(
            input_ids=ids, attention_mask=mask
        ).last_hidden_state
    assert relative(ray(1.0), expected) < 1e-12
    # the keyword form gives the same
    keywords = Ray(model, (), kwargs={"input_ids": ids, "attention_mask": mask})
    assert torch.equal(keywords.token_mask, mask.bool())
    # negative control: without a mask there is none
    assert Ray(model, (ids,)).token_mask is None


@pytest.mark.parametrize(
    "name, causal",
    [
        ("gpt2", True),
        ("bert", False),
        ("roberta", False),
        ("t5", False),
        ("llama", True),
        ("nanogpt", True),
        ("encoder-postnorm", False),
        ("mlp", None),
    ],
)
def test_causality_comes_from_the_model(models, name, causal):
    assert Ray(*models[name]).causal is causal


def test_per_layer_outputs_of_a_hugging_face_model_are_its_hidden_states(models):
    model, inputs = models["gpt2"]
    hooks = hooks_of(model)
    ray = Ray(model, inputs, per_layer=True)
    layers = ray(2.0)
    assert isinstance(layers, list) and len(layers) == 3  # embeddings + 2 layers
    assert "hidden_states of BaseModelOutputWithPastAndCrossAttentions" in str(ray.execution)
    ref = scaled_float64_copy(model, 2.0)
    with torch.no_grad():
        expected = ref(*inputs, output_hidden_states=True).hidden_states
    for got, want in zip(layers, expected, strict=True):
        assert relative(got, want) < 1e-12
    assert hooks_of(model) == hooks  # transformers' capturing hooks were removed again
    # without per_layer: the last hidden state only
    assert isinstance(Ray(model, inputs)(2.0), torch.Tensor)
