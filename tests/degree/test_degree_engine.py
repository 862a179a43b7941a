"""The degree engine on the graph a model executes: foreign models, tied weights, masks,
no prediction, user rules, and every op rule with a negative control.

Each prediction is set against a measurement along the ray (``measure_degree`` on the
package's Ray, which lifts the float32 casts of Hugging Face norms to float64 and runs
attention through the math kernel, so the numbers measure the mathematics) or against a
direct float64 scaling for exactly homogeneous cases.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from homogeneity import rules
from homogeneity.agreement import DegreeAgreement, check_degree
from homogeneity.degree import measure_degree
from homogeneity.degree_engine import OP_RULES, OpRule, TensorDegree, rule_table, trace_degree
from homogeneity.degree_engine.interpreter import DegreeInterpreter
from homogeneity.degree_engine.op_rules import rule_table_markdown
from homogeneity.errors import HomogeneityInputError
from homogeneity.rules import Degree, predict_degree, register_rule, unregister_rule
from homogeneity.scaling import Ray
from tests.helpers.user_models import tiny_config

transformers = pytest.importorskip("transformers")

pytestmark = pytest.mark.usefixtures("one_torch_thread")

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api" / "rules.md"


def kvo(d: Degree) -> tuple:
    return d.kind, d.value, d.order


def measured(model, inputs=(), kwargs=None, parameters=None):
    """The degree along the package's own ray (float32 islands lifted, math attention)."""
    ray = Ray(model, inputs if isinstance(inputs, tuple) else (inputs,), parameters, kwargs or {})
    return measure_degree(ray)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


# -- models nobody here wrote ------------------------------------------------------------


def _ids(vocab=50, shape=(2, 5), low=0):
    return torch.randint(low, vocab, shape, generator=gen(1))


PADDING = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])


def gpt2():
    cfg = tiny_config("gpt2", vocab=50, positions=16, bos_token_id=0, eos_token_id=0)
    return transformers.GPT2LMHeadModel(cfg).eval(), {"input_ids": _ids()}


def bert():
    model = transformers.BertModel(tiny_config("bert", vocab=50, positions=16)).eval()
    return model, {"input_ids": _ids(), "attention_mask": PADDING}


def roberta():
    model = transformers.RobertaModel(tiny_config("roberta", vocab=50, positions=16)).eval()
    return model, {"input_ids": _ids(low=3), "attention_mask": PADDING}


def t5_encoder():
    model = transformers.T5EncoderModel(tiny_config("t5", vocab=50, positions=16)).eval()
    return model, {"input_ids": _ids(), "attention_mask": PADDING}


def llama():
    cfg = tiny_config("llama", vocab=50, positions=16)
    return transformers.LlamaForCausalLM(cfg).eval(), {"input_ids": _ids()}


def torch_encoder(norm_first: bool):
    def build():
        torch.manual_seed(0)
        layer = nn.TransformerEncoderLayer(
            16, 2, 32, dropout=0.0, batch_first=True, norm_first=norm_first
        )
        model = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False).eval()
        x = torch.randn(2, 5, 16, generator=gen(1))
        return model, {"src": x, "src_key_padding_mask": PADDING == 0}

    return build


# -- a nanoGPT-style causal GPT with tied embeddings ---------------------------------------


