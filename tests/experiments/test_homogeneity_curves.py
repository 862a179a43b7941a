"""E6 homogeneity curves: cos(f(x; cθ), f(x; 1000θ)) per layer, for any adapter."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import torch
from torch import nn

from homogeneity import components as C
from homogeneity.adapters import Batch, EncoderAdapter, FunctionAdapter, Trace
from homogeneity.cli import main as cli_main
from homogeneity.experiments import e6_homogeneity_curves as E6
from homogeneity.saturation import saturation_level

TINY = [
    "--layers",
    "1",
    "--d-model",
    "8",
    "--heads",
    "2",
    "--d-ff",
    "16",
    "--vocab",
    "20",
    "--batch",
    "2",
    "--seq-len",
    "5",
    "--no-progress",
]


def tiny_setup(**kw) -> E6.CurveSetup:
    base: dict[str, Any] = dict(layers=2, d_model=8, heads=2, d_ff=16, vocab=20, batch=2, seq_len=5)
    base.update(kw)
    return E6.CurveSetup(**base)


class EmbedThenAffine(nn.Module):
    """h = W E[ids] + b: degree 2 plus degree 1 in θ = (E, W, b)."""

    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(3)
        self.emb = nn.Parameter(torch.randn(10, 4, generator=g, dtype=torch.float64))
        self.w = nn.Parameter(torch.randn(4, 4, generator=g, dtype=torch.float64))
        self.b = nn.Parameter(torch.randn(4, generator=g, dtype=torch.float64))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.emb[ids] @ self.w.T + self.b


def test_cosine_matches_the_closed_form_of_a_two_degree_sum():
    """f(cθ) = c² u + c b, so cos(f(cθ), f(Rθ)) = cos(c u + b, R u + b) token by token."""
    model = EmbedThenAffine()
    adapter = FunctionAdapter(
        model, arguments=lambda b: ((b.ids,), {}), trace=lambda out: Trace((out,))
    )
    ids = torch.tensor([[1, 2, 3], [4, 5, 6]])
    curve = E6.cosine_curve(adapter, Batch.from_ids(ids), cs=[1.0, 3.0, 10.0], reference=50.0)
    u, b = (model.emb[ids] @ model.w.T).detach(), model.b.detach()
    for c, got in zip(curve.cs, curve.final, strict=True):
        a, r = c * u + b, 50.0 * u + b
        expected = float(torch.nn.functional.cosine_similarity(a, r, dim=-1).mean())
        assert got == pytest.approx(expected, abs=1e-12)
    assert curve.final[0] < curve.final[-1] < 1.0  # a real curve, not a constant


def test_exactly_homogeneous_model_has_cosine_one_everywhere():
    """Negative control for the sum above: embeddings alone are exactly 1-homogeneous."""
    setup = tiny_setup(layers=0)
    curve = E6.cosine_curve(EncoderAdapter(setup.model("paper-prenorm")), setup.inputs())
    for row in curve.layers:
        assert all(v == pytest.approx(1.0, abs=1e-12) for v in row)


def test_reference_scale_gives_cosine_one_and_c1_is_the_saturation_level():
    setup = tiny_setup()
    encoder, batch = setup.model("postnorm"), setup.inputs()
    curve = E6.cosine_curve(EncoderAdapter(encoder), batch, cs=[1.0, 1000.0])
    assert curve.final[1] == pytest.approx(1.0, abs=1e-12)
    level = saturation_level(encoder, batch, rho=1000.0)
    assert curve.layers[0] == pytest.approx(level.layers, abs=1e-12)


def test_curve_never_modifies_the_model():
    setup = tiny_setup()
    encoder = setup.model("pre-ln")
    before = {n: p.detach().clone() for n, p in encoder.named_parameters()}
    E6.cosine_curve(EncoderAdapter(encoder), setup.inputs(), cs=[2.0])
    for n, p in encoder.named_parameters():
        assert torch.equal(before[n], p)


@pytest.mark.parametrize("scheme", E6.INITS)
def test_initialisations(scheme):
    g = torch.Generator().manual_seed(0)
    cfg = tiny_setup(d_model=64, d_ff=64, bias=True).config("postnorm")
    enc = E6.initialise(C.Encoder(cfg, dtype=torch.float64, generator=g), scheme, g)
    lin = enc.layers[0].feedforward.sublayer.inner.requires_grad_(False)
    norm = enc.layers[0].feedforward.norm.requires_grad_(False)
    enc.tokens.requires_grad_(False)
    if scheme == "bert":
        assert float(lin.weight.std()) == pytest.approx(0.02, rel=0.1)
        assert float(lin.bias.abs().max()) == 0.0
        assert float(enc.tokens.weight.std()) == pytest.approx(0.02, rel=0.2)
    elif scheme == "torch":
        bound = 1 / math.sqrt(64)
        assert float(lin.weight.abs().max()) <= bound
        assert float(lin.weight.std()) == pytest.approx(bound / math.sqrt(3), rel=0.1)
        assert float(enc.tokens.weight.std()) == pytest.approx(1.0, rel=0.2)
    if scheme != "components":
        assert torch.all(norm.weight == 1) and torch.all(norm.bias == 0)
    else:
        assert not torch.all(norm.weight == 1)


def test_unknown_initialisation_is_refused():
    g = torch.Generator().manual_seed(0)
    enc = C.Encoder(tiny_setup().config("postnorm"), dtype=torch.float64, generator=g)
    with pytest.raises(ValueError, match="init='xavier' is unknown"):
        E6.initialise(enc, "xavier", g)


def test_command_json_table_and_plot(tmp_path, capsys):
    assert cli_main(["curves", *TINY, "--json", "--plot", str(tmp_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [c["placement"] for c in out["curves"]] == ["paper-prenorm", "postnorm", "pre-ln"]
    assert all(
        len(c["final"]) == 10 and all(-1 <= v <= 1 for v in c["final"]) for c in out["curves"]
    )
    assert out["paper"] == {"pre-norm": [0.73, 0.96], "post-norm": [0.08, 0.97]}
    png = tmp_path / "e6-curves-L1-d8-layernorm-bias-causal-torch.png"
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert cli_main(["curves", *TINY, "--placements", "postnorm", "--cs", "1", "2"]) == 0
    text = capsys.readouterr().out
    assert "paper post-norm: 0.08 → 0.97" in text and "paper pre-norm" in text


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--heads", "3"], "not divisible"),
        (["--cs", "0"], "must be a finite number > 0"),
        (["--norm", "proof", "--eps", "0.1"], "--eps does not apply"),
        (["--placements", "sideways"], "invalid choice"),
    ],
)
def test_command_user_mistakes_are_one_line(extra, fragment, capsys):
    assert cli_main(["curves", *TINY, *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0] and "Traceback" not in err[0]


def test_figure_labels_the_papers_markers_as_12_layer_numbers():
    """The paper's markers are for 12-layer models: a 2-layer run says so; a 12-layer run
    needs no note."""
    two = E6.run_curves(tiny_setup(layers=2), ["postnorm"], cs=[1.0, 10.0], progress=False)
    ax = E6.curves_figure(two).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    paper = [label for label in labels if label.startswith("paper")]
    assert len(paper) == 2 and all("12 layers" in label for label in paper), labels
    assert "this run has 2 layers" in ax.get_title()
    twelve = E6.run_curves(tiny_setup(layers=12), ["postnorm"], cs=[1.0, 10.0], progress=False)
    assert "note" not in E6.curves_figure(twelve).axes[0].get_title()


def test_compute_returns_a_dataclass():
    import dataclasses

    result = E6.run_curves(tiny_setup(layers=1), ["pre-ln"], cs=[1.0], progress=False)
    assert dataclasses.is_dataclass(result) and result.curves[0].name == "pre-ln"
    assert E6.format_curves(result).startswith("E6: mean over tokens")
