"""E6: how close a randomly initialised transformer is to its saturated direction.

For a model f with parameters θ and a fixed input x the curve is

    s(c) = mean over tokens t of cos(f_t(x; cθ), f_t(x; 1000·θ)),   c = 1, 2, …, 10,

with every parameter scaled (the paper's choice), per layer; the last layer is f. The
paper (SPEC E6) reports, for random-init 12-layer models, pre-norm 0.73 → 0.96 and
post-norm 0.08 → 0.97 over c = 1..10.

What "pre-norm" meant in that experiment is not certain: the theory's pre-norm is
X + LN(F(X)) (``paper-prenorm``, SPEC D13), the usual implementation is X + F(LN(X))
(``pre-ln``); both are computed. The architecture defaults to the paper's small LMs of E2
(d_model 768, feed-forward 512, 12 heads, 12 layers, causal); the initialisation is a
choice the paper does not pin down, so three are offered (``--init``).

Run ``python -m homogeneity.experiments.homogeneity_curves`` or ``homogeneity curves``
(``--help`` for options).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from homogeneity.adapters import Batch, EncoderAdapter, ModelAdapter
from homogeneity.cli.parser import OneLineParser
from homogeneity.components import (
    PLACEMENTS,
    Embedding,
    Encoder,
    EncoderConfig,
    LayerNorm,
    Linear,
    ProofLayerNorm,
    RMSNorm,
)
from homogeneity.components.init import normal_, uniform_
from homogeneity.components.norms import NORMS
from homogeneity.constants import NORM_EPS
from homogeneity.errors import HomogeneityInputError
from homogeneity.saturation import PAPER_RHO, mean_token_cosine
from homogeneity.validation import check_positive_scales

#: the paper's numbers (SPEC E6): cosine at c = 1 and at c = 10
PAPER_E6: dict[str, tuple[float, float]] = {"pre-norm": (0.73, 0.96), "post-norm": (0.08, 0.97)}
#: which of the paper's two curves each placement is compared with
PAPER_CURVE_FOR: dict[str, str] = {
    "paper-prenorm": "pre-norm",
    "pre-ln": "pre-norm",
    "postnorm": "post-norm",
}
INITS = ("torch", "bert", "components")
DEFAULT_CS: tuple[float, ...] = tuple(float(c) for c in range(1, 11))


# -- initialisations -------------------------------------------------------------------


def initialise(encoder: Encoder, scheme: str, generator: torch.Generator) -> Encoder:
    """Re-draw ``encoder``'s parameters in place with a named scheme and return it.

    * ``torch``: PyTorch's defaults: linear weights and biases U(±1/√d_in), embeddings
      N(0, 1), norm gains 1 and biases 0;
    * ``bert``: Hugging Face/BERT: linear and embedding weights N(0, 0.02²), biases 0,
      gains 1 (with zero biases the model equals its bias-free version at this θ);
    * ``components``: the package's own (weights N(0, 1/d_in), biases N(0, 0.1²),
      embeddings N(0, 1), gains 1 + N(0, 0.1²)), as built: nothing is re-drawn.
    """
    if scheme not in INITS:
        raise HomogeneityInputError(f"init={scheme!r} is unknown; pick one of {INITS}")
    if scheme == "components":
        return encoder
    with torch.no_grad():
        for module in encoder.modules():
            if isinstance(module, Linear):
                d_in = module.weight.shape[1]
                if scheme == "torch":
                    bound = 1.0 / math.sqrt(d_in)
                    uniform_(module.weight, -bound, bound, generator)
                    if module.bias is not None:
                        uniform_(module.bias, -bound, bound, generator)
                else:
                    normal_(module.weight, 0.0, 0.02, generator)
                    if module.bias is not None:
                        module.bias.zero_()
            elif isinstance(module, Embedding):
                normal_(module.weight, 0.0, 1.0 if scheme == "torch" else 0.02, generator)
            elif isinstance(module, (LayerNorm, ProofLayerNorm, RMSNorm)):
                if module.weight is not None:
                    module.weight.fill_(1.0)
                if module.bias is not None:
                    module.bias.zero_()
    return encoder


# -- the curve -------------------------------------------------------------------------


@dataclass(frozen=True)
class CosineCurve:
    """s(c) for one model: ``layers[i][l]`` is the token-mean cosine of layer l at cs[i]
    (layer 0 the embedding output); ``final`` the last layer's."""

    name: str
    cs: tuple[float, ...]
    reference: float
    layers: tuple[tuple[float, ...], ...]

    @property
    def final(self) -> tuple[float, ...]:
        return tuple(row[-1] for row in self.layers)