class CausalSelfAttention(nn.Module):
    def __init__(self, d: int, n_head: int) -> None:
        super().__init__()
        self.n_head = n_head
        self.c_attn = nn.Linear(d, 3 * d, bias=False)
        self.c_proj = nn.Linear(d, d, bias=False)

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class MLP(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.c_fc = nn.Linear(d, 4 * d, bias=False)
        self.c_proj = nn.Linear(4 * d, d, bias=False)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, d: int, n_head: int) -> None:
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(d, bias=False), nn.LayerNorm(d, bias=False)
        self.attn, self.mlp = CausalSelfAttention(d, n_head), MLP(d)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, vocab: int = 40, block: int = 8, d: int = 16, n_layer: int = 2) -> None:
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(block, d)
        self.h = nn.ModuleList(Block(d, 2) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(d, bias=False)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying

    def forward(self, idx):
        pos = torch.arange(idx.size(1), device=idx.device)
        x = self.wte(idx) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


def nano_gpt():
    torch.manual_seed(0)
    return GPT().eval(), {"idx": _ids(40, (2, 6))}


#: model, its predicted degree (kind, value, order)
FOREIGN = {
    "gpt2": (gpt2, ("asymptotic", 2.0, 2.0)),  # tied lm_head: 2
    "bert": (bert, ("asymptotic", 1.0, 2.0)),
    "roberta": (roberta, ("asymptotic", 1.0, 2.0)),
    "t5-encoder": (t5_encoder, ("asymptotic", 1.0, 2.0)),
    "llama": (llama, ("asymptotic", 2.0, 2.0)),  # GQA, rotary, RMSNorm, SiLU-gated MLP
    "transformer-encoder post-norm": (torch_encoder(False), ("asymptotic", 1.0, 1.0)),
    "transformer-encoder norm_first": (torch_encoder(True), ("asymptotic", 3.0, 1.0)),
    "nanogpt tied": (nano_gpt, ("asymptotic", 2.0, 2.0)),
}


@pytest.mark.parametrize("name", list(FOREIGN))
def test_prediction_on_foreign_models_matches_the_measurement(name):
    build, expected = FOREIGN[name]
    model, kwargs = build()
    predicted = predict_degree(model, kwargs=kwargs)
    assert predicted.outcome == expected[0], str(predicted)
    assert kvo(predicted.degree) == expected
    agreement = DegreeAgreement(predicted, measured(model, kwargs=kwargs))
    assert agreement.passed, str(agreement)
    # negative control: the same measurement against a prediction one degree off
    wrong = dataclasses.replace(predicted, degree=predicted.degree.with_value(expected[1] + 1))
    assert DegreeAgreement(wrong, agreement.measured).outcome == "disagree"


def test_the_model_and_torch_settings_are_left_as_they_were():
    model, kwargs = gpt2()  # float32, default attention implementation
    before = {n: p.detach().clone() for n, p in model.state_dict().items()}
    fastpath = torch.backends.mha.get_fastpath_enabled()
    backends = (
        torch.backends.cuda.flash_sdp_enabled(),
        torch.backends.cuda.mem_efficient_sdp_enabled(),
        torch.backends.cuda.math_sdp_enabled(),
    )
    derivation = predict_degree(model, kwargs=kwargs)
    assert "math kernel" in derivation.execution and "fast path off" in derivation.execution
    assert torch.backends.mha.get_fastpath_enabled() == fastpath
    assert backends == (
        torch.backends.cuda.flash_sdp_enabled(),
        torch.backends.cuda.mem_efficient_sdp_enabled(),
        torch.backends.cuda.math_sdp_enabled(),
    )
    after = model.state_dict()
    assert all(after[n].dtype == t.dtype and torch.equal(after[n], t) for n, t in before.items())
    assert not model.training


# -- tied weights ------------------------------------------------------------------------------


def tied_lookup_and_head():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Embedding(7, 4), nn.Linear(4, 7, bias=False)).double()
    model[1].weight = model[0].weight
    return model


def test_tied_embedding_is_scaled_in_every_use():
    """ids → E[ids] → E (E[ids])ᵀ: degree 2 in E. (Counting the head's use of E as an
    unscaled weight gives 1.) Checked by direct scaling: f(2θ) = 4 f(θ) exactly."""
    model = tied_lookup_and_head()
    ids = torch.tensor([[0, 3, 6]])
    assert predict_degree(model, inputs=ids).degree == Degree.exact(2)
    ray = Ray(model, (ids,))
    y1, y2 = ray(1.0), ray(2.0)
    assert torch.allclose(y2, 4 * y1, rtol=1e-14, atol=0)
    assert not torch.allclose(y2, 2 * y1)  # negative control: degree 1 is wrong
    # an untied copy scaled only in the embedding: degree 1
    untied = nn.Sequential(nn.Embedding(7, 4), nn.Linear(4, 7, bias=False)).double()
    assert predict_degree(untied, 0, "0.*", inputs=ids).degree == Degree.exact(1)


