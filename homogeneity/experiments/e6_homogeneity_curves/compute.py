"""E6: how close a randomly initialised transformer is to its saturated direction.

For a model f with parameters θ and a fixed input x the curve is

    s(c) = mean over tokens t of cos(f_t(x; cθ), f_t(x; 1000·θ)),   c = 1, 2, …, 10,

with every parameter scaled (the paper's choice), per layer; the last layer is f.
:func:`cosine_curve` computes it for any :class:`~homogeneity.adapters.ModelAdapter`;
:func:`run_curves` runs the experiment (one encoder per placement, same input) and returns
:class:`HomogeneityCurves`.

What "pre-norm" meant in that experiment is not certain: the theory's pre-norm is
X + LN(F(X)) (``paper-prenorm``, SPEC D13), the usual implementation is X + F(LN(X))
(``pre-ln``); both are computed. The architecture defaults to the paper's small LMs of E2
(d_model 768, feed-forward 512, 12 heads, 12 layers, causal); the initialisation is a
choice the paper does not pin down, so three are offered (``init``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from tqdm import tqdm

from homogeneity.adapters import Batch, EncoderAdapter, ModelAdapter
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
from homogeneity.constants import NORM_EPS
from homogeneity.errors import HomogeneityInputError
from homogeneity.saturation import PAPER_RHO, mean_token_cosine
from homogeneity.validation import check_positive_scales

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


@dataclass(frozen=True)
class HomogeneityCurves:
    """The result of :func:`run_curves`: one curve per placement, all on one input."""

    setup: CurveSetup
    curves: tuple[CosineCurve, ...]

    @property
    def reference(self) -> float:
        return self.curves[0].reference if self.curves else PAPER_RHO


def run_curves(
    setup: CurveSetup,
    placements: Sequence[str] = PLACEMENTS,
    cs: Sequence[float] = DEFAULT_CS,
    reference: float = PAPER_RHO,
    progress: bool | None = None,
) -> HomogeneityCurves:
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
    return HomogeneityCurves(setup, tuple(curves))
