"""Campaign throughput: cases per second per claim, the speed-up from 1 to 2 workers, and
python-flint's arb against mpmath on the same interval cases.

* **Cases per second** (ci profile): each sampled claim's check (no controls), run in
  this process under a campaign unit's conditions (the package's modules loaded, one
  torch thread); cases = the cases its evidence counts.
* **Speed-up 1 → 2 workers**: the same campaign (a fixed set of claims, two shards each,
  with their controls) through a spawned process pool of 1 and of 2 workers, both warmed
  up first (spawn and imports excluded), timed in interleaved rounds; the verdicts and
  case counts of the two must be equal. Asserted ≥ 1.2 (2 is the ideal on two idle
  cores; on a loaded machine each worker still gets its share of the CPU).
* **arb vs mpmath**: (a) the certificate checker's interval map for L6's margin (the
  canonical form A·D − K(1 − w)·g of σ, :mod:`proofs_numeric.certificates.theorems.
  scalar`) over a 32 × 32 grid of boxes of (s, x) ∈ [0, 1] × [0, 16], with the checker's
  arb intervals and with the same map written in ``mpmath.iv``, both at 128 bits; both
  must prove the same boxes and enclose the margin at each box's centre; (b) one
  primitive both backends use, ln Γ on 400 points at 128 bits (arb's ``lgamma``, as in
  G2*'s certificate, and ``mpmath.loggamma``, as in the sampled G2 searches). Both
  ratios are asserted ≥ 2 (about 9 on the development machine).

Run: ``python -m pytest benchmarks/bench_campaign.py --benchmark-enable``.
"""

from __future__ import annotations

import os
import time

import mpmath
import pytest

from proofs_numeric.campaign import Campaign, process_pool, warm_up
from proofs_numeric.campaign.units import unit_conditions
from proofs_numeric.claim import CheckContext, registry
from proofs_numeric.profiles import PROFILES

from .conftest import median_seconds

SAMPLED = [cid for cid, c in registry().items() if c.expected != "proved"]
#: the fixed campaign of the speed-up figure (each claim in two shards, with controls)
SPEEDUP_CLAIMS = ("D7", "G1", "L5*", "L3", "P4*", "T1*")
BITS = 128


@pytest.mark.parametrize("claim_id", SAMPLED)
def test_cases_per_second(benchmark, report_ratio, claim_id: str) -> None:
    claim = registry()[claim_id]
    ctx = CheckContext(PROFILES["ci"])

    def check():
        with unit_conditions():
            start = time.perf_counter()
            verdict = claim.check(ctx)
            return verdict, time.perf_counter() - start

    verdict, seconds = benchmark.pedantic(check, rounds=1, iterations=1)
    assert verdict.status == claim.expected
    cases = verdict.evidence.cases
    report_ratio(
        f"claim {claim_id}: cases per second (ci)",
        cases / seconds,
        "-",
        f"{cases} cases in {seconds:.2f} s ({verdict.status})",
    )


def _rows(result) -> list[tuple]:
    return [(r.claim.id, r.verdict.status, r.verdict.evidence.cases) for r in result.results]


def test_speedup_from_one_to_two_workers(benchmark, report_ratio) -> None:
    campaign = Campaign(list(SPEEDUP_CLAIMS), "ci", shards=2)
    load = os.getloadavg()[0]
    times: dict[int, list[float]] = {1: [], 2: []}
    rows: dict[int, list[tuple]] = {}
    with process_pool(1) as one, process_pool(2) as two:
        pools = {1: one, 2: two}
        for n, pool in pools.items():
            assert len(warm_up(pool, n)) == n
        for _ in range(2):
            for n, pool in pools.items():
                start = time.perf_counter()
                result = campaign.run(pool)
                times[n].append(time.perf_counter() - start)
                assert result.ok, [p for r in result.results for p in r.problems()]
                rows[n] = _rows(result)
        benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    assert rows[1] == rows[2]
    t1, t2 = sorted(times[1])[0], sorted(times[2])[0]
    speedup = t1 / t2
    report_ratio(
        "campaign speed-up, 1 → 2 workers (ci)",
        speedup,
        "≥ 1.2",
        f"1 worker {t1:.1f} s, 2 workers {t2:.1f} s (best of 2); {len(rows[1])} claims, "
        f"2 shards each; load avg {load:.1f}",
    )
    assert speedup >= 1.2


# -- arb against mpmath ---------------------------------------------------------------------


def _grid(n: int = 32) -> list[tuple[tuple[int, int], tuple[int, int], int]]:
    """Boxes s ∈ [i/n, (i+1)/n], x ∈ [16j/n, 16(j+1)/n] as integer numerators over n."""
    return [((i, i + 1), (16 * j, 16 * (j + 1)), n) for i in range(n) for j in range(n)]


def _arb_boxes(grid):
    from flint import arb, fmpq

    return [
        ((arb(fmpq(s0, n)), arb(fmpq(s1, n))), (arb(fmpq(x0, n)), arb(fmpq(x1, n))))
        for (s0, s1), (x0, x1), n in grid
    ]


def _mpf_boxes(grid):
    return [tuple(tuple(mpmath.mpf(v) / n for v in side) for side in (s, x)) for s, x, n in grid]