def test_tied_weight_answers_to_every_name_in_a_user_rule():
    model = tied_lookup_and_head()
    seen = {}

    class TiedHead(nn.Linear):
        pass

    model[1].__class__ = TiedHead

    @register_rule(TiedHead)
    def _rule(m, d, ctx):
        seen["scaled"] = ctx.scaled("weight")  # '1.weight', an alias of '0.weight'
        return ctx.record("head", d, rules.multiply(d, rules.parameter_degree(seen["scaled"])))

    try:
        assert predict_degree(model, inputs=torch.tensor([[1, 2]])).degree == Degree.exact(2)
        assert seen["scaled"]
        assert predict_degree(model, 0, "0.weight", inputs=torch.tensor([[1]])).degree.value == 2
    finally:
        unregister_rule(TiedHead)


# -- masks ---------------------------------------------------------------------------------


class MaskedMax(nn.Module):
    """max over the visible positions of degree-2 scores: exactly 2-homogeneous, whether
    the mask is filled with −∞, added as finfo.min or selected with where."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how
        self.w = nn.Parameter(torch.randn(4, 4, dtype=torch.float64, generator=gen()))

    def forward(self, x, keep):
        h = x @ self.w
        scores = h @ h.transpose(-1, -2)  # degree 2
        if self.how == "fill":
            scores = scores.masked_fill(~keep, float("-inf"))
        elif self.how == "additive":
            scores = scores + (1.0 - keep.to(scores.dtype)) * torch.finfo(scores.dtype).min
        else:
            scores = torch.where(keep, scores, torch.finfo(scores.dtype).min)
        return scores.amax(-1)


@pytest.mark.parametrize("how", ["fill", "additive", "where"])
def test_masks_are_masks_not_degree_zero_terms(how, monkeypatch):
    x = torch.randn(2, 3, 4, dtype=torch.float64, generator=gen(1))
    keep = torch.ones(2, 3, 3, dtype=torch.bool).tril()
    model = MaskedMax(how)
    agreement = check_degree(model, (x, keep))
    assert agreement.predicted.degree == Degree.exact(2) and agreement.passed, str(agreement)
    # negative control: read as a degree-0 term, the mask makes the prediction asymptotic
    monkeypatch.setattr(DegreeInterpreter, "is_mask", lambda self, o: False)
    wrong = predict_degree(model, inputs=(x, keep))
    assert wrong.degree.kind == "asymptotic"
    assert DegreeAgreement(wrong, agreement.measured).outcome == "disagree"


def test_a_mask_computed_from_theta_is_a_mask_and_not_a_constant():
    """keep = the row's maximal scores (a scale-invariant comparison) or the causal part:
    where(keep, 0, −∞) depends on θ (not a constant) but is the same at every ρ, so it is
    still a mask, and the masked max is exactly 2-homogeneous."""

    class ThetaMask(MaskedMax):
        def forward(self, x, causal):
            h = x @ self.w
            scores = h @ h.transpose(-1, -2)
            keep = (scores >= scores.amax(-1, keepdim=True)) | causal
            mask = torch.where(keep, 0.0, float("-inf"))
            return (scores + mask).amax(-1)

    x = torch.randn(2, 3, 4, dtype=torch.float64, generator=gen(1))
    causal = torch.ones(2, 3, 3, dtype=torch.bool).tril()
    model = ThetaMask("x")
    agreement = check_degree(model, (x, causal))
    assert agreement.predicted.degree == Degree.exact(2) and agreement.passed, str(agreement)
    # the indicator of the same condition, as a factor: θ-dependent, of exact degree 0
    indicator = trace_degree(
        lambda s, t: torch.where(s > 0, 1.0, 0.0) * t,
        [torch.randn(3, dtype=torch.float64), torch.randn(3, dtype=torch.float64)],
        [2, 1],
    )
    assert indicator.degree == Degree.exact(1)


def test_a_large_but_finite_additive_term_is_not_a_mask():
    """−1e4 (old BERT masks) is a degree-0 term that c²·scores outgrow: not a mask."""
    x = torch.randn(2, 3, 4, dtype=torch.float64, generator=gen(1))
    keep = torch.ones(2, 3, 3, dtype=torch.bool).tril()

    class OldMask(MaskedMax):
        def forward(self, x, keep):
            h = x @ self.w
            return (h @ h.transpose(-1, -2) + (1.0 - keep.double()) * -1e4).amax(-1)

    assert predict_degree(OldMask("x"), inputs=(x, keep)).degree.kind == "asymptotic"


# -- no prediction ----------------------------------------------------------------------------


class Det(nn.Module):
    def forward(self, w):
        return torch.linalg.det(w)


class WithDet(nn.Module):
    """det(W X): exactly 3-homogeneous in W, through an op without a degree rule."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(3, 3, dtype=torch.float64, generator=gen()))
        self.det = Det()

    def forward(self, x):
        return self.det(self.w @ x).reshape(1)


