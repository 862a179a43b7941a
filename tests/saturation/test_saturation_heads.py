"""Head statistics and classification (D8, E5) on attention maps built by hand.

Negative controls: a mean head must come out mean-like, an argmax head argmax-like, a
two-key head in-between, and each kind of location head must be located where it looks.
"""

from __future__ import annotations

import math

import pytest
import torch

from homogeneity.adapters import Batch
from homogeneity.saturation import (
    HeadStatistics,
    HeadTypeRule,
    attention_entropy,
    head_type_counts,
    key_locations,
    visible_keys,
)

CLS, SEP, PAD = 101, 102, 0
SPECIAL = {"[CLS]": CLS, "[SEP]": SEP}


def sentence_batch(lengths: list[int]) -> Batch:
    """[CLS] w … w [SEP] [PAD] …, word ids 1000 + position."""
    n = max(lengths)
    ids = torch.full((len(lengths), n), PAD, dtype=torch.long)
    for b, m in enumerate(lengths):
        ids[b, :m] = 1000 + torch.arange(m)
        ids[b, 0], ids[b, m - 1] = CLS, SEP
    mask = ids != PAD
    return Batch(ids, mask)


def head_map(batch: Batch, rows) -> torch.Tensor:
    """(batch, 1, q, k) attention with row q of sequence b given by rows(b, q, m)."""
    assert batch.ids is not None
    B, n = batch.ids.shape
    a = torch.zeros(B, 1, n, n, dtype=torch.float64)
    for b in range(B):
        m = int(batch.padding_mask[b].sum())
        for q in range(n):
            a[b, 0, q, :m] = rows(q, m) if q < m else uniform(q, m)  # padded queries
    return a


def uniform(q: int, m: int) -> torch.Tensor:
    return torch.full((m,), 1.0 / m, dtype=torch.float64)


def one_hot(k_of):
    def row(q: int, m: int) -> torch.Tensor:
        r = torch.zeros(m, dtype=torch.float64)
        r[k_of(q, m)] = 1.0
        return r

    return row


def two_keys(q: int, m: int) -> torch.Tensor:
    r = torch.zeros(m, dtype=torch.float64)
    r[0], r[m - 1] = 0.5, 0.5
    return r


def stats_of(batch: Batch, *heads: torch.Tensor, causal: bool = False, rule=HeadTypeRule()):
    acc = HeadStatistics(rule, SPECIAL, causal)
    acc.add([torch.cat(heads, dim=1)], batch)
    return acc.result()


def test_mean_argmax_and_in_between_heads_are_told_apart():
    batch = sentence_batch([9, 14, 6])
    mean = head_map(batch, uniform)
    argmax = head_map(batch, one_hot(lambda q, m: min(q, m - 1)))
    between = head_map(batch, two_keys)
    stats = stats_of(batch, mean, argmax, between)
    kinds = [s.kind for s in stats]
    assert kinds == ["mean-like", "argmax-like", "in-between"]
    assert head_type_counts(stats) == {"argmax-like": 1, "in-between": 1, "mean-like": 1}
    n_queries = 9 + 14 + 6
    mean_visible = (9 * 9 + 14 * 14 + 6 * 6) / n_queries
    assert stats[0].attended == pytest.approx(mean_visible)
    assert stats[0].visible == pytest.approx(mean_visible)
    assert stats[0].attended_fraction == pytest.approx(1.0)
    assert stats[0].tv_to_uniform == pytest.approx(0.0, abs=1e-15)
    assert stats[0].entropy == pytest.approx(
        (9 * math.log(9) + 14 * math.log(14) + 6 * math.log(6)) / n_queries
    )
    assert stats[1].attended == 1.0 and stats[1].max_weight == 1.0 and stats[1].entropy == 0
    assert stats[2].attended == 2.0 and stats[2].max_weight == 0.5


def test_a_peaked_softmax_head_is_not_mean_like_although_it_touches_every_key():
    """Every weight above 1e-5 (the D8 count is 'all keys'), but far from uniform."""
    batch = sentence_batch([12])

    def peaked(q: int, m: int) -> torch.Tensor:
        scores = torch.zeros(m, dtype=torch.float64)
        scores[q] = 6.0
        return torch.softmax(scores, 0)

    stats = stats_of(batch, head_map(batch, peaked))[0]
    assert stats.attended == 12 and stats.attended_fraction == 1.0
    assert stats.tv_to_uniform > 0.25
    assert stats.kind == "in-between"


@pytest.mark.parametrize(
    "name,target",
    [
        ("same", lambda q, m: q),
        ("previous", lambda q, m: max(q - 1, 0)),
        ("next", lambda q, m: min(q + 1, m - 1)),
        ("[CLS]", lambda q, m: 0),
        ("[SEP]", lambda q, m: m - 1),
    ],
)
def test_location_heads(name, target):
    batch = sentence_batch([10, 7])
    stats = stats_of(batch, head_map(batch, one_hot(target)))[0]
    assert stats.dominant_location == name
    assert sum(stats.locations.values()) == pytest.approx(1.0)
    assert sum(stats.attended_locations.values()) == pytest.approx(stats.attended)
    if name in ("same", "previous", "next"):
        # keys that are [CLS]/[SEP] count as special even when they are also the query
        # itself or its neighbour
        special = stats.locations["[CLS]"] + stats.locations["[SEP]"]
        assert stats.locations[name] + special == pytest.approx(1.0)
        assert stats.locations[name] >= 0.7
    else:
        assert stats.locations[name] == pytest.approx(1.0)


