"""Saturated attention heads of :mod:`homogeneity.components` against exact rational
references (S1, S2, D8).

A case holds small integer matrices: tokens h_j (rows of X), W^q, W^k, W^v. With entries
of size ≤ 3 and d ≤ 4, every query, key and score h_i W^qᵀ W^k h_jᵀ is an integer below
2¹³, so float64 computes them exactly; the package's division by √d_k is monotone and
maps distinct integers of this size to distinct floats (their relative gap 2⁻¹³ is far
above 2⁻⁵²), so the float64 argmax sets are the exact ones and the comparison with a
:class:`fractions.Fraction` reference is exact up to the rounding of the final weighted
sum, which :func:`agreement_margin` bounds explicitly.

Masks are those of the package: a right-padding mask (real tokens first, at least one)
and/or causal, visible(i) = {j : j is real, and j ≤ i if causal}.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import torch
from hypothesis import strategies as st

from homogeneity.components import AttentionHead
from homogeneity.errors import HomogeneityInputError

IntMatrix = Sequence[Sequence[int]]
RealMatrix = Sequence[Sequence[float]]
#: unit roundoff of float64
UNIT_ROUNDOFF = Fraction(1, 2**53)
#: the finite margin given to a case whose support (the set of attended keys) is wrong
SUPPORT_MISMATCH = -1.0


@dataclass(frozen=True)
class ExactRow:
    """The exact output of one query row: the attended keys, their weighted sum, and the
    largest |entry| of the attended value rows (the scale of the rounding bound)."""

    support: frozenset[int]
    output: tuple[Fraction, ...]
    scale: Fraction


def visible_keys(n: int, real: int, causal: bool) -> list[list[int]]:
    """visible(i) for every query i < n of a sequence whose first ``real`` tokens are real."""
    if not 1 <= real <= n:
        raise HomogeneityInputError(f"real={real} must lie in [1, n={n}] (right padding)")
    return [[j for j in range(real) if not causal or j <= i] for i in range(n)]


def matvec(w: IntMatrix, h: Sequence[int | Fraction]) -> list[int | Fraction]:
    """W h for an integer matrix W."""
    return [sum(a * b for a, b in zip(row, h, strict=True)) for row in w]


def dot(a: Sequence[int | Fraction], b: Sequence[int | Fraction]) -> int | Fraction:
    return sum(x * y for x, y in zip(a, b, strict=True))


def bilinear_scores(h: IntMatrix, wq: IntMatrix, wk: IntMatrix) -> list[list[int]]:
    """s_ij = h_i M h_jᵀ with M = W^qᵀW^k (the package's scores times √d_k), exactly."""
    q = [matvec(wq, row) for row in h]
    k = [matvec(wk, row) for row in h]
    return [[int(dot(qi, kj)) for kj in k] for qi in q]


def uniform_row(rows: Sequence[Sequence[int]], support: Sequence[int]) -> ExactRow:
    """(1/|S|) Σ_{j∈S} rows_j, exactly, with its support S."""
    size = Fraction(1, len(support))
    output = tuple(size * sum(rows[j][c] for j in support) for c in range(len(rows[0])))
    scale = Fraction(max(abs(rows[j][c]) for j in support for c in range(len(rows[0]))))
    return ExactRow(frozenset(support), output, scale)


def argmax_rows(
    h: IntMatrix, wq: IntMatrix, wk: IntMatrix, visible: Sequence[Sequence[int]]
) -> list[ExactRow]:
    """S1's formula: at each i the uniform average of the rows h_j (V = Id) that maximise
    s_ij over the visible j."""
    scores = bilinear_scores(h, wq, wk)
    out = []
    for i, keys in enumerate(visible):
        top = max(scores[i][j] for j in keys)
        winners = [j for j in keys if scores[i][j] == top]
        out.append(uniform_row(h, winners))
    return out


def mean_rows(values: IntMatrix, visible: Sequence[Sequence[int]]) -> list[ExactRow]:
    """S2's formula: at each i, (1/|visible(i)|) Σ_{j visible} v_j."""
    return [uniform_row(values, keys) for keys in visible]


def package_head(wq: RealMatrix, wk: RealMatrix, wv: RealMatrix) -> AttentionHead:
    """An :class:`~homogeneity.components.AttentionHead` (float64, no biases) holding the
    given W^q, W^k, W^v (each d_head × d_model)."""
    d_head, d_model = len(wq), len(wq[0])
    head = AttentionHead(d_model, d_head, bias=False, dtype=torch.float64)
    state = {
        "query.weight": torch.tensor(wq, dtype=torch.float64).reshape(d_head, d_model),
        "key.weight": torch.tensor(wk, dtype=torch.float64).reshape(d_head, d_model),
        "value.weight": torch.tensor(wv, dtype=torch.float64).reshape(d_head, d_model),
    }
    head.load_state_dict(state, strict=True)
    return head


def run_head(
    head: AttentionHead, h: IntMatrix, real: int, causal: bool, saturated: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """(output (n, d_head), attention weights (n, n)) of ``head`` on X = h, float64."""
    x = torch.tensor(h, dtype=torch.float64)[None]
    n = x.shape[1]
    padding = torch.tensor([[j < real for j in range(n)]]) if real < n else None
    sink: list[torch.Tensor] = []
    with torch.no_grad():
        out = head(x, padding, causal=causal, saturated=saturated, attention_sink=sink)
    return out[0], sink[0][0]


def agreement_margin(
    expected: Sequence[ExactRow], out: torch.Tensor, weights: torch.Tensor
) -> float:
    """How well the package's head matches the exact rows, as a finite number.

    ``SUPPORT_MISMATCH`` (−1) when some row attends a different key set, a weight differs
    from 1/|support| by more than one rounding, or a row with a unique maximiser j is not
    h_j exactly; otherwise 1 − max_i ‖out_i − exact_i‖_∞ / tol_i with the rounding bound
    tol_i = 4(|S_i| + 1)·u·(1 + max_{j∈S_i} |v_j|) of a weighted sum of |S_i| terms (u the
    unit roundoff): ≥ 0 iff every row agrees to within rounding, 1 when exact. A
    non-finite output or weight is a mismatch."""
    if not (bool(torch.isfinite(out).all()) and bool(torch.isfinite(weights).all())):
        return SUPPORT_MISMATCH
    worst = Fraction(1)
    for i, row in enumerate(expected):
        w = [Fraction(float(v)) for v in weights[i].tolist()]
        if frozenset(j for j, v in enumerate(w) if v != 0) != row.support:
            return SUPPORT_MISMATCH
        share = Fraction(1, len(row.support))
        if any(abs(w[j] - share) > share * UNIT_ROUNDOFF for j in row.support):
            return SUPPORT_MISMATCH
        got = [Fraction(float(v)) for v in out[i].tolist()]
        if len(row.support) == 1 and tuple(got) != row.output:
            return SUPPORT_MISMATCH  # a unique maximiser must be returned exactly
        tol = 4 * (len(row.support) + 1) * UNIT_ROUNDOFF * (1 + row.scale)
        err = max(abs(g - e) for g, e in zip(got, row.output, strict=True))
        worst = min(worst, 1 - err / tol)
    return float(worst)


def int_matrices(rows: int, cols: int, bound: int = 2) -> st.SearchStrategy[list[list[int]]]:
    """rows × cols integer matrices with entries in [−bound, bound]."""
    return st.lists(
        st.lists(st.integers(-bound, bound), min_size=cols, max_size=cols),
        min_size=rows,
        max_size=rows,
    )


def masks() -> st.SearchStrategy[dict[str, Any]]:
    """``{"causal": bool, "pad": k}``: causal or not, and k ≥ 0 padded positions."""
    return st.fixed_dictionaries({"causal": st.booleans(), "pad": st.integers(0, 2)})