def test_an_op_without_a_rule_gives_no_prediction_never_a_disagreement():
    x = torch.randn(3, 3, dtype=torch.float64, generator=gen(1))
    derivation = predict_degree(WithDet(), inputs=x)
    assert derivation.outcome == "no prediction" and not derivation.predicted
    assert derivation.missing.path == "det" and "det" in derivation.missing.op
    assert str(derivation).startswith("no prediction: no degree rule for aten.")
    agreement = check_degree(WithDet(), x)
    assert agreement.measured.kind == "exact" and agreement.measured.value == 3
    assert agreement.outcome == "no prediction" and agreement.undetermined
    assert not agreement.passed
    assert "DISAGREE" not in str(agreement) and "NO PREDICTION" in str(agreement)


def test_an_unpredicted_value_that_does_not_reach_the_output_is_harmless():
    class Side(WithDet):
        def forward(self, x):
            self.det(self.w @ x)  # computed, not used
            return (self.w @ x).sum(-1)

    x = torch.randn(3, 3, dtype=torch.float64, generator=gen(1))
    assert predict_degree(Side(), inputs=x).degree == Degree.exact(1)


def test_a_theta_dependent_python_number_gives_no_prediction():
    class ItemScale(WithDet):
        def forward(self, x):
            return x * float((self.w @ x).norm())  # the norm leaves the tensor world

    x = torch.randn(3, 3, dtype=torch.float64, generator=gen(1))
    derivation = predict_degree(ItemScale(), inputs=x)
    assert derivation.outcome == "no prediction"
    assert derivation.missing.op == "aten._local_scalar_dense"

    # negative control: a θ-free number read the same way is fine
    class DataScale(WithDet):
        def forward(self, x):
            return (self.w @ x) * float(x.norm())

    assert predict_degree(DataScale(), inputs=x).degree == Degree.exact(1)


# -- register_rule on a foreign model -----------------------------------------------------


def test_register_rule_overrides_the_engine_for_a_foreign_module():
    model, kwargs = nano_gpt()
    ref = DegreeAgreement(predict_degree(model, kwargs=kwargs), measured(model, kwargs=kwargs))
    assert ref.passed, str(ref)

    @register_rule(MLP)
    def _right(m, d, ctx):  # c_fc: +1, GeLU: approximate, c_proj: +1
        return ctx.record("MLP (declared)", d, Degree.approximate(d.value + 2))

    try:
        derivation = predict_degree(model, kwargs=kwargs)
        assert [s.path for s in derivation.steps if s.rule == "MLP (declared)"] == [
            "h.0.mlp",
            "h.1.mlp",
        ]
        assert kvo(derivation.degree) == kvo(ref.predicted.degree)
        assert DegreeAgreement(derivation, ref.measured).passed
        # a wrong declaration (a ρ^-1 error term in the MLP) is caught by the measurement
        register_rule(MLP)(
            lambda m, d, ctx: ctx.record("MLP (wrong)", d, Degree.asymptotic(d.value + 2, 1))
        )
        wrong = predict_degree(model, kwargs=kwargs)
        assert DegreeAgreement(wrong, ref.measured).outcome == "disagree"
    finally:
        unregister_rule(MLP)


# -- every op rule, with a negative control ---------------------------------------------------


class OpCase(nn.Module):
    """a = x Wᵀ and b = x Vᵀ have degree 1 in (W, V); ``fn(a, b, x, self)`` uses one op
    of the rule under test."""

    def __init__(self, fn) -> None:
        super().__init__()
        g = gen(0)
        self.w = nn.Parameter(torch.randn(4, 4, dtype=torch.float64, generator=g) / 2)
        self.v = nn.Parameter(torch.randn(4, 4, dtype=torch.float64, generator=g) / 2)
        self.k = nn.Parameter(torch.randn(4, 4, 1, dtype=torch.float64, generator=g) / 2)
        self.fn = fn

    def forward(self, x):
        return self.fn(x @ self.w.T, x @ self.v.T, x, self)


