"""Numerical degree checks (homogeneity.degree): Euler residual and degree estimate,
homogeneity error and curves, decay profiles, check_homogeneity (gradcheck style) and
check_degree.

Every check that should pass on a true claim is paired with a false claim it must
reject: a biased layer claimed exactly homogeneous, a right module with the wrong
degree, softmax attention claimed exactly homogeneous, a layer norm with ε claimed
approximately scale-invariant.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from torch import nn

from homogeneity import rules
from homogeneity.agreement import DegreeAgreement, check_degree
from homogeneity.check import HomogeneityCheckError, HomogeneityReport, check_homogeneity
from homogeneity.components import (
    AttentionHead,
    FeedForward,
    LayerNorm,
    Linear,
    MultiHeadAttention,
    ProofLayerNorm,
    RMSNorm,
)
from homogeneity.degree import decay_profile, measure_degree
from homogeneity.errors import NumericalBreakdown
from homogeneity.euler_identity import directional_derivative, euler
from homogeneity.rules import register_rule
from homogeneity.scale_error import degree_from_ratio, homogeneity_curve, homogeneity_error
from homogeneity.scaling import Ray
from homogeneity.tolerances import default_tolerance


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def randn(*shape, dtype=torch.float64, seed=0) -> torch.Tensor:
    return torch.randn(*shape, dtype=dtype, generator=gen(seed))


def linear_chain(
    depth: int,
    width: int = 4,
    bias: bool = False,
    relu: bool = False,
    dtype=torch.float64,
    seed: int = 0,
) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(depth):
        layers.append(Linear(width, width, bias, dtype=dtype, generator=gen(seed + i)))
        if relu and i < depth - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def ln_after_linear(eps: float = 1e-5, dtype=torch.float64) -> nn.Sequential:
    """LN_ε(W x): degree 0 in W only up to O(ε/ρ²), a polynomial error (order 2k, k = 1)."""
    return nn.Sequential(
        Linear(5, 5, False, dtype=dtype, generator=gen(0)),
        LayerNorm(5, eps, gain=False, bias=False, dtype=dtype),
    )


depths = st.integers(1, 4)
seeds = st.integers(0, 10_000)


# -- Euler -----------------------------------------------------------------------------


@given(depth=depths, relu=st.booleans(), seed=seeds, rho=st.floats(0.1, 10.0))
def test_euler_on_bias_free_chains(depth, relu, seed, rho):
    """θ·∇f = k f with k the number of weight layers (ReLU is 1-homogeneous)."""
    ray = Ray(linear_chain(depth, relu=relu, seed=seed), (randn(3, 4, seed=seed),))
    assume(float(ray(1.0).norm()) > 0)  # all ReLUs dead: f ≡ 0 has every degree
    res = euler(ray, rho=rho)
    assert res.degree_estimate == pytest.approx(depth, abs=1e-12)
    assert res.residual <= 1e-12
    assert res.rho == rho
    # negative control: the neighbouring degree leaves a residual of exactly |k − k'|
    wrong = euler(ray, depth + 1, rho)
    assert wrong.residual == pytest.approx(1.0, rel=1e-10)


@given(depth=st.integers(2, 4), seed=seeds)
def test_euler_rejects_biased_chains(depth, seed):
    """Negative control: from the second biased layer on there is no degree, so the Euler
    residual at the estimated k̂ is far from zero."""
    ray = Ray(linear_chain(depth, bias=True, seed=seed), (randn(3, 4, seed=seed),))
    res = euler(ray)
    assert res.residual > 1e-4
    assert euler(ray, depth).residual > 1e-4


def test_euler_on_layer_norm_with_gain():
    """γ LN(W x) (D9): scale-invariant in W, linear in γ: degree 1 in (W, γ), 0 in W."""
    model = nn.Sequential(
        Linear(4, 5, False, dtype=torch.float64, generator=gen()),
        ProofLayerNorm(5, dtype=torch.float64, generator=gen(1)),
    )
    x = randn(3, 4)
    res = euler(Ray(model, (x,)))
    assert res.degree_estimate == pytest.approx(1.0, abs=1e-12) and res.residual < 1e-12
    res = euler(Ray(model, (x,), "0.*"))
    assert abs(res.degree_estimate) < 1e-12 and res.residual < 1e-12


def test_euler_derivative_matches_finite_differences():
    """The forward-mode derivative d/dρ f(ρθ) at ρ = 1, against a central difference
    (error O(h²) ≈ 1e-10), on a function with no degree (a biased softmax head)."""
    head = AttentionHead(4, 3, True, dtype=torch.float64, generator=gen())
    ray = Ray(head, (randn(2, 5, 4),))
    value, derivative = directional_derivative(ray, 1.0)
    h = 1e-5
    fd = (ray(1 + h) - ray(1 - h)) / (2 * h)
    assert torch.allclose(value, ray(1.0), rtol=1e-14)
    assert torch.allclose(derivative, fd, rtol=1e-7, atol=1e-9)
    # negative control: the derivative is not k·f for any k
    assert euler(ray).residual > 1e-3


def test_euler_on_a_plain_function():
    """f(params, x) = (a·x)² b is 3-homogeneous in (a, b), 2 in a alone."""

    def fn(p, x):
        return ((x @ p["a"]) ** 2)[:, None] * p["b"]

    params = {"a": randn(4, seed=1), "b": torch.tensor([0.5, -2.0], dtype=torch.float64)}
    x = randn(3, 4)
    res = euler(Ray(fn, (x,), params=params))
    assert res.degree_estimate == pytest.approx(3.0, abs=1e-12) and res.residual < 1e-12
    assert euler(Ray(fn, (x,), "a", params=params)).degree_estimate == pytest.approx(2.0)
    report = check_homogeneity(fn, x, 3, params=params)
    assert report.passed and report.parameters == ["a", "b"]
    with pytest.raises(HomogeneityCheckError):
        check_homogeneity(fn, x, 2, params=params)


class WithUnused(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = Linear(4, 4, False, dtype=torch.float64, generator=gen())
        self.unused = nn.Parameter(torch.ones(2, dtype=torch.float64))

    def forward(self, x):
        return self.lin(x)


def test_euler_of_a_constant_in_theta_is_zero():
    """Output independent of the selected parameters: derivative 0, degree 0."""
    x = randn(3, 4)
    res = euler(Ray(WithUnused(), (x,), "unused"))
    assert res.degree_estimate == 0.0 and res.residual == 0.0
    check_homogeneity(WithUnused(), x, 0, parameters="unused")
    # negative control: the parameter that is used has degree 1
    assert euler(Ray(WithUnused(), (x,), "lin.*")).degree_estimate == pytest.approx(1.0)


# -- homogeneity error and curves -----------------------------------------------------


@given(depth=depths, c=st.floats(0.05, 20.0), claimed=st.integers(0, 5))
def test_homogeneity_error_of_a_claimed_degree(depth, c, claimed):
    """For an exactly depth-homogeneous f claimed of degree k': the relative error
    ‖c^k f − c^k' f‖/‖c^k' f‖ is exactly |c^(k−k') − 1|; zero when k' = k."""
    ray = Ray(linear_chain(depth), (randn(3, 4),))
    err = homogeneity_error(ray, c, claimed)
    expected = abs(c ** (depth - claimed) - 1)
    assert err.relative == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert err.c == c and err.rho == 1.0
    norm = float(ray(1.0).norm())
    scale = c**claimed * norm
    assert err.absolute == pytest.approx(expected * scale, rel=1e-9, abs=1e-13 * scale)


def test_homogeneity_curve_and_ratio():
    ray = Ray(linear_chain(3, relu=True), (randn(3, 4),))
    curve = homogeneity_curve(ray, [0.5, 2.0, 10.0], 3)
    assert [e.c for e in curve] == [0.5, 2.0, 10.0]
    assert all(e.relative < 1e-13 for e in curve)
    assert degree_from_ratio(ray, 2.0) == pytest.approx(3.0, abs=1e-12)
    assert degree_from_ratio(ray, 0.5, rho=3.0) == pytest.approx(3.0, abs=1e-12)
    # negative control: the curve of the wrong degree is not flat at zero
    assert all(e.relative > 0.2 for e in homogeneity_curve(ray, [0.5, 2.0, 10.0], 2))


# -- check_homogeneity: true claims pass ----------------------------------------------


@given(depth=depths, relu=st.booleans(), seed=seeds)
def test_check_homogeneity_passes_on_true_claims(depth, relu, seed):
    model = linear_chain(depth, relu=relu, seed=seed)
    assume(float(model(randn(3, 4, seed=seed)).detach().norm()) > 0)  # dead ReLUs: f ≡ 0
    report = check_homogeneity(model, randn(3, 4, seed=seed), depth)
    assert isinstance(report, HomogeneityReport) and report.passed and not report.failures
    assert report.degree == depth and report.dtype == torch.float64
    assert report.rtol == default_tolerance(torch.float64)
    text = str(report)
    assert text.startswith("homogeneity check PASSED") and "failure" not in text
    # the degree can be left for the check to estimate
    assert check_homogeneity(model, randn(3, 4, seed=seed)).degree == depth


def test_check_homogeneity_on_components():
    x = randn(2, 5, 4)
    ff = FeedForward(4, 6, dtype=torch.float64, generator=gen())
    check_homogeneity(ff, x, 2)  # W^f ReLU(W^i x): degree 2
    check_homogeneity(ff, x, 1, parameters="inner.weight")
    gained = nn.Sequential(
        Linear(4, 4, False, dtype=torch.float64, generator=gen()),
        ProofLayerNorm(4, dtype=torch.float64, generator=gen(1)),
    )
    check_homogeneity(gained, x, 1)
    check_homogeneity(gained, x, 0, parameters="0.weight")
    check_homogeneity(nn.Embedding(5, 3).double(), torch.tensor([[0, 4, 1]]), 1)


# -- check_homogeneity: false claims raise --------------------------------------------


def test_biased_linear_claimed_exactly_homogeneous_fails():
    """W x + b is 1-homogeneous in (W, b) for data x (the affine rule), but not in W alone,
    and two stacked biased layers are not 2-homogeneous."""
    x = randn(3, 4)
    lin = Linear(4, 3, True, dtype=torch.float64, generator=gen())
    check_homogeneity(lin, x, 1)  # true claim
    with pytest.raises(HomogeneityCheckError) as info:
        check_homogeneity(lin, x, 1, parameters="weight")
    assert not info.value.report.passed
    assert "relative error" in str(info.value) and "Euler residual" in str(info.value)
    with pytest.raises(HomogeneityCheckError):
        check_homogeneity(linear_chain(2, bias=True), x, 2)


@given(depth=depths, wrong=st.integers(-1, 5))
def test_right_module_wrong_degree_fails(depth, wrong):
    if wrong == depth:
        wrong = depth + 1
    with pytest.raises(HomogeneityCheckError) as info:
        check_homogeneity(linear_chain(depth), randn(3, 4), wrong)
    assert f"θ·∇f ≠ {wrong:g}·f" in str(info.value)


def test_softmax_attention_is_only_approximately_homogeneous():
    head = AttentionHead(4, 3, dtype=torch.float64, generator=gen())
    x = randn(2, 5, 4)
    with pytest.raises(HomogeneityCheckError):
        check_homogeneity(head, x, 1)  # exactly: no
    report = check_homogeneity(head, x, 1, approximate=True)  # approximately (D3): yes
    assert report.passed and report.profile is not None
    assert report.profile.fit.kind == "exponential"
    assert "exponential" in str(report) and "D3 rate" in str(report)
    # negative control: the approximate check still rejects a wrong degree
    for wrong in (0, 2):
        with pytest.raises(HomogeneityCheckError):
            check_homogeneity(head, x, wrong, approximate=True)
    # biases: on data (degree 0) every projection is affine, hence degree 1, and the
    # biased head is still ∼1; after a linear layer (input degree 1) W X has degree 2 next
    # to a degree-1 bias, and the error decays only polynomially: no longer ∼2.
    biased = AttentionHead(4, 3, True, dtype=torch.float64, generator=gen())
    check_homogeneity(biased, x, 1, approximate=True)
    stacked = nn.Sequential(Linear(4, 4, False, dtype=torch.float64, generator=gen(1)), biased)
    with pytest.raises(HomogeneityCheckError) as info:
        check_homogeneity(stacked, x, 2, approximate=True)
    assert info.value.report.profile.fit.kind == "polynomial"


def test_layer_norm_with_eps_is_not_approximately_scale_invariant():
    """LN_ε is 0-homogeneous in the weights before it only up to ε/(v ρ²): polynomial, so
    D3 (exponential decay) fails. The same map with ε = 0 passes, exactly."""
    x = randn(3, 5)
    with pytest.raises(HomogeneityCheckError) as info:
        check_homogeneity(ln_after_linear(1e-5), x, 0, parameters="0.*", approximate=True)
    profile = info.value.report.profile
    assert profile is not None and profile.fit.kind == "polynomial"
    assert profile.fit.rate == pytest.approx(2.0, abs=0.1)  # order 2k with k = 1
    assert "not exponentially decaying" in str(info.value)
    check_homogeneity(ln_after_linear(0.0), x, 0, parameters="0.*")
    check_homogeneity(ln_after_linear(0.0), x, 0, parameters="0.*", approximate=True)


def test_rms_norm_with_eps_decays_polynomially_at_order_2k():
    """RMS_ε(f) with f of degree 2 (two linear layers): error order 2k = 4."""
    model = nn.Sequential(linear_chain(2, 5), RMSNorm(5, 1e-3, gain=False, dtype=torch.float64))
    profile = decay_profile(Ray(model, (randn(3, 5),), "0.*"), 0)
    assert profile.fit.kind == "polynomial" and profile.kind == "asymptotic"
    assert profile.fit.rate == pytest.approx(4.0, abs=0.2)


def test_failed_report_without_exception():
    report = check_homogeneity(linear_chain(2), randn(3, 4), 3, raise_exception=False)
    assert not report.passed and len(report.failures) == 2
    text = str(report)
    assert text.startswith("homogeneity check FAILED: 3-homogeneous exactly (D2)")
    for failure in report.failures:
        assert f"failure: {failure}" in text
    assert "exceeds rtol" in text and "Euler residual" in text


# -- dtypes --------------------------------------------------------------------------


def test_float32_check_uses_a_looser_default_tolerance():
    model = linear_chain(3, relu=True, dtype=torch.float32)
    x = randn(3, 4, dtype=torch.float32)
    report = check_homogeneity(model, x, 3, dtype=torch.float32)
    assert report.passed and report.dtype == torch.float32
    assert report.rtol == pytest.approx(1e3 * torch.finfo(torch.float32).eps)
    assert report.rtol > 1e3 * default_tolerance(torch.float64)
    assert "float32" in str(report)
    worst = max(max(e.relative for e in report.curve), report.euler.residual)
    assert worst < report.rtol
    # negative control: a wrong degree still fails in float32
    with pytest.raises(HomogeneityCheckError):
        check_homogeneity(model, x, 2, dtype=torch.float32)


def test_float32_module_checked_in_float64_by_default():
    model = linear_chain(2, dtype=torch.float32)
    report = check_homogeneity(model, randn(3, 4, dtype=torch.float32), 2)
    assert report.dtype == torch.float64
    assert report.euler.residual < 1e-13  # float64 arithmetic, not float32
    assert next(model.parameters()).dtype == torch.float32


# -- decay profiles ------------------------------------------------------------------


def test_decay_profile_kinds():
    x = randn(2, 5, 4)
    head = AttentionHead(4, 3, dtype=torch.float64, generator=gen())
    exact = decay_profile(Ray(linear_chain(2), (randn(3, 4),)), 2)
    assert exact.fit.kind == "exact" and exact.kind == "exact"
    approx = decay_profile(Ray(head, (x,)), 1)
    assert approx.kind == "approximate" and approx.d3_rate() > 0
    assert approx.theta_norms[0] == pytest.approx(approx.rhos[0] * Ray(head, (x,)).theta_norm())
    none = decay_profile(Ray(head, (x,)), 2)
    assert none.kind == "none"
    # the degree can be read off the ray
    assert decay_profile(Ray(head, (x,))).degree == 1.0


def test_measure_degree():
    m = measure_degree(Ray(linear_chain(3, relu=True), (randn(3, 4),)))
    assert (m.kind, m.value) == ("exact", 3.0) and m.euler.residual < 1e-12
    m = measure_degree(
        Ray(MultiHeadAttention(4, 2, dtype=torch.float64, generator=gen()), (randn(2, 5, 4),))
    )
    assert (m.kind, m.value) == ("approximate", 2.0)
    assert "approximate" in str(m)


# -- check_degree: predictions against numbers ----------------------------------------


def test_check_degree_agrees_on_true_rules():
    for model, x, params in [
        (linear_chain(3, relu=True), randn(3, 4), None),
        (ln_after_linear(1e-5), randn(3, 5), "0.*"),
        (AttentionHead(4, 3, dtype=torch.float64, generator=gen()), randn(2, 5, 4), None),
    ]:
        agreement = check_degree(model, x, params)
        assert isinstance(agreement, DegreeAgreement)
        assert agreement.agree, str(agreement)
        assert str(agreement).endswith("=> AGREE")


class Cube(nn.Module):
    """x ↦ a³ x: degree 3 in a."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.tensor(1.3, dtype=torch.float64))

    def forward(self, x):
        return self.a**3 * x


def test_check_degree_rejects_a_wrong_rule():
    """Negative control: a user rule that claims degree 1 for a cube must disagree."""

    @register_rule(Cube)
    def _wrong(m, d, ctx):
        return ctx.record("cube (wrong)", d, rules.scale_by_parameter(d, ctx.scaled("a")))

    try:
        agreement = check_degree(Cube(), randn(3))
        assert not agreement.agree
        assert str(agreement).endswith("=> DISAGREE")
        assert agreement.measured.value == 3.0
    finally:
        rules._TORCH_RULES.pop(Cube, None)

    @register_rule(Cube)
    def _right(m, d, ctx):
        out = d
        for _ in range(3):
            out = rules.scale_by_parameter(out, ctx.scaled("a"))
        return ctx.record("cube", d, out)

    try:
        assert check_degree(Cube(), randn(3)).agree
    finally:
        rules._TORCH_RULES.pop(Cube, None)


def test_check_degree_rejects_a_wrong_asymptotic_order():
    """Negative control on the order: LN_ε after one linear layer is predicted and measured
    of order 2; the same measurement set against a prediction of order 4 disagrees."""
    agreement = check_degree(ln_after_linear(1e-5), randn(3, 5), "0.*")
    assert agreement.predicted.degree.order == 2.0 and agreement.agree
    fake = DegreeAgreement(
        rules.DegreeDerivation(rules.Degree.asymptotic(0, 4), [], rules.Degree.exact(0)),
        agreement.measured,
    )
    assert not fake.agree


def test_overflowing_function_never_passes_the_approximate_check():
    """Regression: f = exp(10⁴ θ x) overflows on the whole ray, every error is NaN, and
    NaN used to be read as 'below the floor', so the approximate check PASSED. Under the
    breakdown policy the overflow at the point asked for is a NumericalBreakdown naming ρ
    and the op, never a verdict."""

    def fn(p, x):
        return torch.exp(p["w"] * x * 1e4)

    params = {"w": torch.tensor([1.0, 1.0], dtype=torch.float64)}
    x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    with pytest.raises(NumericalBreakdown) as info:
        check_homogeneity(fn, x, 1, approximate=True, params=params, raise_exception=False)
    assert info.value.rho == 1.0 and info.value.where.startswith("aten.exp (float64)")