def cosine_curve(
    adapter: ModelAdapter,
    batch: Batch,
    cs: Sequence[float] = DEFAULT_CS,
    reference: float = PAPER_RHO,
    *,
    name: str = "",
    dtype: torch.dtype = torch.float64,
    progress: tqdm | None = None,
) -> CosineCurve:
    """cos(f(x; cθ), f(x; reference·θ)) averaged over the real tokens, per layer, per c.

    Works for any :class:`~homogeneity.adapters.ModelAdapter` (our encoders, ported
    checkpoints, any module through ``FunctionAdapter``). The caller's module is not
    modified. ``progress`` (a tqdm bar) is advanced once per evaluation.
    """
    cs = check_positive_scales(cs, "cs")
    (reference,) = check_positive_scales([reference], "reference")
    ray = adapter.ray(batch, dtype=dtype)
    mask = batch.padding_mask.to(adapter.device)

    def evaluate(c: float) -> tuple[torch.Tensor, ...]:
        states = ray(c).hidden_states
        if progress is not None:
            progress.update()
        return states

    target = evaluate(reference)
    rows = []
    for c in cs:
        states = evaluate(c)
        rows.append(
            tuple(
                mean_token_cosine(a, b, mask, where=f"at layer {layer}, c={c:g}")
                for layer, (a, b) in enumerate(zip(states, target, strict=True))
            )
        )
    return CosineCurve(name, tuple(cs), reference, tuple(rows))


# -- the experiment --------------------------------------------------------------------


@dataclass(frozen=True)
class CurveSetup:
    """Everything that fixes one run of the experiment (except the placement)."""

    layers: int = 12
    d_model: int = 768
    heads: int = 12
    d_ff: int = 512
    vocab: int = 1000
    norm: str = "layernorm"
    eps: float | None = None
    bias: bool = True
    activation: str = "relu"
    causal: bool = True
    init: str = "torch"
    batch: int = 4
    seq_len: int = 16
    seed: int = 0

    def config(self, placement: str) -> EncoderConfig:
        return EncoderConfig(
            vocab_size=self.vocab,
            d_model=self.d_model,
            n_heads=self.heads,
            d_ff=self.d_ff,
            n_layers=self.layers,
            max_len=max(self.seq_len, 16),
            placement=placement,
            norm=self.norm,
            norm_eps=self.eps,
            bias=self.bias,
            activation=self.activation,
            causal=self.causal,
        )

    def model(self, placement: str) -> Encoder:
        g = torch.Generator().manual_seed(self.seed)
        encoder = Encoder(self.config(placement), dtype=torch.float64, generator=g)
        return initialise(encoder, self.init, g).eval()

    def inputs(self) -> Batch:
        g = torch.Generator().manual_seed(self.seed + 1)
        return Batch.from_ids(torch.randint(0, self.vocab, (self.batch, self.seq_len), generator=g))

    def describe(self) -> str:
        default_eps = NORM_EPS
        norm = (
            self.norm
            if self.norm == "proof"
            else (f"{self.norm} ε={self.eps if self.eps is not None else default_eps[self.norm]:g}")
        )
        return (
            f"{self.layers} layers, d_model {self.d_model}, {self.heads} heads, d_ff "
            f"{self.d_ff}, {self.activation}, {norm}, {'with' if self.bias else 'no'} "
            f"biases, {'causal' if self.causal else 'bidirectional'}, init {self.init}; "
            f"input {self.batch} × {self.seq_len} random token ids (seed {self.seed})"
        )


