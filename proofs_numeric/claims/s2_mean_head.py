"""S2: a saturated head with equal scores is a mean head, it computes a symbol's fraction,
and a saturated encoder built by hand from the package's heads recognises aⁿbⁿ.

Three parts, each checked against the package's saturated
:class:`~homogeneity.components.AttentionHead` with exact rational references:

(i) **Mean head.** If the scores of query i are equal over its visible keys V_i, the
    generalised argmax ties them all: H_i = (1/|V_i|) Σ_{j∈V_i} W^v h_j. Equal scores
    are built in two ways: W^q = 0, or keys that read only a constant coordinate of the
    tokens (W^k h_j the same for every j).
(ii) **Counting.** With tokens (1[a], 1[b], 1) and the value W^v = (1, 0, 0) that marks
    a, H_i = #{j ∈ V_i : token j is a}/|V_i|, that symbol's fraction (prefix fractions
    under the causal mask).
(iii) **aⁿbⁿ.** The two-layer saturated encoder of :mod:`proofs_numeric.claims._counting`
    (a causal argmax head, a ReLU feed-forward map and a mean head, all hand-set)
    decides membership in {aⁿbⁿ : n ≥ 1} correctly on **every** non-empty string over
    {a, b} of length ≤ 12: 8190 strings, each length's 2^L strings one constructed case
    (right-padded to 12 positions), plus random strings with extra padding.

Margins: (i), (ii) as in S1 (−1 if a support or weight differs, else 1 − error/rounding
bound); (iii) the worst decision margin score·(±1)/τ over the strings of the case
(≥ 1 in exact arithmetic, ≥ 0 iff every string is decided correctly).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st

from proofs_numeric.claim import CheckContext, Claim, Verdict
from proofs_numeric.claims._counting import (
    MAX_LENGTH,
    SYMBOLS,
    AnBnRecogniser,
    RecogniserWeights,
    decision_margins,
    is_anbn,
    words,
)
from proofs_numeric.claims._exact_heads import (
    agreement_margin,
    int_matrices,
    mean_rows,
    package_head,
    run_head,
    visible_keys,
)
from proofs_numeric.claims._single_thread import one_thread
from proofs_numeric.search import PropertySearch, check_property, property_control

#: the recogniser as built (saturated heads, value a − b in the counting head)
SATURATED = RecogniserWeights()
#: the counting head's value row of the "wrong value vector" control: it marks a only
A_ONLY_VALUE = tuple(float(i == 0) for i in range(7))


def _mean_margin(case: Mapping[str, Any]) -> float:
    h, wq, wk, wv = case["h"], case["wq"], case["wk"], case["wv"]
    real, causal = int(case["real"]), bool(case["causal"])
    values = [[sum(a * b for a, b in zip(row, tok, strict=True)) for row in wv] for tok in h]
    out, weights = run_head(package_head(wq, wk, wv), h, real, causal)
    return agreement_margin(mean_rows(values, visible_keys(len(h), real, causal)), out, weights)


def _fraction_margin(case: Mapping[str, Any]) -> float:
    word = case["word"]
    h = [[int(ch == "a"), int(ch == "b"), 1] for ch in word] + [[0, 0, 0]] * int(case["pad"])
    real, causal = len(word), bool(case["causal"])
    visible = visible_keys(len(h), real, causal)
    marks = [[int(ch == "a")] for ch in word] + [[0]] * int(case["pad"])
    expected = mean_rows(marks, visible)  # exactly #a(V_i)/|V_i|
    head = package_head([case["wq"]], [[0, 0, int(case["key"])]], [[1, 0, 0]])
    out, weights = run_head(head, h, real, causal)
    return agreement_margin(expected, out, weights)


def _language_margin(case: Mapping[str, Any], weights: RecogniserWeights) -> float:
    model = AnBnRecogniser(weights)
    if "length" in case:
        return min(decision_margins(model, words(int(case["length"])), MAX_LENGTH))
    batch = list(case["words"])
    width = max(len(w) for w in batch) + int(case["pad"])
    return min(decision_margins(model, batch, width))


def margin_for(weights: RecogniserWeights = SATURATED):
    @one_thread
    def margin(case: Mapping[str, Any], digits: int) -> float:
        part = case["part"]
        if part == "mean":
            return _mean_margin(case)
        if part == "fraction":
            return _fraction_margin(case)
        return _language_margin(case, weights)

    return margin


@st.composite
def mean_cases(draw: st.DrawFn, equal_scores: bool = True) -> dict[str, Any]:
    n, d, dh = draw(st.integers(1, 6)), draw(st.integers(2, 4)), draw(st.integers(1, 3))
    h = draw(int_matrices(n, d - 1))
    constant = draw(st.integers(-2, 2))
    h = [row + [constant] for row in h]
    wq, wk = draw(int_matrices(dh, d)), draw(int_matrices(dh, d))
    if equal_scores:
        if draw(st.booleans()):
            wq = [[0] * d for _ in range(dh)]  # every score 0
        else:
            wk = [[0] * (d - 1) + [row[-1]] for row in wk]  # keys read the constant only
    return {
        "part": "mean",
        "h": h,
        "wq": wq,
        "wk": wk,
        "wv": draw(int_matrices(dh, d)),
        "causal": draw(st.booleans()),
        "real": draw(st.integers(1, n)),
    }


def fraction_cases() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "part": st.just("fraction"),
            "word": st.text(SYMBOLS, min_size=1, max_size=8),
            "pad": st.integers(0, 2),
            "causal": st.booleans(),
            "wq": st.lists(st.integers(-2, 2), min_size=3, max_size=3),
            "key": st.integers(-2, 2),
        }
    )


def language_cases() -> st.SearchStrategy[dict[str, Any]]:
    members = st.integers(1, MAX_LENGTH // 2).map(lambda n: "a" * n + "b" * n)
    near = members.flatmap(
        lambda w: st.integers(0, len(w) - 1).map(lambda i: w[:i] + w[i + 1 :] or "b")
    )
    word = st.one_of(st.text(SYMBOLS, min_size=1, max_size=MAX_LENGTH), members, near)
    return st.fixed_dictionaries(
        {
            "part": st.just("language"),
            "words": st.lists(word, min_size=1, max_size=4),
            "pad": st.integers(0, 3),
        }
    )


#: every string of every length 1..12 (8190 in all), one case per length
EXHAUSTIVE = tuple({"part": "language", "length": n} for n in range(1, MAX_LENGTH + 1))

CONSTRUCTIONS = (
    {
        "part": "mean",
        "h": [[1, 2, 1], [0, -1, 1], [2, 2, 1]],
        "wq": [[0, 0, 0]],
        "wk": [[1, 2, 1]],
        "wv": [[1, 1, 0]],
        "causal": True,
        "real": 3,
    },
    {
        "part": "mean",
        "h": [[2, 1], [-1, 1], [0, 1], [1, 1]],
        "wq": [[2, -1], [1, 1]],
        "wk": [[0, 2], [0, -1]],
        "wv": [[1, 0], [0, 1]],
        "causal": False,
        "real": 3,
    },
    {"part": "fraction", "word": "aabab", "pad": 1, "causal": True, "wq": [1, -2, 2], "key": 2},
    {"part": "fraction", "word": "abbb", "pad": 0, "causal": False, "wq": [2, 0, 1], "key": -1},
) + EXHAUSTIVE


def search(
    weights: RecogniserWeights = SATURATED, equal_scores: bool = True, what: str = ""
) -> PropertySearch:
    return PropertySearch(
        claim_id="S2",
        strategy=st.one_of(mean_cases(equal_scores), fraction_cases(), language_cases()),
        margin=margin_for(weights),
        search=(
            "(i) package heads with equal scores (W^q = 0 or constant keys), 1–6 integer "
            "tokens, causal/padding; (ii) one-hot strings of length ≤ 8 with a value marking "
            "a; (iii) the aⁿbⁿ encoder on all 8190 strings of length 1–12 (one case per "
            "length) and on random strings with extra padding" + (f"; {what}" if what else "")
        ),
        constructions=CONSTRUCTIONS,
        margin_label=(
            "(i), (ii): −1 on a wrong support/weight, else 1 − error/rounding bound; "
            "(iii): min over the strings of score·(±1)/τ (≥ 0: decided correctly)"
        ),
        precision="exact rationals against the package's float64 heads",
        describe=lambda c: repr(dict(c)),
    )


@one_thread
def exhaustive_summary(weights: RecogniserWeights = SATURATED) -> dict[str, Any]:
    """Counts over every string of length 1..12: strings, members, correct decisions."""
    model = AnBnRecogniser(weights)
    total = members = correct = 0
    worst = float("inf")
    for n in range(1, MAX_LENGTH + 1):
        batch = words(n)
        margins = decision_margins(model, batch, MAX_LENGTH)
        total += len(batch)
        members += sum(is_anbn(w) for w in batch)
        correct += sum(m >= 0 for m in margins)
        worst = min(worst, *margins)
    return {"strings": total, "members": members, "correct": correct, "worst_margin": worst}


def check(ctx: CheckContext) -> Verdict:
    s = exhaustive_summary()
    return check_property(
        search(),
        ctx,
        notes=(
            f"aⁿbⁿ exhaustively: {s['correct']}/{s['strings']} strings of length 1–"
            f"{MAX_LENGTH} decided correctly ({s['members']} members), worst decision "
            f"margin {s['worst_margin']:.6g} (1 in exact arithmetic)."
        ),
    )


CLAIMS = (
    Claim(
        id="S2",
        title="Mean head counts; a saturated encoder recognises aⁿbⁿ",
        statement=(
            "(i) For every saturated head and mask whose scores are equal over the visible "
            "keys V_i of each query i: the head puts weight 1/|V_i| on every visible key, so "
            "H_i = (1/|V_i|) Σ_{j∈V_i} W^v h_j. (ii) With one-hot "
            "symbols and a value marking a: H_i = #a(V_i)/|V_i|. (iii) The saturated "
            "two-layer encoder built by hand from the package's AttentionHead (a causal "
            "argmax head, a ReLU map, a mean head) accepts exactly the strings aⁿbⁿ "
            "(n ≥ 1) among all 8190 non-empty strings over {a, b} of length ≤ 12."
        ),
        expected="verified",
        check=check,
        explanation=(
            "§4.2's mean head: equal scores make the generalised argmax uniform, so the head "
            "averages its values, and a value that marks a symbol counts it. The encoder "
            "compares the counts of a and b (a mean head) and checks the order with an "
            "argmax head that sees whether a b came before; it needs saturation: with "
            "softmax heads at ρ = 1 it rejects ab."
        ),
        negative_controls=(
            property_control(
                "mutated component: wrong value vector",
                "a counting head whose value marks only a (not a − b) must misclassify some string",
                lambda: search(RecogniserWeights(balance_value=A_ONLY_VALUE), what="value 1[a]"),
            ),
            property_control(
                "mutated component: softmax heads at ρ = 1",
                "the same encoder with unsaturated heads must misclassify some string",
                lambda: search(RecogniserWeights(saturated=False), what="saturated=False"),
            ),
            property_control(
                "mean claimed without equal scores",
                "heads with arbitrary W^q, W^k are not mean heads: (i) must be refuted",
                lambda: search(equal_scores=False, what="unrestricted W^q, W^k"),
            ),
        ),
    ),
)