def _write_into_zeros(a, b, x, m):
    buf = a.new_zeros(a.shape)
    buf[:, :1] = (a * b)[:, :1]  # degree 2 in one slice, exact zeros elsewhere
    return buf


def _cross_entropy(a, b, x, m):
    logits = a.reshape(-1, 4)
    target = torch.tensor([0, 1, 2, 3, 0, 1])
    return F.cross_entropy(logits, target, reduction="none")


#: first op of a rule row -> a case that runs through it
CASES = {
    "aten.view": lambda a, b, x, m: a.transpose(-1, -2).reshape(2, -1),
    "aten._to_copy": lambda a, b, x, m: a * (b > 0).to(a.dtype),
    "aten.copy": lambda a, b, x, m: torch.empty_like(a).copy_(a),
    "aten.native_dropout": lambda a, b, x, m: torch.ops.aten.native_dropout(a, 0.0, True)[0],
    "aten.zeros": _write_into_zeros,
    "aten.add": lambda a, b, x, m: a * b + a,
    "aten.where": lambda a, b, x, m: torch.where(x > 0, a, b),
    "aten.masked_fill": lambda a, b, x, m: a.masked_fill(x < 0, 0.0),
    "aten.cat": lambda a, b, x, m: torch.cat([a, b], -1),
    "aten.index_put": lambda a, b, x, m: a.index_put((torch.tensor([0]),), b[0:1]),
    "aten.constant_pad_nd": lambda a, b, x, m: F.pad(a, (1, 1)),
    "aten.maximum": lambda a, b, x, m: torch.maximum(a, b),
    "aten.mul": lambda a, b, x, m: a * b,
    "aten.div": lambda a, b, x, m: a / b.abs().sum(-1, keepdim=True),
    "aten.addmm": lambda a, b, x, m: torch.addmm((a * b).reshape(-1, 4), a.reshape(-1, 4), m.v),
    "aten.convolution": lambda a, b, x, m: F.conv1d(a.transpose(1, 2), m.k),
    "aten.pow": lambda a, b, x, m: a.pow(3),
    "aten.neg": lambda a, b, x, m: (-a).sum(-1),
    "aten.max": lambda a, b, x, m: a.max(-1).values,
    "aten.argmax": lambda a, b, x, m: a * torch.sign(b),
    "aten.var": lambda a, b, x, m: a.var(-1),
    "aten.relu": lambda a, b, x, m: torch.relu(a),
    "aten.clamp": lambda a, b, x, m: torch.clamp(a, min=0),
    "aten.gelu": lambda a, b, x, m: F.gelu(a),
    "aten.sigmoid": lambda a, b, x, m: torch.sigmoid(a),
    "aten._log_softmax": lambda a, b, x, m: F.log_softmax(a, -1),
    "aten.exp": lambda a, b, x, m: torch.exp(a / a.norm(dim=-1, keepdim=True)),
    "aten.eq": lambda a, b, x, m: a * (b > 0),
    "aten.logical_not": lambda a, b, x, m: a * ((b > 0) & (x > 0)),
    "aten.index": lambda a, b, x, m: a[:, torch.tensor([0, 2])],
    "aten.nll_loss_forward": _cross_entropy,
    "aten.native_layer_norm": lambda a, b, x, m: F.layer_norm(a, (4,), eps=0.0),
    "aten.native_group_norm": lambda a, b, x, m: F.group_norm(a, 1, eps=0.0),
    "aten.native_batch_norm": lambda a, b, x, m: F.batch_norm(
        a.transpose(1, 2), torch.zeros(4, dtype=a.dtype), torch.ones(4, dtype=a.dtype), eps=0.0
    ),
    "aten._scaled_dot_product_flash_attention_for_cpu": lambda a, b, x, m: (
        torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(a[None], b[None], a[None])[0]
    ),
}

#: the same mathematics without the fused kernel, where the fused op has no forward-mode AD
#: (the Euler part of the measurement needs it)
MEASURED_AS = {
    "aten._scaled_dot_product_flash_attention_for_cpu": lambda a, b, x, m: (
        F.scaled_dot_product_attention(a[None], b[None], a[None])
    ),
}