def _arb_enclosures(boxes):
    from proofs_numeric.certificates import checker
    from proofs_numeric.certificates.intervals import arb_precision
    from proofs_numeric.certificates.theorems.scalar import THEOREM

    parameters = {"phi": "sigmoid", "bounds": [["1", "1"]]}
    part = THEOREM.required_parts(parameters)["A=1,d=1"]
    prepared = THEOREM.prepare(parameters, part, {"X": "16"})
    form = THEOREM.forms(prepared)["canonical"]
    with arb_precision(BITS):
        return [checker.enclose(THEOREM, prepared, form, box) for box in boxes]


def _iv_exp_neg(iv, x0, x1, e0, e1):
    """{exp(−x e) : x ∈ [x0, x1], e ∈ [e0, e1]} (e1 = None: +∞), as the checker's map."""
    hi = iv.exp(-(iv.mpf(x0) * iv.mpf(e0))).b
    if e1 is None:
        lo = 1 if x1 == 0 else 0
    else:
        lo = iv.exp(-(iv.mpf(x1) * iv.mpf(e1))).a
    return iv.mpf([lo, hi])


def _iv_enclosures(boxes):
    """The same margin, A·D − K(1 − w)·g with A = K = 1, g = 1, D = (1 + u)(1 + v), in
    ``mpmath.iv`` (the box ends are dyadic, exact in both backends)."""
    iv = mpmath.iv
    saved = iv.prec
    iv.prec = BITS
    try:
        out = []
        for (s0, s1), (x0, x1) in boxes:
            inv_lo = (1 / iv.mpf(s1)).a
            inv_hi = None if s0 == 0 else (1 / iv.mpf(s0)).b
            u = _iv_exp_neg(iv, x0, x1, 1, 1)
            v = _iv_exp_neg(iv, x0, x1, inv_lo, inv_hi)
            w_lo = (1 / iv.mpf(s1) - 1).a
            w_hi = None if s0 == 0 else (1 / iv.mpf(s0) - 1).b
            w = _iv_exp_neg(iv, x0, x1, max(w_lo, 0), w_hi)
            out.append((1 + u) * (1 + v) - (1 - w))
        return out
    finally:
        iv.prec = saved


def test_arb_against_mpmath_iv_on_the_checker_map(benchmark, report_ratio) -> None:
    grid = _grid()
    arb_boxes, mpf_boxes = _arb_boxes(grid), _mpf_boxes(grid)
    arb_out, iv_out = _arb_enclosures(arb_boxes), _iv_enclosures(mpf_boxes)
    proved_arb = [bool(e.lo >= 0) for e in arb_out]
    proved_iv = [bool(e.a >= 0) for e in iv_out]
    assert proved_arb == proved_iv and sum(proved_arb) > 0.9 * len(grid)
    for ((s0, s1), (x0, x1)), e_arb, e_iv in zip(mpf_boxes, arb_out, iv_out, strict=True):
        with mpmath.workprec(2 * BITS):
            s, x = (s0 + s1) / 2, (x0 + x1) / 2
            u, v, w = mpmath.exp(-x), mpmath.exp(-x / s), mpmath.exp(-(1 / s - 1) * x)
            point = (1 + u) * (1 + v) - (1 - w)
            assert e_iv.a <= point <= e_iv.b
            lo, hi = (mpmath.mpf(e.mid().str(60, radius=False)) for e in (e_arb.lo, e_arb.hi))
            assert lo <= point <= hi
    t_arb = median_seconds(lambda: _arb_enclosures(arb_boxes), repeats=5, warmup=1)
    t_iv = median_seconds(lambda: _iv_enclosures(mpf_boxes), repeats=5, warmup=1)
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    report_ratio(
        "mpmath.iv time / arb time, checker map (L6 margin)",
        t_iv / t_arb,
        "≥ 2×",
        f"{len(grid)} boxes at {BITS} bits: arb {1e3 * t_arb:.1f} ms, mpmath.iv "
        f"{1e3 * t_iv:.1f} ms; both prove {sum(proved_arb)} boxes",
    )
    assert t_iv / t_arb >= 2


def test_arb_against_mpmath_on_lgamma(benchmark, report_ratio) -> None:
    from flint import arb

    from proofs_numeric.certificates.intervals import arb_precision

    points = [mpmath.mpf(k) / 7 + mpmath.mpf(1) / 3 for k in range(1, 401)]
    texts = [mpmath.nstr(p, 50) for p in points]

    def with_arb():
        with arb_precision(BITS):
            return [arb(t).lgamma() for t in texts]

    def with_mpmath():
        with mpmath.workprec(BITS):
            return [mpmath.loggamma(mpmath.mpf(t)) for t in texts]

    for a, m in zip(with_arb(), with_mpmath(), strict=True):
        assert abs(float(a.mid()) - float(m)) <= 1e-12 * max(1.0, abs(float(m)))
    t_arb = median_seconds(with_arb, repeats=5, warmup=1)
    t_mp = median_seconds(with_mpmath, repeats=5, warmup=1)
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    report_ratio(
        "mpmath time / arb time, ln Γ",
        t_mp / t_arb,
        "≥ 2×",
        f"400 points at {BITS} bits: arb {1e3 * t_arb:.2f} ms, mpmath {1e3 * t_mp:.2f} ms",
    )
    assert t_mp / t_arb >= 2