def run_curves(
    setup: CurveSetup,
    placements: Sequence[str] = PLACEMENTS,
    cs: Sequence[float] = DEFAULT_CS,
    reference: float = PAPER_RHO,
    progress: bool | None = None,
) -> list[CosineCurve]:
    """One curve per placement, on the same input."""
    unknown = [p for p in placements if p not in PLACEMENTS]
    if unknown:
        raise HomogeneityInputError(f"placements {unknown} are unknown; pick from {PLACEMENTS}")
    batch = setup.inputs()
    curves = []
    with tqdm(
        total=len(placements) * (len(cs) + 1),
        desc="E6 curves",
        unit="forward",
        disable=None if progress is None else not progress,
    ) as bar:
        for placement in placements:
            adapter = EncoderAdapter(setup.model(placement))
            curves.append(cosine_curve(adapter, batch, cs, reference, name=placement, progress=bar))
    return curves


def format_curves(setup: CurveSetup, curves: Sequence[CosineCurve]) -> str:
    """The table of s(c) per placement, with the paper's numbers under it."""
    ref = curves[0].reference if curves else PAPER_RHO
    lines = [
        f"E6: mean over tokens of cos(f(x; cθ), f(x; {ref:g}θ)), last layer, all parameters scaled",
        f"model: {setup.describe()}",
        "",
    ]
    lines.append(f"{'c':>6}  " + "  ".join(f"{c.name:>13}" for c in curves))
    for i, c in enumerate(curves[0].cs if curves else ()):
        lines.append(f"{c:>6g}  " + "  ".join(f"{cur.final[i]:>13.4f}" for cur in curves))
    lines.append("")
    for name, (lo, hi) in PAPER_E6.items():
        ours = [
            f"{cur.name} {cur.final[0]:.2f} → {cur.final[-1]:.2f}"
            for cur in curves
            if PAPER_CURVE_FOR[cur.name] == name
        ]
        lines.append(
            f"paper {name}: {lo:.2f} → {hi:.2f} (c = 1 → 10); here: "
            + ("; ".join(ours) or "not run")
        )
    return "\n".join(lines)


def curves_json(setup: CurveSetup, curves: Sequence[CosineCurve]) -> dict:
    return {
        "setup": asdict(setup),
        "paper": {k: list(v) for k, v in PAPER_E6.items()},
        "curves": [
            {
                "placement": c.name,
                "compared_with": PAPER_CURVE_FOR[c.name],
                "cs": list(c.cs),
                "reference": c.reference,
                "final": list(c.final),
                "layers": [list(row) for row in c.layers],
            }
            for c in curves
        ],
    }


