"""The transformer of :mod:`homogeneity.components` at arbitrary precision, built only from
the primitives of this package: the attention head (D10), the multi-head sublayer, the
feed-forward sublayer, the residual placements (D13), the encoder of any
``EncoderConfig`` and the classifier.

Conventions follow torch: rows are tokens, a linear map is y = x Wᵀ + b, parameters are
named as in the torch modules (``layers.0.attention.sublayer.query.weight``). Weights are
nested lists of floats (exact in mpmath) held by :class:`Weights`, which also scales a
selected parameter group by any ρ > 0, including ρ far beyond float64 overflow.
Reading them from a torch module lives in :mod:`proofs_numeric.precision.torch_weights`
(the only module of this package that imports torch).

    E = tok[ids] + pos[0..n) (+ type[0])      (optional embedding norm)
    per layer: X ← Residual(MHA)(X); X ← Residual(FF)(X)   (placement of D13)
    optional final norm

Every public function takes ``digits`` (see :mod:`proofs_numeric.precision.context`).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import mpmath
from mpmath import mpf

from homogeneity.constants import NORM_EPS, NormKind, Placement
from homogeneity.errors import HomogeneityInputError
from proofs_numeric.precision.context import working_precision
from proofs_numeric.precision.convert import Matrix, Real, _matrix, _mpf, _positive, _row
from proofs_numeric.precision.linalg import _dot, _linear
from proofs_numeric.precision.norms import _normalise
from proofs_numeric.precision.scalar import _kernel
from proofs_numeric.precision.softmax_limits import _argmax, _softmax, _winners, visible_positions

MpMatrix = list[list[mpf]]
KeepMask = Sequence[Sequence[bool]]


class EncoderSpec(Protocol):
    """What the mpmath encoder reads from a configuration: the fields of
    :class:`homogeneity.components.EncoderConfig` (which satisfies this protocol)."""

    # read-only: a frozen dataclass (EncoderConfig) satisfies the protocol
    @property
    def d_model(self) -> int: ...
    @property
    def n_heads(self) -> int: ...
    @property
    def d_head(self) -> int | None: ...
    @property
    def n_layers(self) -> int: ...
    @property
    def max_len(self) -> int: ...
    @property
    def placement(self) -> str: ...
    @property
    def norm(self) -> str: ...
    @property
    def norm_eps(self) -> float | None: ...
    @property
    def activation(self) -> str: ...
    @property
    def embedding_norm(self) -> bool: ...
    @property
    def final_norm(self) -> bool: ...
    @property
    def causal(self) -> bool: ...


# -- weights ------------------------------------------------------------------------------


@dataclass
class Weights:
    """Named parameters as nested float lists, and the scale applied to a selected group.

    ``scaled`` selects θ by glob patterns over the names (None: every parameter); reading
    a selected parameter multiplies it by ``rho``.
    """

    values: Mapping[str, Any]
    rho: Real = 1
    scaled: Sequence[str] | None = None

    def has(self, name: str) -> bool:
        return name in self.values

    def is_scaled(self, name: str) -> bool:
        return self.scaled is None or any(fnmatch.fnmatchcase(name, p) for p in self.scaled)

    def at(self, rho: Real, scaled: Sequence[str] | None = None) -> Weights:
        """The same weights on the ray point ρθ (θ the selected group)."""
        if scaled is not None:
            unknown = [p for p in scaled if not any(fnmatch.fnmatchcase(n, p) for n in self.values)]
            if unknown:
                raise HomogeneityInputError(
                    f"parameters={unknown} match no parameter; known names: {sorted(self.values)}"
                )
        return Weights(self.values, rho, scaled)

    def _read(self, name: str) -> Any:
        if name not in self.values:
            raise HomogeneityInputError(
                f"no parameter named {name!r}; known: {sorted(self.values)}"
            )
        raw = self.values[name]
        factor = _positive(self.rho, "rho") if self.is_scaled(name) else mpf(1)
        if isinstance(raw[0], (list, tuple)):
            return [[factor * v for v in row] for row in _matrix(raw, name)]
        return [factor * v for v in _row(raw, name)]

    def _maybe(self, name: str) -> Any:
        return self._read(name) if name in self.values else None

    def get(self, name: str, digits: int | None = None) -> Any:
        """The parameter ``name`` at the ray point (ρ·value if it is selected), in mpfs."""
        with working_precision(digits):
            return self._read(name)

    def maybe(self, name: str, digits: int | None = None) -> Any:
        """:meth:`get`, or None when there is no such parameter (an absent bias)."""
        with working_precision(digits):
            return self._maybe(name)

    def squared_norm(self, digits: int | None = None) -> mpf:
        """‖θ‖² over every parameter at the current scale."""
        with working_precision(digits):
            total = mpf(0)
            for name in self.values:
                v = self._read(name)
                rows = v if isinstance(v[0], list) else [v]
                total += mpmath.fsum(x * x for row in rows for x in row)
            return total


# -- attention ----------------------------------------------------------------------------


def attention_keep(
    n: int, causal: bool = False, padding: Sequence[bool] | None = None
) -> list[list[bool]]:
    """``keep[i][j]``: may query i attend to key j (padding: True = real token)."""
    if padding is not None and len(padding) != n:
        raise HomogeneityInputError(f"padding has length {len(padding)}, expected {n}")
    return [
        [(padding is None or bool(padding[j])) and (not causal or j <= i) for j in range(n)]
        for i in range(n)
    ]


@dataclass(frozen=True)
class HeadOutput:
    """H (n × d_head rows), the attention weights A (n × n) and the scores S (n × n)."""

    h: MpMatrix
    weights: MpMatrix
    scores: MpMatrix


@dataclass
class AttentionTrace:
    """Per head: scores (n × n) and weights (n × n) of one attention sublayer."""

    scores: list[MpMatrix] = field(default_factory=list)
    weights: list[MpMatrix] = field(default_factory=list)


def _head(
    x: MpMatrix,
    q_w: MpMatrix,
    k_w: MpMatrix,
    v_w: MpMatrix,
    biases: tuple[Any, Any, Any],
    keep: KeepMask | None,
    saturated: bool,
) -> HeadOutput:
    q, k, v = (_linear(x, w, b) for w, b in zip((q_w, k_w, v_w), biases, strict=True))
    n = len(x)
    scale = mpmath.sqrt(len(q_w))
    scores = [[_dot(q[i], k[j]) / scale for j in range(n)] for i in range(n)]
    weights, h = [], []
    for i in range(n):
        vis = visible_positions(n, None if keep is None else list(keep[i]))
        a = _argmax(n, _winners(scores[i], vis)) if saturated else _softmax(scores[i], mpf(1), vis)
        weights.append(a)
        h.append([_dot(a, [v[j][c] for j in range(n)]) for c in range(len(v_w))])
    return HeadOutput(h, weights, scores)


def attention_head(
    x: Matrix,
    wq: Matrix,
    wk: Matrix,
    wv: Matrix,
    keep: KeepMask | None = None,
    saturated: bool = False,
    biases: tuple[Any, Any, Any] = (None, None, None),
    digits: int | None = None,
) -> HeadOutput:
    """SPEC D10 with rows as tokens (as in torch): Q_i = W^q x_i (+b^q), K_j = W^k x_j
    (+b^k), V_j = W^v x_j (+b^v), S_ij = Q_i·K_j/√d_head, A = softmax(S) row-wise over the
    visible keys (the generalised argmax if ``saturated``), H_i = Σ_j A_ij V_j."""
    with working_precision(digits):
        xs = _matrix(x, "x")
        q_w, k_w, v_w = _matrix(wq, "wq"), _matrix(wk, "wk"), _matrix(wv, "wv")
        d_model = len(xs[0])
        for name, w in (("wq", q_w), ("wk", k_w), ("wv", v_w)):
            if len(w[0]) != d_model:
                raise HomogeneityInputError(
                    f"{name} has {len(w[0])} columns but x has d_model={d_model}; pass a "
                    f"(d_head, d_model) matrix"
                )
        if len(q_w) != len(k_w):
            raise HomogeneityInputError("wq and wk must have the same number of rows (d_head)")
        bs = tuple(None if b is None else _row(b, "bias") for b in biases)
        return _head(xs, q_w, k_w, v_w, bs, keep, saturated)  # type: ignore[arg-type]


def _rows(m: Any, sl: slice) -> Any:
    return None if m is None else m[sl]


def _multi_head(
    x: MpMatrix,
    w: Weights,
    prefix: str,
    n_heads: int,
    d_head: int,
    keep: KeepMask | None,
    saturated: bool,
    trace: list[AttentionTrace] | None,
    output: bool,
) -> MpMatrix:
    names = ("query", "key", "value")
    mats = [w._read(f"{prefix}.{n}.weight") for n in names]
    biases = [w._maybe(f"{prefix}.{n}.bias") for n in names]
    heads: MpMatrix = [[] for _ in x]
    record = AttentionTrace()
    for h in range(n_heads):
        sl = slice(h * d_head, (h + 1) * d_head)
        out = _head(
            x,
            mats[0][sl],
            mats[1][sl],
            mats[2][sl],
            (_rows(biases[0], sl), _rows(biases[1], sl), _rows(biases[2], sl)),
            keep,
            saturated,
        )
        record.scores.append(out.scores)
        record.weights.append(out.weights)
        for i, row in enumerate(out.h):
            heads[i].extend(row)
    if trace is not None:
        trace.append(record)
    if not output:
        return heads
    return _linear(heads, w._read(f"{prefix}.output.weight"), w._maybe(f"{prefix}.output.bias"))


def multi_head_attention(
    x: Matrix,
    w: Weights,
    prefix: str,
    n_heads: int,
    d_head: int,
    keep: KeepMask | None = None,
    saturated: bool = False,
    trace: list[AttentionTrace] | None = None,
    output: bool = True,
    digits: int | None = None,
) -> MpMatrix:
    """W^o [H₁; …; H_h] (+ b^o): the heads of D10 side by side (``output=False``: [H₁; …]).

    Head h uses rows h·d_head … (h+1)·d_head − 1 of ``{prefix}.query/key/value.weight``
    (and biases), as :class:`homogeneity.components.MultiHeadAttention` does; ``trace``
    receives the scores and weights of every head."""
    with working_precision(digits):
        return _multi_head(
            _matrix(x, "x"), w, prefix, n_heads, d_head, keep, saturated, trace, output
        )


# -- feed-forward and residual ---------------------------------------------------------


def _feed_forward(x: MpMatrix, w: Weights, prefix: str, act: str, saturated: bool) -> MpMatrix:
    phi = _kernel(act, saturated)
    inner = _linear(x, w._read(f"{prefix}.inner.weight"), w._maybe(f"{prefix}.inner.bias"))
    inner = [[phi(v) for v in row] for row in inner]
    return _linear(inner, w._read(f"{prefix}.outer.weight"), w._maybe(f"{prefix}.outer.bias"))


def feed_forward(
    x: Matrix,
    w: Weights,
    prefix: str,
    activation: str = "relu",
    saturated: bool = False,
    digits: int | None = None,
) -> MpMatrix:
    """W^f act(W^i X + b^i) + b^f (the core of D12; ``saturated``: the limit activation)."""
    with working_precision(digits):
        return _feed_forward(_matrix(x, "x"), w, prefix, activation, saturated)


def _add(a: MpMatrix, b: MpMatrix) -> MpMatrix:
    return [[u + v for u, v in zip(r1, r2, strict=True)] for r1, r2 in zip(a, b, strict=True)]


def _residual(
    x: MpMatrix,
    branch: Callable[[MpMatrix], MpMatrix],
    norm: Callable[[MpMatrix], MpMatrix],
    placement: str,
) -> MpMatrix:
    if placement == Placement.PAPER_PRENORM:
        return _add(x, norm(branch(x)))
    if placement == Placement.POSTNORM:
        return norm(_add(x, branch(x)))
    if placement == Placement.PRE_LN:
        return _add(x, branch(norm(x)))
    raise HomogeneityInputError(
        f"placement={placement!r} is unknown; pick one of {list(Placement)}"
    )


def sublayer_with_norm(
    x: Matrix,
    w: Weights,
    branch: Callable[[MpMatrix, int], MpMatrix],
    norm_prefix: str | None,
    placement: str = Placement.PAPER_PRENORM,
    norm: str = NormKind.PROOF,
    eps: Real = 0,
    digits: int | None = None,
) -> MpMatrix:
    """One residual block of D13 around ``branch(X, digits)``: paper pre-norm X + N(F(X)),
    post-norm N(X + F(X)) or Pre-LN X + F(N(X)); N is the norm ``norm`` with the gain
    ``{norm_prefix}.weight`` and bias ``{norm_prefix}.bias`` where they exist (no gain
    when ``norm_prefix`` is None). D11's MSA and D12's FF are this block in the paper's
    placement."""
    with working_precision(digits) as d:
        xs = _matrix(x, "x")
        e = _mpf(eps, "eps")
        gain = None if norm_prefix is None else w._maybe(f"{norm_prefix}.weight")
        bias = None if norm_prefix is None else w._maybe(f"{norm_prefix}.bias")

        def apply_norm(z: MpMatrix) -> MpMatrix:
            return [_normalise(norm, row, e, gain, bias) for row in z]

        return _residual(xs, lambda z: branch(z, d), apply_norm, placement)


# -- the encoder and the classifier ------------------------------------------------------


class MpEncoder:
    """The encoder of ``cfg`` (any :class:`EncoderSpec`, e.g. an ``EncoderConfig``) with
    weights ``weights``, in mpmath."""

    def __init__(self, cfg: EncoderSpec, weights: Weights) -> None:
        self.cfg = cfg
        self.w = weights
        self.d_head = cfg.d_head or cfg.d_model // cfg.n_heads

    @classmethod
    def from_torch(cls, encoder: Any) -> MpEncoder:
        """The mpmath twin of a :class:`homogeneity.components.Encoder` (weights read in
        float64, exactly). Imports torch."""
        from proofs_numeric.precision.torch_weights import encoder_from_torch

        return encoder_from_torch(encoder)

    def at(self, rho: Real, scaled: Sequence[str] | None = None) -> MpEncoder:
        """The encoder at the ray point ρθ (θ: the parameters matching ``scaled``)."""
        return MpEncoder(self.cfg, self.w.at(rho, scaled))

    def _eps(self, saturated: bool) -> mpf:
        if saturated or self.cfg.norm == NormKind.PROOF:
            return mpf(0)
        eps = self.cfg.norm_eps
        return _mpf(NORM_EPS[self.cfg.norm] if eps is None else eps, "norm_eps")

    def _norm(self, x: MpMatrix, prefix: str, saturated: bool) -> MpMatrix:
        gain, bias = self.w._maybe(f"{prefix}.weight"), self.w._maybe(f"{prefix}.bias")
        e = self._eps(saturated)
        return [_normalise(self.cfg.norm, row, e, gain, bias) for row in x]

    def _embed(self, ids: Sequence[int], saturated: bool) -> MpMatrix:
        if not ids:
            raise HomogeneityInputError("ids is empty; pass at least one token")
        tok = self.w._read("tokens.weight")
        x = [list(tok[i]) for i in ids]
        if self.w.has("positions.weight"):
            if len(ids) > self.cfg.max_len:
                raise HomogeneityInputError(f"ids longer than max_len={self.cfg.max_len}")
            x = _add(x, self.w._read("positions.weight")[: len(ids)])
        if self.w.has("token_types.weight"):
            t0 = self.w._read("token_types.weight")[0]
            x = _add(x, [t0] * len(ids))
        if self.w.has("embedding_norm.weight") or self.cfg.embedding_norm:
            x = self._norm(x, "embedding_norm", saturated)
        return x

    def embed(
        self, ids: Sequence[int], saturated: bool = False, digits: int | None = None
    ) -> MpMatrix:
        """E = tok[ids] + pos (+ type 0), then the embedding norm if configured."""
        with working_precision(digits):
            return self._embed(ids, saturated)

    def _run(
        self,
        ids: Sequence[int],
        padding_mask: Sequence[bool] | None,
        saturated: bool,
        trace: list[AttentionTrace] | None,
    ) -> MpMatrix:
        cfg = self.cfg
        x = self._embed(ids, saturated)
        keep = attention_keep(len(ids), cfg.causal, padding_mask)
        for i in range(cfg.n_layers):
            pre = f"layers.{i}"

            def attention(z: MpMatrix, pre: str = pre) -> MpMatrix:
                return _multi_head(
                    z,
                    self.w,
                    f"{pre}.attention.sublayer",
                    cfg.n_heads,
                    self.d_head,
                    keep,
                    saturated,
                    trace,
                    True,
                )

            def feedforward(z: MpMatrix, pre: str = pre) -> MpMatrix:
                return _feed_forward(
                    z, self.w, f"{pre}.feedforward.sublayer", cfg.activation, saturated
                )

            def attention_norm(z: MpMatrix, pre: str = pre) -> MpMatrix:
                return self._norm(z, f"{pre}.attention.norm", saturated)

            def feedforward_norm(z: MpMatrix, pre: str = pre) -> MpMatrix:
                return self._norm(z, f"{pre}.feedforward.norm", saturated)

            x = _residual(x, attention, attention_norm, cfg.placement)
            x = _residual(x, feedforward, feedforward_norm, cfg.placement)
        if cfg.final_norm:
            x = self._norm(x, "final_norm", saturated)
        return x

    def run(
        self,
        ids: Sequence[int],
        padding_mask: Sequence[bool] | None = None,
        saturated: bool = False,
        trace: list[AttentionTrace] | None = None,
        digits: int | None = None,
    ) -> MpMatrix:
        """Hidden states of the last layer (after the final norm), n × d_model; ``trace``
        receives every attention sublayer's scores and weights."""
        with working_precision(digits):
            return self._run(ids, padding_mask, saturated, trace)


