"""A1: ‖δ_t‖ ∝ η_t‖θ_t‖ for large t, checked in the paper's setting (refuted), and A1*
per optimizer family on a scale-invariant objective.

**A1 in the paper's setting.** The paper uses A1 for gradient descent on a ∼2 classifier
(a ∼1 encoder with a linear classifier, C1). Checked on the package's bias-free
paper-pre-norm encoder (1 layer, d_model 6, 1 head, LN of D9, ReLU) with a bias-free
linear classifier on the first token (:class:`homogeneity.components.EncoderClassifier`),
trained by full-batch GD (torch's SGD, no momentum, constant η) on cross-entropy: 16
sequences of 4 tokens over 4 symbols, label "token 0 occurs" (separable), T = 600 steps.
A1 says the ratio q_t = ‖δ_t‖/(η_t‖θ_t‖) tends to a constant κ, so late in the run it may
change by at most a factor 2:

    margin = ln 2 − |ln(median q over [0.9T, T)) − ln(median q over [T/4, 0.3T))|.

(The slope of ln(‖δ‖/η) on ln‖θ‖ is ill-posed here: ‖θ‖ grows by a few per cent only.)
For GD, q_t = ‖∇L(θ_t)‖/‖θ_t‖, and once the data are fit the cross-entropy and with it
the gradient decay while ‖θ‖ grows only slowly: q falls by more than the factor 2.

**A1*** is a property of the optimizer, checked on runs of torch's optimizers on the
scale-invariant noise objective L_t(θ) = ⟨ξ_t, θ/‖θ‖⟩
(:class:`homogeneity.dynamics.controlled.RandomSphereObjective`) from ‖θ_0‖ = 2, with
learning rates at which ‖θ‖ grows by a factor ≥ 1.5 after the first tenth of the run
(runs where it does not are uninformative: vacuous). Over the last nine tenths we fit

    ln(‖δ_t‖/η_t) = s · ln‖θ_t‖ + const,

with η_t the step size the optimizer applies (for Adafactor its relative step
ρ_t = min(lr, 1/√t)). A1 would say s = 1.

* Adafactor scales its update by RMS(θ): s ≈ 1 (κ = RMS of the clipped update ≈ 0.8).
* Adam normalises the update coordinate-wise: ‖δ_t‖/η_t does not grow with ‖θ‖ (s ≤ 0).
* SGD on a scale-invariant loss: ‖δ_t‖ = η‖∇L‖ = ηG/‖θ‖, s = −1.

The runs are deterministic float64 computations: the "re-check at higher precision" of a
counterexample re-runs the same computation, which is a reproducibility check, not a
precision check (mpmath digits do not apply).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st

from homogeneity.components import EncoderClassifier, EncoderConfig
from homogeneity.dynamics.controlled import RandomSphereObjective, initial_theta, run_optimizer
from proofs_numeric import case_schema as cs
from proofs_numeric.claim import CheckContext, Claim, Verdict
from proofs_numeric.search import (
    PropertySearch,
    Vacuous,
    check_property,
    property_control,
    replay_control,
    vacuous,
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


# -- A1 in the paper's setting: GD on a ∼2 classifier -------------------------------------

PAPER_STEPS = 600
PAPER_FACTOR = 2.0  # q may change by at most this factor between the two windows
#: the windows whose median q_t are compared: [T/4, 0.3T) and [0.9T, T)
MID_WINDOW, LATE_WINDOW = (0.25, 0.3), (0.9, 1.0)
CLASSIFIER = EncoderConfig(
    vocab_size=4, d_model=6, n_heads=1, d_ff=8, n_layers=1, max_len=4, bias=False
)
N_SEQUENCES, SEQ_LEN = 16, 4


def classifier_run(case: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, float]:
    """(‖θ_t‖, ‖δ_t‖ for t < T, final loss) of full-batch GD on the C1 classifier (a
    deterministic float64 run, cached by its parameters)."""
    return _classifier_run(float(case["lr"]), int(case["seed"]), case.get("labels", "token0"))


@lru_cache(maxsize=64)
def _classifier_run(lr: float, seed: int, label_kind: str) -> tuple[np.ndarray, np.ndarray, float]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        g = torch.Generator().manual_seed(seed)
        model = EncoderClassifier(CLASSIFIER, 2, dtype=torch.float64, generator=g)
        ids = torch.randint(0, CLASSIFIER.vocab_size, (N_SEQUENCES, SEQ_LEN), generator=g)
        if label_kind == "random":
            labels = torch.randint(0, 2, (N_SEQUENCES,), generator=g)
        else:
            labels = (ids == 0).any(dim=1).long()
        params = list(model.parameters())
        opt = torch.optim.SGD(params, lr=lr)
        norms, steps = np.empty(PAPER_STEPS), np.empty(PAPER_STEPS)
        loss = torch.zeros(())
        for t in range(PAPER_STEPS):
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(ids), labels)
            loss.backward()
            before = torch.cat([p.detach().reshape(-1) for p in params])
            opt.step()
            after = torch.cat([p.detach().reshape(-1) for p in params])
            norms[t] = float(torch.linalg.vector_norm(before))
            steps[t] = float(torch.linalg.vector_norm(after - before))
        return norms, steps, float(loss.detach())
    finally:
        torch.set_num_threads(previous)


def _window(q: np.ndarray, window: tuple[float, float]) -> float:
    lo, hi = (int(round(f * len(q))) for f in window)
    return float(np.median(q[lo:hi]))


def paper_a1_margin(case: Mapping[str, Any], digits: int) -> Any:
    """ln 2 − |ln(q late / q mid)|, q_t = ‖δ_t‖/(η‖θ_t‖) (medians over [0.9T, T) and
    [T/4, 0.3T)); vacuous where the run broke down (NaN) or GD did not move (q = 0)."""
    norms, steps, _ = classifier_run(case)
    q = steps / (float(case["lr"]) * norms)
    mid, late = _window(q, MID_WINDOW), _window(q, LATE_WINDOW)
    if not (math.isfinite(mid) and math.isfinite(late)):
        return vacuous("the run broke down (NaN: a layer norm of a constant row)")
    if not (mid > 0 and late > 0):
        return vacuous("GD did not move (a zero step): q is undefined")
    return math.log(PAPER_FACTOR) - abs(math.log(late / mid))


def paper_a1_cases() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"lr": st.floats(0.05, 1.0), "seed": st.integers(0, 1000)})


#: a replayed A1 case: a GD run of PAPER_STEPS steps at η ≤ 4 (a fixed-length run), the
#: labels of the search or random ones
PAPER_A1_SCHEMA = cs.Record(
    {"lr": cs.Real(1e-6, 4.0), "seed": cs.Integer(0, 2**31)},
    optional={"labels": cs.Choice(("token0", "random"))},
)

PAPER_A1_CONSTRUCTIONS = ({"lr": 0.3, "seed": 0},)


def a1_search() -> PropertySearch:
    return PropertySearch(
        claim_id="A1",
        strategy=paper_a1_cases(),
        margin=paper_a1_margin,
        constructions=PAPER_A1_CONSTRUCTIONS,
        search=(
            "full-batch GD (η ∈ [0.05, 1]) on the bias-free paper-pre-norm encoder + linear "
            f"classifier (d_model 8, 2 heads, 1 layer), cross-entropy on {N_SEQUENCES} "
            f"sequences of {SEQ_LEN} tokens ('token 0 occurs'), {PAPER_STEPS} steps; q = "
            "‖δ_t‖/(η‖θ_t‖) over the second half"
        ),
        margin_label=f"ln {PAPER_FACTOR:g} − |ln(q late/q mid)|",
        precision="float64 torch runs (deterministic)",
        examples_scale=0.2,
        describe=lambda case: (
            f"GD η = {case['lr']}, seed {case['seed']}: once the data are fit, "
            f"‖δ_t‖/(η‖θ_t‖) = ‖∇L‖/‖θ‖ decays with the loss instead of settling"
        ),
    )


#: A1's statement holds on this run: at η = 10⁻⁴ GD has not fit the data in T steps, the
#: gradient and ‖θ‖ barely change and q stays within the factor 2 (a finite margin).
PAPER_A1_NON_COUNTEREXAMPLE = {"lr": 1e-4, "seed": 0}


# -- A1*: the optimizer families on a scale-invariant objective ---------------------------


def a1_star_margin(predicted: Mapping[str, float] = PREDICTED):
    def margin(case: Mapping[str, Any], digits: int) -> float | Vacuous:
        s, growth = measured_slope(case)
        if growth < MIN_LOG_GROWTH:
            return vacuous("‖θ‖ grew by less than 1.5× in the fit window: s says nothing")
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


A1_STAR_CONSTRUCTIONS = (
    {"optimizer": "adafactor", "lr": 0.1, "seed": 2, "theta0_norm": 2.0},
    {"optimizer": "adam", "lr": 0.05, "seed": 2, "theta0_norm": 2.0},
    {"optimizer": "sgd", "lr": 1.0, "seed": 2, "theta0_norm": 2.0},
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
        title="Step size proportional to η‖θ‖ (GD on a ∼2 classifier)",
        statement=(
            "In the paper's setting, gradient descent on a ∼2 classifier (C1: the bias-free "
            "paper-pre-norm encoder with a linear classifier, cross-entropy): for large t, "
            "‖δ_t‖ ≈ κη_t‖θ_t‖, i.e. q_t = ‖δ_t‖/(η_t‖θ_t‖) settles to a constant κ: its "
            f"medians over [T/4, 0.3T) and [0.9T, T) of a {PAPER_STEPS}-step run differ by "
            f"at most a factor {PAPER_FACTOR:g}."
        ),
        expected="refuted",
        check=check_a1,
        replay=paper_a1_margin,
        case_schema=PAPER_A1_SCHEMA,
        describe=a1_search().describe,
        explanation=(
            "For GD q_t = ‖∇L(θ_t)‖/‖θ_t‖: once the data are fit the cross-entropy and its "
            "gradient decay while ‖θ‖ grows only slowly, so q falls. A1 is a property of "
            "relative-step optimizers (Adafactor, A1*), not of gradient descent. Measure it "
            "on your run with NormTracker's relative_step."
        ),
        negative_controls=(
            replay_control(
                "a non-counterexample is not replayed as one",
                "GD at η = 1e-4 before it fits the data: q stays within the factor 2 and "
                "the replay must agree (a finite margin)",
                PAPER_A1_NON_COUNTEREXAMPLE,
                paper_a1_margin,
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
