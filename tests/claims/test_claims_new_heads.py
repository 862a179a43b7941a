"""S1, S2 and D8 beyond what the registry runs: the exact references, the aⁿbⁿ count, the
controls' details, and searches that must refute the controls without the hand-made
cases."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch

from proofs_numeric.claim import CheckContext, registry
from proofs_numeric.claims import d8_mean_head_count as d8
from proofs_numeric.claims import s1_argmax_head as s1
from proofs_numeric.claims import s2_mean_head as s2
from proofs_numeric.claims._counting import (
    SEEN_B,
    AnBnRecogniser,
    RecogniserWeights,
    decision_margins,
    encode,
    is_anbn,
    words,
)
from proofs_numeric.claims._exact_heads import (
    SUPPORT_MISMATCH,
    agreement_margin,
    argmax_rows,
    package_head,
    run_head,
    visible_keys,
)
from tests.claims.claim_sampling import sampled_margins

pytestmark = pytest.mark.usefixtures("one_torch_thread")
CTX = CheckContext()


# -- S1 --------------------------------------------------------------------------------


def test_argmax_reference_shares_ties_and_respects_masks():
    h = [[1, 0], [1, 0], [0, 1]]
    wq = wk = [[1, 0], [0, 0]]
    rows = argmax_rows(h, wq, wk, visible_keys(3, 3, causal=False))
    assert rows[0].support == {0, 1}
    assert rows[0].output == (Fraction(1), Fraction(0))
    causal = argmax_rows(h, wq, wk, visible_keys(3, 3, causal=True))
    assert causal[0].support == {0}  # key 1 is in the future of query 0
    padded = argmax_rows(h, wq, wk, visible_keys(3, 1, causal=False))
    assert all(r.support == {0} for r in padded)


def test_package_head_matches_the_tied_average_and_a_unique_row_bit_for_bit():
    case = s1.CONSTRUCTIONS[0]
    assert s1.head_margin()(case, 50) >= 0
    unique = s1.CONSTRUCTIONS[1]
    h = unique["h"]
    out, weights = run_head(package_head(unique["wq"], unique["wk"], s1.identity(2)), h, 3, False)
    rows = argmax_rows(h, unique["wq"], unique["wk"], visible_keys(3, 3, False))
    for i, row in enumerate(rows):
        assert len(row.support) == 1
        (j,) = row.support
        assert out[i].tolist() == [float(v) for v in h[j]]
    assert agreement_margin(rows, out, weights) == 1.0


def test_agreement_margin_is_finite_and_negative_on_a_wrong_support():
    case = s1.CONSTRUCTIONS[0]
    h, wq, wk = case["h"], case["wq"], case["wk"]
    out, weights = run_head(package_head(wq, wk, s1.identity(2)), h, 3, False)
    wrong = s1.first_maximiser_rows(h, wq, wk, visible_keys(3, 3, False))
    assert agreement_margin(wrong, out, weights) == SUPPORT_MISMATCH


@pytest.mark.parametrize(
    "make",
    [
        lambda: s1.search(s1.first_maximiser_rows),
        lambda: s1.search(s1.mask_blind_rows),
        lambda: s1.search(s1.transposed_rows),
        lambda: s1.search(saturated=False),
    ],
    ids=["first-maximiser", "mask-blind", "transposed", "softmax"],
)
def test_s1_controls_are_refuted_by_random_cases_alone(make):
    assert min(sampled_margins(make(), 30)) < 0


def test_s1_random_search_meets_ties():
    """The strategy draws repeated tokens, so ties (|M_i| > 1) are part of the search."""
    from hypothesis import find, settings

    def tied(case):
        visible = visible_keys(len(case["h"]), case["real"], case["causal"])
        return any(
            len(r.support) > 1 for r in argmax_rows(case["h"], case["wq"], case["wk"], visible)
        )

    example = find(s1.head_cases(), tied, settings=settings(database=None, max_examples=200))
    assert tied(example)


# -- S2 --------------------------------------------------------------------------------


def test_anbn_is_decided_correctly_on_every_string_up_to_length_12():
    summary = s2.exhaustive_summary()
    assert summary["strings"] == 2**13 - 2 == 8190
    assert summary["members"] == 6
    assert summary["correct"] == summary["strings"]
    assert summary["worst_margin"] >= 0.99  # 1 in exact arithmetic


def test_the_argmax_head_sees_a_b_exactly():
    model = AnBnRecogniser()
    ids, padding = encode(["abab", "aab"], 6)
    seen = model.stream(ids, padding)[..., SEEN_B]
    assert seen[0, :4].tolist() == [0.0, 1.0, 1.0, 1.0]
    assert seen[1, :3].tolist() == [0.0, 0.0, 1.0]


def test_wrong_value_vector_misclassifies_members_and_b():
    model = AnBnRecogniser(RecogniserWeights(balance_value=s2.A_ONLY_VALUE))
    batch = ["ab", "aabb", "b", "bb"]
    margins = dict(zip(batch, decision_margins(model, batch, 4), strict=True))
    assert margins["ab"] < 0 and margins["aabb"] < 0  # members rejected
    assert margins["b"] < 0  # a non-member accepted (no a: the count is 0)


def test_softmax_heads_at_rho_one_reject_ab():
    model = AnBnRecogniser(RecogniserWeights(saturated=False))
    (margin,) = decision_margins(model, ["ab"], 2)
    assert margin < 0
    ids, padding = encode(["ab"], 2)
    seen = model.stream(ids, padding)[0, 1, SEEN_B]
    assert 0.5 < float(seen) < 1.0  # softmax(0, 1) puts e/(1+e) on the b


def test_s2_controls_are_refuted_by_random_cases_alone():
    assert min(sampled_margins(s2.search(equal_scores=False), 30)) < 0
    assert min(sampled_margins(s2.search(RecogniserWeights(saturated=False)), 30)) < 0
    assert min(sampled_margins(s2.search(), 30)) > 0  # the claim holds on the same draws


def test_is_anbn():
    assert [w for n in range(1, 7) for w in words(n) if is_anbn(w)] == ["ab", "aabb", "aaabbb"]


# -- D8 --------------------------------------------------------------------------------


def test_d8_at_the_paper_length_measures_42_beside_the_reported_41():
    assert d8.mean_head_count(83) == 42
    assert d8.paper_length_measurement() == 42.0
    claim = registry()["D8"]
    assert "≈41" in claim.explanation and "42" in claim.explanation
    verdict = claim.check(CTX)
    assert verdict.status == "verified"
    assert "≈41" in verdict.evidence.notes and "measures 42" in verdict.evidence.notes


def test_exact_count_for_every_length_up_to_512():
    assert d8.exact_margin(d8.mean_head_count, True, 512) == 1.0
    assert d8.exact_margin(d8.half_length, True, 512) == -1.0
    assert d8.exact_margin(d8.mean_head_count, False, 512) == -1.0  # non-causal sees n


def test_encoder_mean_heads_count_with_the_tie_tolerance():
    case = {"route": "encoder", "n": 40, "d": 4, "n_heads": 3, "token": 2, "seed": 5}
    assert d8.encoder_margin(case, d8.mean_head_count, causal=True) >= 0


def test_an_argmax_head_is_not_counted_as_a_mean_head():
    case = {"route": "head", "n": 20, "d": 3, "seed": 3}
    assert d8.head_margin(case, d8.mean_head_count, True, zero_query=False) < 0


def test_hardmax_rows_of_a_causal_mean_head():
    from homogeneity.components import functional as F

    keep = torch.ones(5, 5, dtype=torch.bool).tril()
    w = F.hardmax(torch.zeros(5, 5, dtype=torch.float64), keep)
    assert (w > 0).sum(-1).tolist() == [1, 2, 3, 4, 5]
