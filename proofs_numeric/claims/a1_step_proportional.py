"""A1: ‖δ_t‖ ∝ η_t‖θ_t‖ for large t: refuted as a general statement; A1* per optimizer.

A1 is a property of an optimizer on a run, so it is checked on runs: θ ∈ ℝⁿ trained with
torch's optimizers on the scale-invariant noise objective L_t(θ) = ⟨ξ_t, θ/‖θ‖⟩
(:class:`homogeneity.dynamics.controlled.RandomSphereObjective`) from ‖θ_0‖ = 2, with
learning rates at which ‖θ‖ grows by a factor ≥ 1.5 after the first tenth of the run
(cases where it does not are uninformative and count as margin 0). Over the last nine
tenths of the run we fit

    ln(‖δ_t‖/η_t) = s · ln‖θ_t‖ + const,

with η_t the step size the optimizer actually applies (for Adafactor its relative step
ρ_t = min(lr, 1/√t)). A1 says s = 1.

* Adafactor scales its update by RMS(θ): s ≈ 1, A1 holds (κ = RMS of the clipped update,
  ≈ 0.8 here).
* Adam normalises the update coordinate-wise: ‖δ_t‖/η_t does not grow with ‖θ‖ (s ≤ 0;
  it is even negative while the second moment lags a shrinking gradient).
* SGD on a scale-invariant loss: ‖δ_t‖ = η‖∇L‖ = ηG/‖θ‖, s = −1.

So A1 is refuted for the optimizer of the paper's own E2 (AdamW); the corrected A1* states
the exponent per optimizer family. The runs are deterministic float64 computations: the
"re-check at higher precision" of a counterexample re-runs the same computation, which is
a reproducibility check, not a precision check (mpmath digits do not apply).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st

from homogeneity.dynamics.controlled import RandomSphereObjective, initial_theta, run_optimizer
from proofs_numeric import case_schema as cs
from proofs_numeric.claim import CheckContext, Claim, Verdict
from proofs_numeric.search import (
    PropertySearch,
    check_property,
    property_control,
    replay_control,
)

#: allowed deviation of the fitted slope from its prediction
SLOPE_TOL = 0.25
#: the slope each optimizer family gives (A1* predictions); Adam's is an upper bound
PREDICTED = {"adafactor": 1.0, "adam": 0.0, "sgd": -1.0}
DIM = 64
STEPS = 600
MIN_LOG_GROWTH = 0.4  # ln 1.5: the fit needs ‖θ‖ to move


def _optimizer(case: Mapping[str, Any]):
    name, lr = case["optimizer"], float(case["lr"])
    if name == "adafactor":
        return lambda p: torch.optim.Adafactor(p, lr=lr, weight_decay=0.0)
    if name == "adam":
        return lambda p: torch.optim.Adam(p, lr=lr)
    return lambda p: torch.optim.SGD(p, lr=lr)


def _applied_lrs(case: Mapping[str, Any], recorded: np.ndarray) -> np.ndarray:
    if case["optimizer"] == "adafactor":
        t = np.arange(1, recorded.size + 1, dtype=np.float64)
        return np.minimum(float(case["lr"]), 1.0 / np.sqrt(t))
    return recorded


def measured_slope(case: Mapping[str, Any]) -> tuple[float, float]:
    """(s, ln of the growth of ‖θ‖ over the fit window) for one deterministic float64 run."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        tr = run_optimizer(
            RandomSphereObjective(DIM, seed=int(case["seed"])),
            _optimizer(case),
            initial_theta(DIM, float(case["theta0_norm"]), int(case["seed"])),
            STEPS,
        )
    finally:
        torch.set_num_threads(previous)
    eta = _applied_lrs(case, tr.lrs)
    window = slice(STEPS // 10, None)
    x = np.log(tr.norms[:-1][window])
    y = np.log(tr.step_norms[window] / eta[window])
    return float(np.polyfit(x, y, 1)[0]), float(x[-1] - x[0])


def a1_margin(case: Mapping[str, Any], digits: int) -> float:
    """SLOPE_TOL − |s − 1| (≥ 0 iff A1 holds on the run). A run whose norm grows by less
    than 1.5× in the fit window says nothing about s and counts as holding (margin 0)."""
    s, growth = measured_slope(case)
    if growth < MIN_LOG_GROWTH:
        return 0.0
    return SLOPE_TOL - abs(s - 1.0)


def a1_star_margin(predicted: Mapping[str, float] = PREDICTED):
    def margin(case: Mapping[str, Any], digits: int) -> float:
        s, growth = measured_slope(case)
        if growth < MIN_LOG_GROWTH:
            return 0.0
        target = predicted[case["optimizer"]]
        if case["optimizer"] == "adam":  # Adam: s ≤ 0 (+ tolerance), an upper bound
            return SLOPE_TOL - max(0.0, s - target)
        return SLOPE_TOL - abs(s - target)

    return margin


# lr ranges in which ‖θ‖ grows by ≥ 1.5× over the fit window from ‖θ_0‖ = 2 (n = 64)
LR_RANGES = {"adafactor": (0.05, 0.2), "adam": (0.05, 0.15), "sgd": (0.3, 2.0)}


def cases(optimizers=("adafactor", "adam", "sgd")) -> st.SearchStrategy[dict[str, Any]]:
    def for_optimizer(name: str) -> st.SearchStrategy[dict[str, Any]]:
        lo, hi = LR_RANGES[name]
        return st.fixed_dictionaries(
            {
                "optimizer": st.just(name),
                "lr": st.floats(lo, hi),
                "seed": st.integers(0, 1000),
                "theta0_norm": st.just(2.0),
            }
        )

    return st.one_of(*(for_optimizer(o) for o in optimizers))


#: a replayed case: one of the three optimizers, lr ≤ 4, ‖θ_0‖ ≤ 100 (a fixed-length run)
CASE_SCHEMA = cs.Record(
    {
        "optimizer": cs.Choice(("adafactor", "adam", "sgd")),
        "lr": cs.Real(1e-6, 4.0),
        "seed": cs.Integer(0, 2**31),
        "theta0_norm": cs.Real(1e-3, 100.0),
    }
)

A1_CONSTRUCTIONS = (
    {"optimizer": "adafactor", "lr": 0.1, "seed": 2, "theta0_norm": 2.0},
    {"optimizer": "adam", "lr": 0.05, "seed": 2, "theta0_norm": 2.0},
)
A1_STAR_CONSTRUCTIONS = A1_CONSTRUCTIONS + (
    {"optimizer": "sgd", "lr": 1.0, "seed": 2, "theta0_norm": 2.0},
)


def a1_search() -> PropertySearch:
    return PropertySearch(
        claim_id="A1",
        strategy=cases(),
        margin=a1_margin,
        constructions=A1_CONSTRUCTIONS,
        search=(
            f"Adafactor / Adam / SGD runs on ⟨ξ_t, θ/‖θ‖⟩, n = {DIM}, {STEPS} steps, "
            "slope of ln(‖δ‖/η) on ln‖θ‖ after the first tenth"
        ),
        margin_label=f"{SLOPE_TOL} − |s − 1|",
        precision="float64 torch runs (deterministic)",
        examples_scale=0.2,
        describe=lambda case: (
            f"{case['optimizer']} lr={case['lr']}: ‖δ_t‖/η_t does not scale with ‖θ_t‖"
        ),
    )


def a1_star_search(predicted: Mapping[str, float] = PREDICTED, label: str = "") -> PropertySearch:
    return PropertySearch(
        claim_id="A1*",
        strategy=cases(),
        margin=a1_star_margin(predicted),
        constructions=A1_STAR_CONSTRUCTIONS,
        search=(
            f"Adafactor / Adam / SGD runs on ⟨ξ_t, θ/‖θ‖⟩, n = {DIM}, {STEPS} steps; "
            f"slope vs the per-optimizer prediction{label}"
        ),
        margin_label=f"{SLOPE_TOL} − |s − s_pred| (Adam: {SLOPE_TOL} − max(0, s))",
        precision="float64 torch runs (deterministic)",
        examples_scale=0.2,
        describe=lambda case: repr(dict(case)),
    )


def check_a1(ctx: CheckContext) -> Verdict:
    return check_property(a1_search(), ctx)


def check_a1_star(ctx: CheckContext) -> Verdict:
    return check_property(a1_star_search(), ctx)


CLAIMS = (
    Claim(
        id="A1",
        title="Step size proportional to η‖θ‖",
        statement=(
            "For the optimizers used to train transformers (Adafactor, Adam, SGD), on runs "
            "where ‖θ_t‖ grows: ‖δ_t‖ ≈ κη_t‖θ_t‖ for large t, i.e. the slope s of "
            f"ln(‖δ_t‖/η_t) on ln‖θ_t‖ (after the first tenth) is 1 (within {SLOPE_TOL})."
        ),
        expected="refuted",
        check=check_a1,
        replay=a1_margin,
        case_schema=CASE_SCHEMA,
        describe=a1_search().describe,
        explanation=(
            "An assumption about the optimizer. It holds for Adafactor's relative step (T5) "
            "and fails for Adam (s ≈ 0 or below) and SGD (s = −1 on scale-invariant "
            "losses). Measure it on your run with NormTracker's relative_step."
        ),
        negative_controls=(
            replay_control(
                "an Adafactor run is not a counterexample",
                "Adafactor scales its step by RMS(θ): A1 holds there, the replay must agree",
                {"optimizer": "adafactor", "lr": 0.1, "seed": 2, "theta0_norm": 2.0},
                a1_margin,
            ),
        ),
    ),
    Claim(
        id="A1*",
        corrects="A1",
        title="Step-size scaling per optimizer",
        statement=(
            "On runs where ‖θ_t‖ grows ≥ 1.5× on a scale-invariant noise objective, the "
            "slope s of ln(‖δ_t‖/η_t) on ln‖θ_t‖ (after the first tenth) is 1 for Adafactor (A1 "
            "holds), ≤ 0 for Adam (the step does not grow with ‖θ‖), −1 for SGD (the "
            f"gradient shrinks like 1/‖θ‖), each within {SLOPE_TOL}."
        ),
        expected="verified",
        check=check_a1_star,
        explanation="A1 is a property of relative-step optimizers, not of training in general.",
        negative_controls=(
            property_control(
                "A1 for every optimizer",
                "predicting s = 1 for all three families must be refuted",
                lambda: a1_star_search(
                    {"adafactor": 1.0, "adam": 1.0, "sgd": 1.0}, "; mutated: s = 1 for all"
                ),
            ),
        ),
    ),
)
