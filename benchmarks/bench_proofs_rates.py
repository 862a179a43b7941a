"""The exponential rate of softmax(ρs) → argmax(s) is the gap.

For generated score rows (1–7 visible positions, chosen ties, gaps from 1e−3 to 10, masks,
offsets), the slope of −ln‖softmax(ρs) − argmax(s)‖_∞ between ρ₁ = 200/γ and ρ₂ = 400/γ
is compared with the predicted gap γ (relative difference). The error is computed in
mpmath (errors down to e^{−400}); the same slope measured in float64 (torch) between
ρ₁ = 10/γ and ρ₂ = 20/γ, the farthest float64 can see, is reported beside it.
"""

from __future__ import annotations

import random
import statistics

import mpmath
import torch

from homogeneity.components import functional as F
from proofs_numeric.precision import softmax_error, softmax_gap

N_ROWS = 60


def generated_rows(n_rows: int = N_ROWS, seed: int = 0) -> list[tuple[list[float], list[bool]]]:
    rng = random.Random(seed)
    rows: list[tuple[list[float], list[bool]]] = []
    while len(rows) < n_rows:
        n = rng.randint(2, 8)
        keep = [rng.random() < 0.85 for _ in range(n)]
        vis = [j for j in range(n) if keep[j]]
        if len(vis) < 2:
            continue
        ties = rng.randint(1, len(vis) - 1)
        gap = 10 ** rng.uniform(-3, 1)
        offset = rng.choice([0.0, rng.uniform(-50, 50)])
        rng.shuffle(vis)
        scores = [offset + rng.uniform(-5, 5) for _ in range(n)]  # masked: anything
        for j in vis[:ties]:
            scores[j] = offset
        for i, j in enumerate(vis[ties:]):
            scores[j] = offset - gap - (0.0 if i == 0 else rng.uniform(0, 3))
        rows.append((scores, keep))
    return rows


def measured_rates_mp(rows) -> list[float]:
    out = []
    for scores, keep in rows:
        gamma = softmax_gap(scores, keep)
        r1, r2 = 200 / gamma, 400 / gamma
        digits = 50 + int(400 / 2.3)
        e1 = softmax_error(scores, r1, keep, digits=digits)
        e2 = softmax_error(scores, r2, keep, digits=digits)
        with mpmath.workdps(digits):
            rate = (mpmath.log(e1) - mpmath.log(e2)) / (r2 - r1)
            out.append(float(abs(rate - gamma) / gamma))
    return out


def measured_rates_float64(rows) -> list[float]:
    out = []
    for scores, keep in rows:
        gamma = float(softmax_gap(scores, keep))
        s, k = torch.tensor(scores, dtype=torch.float64), torch.tensor(keep)
        limit = F.hardmax(s, k)

        def err(rho: float, s=s, k=k, limit=limit) -> float:
            return float((F.masked_softmax(s * rho, k) - limit).abs().max())

        r1, r2 = 10 / gamma, 20 / gamma
        e1, e2 = err(r1), err(r2)
        rate = (torch.tensor(e1).log() - torch.tensor(e2).log()).item() / (r2 - r1)
        out.append(abs(rate - gamma) / gamma)
    return out


def test_rate_equals_gap(benchmark, report_ratio):
    rows = generated_rows()
    rel_mp = benchmark.pedantic(measured_rates_mp, args=(rows,), rounds=1, iterations=1)
    rel_f64 = measured_rates_float64(rows)
    report_ratio(
        "rate vs gap, mpmath: max |γ̂ − γ|/γ",
        max(rel_mp),
        "≤ 1e-2",
        f"median {statistics.median(rel_mp):.2e} over {len(rows)} rows, ργ ∈ [200, 400]",
    )
    report_ratio(
        "rate vs gap, float64: max |γ̂ − γ|/γ",
        max(rel_f64),
        "-",
        f"median {statistics.median(rel_f64):.2e}, ργ ∈ [10, 20] (float64 floor)",
    )
    assert max(rel_mp) <= 1e-2
    assert statistics.median(rel_mp) <= 1e-6