def test_far_head():
    batch = sentence_batch([12])
    stats = stats_of(batch, head_map(batch, one_hot(lambda q, m: 1)))[0]
    # key 1 is next for q = 0, same for q = 1, previous for q = 2, far for the other 9
    assert stats.locations["far"] == pytest.approx(9 / 12)
    assert stats.locations["same"] == stats.locations["next"] == pytest.approx(1 / 12)


def test_key_location_codes():
    batch = sentence_batch([5])
    codes, names = key_locations(batch, SPECIAL)
    assert names == ("[CLS]", "[SEP]", "same", "previous", "next", "far")
    expected = [
        # k: CLS  w    w    w    SEP
        [0, 4, 5, 5, 1],  # q = 0
        [0, 2, 4, 5, 1],  # q = 1
        [0, 3, 2, 4, 1],
        [0, 5, 3, 2, 1],
        [0, 5, 5, 3, 1],
    ]
    assert codes[0].tolist() == expected


def test_causal_visibility_and_mean_heads():
    batch = sentence_batch([6])
    keep = visible_keys(batch, causal=True)[0]
    assert keep.tolist() == torch.ones(6, 6, dtype=torch.bool).tril().tolist()

    # a causal mean head: uniform over keys 0..q
    def causal_uniform(q: int, m: int) -> torch.Tensor:
        r = torch.zeros(m, dtype=torch.float64)
        r[: q + 1] = 1.0 / (q + 1)
        return r

    stats = stats_of(batch, head_map(batch, causal_uniform), causal=True)[0]
    assert stats.kind == "mean-like" and stats.visible == pytest.approx(3.5)
    # the same map judged as bidirectional is no longer uniform over what it could see
    assert stats_of(batch, head_map(batch, causal_uniform))[0].kind != "mean-like"


def test_padding_queries_and_keys_are_ignored():
    batch = sentence_batch([4, 8])
    a = head_map(batch, uniform)
    a[0, 0, 4:, :] = 0.37  # rows of padded queries: garbage that must not count
    stats = stats_of(batch, a)[0]
    assert stats.attended == pytest.approx((4 * 4 + 8 * 8) / 12)


def test_rule_thresholds_are_respected():
    batch = sentence_batch([10])
    two = head_map(batch, two_keys)
    assert stats_of(batch, two, rule=HeadTypeRule(argmax_max_attended=2.0))[0].kind == "argmax-like"
    tiny = head_map(batch, uniform)
    tiny[..., 0] += 1e-7  # spoils nothing: the extra mass is below any threshold
    assert stats_of(batch, tiny)[0].kind == "mean-like"


def test_entropy():
    rows = torch.tensor(
        [[0.25, 0.25, 0.25, 0.25], [1.0, 0.0, 0.0, 0.0], [0.5, 0.5, 0, 0]], dtype=torch.float64
    )
    assert attention_entropy(rows).tolist() == pytest.approx([math.log(4), 0.0, math.log(2)])


def test_accumulates_over_batches():
    a, b = sentence_batch([5, 9]), sentence_batch([7])
    acc = HeadStatistics(HeadTypeRule(), SPECIAL)
    acc.add([head_map(a, uniform)], a)
    acc.add([head_map(b, uniform)], b)
    whole = sentence_batch([5, 9, 7])
    assert acc.result()[0].attended == pytest.approx(
        stats_of(whole, head_map(whole, uniform))[0].attended
    )


def test_top_token_finds_a_punctuation_sink():
    """A head that always looks at the sentence-final '.' is 'far' by position; its top
    key token says what it looks at."""
    batch = sentence_batch([9, 12, 6])
    ids = batch.ids.clone()
    for b, m in enumerate(batch.lengths.tolist()):
        ids[b, m - 2] = 1012  # '.' before [SEP]
    batch = Batch(ids, batch.padding_mask)
    stats = stats_of(batch, head_map(batch, one_hot(lambda q, m: m - 2)))[0]
    assert stats.top_token == 1012 and stats.top_token_mass == pytest.approx(1.0)
    assert stats.dominant_location == "far"
    sep = stats_of(batch, head_map(batch, one_hot(lambda q, m: m - 1)))[0]
    assert sep.top_token == SEP and sep.top_token_mass == pytest.approx(1.0)


def test_top_key_share_finds_broadcast_heads():
    """Every query of a sentence reads the same (sentence-dependent) key: share 1, although
    no single token or relative position dominates."""
    batch = sentence_batch([9, 12, 6])
    broadcast = head_map(batch, one_hot(lambda q, m: m // 2))
    diagonal = head_map(batch, one_hot(lambda q, m: q))
    stats = stats_of(batch, broadcast, diagonal)
    assert stats[0].top_key_share == pytest.approx(1.0)
    assert stats[0].top_token_mass < 0.5
    assert stats[1].top_key_share == pytest.approx(3 / 27)  # one query per key
    mean = stats_of(batch, head_map(batch, uniform))[0]
    assert mean.top_key_share == pytest.approx(3 / 27)
