"""Parameter gradients of small encoders along the ray θ = ρθ₀ (GH*), in float64 autograd.

A case names a seed and an :class:`~homogeneity.components.EncoderConfig`; θ₀ is the
package initialisation drawn from the seed, the input ids and a read-out direction u are
drawn from the same seed, and the scalar function is F(θ) = ⟨u, f(ids; θ)⟩. Its
gradient g(θ) = ∇_θ F(θ) over **every** parameter is computed with ``torch.func.grad``
through ``functional_call``, for the softmax encoder and for the saturated one
(``saturated=True``: argmax attention, whose weights are piecewise constant, so autograd
gives the derivative of f_sat wherever the argmax sets are locally constant).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch.func import functional_call, grad

from homogeneity.components import Encoder, EncoderConfig


@dataclass
class RayGradients:
    """g(ρθ₀) for the softmax and the saturated encoder of one case."""

    model: Encoder
    theta0: dict[str, torch.Tensor]
    ids: torch.Tensor
    readout: torch.Tensor

    @classmethod
    def from_case(cls, case: Mapping[str, Any], bias: bool | None = None) -> RayGradients:
        cfg = dict(case["cfg"])
        if bias is not None:
            cfg["bias"] = bias
        g = torch.Generator().manual_seed(int(case["seed"]))
        model = Encoder(EncoderConfig(**cfg), dtype=torch.float64, generator=g)
        ids = torch.tensor([case["ids"]])
        readout = torch.randn(1, len(case["ids"]), cfg["d_model"], generator=g, dtype=torch.float64)
        theta0 = {n: p.detach().clone() for n, p in model.named_parameters()}
        return cls(model, theta0, ids, readout)

    def gradient(self, rho: float, saturated: bool) -> torch.Tensor:
        """g(ρθ₀) flattened over every parameter (NaN where the encoder is undefined)."""
        return self._gradient_at({n: rho * t for n, t in self.theta0.items()}, saturated)

    def _gradient_at(self, params: dict[str, torch.Tensor], saturated: bool) -> torch.Tensor:
        def value(p: dict[str, torch.Tensor]) -> torch.Tensor:
            out = functional_call(self.model, p, (self.ids,), {"saturated": saturated})
            return (out * self.readout).sum()

        grads = grad(value)(params)
        return torch.cat([grads[n].reshape(-1) for n in self.theta0])

    def rounding_noise(self, rho: float, saturated: bool, trials: int = 4) -> float:
        """How much float64 rounding of the parameters moves g(ρθ₀): the largest
        ‖g(ρθ₀ ⊙ (1 + εσ)) − g(ρθ₀)‖/‖g(ρθ₀)‖ over ``trials`` seeded sign patterns σ, with
        ε = 2⁻⁵² (one unit in the last place, relative). Rounding ρθ₀ itself perturbs it by
        up to half of that, so a difference that exact arithmetic makes 0 (g_∞'s
        0-homogeneity) is of this size in float64, whatever the encoder's conditioning."""
        eps = torch.finfo(torch.float64).eps
        base = self.gradient(rho, saturated)
        worst = 0.0
        for trial in range(trials):
            g = torch.Generator().manual_seed(trial)
            params = {}
            for n, t in self.theta0.items():
                signs = torch.randint(0, 2, t.shape, generator=g, dtype=torch.float64) * 2 - 1
                params[n] = rho * t * (1 + eps * signs)
            worst = max(worst, relative_distance(self._gradient_at(params, saturated), base, base))
        return worst


def relative_distance(a: torch.Tensor, b: torch.Tensor, scale: torch.Tensor) -> float:
    """‖a − b‖/‖scale‖ (NaN if any input is not finite)."""
    if not (bool(torch.isfinite(a).all()) and bool(torch.isfinite(b).all())):
        return float("nan")
    return float(torch.linalg.vector_norm(a - b) / torch.linalg.vector_norm(scale))
