"""S1: the saturated argmax head (V = Id) returns the uniform average of the maximising rows.

For a head with W^v = Id (d_head = d_model) the scores are s_ij = h_i M h_jᵀ with
M = W^qᵀW^k/√d_k, and the saturated attention of D7 puts weight 1/|M_i| on each visible
maximiser j ∈ M_i = argmax_{j visible} s_ij, so

    H_i = (1/|M_i|) Σ_{j∈M_i} h_j,      and H_i = h_j when M_i = {j}.

Checked against the package's saturated :class:`~homogeneity.components.AttentionHead`
(``saturated=True``) on integer tokens and weights, where float64 computes every score
exactly (see :mod:`proofs_numeric.claims._exact_heads`): the set of attended keys must be
M_i exactly, every weight 1/|M_i| to one rounding, a unique maximiser's row returned
bit-for-bit, and a tied row's average within an explicit rounding bound of the exact
rational average. Ties are frequent by construction (entries in {−2, …, 2}, repeated
tokens), and the masks are causal, right-padding, or both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hypothesis import strategies as st

from proofs_numeric.claim import CheckContext, Claim, Verdict
from proofs_numeric.claims._exact_heads import (
    ExactRow,
    IntMatrix,
    agreement_margin,
    argmax_rows,
    bilinear_scores,
    int_matrices,
    package_head,
    run_head,
    uniform_row,
    visible_keys,
)
from proofs_numeric.search import PropertySearch, check_property, property_control

Reference = Callable[[IntMatrix, IntMatrix, IntMatrix, Sequence[Sequence[int]]], list[ExactRow]]


def identity(d: int) -> list[list[int]]:
    return [[int(i == j) for j in range(d)] for i in range(d)]


def first_maximiser_rows(h, wq, wk, visible) -> list[ExactRow]:
    """Negative control: all weight on the first visible maximiser (torch.argmax)."""
    return [uniform_row(h, [min(r.support)]) for r in argmax_rows(h, wq, wk, visible)]


def mask_blind_rows(h, wq, wk, visible) -> list[ExactRow]:
    """Negative control: the maximisers taken over every position, masked ones included."""
    return argmax_rows(h, wq, wk, [list(range(len(h)))] * len(h))


def transposed_rows(h, wq, wk, visible) -> list[ExactRow]:
    """Negative control: the bilinear form read the wrong way round, s_ji = h_j M h_iᵀ."""
    scores = bilinear_scores(h, wq, wk)
    out = []
    for i, keys in enumerate(visible):
        top = max(scores[j][i] for j in keys)
        out.append(uniform_row(h, [j for j in keys if scores[j][i] == top]))
    return out


def head_margin(reference: Reference = argmax_rows, saturated: bool = True):
    """Agreement of the package's head (V = Id) with ``reference`` (see
    :func:`~proofs_numeric.claims._exact_heads.agreement_margin`)."""

    def margin(case: Mapping[str, Any], digits: int) -> float:
        h, wq, wk = case["h"], case["wq"], case["wk"]
        visible = visible_keys(len(h), int(case["real"]), bool(case["causal"]))
        head = package_head(wq, wk, identity(len(h[0])))
        out, weights = run_head(head, h, int(case["real"]), bool(case["causal"]), saturated)
        return agreement_margin(reference(h, wq, wk, visible), out, weights)

    return margin


@st.composite
def head_cases(draw: st.DrawFn) -> dict[str, Any]:
    n, d = draw(st.integers(1, 6)), draw(st.integers(1, 4))
    tokens = draw(int_matrices(min(n, 3), d))  # few distinct tokens: repeated rows tie
    h = [tokens[draw(st.integers(0, len(tokens) - 1))] for _ in range(n)]
    return {
        "h": h,
        "wq": draw(int_matrices(d, d)),
        "wk": draw(int_matrices(d, d)),
        "causal": draw(st.booleans()),
        "real": draw(st.integers(1, n)),
    }


CONSTRUCTIONS = (
    # two tied maximisers for every query
    {
        "h": [[1, 0], [1, 0], [0, 1]],
        "wq": [[1, 0], [0, 0]],
        "wk": [[1, 0], [0, 0]],
        "causal": False,
        "real": 3,
    },
    # a unique maximiser, returned bit-for-bit
    {
        "h": [[2, -1], [0, 1], [1, 1]],
        "wq": [[1, 2], [0, 1]],
        "wk": [[2, 0], [1, -1]],
        "causal": False,
        "real": 3,
    },
    # causal: the global maximiser is invisible to the first queries
    {
        "h": [[0, 1], [1, 0], [2, 0]],
        "wq": [[1, 0], [0, 1]],
        "wk": [[1, 0], [0, 1]],
        "causal": True,
        "real": 3,
    },
    # padding hides the maximiser; the remaining keys tie
    {"h": [[1], [1], [2]], "wq": [[1]], "wk": [[1]], "causal": False, "real": 2},
    # M = 0: every visible key ties (the head becomes a mean head)
    {
        "h": [[1, 2], [0, -1], [2, 2], [1, 0]],
        "wq": [[0, 0], [0, 0]],
        "wk": [[1, 1], [2, 0]],
        "causal": True,
        "real": 4,
    },
    # non-symmetric M: reading h_j M h_iᵀ gives other maximisers
    {
        "h": [[1, 0], [0, 1], [1, 1]],
        "wq": [[0, 1], [0, 0]],
        "wk": [[1, 0], [0, 0]],
        "causal": False,
        "real": 3,
    },
)


def search(
    reference: Reference = argmax_rows, saturated: bool = True, what: str = ""
) -> PropertySearch:
    return PropertySearch(
        claim_id="S1",
        strategy=head_cases(),
        margin=head_margin(reference, saturated),
        search=(
            "package AttentionHead with W^v = Id, 1–6 tokens drawn from ≤ 3 distinct integer "
            "rows of dimension 1–4 (entries in [−2, 2]), integer W^q, W^k, causal or not, "
            "0 to n−1 padded positions" + (f"; {what}" if what else "")
        ),
        constructions=CONSTRUCTIONS,
        margin_label=(
            "−1 if the attended keys, a weight or a unique maximiser's row differ; else "
            "1 − max |H_i − exact_i| / rounding bound (1 = exact)"
        ),
        precision="exact rationals (fractions) against the package's float64 head",
        describe=lambda c: (
            f"h {c['h']}, W^q {c['wq']}, W^k {c['wk']}, causal {c['causal']}, real {c['real']}"
        ),
    )


def check(ctx: CheckContext) -> Verdict:
    return check_property(
        search(),
        ctx,
        notes="Every score is an integer below 2¹³ before the package's 1/√d_k, so the float64 "
        "argmax sets are the exact ones; ties, causal and padding masks in every search.",
    )


CLAIMS = (
    Claim(
        id="S1",
        title="Saturated argmax head averages the maximising rows",
        statement=(
            "For every d, every n ≥ 1 tokens h_1..h_n ∈ ℝ^d, all W^q, W^k ∈ ℝ^{d×d}, W^v = Id "
            "and every mask (causal and/or right padding, ≥ 1 visible key per query): the "
            "saturated head puts weight 1/|M_i| on each maximiser and returns at each "
            "position i H_i = (1/|M_i|) Σ_{j∈M_i} h_j, "
            "M_i = argmax_{j visible from i} h_i M h_jᵀ with M = W^qᵀW^k/√d_k; with a "
            "unique maximiser j, H_i = h_j. Checked exactly on integer instances against "
            "the package's saturated AttentionHead."
        ),
        expected="verified",
        check=check,
        explanation=(
            "§4.2's argmax head. The package's saturated head is the generalised argmax of D7 "
            "applied to the bilinear scores, so ties share the weight equally and masked "
            "keys never win."
        ),
        negative_controls=(
            property_control(
                "first-index maximiser",
                "a formula that gives all weight to the first maximiser must be refuted on "
                "tied rows",
                lambda: search(first_maximiser_rows, what="claimed: first maximiser only"),
            ),
            property_control(
                "mask-blind maximiser",
                "a formula that lets masked keys win must be refuted",
                lambda: search(mask_blind_rows, what="claimed: maximisers over all keys"),
            ),
            property_control(
                "transposed bilinear form",
                "reading the score as h_j M h_iᵀ must be refuted (M is not symmetric)",
                lambda: search(transposed_rows, what="claimed: scores h_j M h_iᵀ"),
            ),
            property_control(
                "mutated component: softmax head",
                "the unsaturated head (softmax at ρ = 1) must not pass as the argmax head",
                lambda: search(saturated=False, what="package head with saturated=False"),
            ),
        ),
    ),
)
