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

        def value(params: dict[str, torch.Tensor]) -> torch.Tensor:
            out = functional_call(self.model, params, (self.ids,), {"saturated": saturated})
            return (out * self.readout).sum()

        grads = grad(value)({n: rho * t for n, t in self.theta0.items()})
        return torch.cat([grads[n].reshape(-1) for n in self.theta0])


def relative_distance(a: torch.Tensor, b: torch.Tensor, scale: torch.Tensor) -> float:
    """‖a − b‖/‖scale‖ (NaN if any input is not finite)."""
    if not (bool(torch.isfinite(a).all()) and bool(torch.isfinite(b).all())):
        return float("nan")
    return float(torch.linalg.vector_norm(a - b) / torch.linalg.vector_norm(scale))