def shifted(rule: OpRule) -> OpRule:
    """A wrong rule: every output one degree higher (and never a constant)."""

    def shift(td: TensorDegree) -> TensorDegree:
        d = td.degree
        return TensorDegree(d if d.value is None else d.with_value(d.value + 1))

    def apply(call):
        out = rule.apply(call)
        return shift(out) if isinstance(out, TensorDegree) else tuple(map(shift, out))

    return dataclasses.replace(rule, apply=apply)


def test_every_rule_row_has_a_case():
    assert sorted(CASES) == sorted(r.ops[0] for r in rule_table())


@pytest.mark.parametrize("row", list(CASES))
def test_op_rule_matches_the_measurement_and_a_wrong_rule_does_not(row, monkeypatch):
    x = torch.randn(2, 3, 4, dtype=torch.float64, generator=gen(1))
    model = OpCase(CASES[row])
    twin = OpCase(MEASURED_AS.get(row, CASES[row]))
    agreement = DegreeAgreement(predict_degree(model, inputs=x), measured(twin, x))
    assert agreement.passed, f"{row}\n{agreement}\n{agreement.predicted}"
    rule = OP_RULES[row]
    for op in rule.ops:
        monkeypatch.setitem(OP_RULES, op, shifted(rule))
    wrong = predict_degree(model, inputs=x)
    assert DegreeAgreement(wrong, agreement.measured).outcome == "disagree", row


def test_trace_degree_applies_one_rule():
    a, b = torch.randn(3, dtype=torch.float64), torch.randn(3, dtype=torch.float64)
    assert trace_degree(torch.mul, [a, b], [1, 2]).degree == Degree.exact(3)
    assert kvo(trace_degree(torch.add, [a, b], [1, 3]).degree) == ("asymptotic", 3.0, 2.0)
    assert trace_degree(torch.relu, [a], [Degree.approximate(2)]).degree.kind == "approximate"
    assert trace_degree(torch.lgamma, [a], [1]).outcome == "no prediction"


def test_rotary_tables_are_constants():
    """cos/sin of θ-free positions are constants; of a θ-dependent angle, no degree."""
    pos = torch.arange(4.0, dtype=torch.float64)[:, None] * torch.ones(1, 4, dtype=torch.float64)
    a = torch.randn(4, 4, dtype=torch.float64)
    rotary = trace_degree(
        lambda q, p: q * torch.cos(p) + q.flip(-1) * torch.sin(p), [a, pos], [1, 0]
    )
    assert rotary.degree == Degree.exact(1)
    angle = trace_degree(torch.cos, [a], [1])
    assert angle.degree.kind == "none" and "cos" in angle.degree.reason


# -- the docs ------------------------------------------------------------------------------------


def test_docs_table_is_the_generated_one_and_covers_every_registered_op():
    text = DOCS.read_text(encoding="utf-8")
    assert rule_table_markdown() in text, "regenerate: python -m homogeneity.degree_engine"
    listed = {
        op.strip("` ")
        for line in rule_table_markdown().splitlines()[2:]
        for op in line.split("|")[1].split(",")
    }
    assert listed == {op.removeprefix("aten.") for op in OP_RULES}
    assert len(listed) > 100


def test_trace_degree_refuses_one_tensor_with_two_degrees():
    a = torch.randn(3, dtype=torch.float64)
    with pytest.raises(HomogeneityInputError, match="same tensor twice"):
        trace_degree(torch.mul, [a, a], [1, 2])
    assert trace_degree(torch.mul, [a, a.clone()], [1, 2]).degree == Degree.exact(3)


def test_inputs_of_a_wrong_kind_get_the_checks_clear_errors():
    from homogeneity.components import Linear

    model = nn.Sequential(Linear(4, 3, bias=False, dtype=torch.float64))
    with pytest.raises(HomogeneityInputError, match=r"inputs\[0\] has integer dtype.*in module"):
        predict_degree(model, inputs=torch.tensor([[1, 2, 3, 0]]))
    with pytest.raises(HomogeneityInputError, match=r"inputs\[0\] is a list"):
        predict_degree(model, inputs=[torch.ones(1, 4, dtype=torch.float64)])
    # negative control: the right kind runs
    assert predict_degree(model, inputs=torch.ones(1, 4)).degree == Degree.exact(1)
