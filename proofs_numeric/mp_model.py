"""High-precision mirror of :mod:`homogeneity.components`: the encoder of any
:class:`~homogeneity.components.EncoderConfig`, its sublayers and the classifier, in mpmath.

The weights are read from a torch module (float64 values convert exactly), so the two
implementations can be tested against each other on shared cases, and a parameter group
can be scaled by any ρ > 0, including ρ far beyond float64 overflow. Conventions follow
torch: rows are tokens, a linear map is y = x Wᵀ + b.

    E = tok[ids] + pos[0..n) (+ type[0])      (optional embedding norm)
    per layer: X ← Residual(MHA)(X); X ← Residual(FF)(X)   (placement of D13)
    optional final norm

Everything runs at the current mpmath precision (callers wrap it in ``workdps``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import mpmath
import torch
from torch import nn

from homogeneity.components import EncoderConfig
from homogeneity.constants import NORM_EPS
from homogeneity.errors import HomogeneityInputError

Matrix = list[list[Any]]
Vector = list[Any]


def tensor_to_lists(t: torch.Tensor) -> Any:
    """A float64 copy of a tensor as nested Python floats (exact)."""
    return t.detach().to(torch.float64).cpu().tolist()


@dataclass
class Weights:
    """Named parameters as nested float lists, and the scale applied to a selected group.

    ``scaled`` selects θ by glob patterns over the names (None: every parameter); reading
    a selected parameter multiplies it by ``rho``.
    """

    values: dict[str, Any]
    rho: Any = 1
    scaled: Sequence[str] | None = None

    @classmethod
    def from_module(cls, module: nn.Module) -> Weights:
        return cls({n: tensor_to_lists(p) for n, p in module.named_parameters()})

    def has(self, name: str) -> bool:
        return name in self.values

    def is_scaled(self, name: str) -> bool:
        return self.scaled is None or any(fnmatch.fnmatchcase(name, p) for p in self.scaled)

    def at(self, rho: Any, scaled: Sequence[str] | None = None) -> Weights:
        """The same weights on the ray point ρθ (θ the selected group)."""
        if scaled is not None:
            unknown = [p for p in scaled if not any(fnmatch.fnmatchcase(n, p) for n in self.values)]
            if unknown:
                raise HomogeneityInputError(
                    f"parameters={unknown} match no parameter; known names: {sorted(self.values)}"
                )
        return Weights(self.values, rho, scaled)

    def get(self, name: str) -> Any:
        if name not in self.values:
            raise HomogeneityInputError(
                f"no parameter named {name!r}; known: {sorted(self.values)}"
            )
        raw = self.values[name]
        factor = mpmath.mpf(self.rho) if self.is_scaled(name) else mpmath.mpf(1)
        if isinstance(raw[0], list):
            return [[factor * mpmath.mpf(v) for v in row] for row in raw]
        return [factor * mpmath.mpf(v) for v in raw]

    def maybe(self, name: str) -> Any:
        return self.get(name) if name in self.values else None


# -- primitives ---------------------------------------------------------------------------


def linear(x: Matrix, w: Matrix, b: Vector | None = None) -> Matrix:
    """Rows y_i = W x_i (+ b)."""
    out = [[mpmath.fdot(row, xi) for row in w] for xi in x]
    if b is not None:
        out = [[v + bj for v, bj in zip(row, b, strict=True)] for row in out]
    return out


def relu(z: Any) -> Any:
    return z if z > 0 else mpmath.mpf(0)


def gelu(z: Any) -> Any:
    return z * mpmath.ncdf(z)


def activation(name: str, saturated: bool) -> Callable[[Any], Any]:
    if name == "relu" or (name == "gelu" and saturated):
        return relu
    if name == "gelu":
        return gelu
    if name == "sigmoid":
        return (
            (lambda z: mpmath.mpf(1) if z > 0 else (mpmath.mpf(0) if z < 0 else mpmath.mpf(0.5)))
            if saturated
            else (lambda z: 1 / (1 + mpmath.exp(-z)))
        )
    if name == "tanh":
        return (lambda z: mpmath.mpf(mpmath.sign(z))) if saturated else mpmath.tanh
    raise HomogeneityInputError(f"activation={name!r} is unknown")


def norm_row(kind: str, x: Vector, eps: Any, gain: Vector | None, bias: Vector | None) -> Vector:
    """One token through a norm: ``proof`` (D9), ``layernorm`` or ``rmsnorm``."""
    n = len(x)
    if kind == "rmsnorm":
        ms = mpmath.fsum(v * v for v in x) / n + eps
        if ms == 0:
            raise HomogeneityInputError("RMS norm of a zero vector with eps = 0 is undefined")
        y = [v / mpmath.sqrt(ms) for v in x]
    else:
        mu = mpmath.fsum(x) / n
        c = [v - mu for v in x]
        sq = mpmath.fsum(v * v for v in c)
        if kind == "proof":
            if sq == 0:
                raise HomogeneityInputError(
                    "the layer norm of D9 met a constant vector (x − μ = 0): undefined here"
                )
            y = [v / mpmath.sqrt(sq) for v in c]
        elif kind == "layernorm":
            if sq == 0 and eps == 0:
                raise HomogeneityInputError("layer norm of a constant vector with eps = 0")
            y = [v / mpmath.sqrt(sq / n + eps) for v in c]
        else:
            raise HomogeneityInputError(f"norm={kind!r} is unknown")
    if gain is not None:
        y = [v * g for v, g in zip(y, gain, strict=True)]
    if bias is not None:
        y = [v + b for v, b in zip(y, bias, strict=True)]
    return y


def keep_mask(n: int, padding_mask: Sequence[bool] | None, causal: bool) -> list[list[bool]]:
    return [
        [
            (padding_mask is None or bool(padding_mask[j])) and (not causal or j <= i)
            for j in range(n)
        ]
        for i in range(n)
    ]


def softmax_row(s: Vector, keep: Sequence[bool], saturated: bool) -> Vector:
    vis = [j for j, k in enumerate(keep) if k]
    if not vis:
        raise HomogeneityInputError("a query row has every key masked")
    m = max(s[j] for j in vis)
    if saturated:
        winners = [j for j in vis if s[j] == m]
        return [
            mpmath.mpf(1) / len(winners) if j in winners else mpmath.mpf(0) for j in range(len(s))
        ]
    w = [mpmath.exp(s[j] - m) if keep[j] else mpmath.mpf(0) for j in range(len(s))]
    z = mpmath.fsum(w)
    return [v / z for v in w]


@dataclass
class AttentionTrace:
    """Per head: scores (n × n) and weights (n × n) of one attention sublayer."""

    scores: list[Matrix]
    weights: list[Matrix]


def multi_head_attention(
    x: Matrix,
    w: Weights,
    prefix: str,
    n_heads: int,
    d_head: int,
    keep: list[list[bool]],
    saturated: bool,
    trace: list[AttentionTrace] | None = None,
    output: bool = True,
) -> Matrix:
    """W^o [H₁; …; H_h] (+ b^o), the heads of D10 side by side (output=False: [H₁; …])."""
    q = linear(x, w.get(f"{prefix}.query.weight"), w.maybe(f"{prefix}.query.bias"))
    k = linear(x, w.get(f"{prefix}.key.weight"), w.maybe(f"{prefix}.key.bias"))
    v = linear(x, w.get(f"{prefix}.value.weight"), w.maybe(f"{prefix}.value.bias"))
    n = len(x)
    scale = mpmath.sqrt(d_head)
    heads = [[] for _ in range(n)]
    all_scores, all_weights = [], []
    for h in range(n_heads):
        sl = slice(h * d_head, (h + 1) * d_head)
        scores = [[mpmath.fdot(q[i][sl], k[j][sl]) / scale for j in range(n)] for i in range(n)]
        weights = [softmax_row(scores[i], keep[i], saturated) for i in range(n)]
        all_scores.append(scores)
        all_weights.append(weights)
        for i in range(n):
            heads[i].extend(
                mpmath.fdot(weights[i], [v[j][c] for j in range(n)])
                for c in range(sl.start, sl.stop)
            )
    if trace is not None:
        trace.append(AttentionTrace(all_scores, all_weights))
    if not output:
        return heads
    return linear(heads, w.get(f"{prefix}.output.weight"), w.maybe(f"{prefix}.output.bias"))


def feed_forward(x: Matrix, w: Weights, prefix: str, act: str, saturated: bool) -> Matrix:
    inner = linear(x, w.get(f"{prefix}.inner.weight"), w.maybe(f"{prefix}.inner.bias"))
    phi = activation(act, saturated)
    inner = [[phi(v) for v in row] for row in inner]
    return linear(inner, w.get(f"{prefix}.outer.weight"), w.maybe(f"{prefix}.outer.bias"))


class MpEncoder:
    """The encoder of ``cfg`` with weights ``weights``, in mpmath."""

    def __init__(self, cfg: EncoderConfig, weights: Weights) -> None:
        self.cfg = cfg
        self.w = weights
        self.d_head = cfg.d_head or cfg.d_model // cfg.n_heads

    @classmethod
    def from_torch(cls, encoder: nn.Module) -> MpEncoder:
        cfg = getattr(encoder, "config", None)
        if not isinstance(cfg, EncoderConfig):
            raise HomogeneityInputError("encoder must be a homogeneity.components.Encoder")
        return cls(cfg, Weights.from_module(encoder))

    def at(self, rho: Any, scaled: Sequence[str] | None = None) -> MpEncoder:
        return MpEncoder(self.cfg, self.w.at(rho, scaled))

    def _eps(self, saturated: bool) -> Any:
        if saturated or self.cfg.norm == "proof":
            return mpmath.mpf(0)
        default = NORM_EPS[self.cfg.norm]
        return mpmath.mpf(self.cfg.norm_eps if self.cfg.norm_eps is not None else default)

    def norm(self, x: Matrix, prefix: str, saturated: bool) -> Matrix:
        gain, bias = self.w.maybe(f"{prefix}.weight"), self.w.maybe(f"{prefix}.bias")
        return [norm_row(self.cfg.norm, row, self._eps(saturated), gain, bias) for row in x]

    def embed(self, ids: Sequence[int], saturated: bool = False) -> Matrix:
        if not ids:
            raise HomogeneityInputError("ids is empty; pass at least one token")
        tok = self.w.get("tokens.weight")
        x = [list(tok[i]) for i in ids]
        if self.w.has("positions.weight"):
            if len(ids) > self.cfg.max_len:
                raise HomogeneityInputError(f"ids longer than max_len={self.cfg.max_len}")
            pos = self.w.get("positions.weight")
            x = [[a + b for a, b in zip(row, pos[i], strict=True)] for i, row in enumerate(x)]
        if self.w.has("token_types.weight"):
            t0 = self.w.get("token_types.weight")[0]
            x = [[a + b for a, b in zip(row, t0, strict=True)] for row in x]
        if self.w.has("embedding_norm.weight") or self.cfg.embedding_norm:
            x = self.norm(x, "embedding_norm", saturated)
        return x

    def residual(
        self, x: Matrix, branch: Callable[[Matrix], Matrix], norm_prefix: str, saturated: bool
    ) -> Matrix:
        placement = self.cfg.placement
        if placement == "paper-prenorm":
            y = self.norm(branch(x), norm_prefix, saturated)
            return [
                [a + b for a, b in zip(r1, r2, strict=True)] for r1, r2 in zip(x, y, strict=True)
            ]
        if placement == "postnorm":
            y = branch(x)
            return self.norm(
                [[a + b for a, b in zip(r1, r2, strict=True)] for r1, r2 in zip(x, y, strict=True)],
                norm_prefix,
                saturated,
            )
        y = branch(self.norm(x, norm_prefix, saturated))
        return [[a + b for a, b in zip(r1, r2, strict=True)] for r1, r2 in zip(x, y, strict=True)]

    def run(
        self,
        ids: Sequence[int],
        padding_mask: Sequence[bool] | None = None,
        saturated: bool = False,
        trace: list[AttentionTrace] | None = None,
    ) -> Matrix:
        """Hidden states of the last layer (after the final norm), n × d_model."""
        cfg = self.cfg
        x = self.embed(ids, saturated)
        keep = keep_mask(len(ids), padding_mask, cfg.causal)
        for i in range(cfg.n_layers):
            pre = f"layers.{i}"
            x = self.residual(
                x,
                lambda z, pre=pre: multi_head_attention(
                    z,
                    self.w,
                    f"{pre}.attention.sublayer",
                    cfg.n_heads,
                    self.d_head,
                    keep,
                    saturated,
                    trace,
                ),
                f"{pre}.attention.norm",
                saturated,
            )
            x = self.residual(
                x,
                lambda z, pre=pre: feed_forward(
                    z, self.w, f"{pre}.feedforward.sublayer", cfg.activation, saturated
                ),
                f"{pre}.feedforward.norm",
                saturated,
            )
        if cfg.final_norm:
            x = self.norm(x, "final_norm", saturated)
        return x


def classifier(
    encoder: MpEncoder,
    head: Weights,
    ids: Sequence[int],
    padding_mask: Sequence[bool] | None = None,
    pooling: str = "first",
    saturated: bool = False,
    prefix: str = "head.proj",
) -> Vector:
    """W pool(enc(ids)) (+ b): first-token or masked-mean pooling, then a linear map."""
    h = encoder.run(ids, padding_mask, saturated)
    if pooling == "first":
        pooled = h[0]
    else:
        rows = [r for j, r in enumerate(h) if padding_mask is None or padding_mask[j]]
        pooled = [mpmath.fsum(col) / len(rows) for col in zip(*rows, strict=True)]
    return linear([pooled], head.get(f"{prefix}.weight"), head.maybe(f"{prefix}.bias"))[0]