def plot_curves(setup: CurveSetup, curves: Sequence[CosineCurve], path: str | Path) -> Path:
    """PNG: s(c) per placement, with the paper's endpoints as open markers."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(6.5, 4.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    colours = {"paper-prenorm": "tab:blue", "pre-ln": "tab:green", "postnorm": "tab:red"}
    for cur in curves:
        ax.plot(
            cur.cs, cur.final, "o-", ms=3.5, color=colours.get(cur.name), label=f"{cur.name} (ours)"
        )
    for name, (lo, hi), colour in (
        ("pre-norm", PAPER_E6["pre-norm"], "tab:blue"),
        ("post-norm", PAPER_E6["post-norm"], "tab:red"),
    ):
        ax.plot(
            [1, 10],
            [lo, hi],
            "s",
            mfc="none",
            ms=8,
            color=colour,
            label=f"paper {name} (reported at c = 1 and 10)",
        )
    ax.set_xlabel("c")
    ax.set_ylabel(f"cos(f(x; cθ), f(x; {curves[0].reference:g}θ))" if curves else "cosine")
    ax.set_ylim(min(-0.05, *(min(c.final) for c in curves)) if curves else -0.05, 1.05)
    ax.set_title("\n".join(_wrap(setup.describe(), 95)), fontsize=7)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    return path


def plot_file_name(setup: CurveSetup) -> str:
    """``e6-curves-L12-d768-layernorm-bias-causal-torch.png``: says which setup it shows."""
    return (
        f"e6-curves-L{setup.layers}-d{setup.d_model}-{setup.norm}-"
        f"{'bias' if setup.bias else 'nobias'}-{'causal' if setup.causal else 'bidir'}-"
        f"{setup.init}.png"
    )


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width)


# -- command line ----------------------------------------------------------------------


def build_parser(prog: str | None = None) -> OneLineParser:
    d = CurveSetup()
    p = OneLineParser(
        prog=prog,
        description="E6: cos(f(x; cθ), f(x; 1000θ)) for c = 1..10 on randomly "
        "initialised encoders in the three residual placements, against the paper's "
        "0.73 → 0.96 (pre-norm) and 0.08 → 0.97 (post-norm).",
    )
    p.add_argument("--placements", nargs="+", choices=PLACEMENTS, default=list(PLACEMENTS))
    p.add_argument("--layers", type=_positive_int, default=d.layers)
    p.add_argument("--d-model", type=_positive_int, default=d.d_model)
    p.add_argument("--heads", type=_positive_int, default=d.heads)
    p.add_argument("--d-ff", type=_positive_int, default=d.d_ff)
    p.add_argument("--vocab", type=_positive_int, default=d.vocab)
    p.add_argument(
        "--norm",
        choices=NORMS,
        default=d.norm,
        help="layernorm (default, ε=1e-5), rmsnorm (ε=1e-6) or proof (D9, no ε)",
    )
    p.add_argument("--eps", type=float, default=None, help="ε of layernorm/rmsnorm")
    p.add_argument("--bias", action=argparse.BooleanOptionalAction, default=d.bias)
    p.add_argument("--activation", choices=("relu", "gelu"), default=d.activation)
    p.add_argument("--causal", action=argparse.BooleanOptionalAction, default=d.causal)
    p.add_argument(
        "--init",
        choices=INITS,
        default=d.init,
        help="torch: PyTorch defaults (default); bert: N(0, 0.02²), zero biases; "
        "components: the package's own",
    )
    p.add_argument("--batch", type=_positive_int, default=d.batch)
    p.add_argument("--seq-len", type=_positive_int, default=d.seq_len)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument(
        "--cs",
        type=float,
        nargs="+",
        default=list(DEFAULT_CS),
        help="the scales c (default 1 2 … 10)",
    )
    p.add_argument(
        "--reference",
        type=float,
        default=PAPER_RHO,
        help="the scale of the reference direction (default 1000, as the paper)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--plot", metavar="DIR", help="write a PNG of the curves into DIR (named after the setup)"
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar (default: only when stderr is a terminal)",
    )
    return p


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be ≥ 1, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.norm == "proof" and args.eps is not None:
        raise HomogeneityInputError("--eps does not apply to --norm proof (D9 has no ε)")
    setup = CurveSetup(
        args.layers,
        args.d_model,
        args.heads,
        args.d_ff,
        args.vocab,
        args.norm,
        args.eps,
        args.bias,
        args.activation,
        args.causal,
        args.init,
        args.batch,
        args.seq_len,
        args.seed,
    )
    setup.config(args.placements[0])  # validate (e.g. heads dividing d_model) before work
    curves = run_curves(setup, args.placements, args.cs, args.reference, args.progress)
    if args.json:
        print(json.dumps(curves_json(setup, curves), indent=2))
    else:
        print(format_curves(setup, curves))
    if args.plot is not None:
        path = plot_curves(setup, curves, Path(args.plot) / plot_file_name(setup))
        print(f"plot: {path}", file=sys.stderr if args.json else sys.stdout)
    return 0


if __name__ == "__main__":
    from homogeneity.cli import main as cli_main  # one-line errors for user mistakes

    sys.exit(cli_main(["curves", *sys.argv[1:]]))
