"""The relative-form bound of T1*, layer by layer, for bias-free paper-pre-norm encoders
with the layer norm of D9 (the derivation is in ``docs/usage/t1_bound.md``).

*Rescaling.* With every parameter scaled by c, the embedding is c X₀, the scores of every
head c⁴ S and the values c² V; a bias-free linear map multiplies the degree, ReLU keeps
it, the ε-free LN removes it and the gain γ gives it back. So f(cθ)/c = Φ_{c⁴}(θ), the
same encoder at θ with every softmax taken at inverse temperature τ = c⁴ (the query
weights multiplied by τ). The saturated encoder Φ_∞(θ) (argmax attention) is exactly
1-homogeneous, and

    ‖f(cθ)_i/c − f(θ)_i‖ ≤ ‖Φ_{c⁴}(θ)_i − Φ_∞(θ)_i‖ + ‖Φ_1(θ)_i − Φ_∞(θ)_i‖ ≤ 2 δ_L

for all c ≥ 1, where δ_L bounds max_i ‖Φ_τ(θ)_i − Φ_∞(θ)_i‖ for every τ ≥ 1.

*One sublayer.* If the rows of its input satisfy ‖x̃_j − x_j‖ ≤ δ (x = the saturated
input), the two steps below bound the rows of the output; every bound is monotone
(increasing in δ, decreasing in τ), so running them at τ = 1 from δ₀ = 0 (the embedding
is exact) bounds every τ ≥ 1.

attention (P4* with a perturbed input, then L5*): per head h and query i, with visible
keys V_i, saturated scores S_i (maximisers M_i, gap γ_i), A_h = W^q_hᵀW^k_h/√d_head,
σ_i = ‖A_h‖₂ δ max_{j∈V_i}(‖x_i‖ + ‖x_j‖ + δ) (so |S̃_ij − S_ij| ≤ σ_i) and

    T_{h,i} = min(2, 2(|V_i|−|M_i|)/|M_i|·e^{−τγ_i})    if δ = 0,
              min(2, 2(|V_i|−1)·e^{−τ(γ_i − 2σ_i)})      if |M_i| = 1 and γ_i > 2σ_i,
              2                                         otherwise

(a bound on ‖softmax(τS̃_i) − argmax(S_i)‖₁), the head rows differ by at most
η_{h,i} = T_{h,i}(max_{j∈V_i}‖v_j‖ + ‖W^v_h‖₂δ) + ‖W^v_h‖₂δ, Z = W^o H by
ζ_i = ‖W^o‖₂ (Σ_h η_{h,i}²)^{1/2}, and

    δ′ = δ + ‖γ‖_∞ max_i min(2, 2ζ_i/‖Z_i − μ(Z_i)‖).

feed-forward (ReLU is 1-Lipschitz, then L5*): with v_i = W^f ReLU(W^i y_i),

    δ′ = δ + ‖γ‖_∞ max_i min(2, 2‖W^f‖₂‖W^i‖₂ δ/‖v_i − μ(v_i)‖).

The claims T1*.scale, T1*.attn and T1*.ff check the rescaling identity and the two steps;
T1* checks the composed bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import mpmath

from homogeneity.errors import HomogeneityInputError
from proofs_numeric.precision import (
    MpEncoder,
    Weights,
    argmax_set,
    attention_head,
    attention_keep,
    centre,
    feed_forward,
    layer_norm,
    linear,
    norm2,
    working_precision,
)

Rows = list[list[Any]]


def spectral_norm(m: Sequence[Sequence[Any]], digits: int) -> Any:
    """‖M‖₂, the largest singular value (mpmath's SVD at ``digits``)."""
    with working_precision(digits):
        values = mpmath.svd_r(mpmath.matrix([list(r) for r in m]), compute_uv=False)
        return max(abs(values[k]) for k in range(len(values)))


def _transpose(m: Sequence[Sequence[Any]]) -> Rows:
    return [list(col) for col in zip(*m, strict=True)]


def _matmul(a: Sequence[Sequence[Any]], b: Sequence[Sequence[Any]]) -> Rows:
    bt = _transpose(b)
    return [[mpmath.fdot(r, c) for c in bt] for r in a]


@dataclass(frozen=True)
class AttentionParts:
    """One attention sublayer of the paper's pre-norm: per-head W^q_h, W^k_h, W^v_h
    (d_head × d_model), W^o (d_model × n_heads·d_head) and the gain γ."""

    wq: list[Rows]
    wk: list[Rows]
    wv: list[Rows]
    wo: Rows
    gain: list[Any]

    @classmethod
    def read(
        cls, w: Weights, prefix: str, norm: str, n_heads: int, d_head: int, digits: int
    ) -> AttentionParts:
        def heads(name: str) -> list[Rows]:
            m = w.get(f"{prefix}.{name}.weight", digits)
            return [m[h * d_head : (h + 1) * d_head] for h in range(n_heads)]

        for name in ("query", "key", "value", "output"):
            if w.has(f"{prefix}.{name}.bias"):
                raise HomogeneityInputError(
                    f"{prefix}.{name} has a bias; the T1* bound is for bias-free encoders"
                )
        return cls(
            heads("query"),
            heads("key"),
            heads("value"),
            w.get(f"{prefix}.output.weight", digits),
            w.get(f"{norm}.weight", digits),
        )


@dataclass(frozen=True)
class FeedForwardParts:
    """One feed-forward sublayer: W^i (d_ff × d_model), W^f (d_model × d_ff), gain γ."""

    wi: Rows
    wf: Rows
    gain: list[Any]

    @classmethod
    def read(cls, w: Weights, prefix: str, norm: str, digits: int) -> FeedForwardParts:
        for name in ("inner", "outer"):
            if w.has(f"{prefix}.{name}.bias"):
                raise HomogeneityInputError(
                    f"{prefix}.{name} has a bias; the T1* bound is for bias-free encoders"
                )
        return cls(
            w.get(f"{prefix}.inner.weight", digits),
            w.get(f"{prefix}.outer.weight", digits),
            w.get(f"{norm}.weight", digits),
        )


def _gained_norm(z: Rows, gain: Sequence[Any], digits: int) -> Rows:
    """γ ⊙ LN(z) row-wise (LN of D9; raises where a row is constant)."""
    return [[g * v for g, v in zip(gain, layer_norm(row, digits), strict=True)] for row in z]


def _add(a: Rows, b: Rows) -> Rows:
    return [[u + v for u, v in zip(ra, rb, strict=True)] for ra, rb in zip(a, b, strict=True)]


def attention_branch(
    x: Rows, parts: AttentionParts, keep: Sequence[Sequence[bool]], tau: Any, digits: int
) -> tuple[Rows, list[Rows]]:
    """(Z, per-head scores): Z = W^o[H₁; …] with H_h = softmax(τ S_h) V_h (τ = None: the
    generalised argmax); the scores returned are the unscaled S_h."""
    with working_precision(digits) as d:
        heads: Rows = [[] for _ in x]
        scores = []
        for wq, wk, wv in zip(parts.wq, parts.wk, parts.wv, strict=True):
            q = wq if tau is None else [[tau * v for v in row] for row in wq]
            out = attention_head(x, q, wk, wv, keep, saturated=tau is None, digits=d)
            scale = 1 if tau is None else tau
            scores.append([[s / scale for s in row] for row in out.scores])
            for i, row in enumerate(out.h):
                heads[i].extend(row)
        return linear(heads, parts.wo, digits=d), scores


def attention_sublayer(
    x: Rows, parts: AttentionParts, keep: Sequence[Sequence[bool]], tau: Any, digits: int
) -> Rows:
    """X + γ ⊙ LN(W^o[H₁; …]) with softmax(τS) (τ = None: saturated)."""
    z, _ = attention_branch(x, parts, keep, tau, digits)
    return _add(x, _gained_norm(z, parts.gain, digits))


def ff_branch(y: Rows, parts: FeedForwardParts, digits: int) -> Rows:
    """W^f ReLU(W^i Y)."""
    w = Weights({"f.inner.weight": parts.wi, "f.outer.weight": parts.wf})
    return feed_forward(y, w, "f", "relu", digits=digits)


def ff_sublayer(y: Rows, parts: FeedForwardParts, digits: int) -> Rows:
    """Y + γ ⊙ LN(W^f ReLU(W^i Y))."""
    return _add(y, _gained_norm(ff_branch(y, parts, digits), parts.gain, digits))


def _ln_step(change: Any, spread: Any) -> Any:
    """min(2, 2·change/spread): ‖LN(a) − LN(b)‖ for ‖a − b‖ ≤ change, ‖b − μ(b)‖ = spread."""
    return min(mpmath.mpf(2), 2 * change / spread)


def softmax_l1_bound(
    scores: Sequence[Any], keep: Sequence[bool], sigma: Any, delta: Any, tau: Any, rate: Any = 1
) -> Any:
    """T: a bound on ‖softmax(τS̃) − argmax(S)‖₁ for every row S̃ with |S̃_j − S_j| ≤ σ on
    the visible positions (σ = 0 when δ = 0); ``rate`` ≠ 1 is the negative control."""
    vis = [j for j, k in enumerate(keep) if k]
    winners = argmax_set(list(scores), list(keep))
    top = scores[winners[0]]
    others = [scores[j] for j in vis if j not in winners]
    if not others:
        return mpmath.mpf(0) if delta == 0 else mpmath.mpf(2)
    gap = top - max(others)
    two = mpmath.mpf(2)
    if delta == 0:
        return min(
            two,
            2 * mpmath.mpf(len(vis) - len(winners)) / len(winners) * mpmath.exp(-rate * tau * gap),
        )
    if len(winners) == 1 and gap > 2 * sigma:
        return min(two, 2 * mpmath.mpf(len(vis) - 1) * mpmath.exp(-rate * tau * (gap - 2 * sigma)))
    return two


def attention_step_bound(
    x: Rows,
    delta: Any,
    parts: AttentionParts,
    keep: Sequence[Sequence[bool]],
    digits: int,
    tau: Any = 1,
    rate: Any = 1,
) -> Any:
    """δ′ ≥ max_i ‖A_τ(X̃)_i − A_∞(X)_i‖ for every X̃ with row distances ≤ δ from the
    saturated input X (formula in the module docstring)."""
    with working_precision(digits) as d:
        delta, tau = mpmath.mpf(delta), mpmath.mpf(tau)
        z, scores = attention_branch(x, parts, keep, None, d)
        row_norms = [norm2(r, d) for r in x]
        wo_norm = spectral_norm(parts.wo, d)
        per_head = []
        for h, (wq, wk, wv) in enumerate(zip(parts.wq, parts.wk, parts.wv, strict=True)):
            a_norm = spectral_norm(_matmul(_transpose(wq), wk), d) / mpmath.sqrt(len(wq))
            v_norm = spectral_norm(wv, d)
            values = linear(x, wv, digits=d)
            etas = []
            for i in range(len(x)):
                vis = [j for j in range(len(x)) if keep[i][j]]
                sigma = a_norm * delta * max(row_norms[i] + row_norms[j] + delta for j in vis)
                t = softmax_l1_bound(scores[h][i], keep[i], sigma, delta, tau, rate)
                v_max = max(norm2(values[j], d) for j in vis)
                etas.append(t * (v_max + v_norm * delta) + v_norm * delta)
            per_head.append(etas)
        worst = mpmath.mpf(0)
        for i in range(len(x)):
            zeta = wo_norm * mpmath.sqrt(mpmath.fsum(e[i] ** 2 for e in per_head))
            spread = norm2(centre(z[i], d), d)
            if spread == 0:
                raise HomogeneityInputError("a row of W^o H is constant: LN is undefined there")
            worst = max(worst, _ln_step(zeta, spread))
        return delta + max(abs(g) for g in parts.gain) * worst


def ff_step_bound(y: Rows, delta: Any, parts: FeedForwardParts, digits: int) -> Any:
    """δ′ ≥ max_i ‖F(Ỹ)_i − F(Y)_i‖ for every Ỹ with row distances ≤ δ from Y."""
    with working_precision(digits) as d:
        delta = mpmath.mpf(delta)
        v = ff_branch(y, parts, d)
        lip = spectral_norm(parts.wf, d) * spectral_norm(parts.wi, d)
        worst = mpmath.mpf(0)
        for row in v:
            spread = norm2(centre(row, d), d)
            if spread == 0:
                raise HomogeneityInputError("a row of W^f ReLU(W^i Y) is constant: LN undefined")
            worst = max(worst, _ln_step(lip * delta, spread))
        return delta + max(abs(g) for g in parts.gain) * worst


@dataclass(frozen=True)
class EncoderBound:
    """The saturated output Φ_∞(θ), and δ after every sublayer (δ_L = ``deltas[-1]``)."""

    saturated: Rows
    deltas: list[Any]

    @property
    def bound(self) -> Any:
        """2δ_L ≥ ‖f(cθ)_i/c − f(θ)_i‖ for every token i and all c ≥ 1."""
        return 2 * self.deltas[-1]


def layer_parts(enc: MpEncoder, layer: int, digits: int) -> tuple[AttentionParts, FeedForwardParts]:
    pre = f"layers.{layer}"
    attn = AttentionParts.read(
        enc.w,
        f"{pre}.attention.sublayer",
        f"{pre}.attention.norm",
        enc.cfg.n_heads,
        enc.d_head,
        digits,
    )
    ff = FeedForwardParts.read(
        enc.w, f"{pre}.feedforward.sublayer", f"{pre}.feedforward.norm", digits
    )
    return attn, ff


def check_paper_setting(enc: MpEncoder) -> None:
    cfg = enc.cfg
    # an EncoderSpec need not say whether it has biases: one that does not is not taken
    # to be bias-free
    if (
        getattr(cfg, "bias", True)
        or cfg.placement != "paper-prenorm"
        or cfg.norm != "proof"
        or cfg.activation != "relu"
        or cfg.embedding_norm
        or cfg.final_norm
        or getattr(cfg, "type_vocab_size", 0)
    ):
        raise HomogeneityInputError(
            "the T1* bound is for bias-free ReLU encoders with the paper's pre-norm and the LN "
            "of D9 (no embedding or final norm, no token types)"
        )


def encoder_bound(enc: MpEncoder, ids: Sequence[int], digits: int, rate: Any = 1) -> EncoderBound:
    """Run the saturated encoder and the step bounds at τ = 1 from δ₀ = 0."""
    check_paper_setting(enc)
    with working_precision(digits) as d:
        x = enc.embed(ids, digits=d)
        keep = attention_keep(len(ids), bool(enc.cfg.causal))
        delta: Any = mpmath.mpf(0)
        deltas = []
        for layer in range(enc.cfg.n_layers):
            attn, ff = layer_parts(enc, layer, d)
            delta = attention_step_bound(x, delta, attn, keep, d, rate=rate)
            x = attention_sublayer(x, attn, keep, None, d)
            deltas.append(delta)
            delta = ff_step_bound(x, delta, ff, d)
            x = ff_sublayer(x, ff, d)
            deltas.append(delta)
        return EncoderBound(x, deltas or [mpmath.mpf(0)])


def tempered(enc: MpEncoder, tau: Any, digits: int) -> MpEncoder:
    """Φ_τ: the encoder at θ (its current scale) with every query weight multiplied by τ,
    i.e. every softmax taken at inverse temperature τ."""
    with working_precision(digits):
        values = {name: enc.w.get(name, digits) for name in enc.w.values}
        for name, rows in values.items():
            if name.endswith("attention.sublayer.query.weight"):
                values[name] = [[tau * v for v in row] for row in rows]
        return MpEncoder(enc.cfg, Weights(values))