def classifier(
    encoder: MpEncoder,
    head: Weights,
    ids: Sequence[int],
    padding_mask: Sequence[bool] | None = None,
    pooling: str = "first",
    saturated: bool = False,
    prefix: str = "proj",
    digits: int | None = None,
) -> list[mpf]:
    """W pool(enc(ids)) (+ b): first-token or masked-mean pooling, then a linear map
    (:class:`homogeneity.components.ClassifierHead`, parameters ``{prefix}.weight/bias``)."""
    if pooling not in ("first", "mean"):
        raise HomogeneityInputError(f"pooling={pooling!r} must be 'first' or 'mean'")
    with working_precision(digits):
        h = encoder._run(ids, padding_mask, saturated, None)
        if pooling == "first":
            pooled = h[0]
        else:
            rows = [r for j, r in enumerate(h) if padding_mask is None or padding_mask[j]]
            pooled = [mpmath.fsum(col) / len(rows) for col in zip(*rows, strict=True)]
        return _linear([pooled], head._read(f"{prefix}.weight"), head._maybe(f"{prefix}.bias"))[0]


def parameter_norm(w: Weights, digits: int | None = None) -> mpf:
    """‖θ‖ over every parameter of ``w`` at its current scale."""
    with working_precision(digits) as d:
        return mpmath.sqrt(w.squared_norm(d))
