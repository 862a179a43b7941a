"""Gradient descent on bias-free ReLU networks with the exponential loss, on linearly
separable data (K2), in float64 numpy with a hand-written backward pass (checked against
torch autograd in the tests).

The network f(x; θ) = W_L ReLU(W_{L−1} ⋯ ReLU(W_1 x)) is L-homogeneous in θ. Its start
separates the data by construction: with a unit separator w* and data with |w*·x_i| ≥ m,
the first layer holds rows ±w* and the later layers pass those two units through (ReLU
of a non-negative number is itself), so the network computes α·w*·x plus the
contribution of small random weights in the other units; α is doubled until the loss
Σ_i exp(−y_i f(x_i; θ_0)) < 1, i.e. every margin y_i f(x_i; θ_0) > 0 (Lyu & Li's
starting condition).

Along the run it records, at log-spaced steps and at every step for the margins:
ρ_t = ‖θ_t‖, the normalised margin γ̄_t = min_i y_i f(x_i; θ_t)/ρ_t^L and the smoothed
normalised margin γ̃_t = ln(1/L(θ_t))/ρ_t^L.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from homogeneity.errors import HomogeneityInputError

DIM, POINTS, DATA_MARGIN, WIDTH, INIT_NOISE = 2, 12, 0.2, 6, 0.1


@dataclass(frozen=True)
class MarginRun:
    """The measurements of one run (steps t = 1..T after the start t = 0)."""

    depth: int
    lr: float
    weight_decay: float
    sample_steps: np.ndarray  # log-spaced steps
    sample_norms: np.ndarray  # ρ_t at those steps
    smoothed: np.ndarray  # γ̃_t, t = 0..T
    normalised: np.ndarray  # γ̄_t, t = 0..T
    losses: np.ndarray  # L(θ_t), t = 0..T


def separable_data(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, y, w*): POINTS points in ℝ^DIM with |w*·x| ≥ DATA_MARGIN, y = sign(w*·x)."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=DIM)
    w /= np.linalg.norm(w)
    points: list[np.ndarray] = []
    while len(points) < POINTS:
        x = rng.normal(size=DIM)
        if abs(float(x @ w)) >= DATA_MARGIN:
            points.append(x)
    x = np.array(points)
    return x, np.sign(x @ w), w


def forward(weights: list[np.ndarray], x: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Activations h_0 = x, …, h_L = f(x) and pre-activations z_1..z_L (rows: points)."""
    hs, zs = [x], []
    h = x
    for i, w in enumerate(weights):
        z = h @ w.T
        zs.append(z)
        h = np.maximum(z, 0.0) if i < len(weights) - 1 else z
        hs.append(h)
    return hs, zs


def loss_and_gradient(
    weights: list[np.ndarray], x: np.ndarray, y: np.ndarray
) -> tuple[float, np.ndarray, list[np.ndarray]]:
    """(L(θ) = Σ exp(−y_i f(x_i)), the margins y_i f(x_i), ∇_W L for every layer)."""
    hs, zs = forward(weights, x)
    q = y * hs[-1][:, 0]
    e = np.exp(-q)
    g = (-(y * e))[:, None]  # ∂L/∂f
    grads: list[np.ndarray] = [np.empty(0)] * len(weights)
    for i in range(len(weights) - 1, -1, -1):
        grads[i] = g.T @ hs[i]
        if i > 0:
            g = (g @ weights[i]) * (zs[i - 1] > 0)
    return float(e.sum()), q, grads


def separating_start(depth: int, x: np.ndarray, y: np.ndarray, w: np.ndarray, seed: int):
    """θ_0 of the module docstring (L(θ_0) < 1 guaranteed by doubling α)."""
    if depth < 2:
        raise HomogeneityInputError(f"depth={depth} must be ≥ 2 (one hidden ReLU layer at least)")
    rng = np.random.default_rng(seed + 1)
    first = INIT_NOISE * rng.normal(size=(WIDTH, DIM))
    first[0], first[1] = w, -w
    layers = [first]
    for _ in range(depth - 2):
        mid = INIT_NOISE * rng.normal(size=(WIDTH, WIDTH))
        mid[:2] = 0.0
        mid[:, :2] = 0.0
        mid[0, 0] = mid[1, 1] = 1.0
        layers.append(mid)
    last = INIT_NOISE * rng.normal(size=(1, WIDTH))
    last[0, 0], last[0, 1] = 1.0, -1.0
    layers.append(last)
    alpha = 1.0
    for _ in range(60):
        scaled = [layers[0] * alpha] + layers[1:]
        if loss_and_gradient(scaled, x, y)[0] < 1.0:
            return scaled
        alpha *= 2.0
    raise HomogeneityInputError("could not build a separating start (data not separable?)")


def log_spaced_steps(steps: int) -> np.ndarray:
    """1, then ⌊2^{k/4}⌉ up to ``steps``, and every step/4^j (the windows of the growth
    ratio), without repeats."""
    quarter = np.round(2.0 ** (np.arange(0, 4 * math.log2(steps) + 1) / 4)).astype(np.int64)
    windows = [steps // 4**j for j in range(int(math.log(steps, 4)) + 1)]
    grid = np.concatenate([[1], quarter[quarter <= steps], windows])
    return np.unique(grid[grid >= 1])


@lru_cache(maxsize=64)
def margin_run(
    seed: int, depth: int, lr: float, steps: int, weight_decay: float = 0.0
) -> MarginRun:
    """GD θ ← θ − η(∇L(θ) + λθ) for ``steps`` steps from the separating start. A run that
    overflows is recorded with non-finite values from the overflow on (never raised)."""
    with np.errstate(all="ignore"):
        return _run(seed, depth, lr, steps, weight_decay)


def _run(seed: int, depth: int, lr: float, steps: int, weight_decay: float) -> MarginRun:
    x, y, w = separable_data(seed)
    weights = separating_start(depth, x, y, w, seed)
    sample = set(log_spaced_steps(steps).tolist())
    ts, norms = [], []
    smoothed, normalised, losses = (np.empty(steps + 1) for _ in range(3))
    loss, q, grads = loss_and_gradient(weights, x, y)
    for t in range(steps + 1):
        rho = np.sqrt(np.float64(sum(float((v * v).sum()) for v in weights)))
        losses[t] = loss
        smoothed[t] = -np.log(loss) / rho**depth
        normalised[t] = float(q.min()) / rho**depth
        if t in sample:
            ts.append(t)
            norms.append(rho)
        if t == steps or not np.isfinite(smoothed[t]):
            smoothed[t + 1 :] = normalised[t + 1 :] = losses[t + 1 :] = np.nan
            break
        weights = [v - lr * (gv + weight_decay * v) for v, gv in zip(weights, grads, strict=True)]
        loss, q, grads = loss_and_gradient(weights, x, y)
    return MarginRun(
        depth,
        lr,
        weight_decay,
        np.array(ts, dtype=np.float64),
        np.array(norms),
        smoothed,
        normalised,
        losses,
    )
