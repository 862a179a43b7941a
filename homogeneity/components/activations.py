"""Element-wise activations, each with its forward map and its saturated (ρ→∞) form.

``forward(z, saturated=True)`` evaluates the limit map that appears in
lim_{c→∞} f(x; cθ)/c^k when the activation's input has positive degree:

=========  ===============  ========================  ============================
map        forward          saturated (ρ → ∞)         degree, input of degree k > 0
=========  ===============  ========================  ============================
ReLU       max(z, 0)        ReLU                      k, exactly (L2)
GeLU       z Φ(z)           ReLU                      ∼k
sigmoid    1/(1 + e^{−z})   step 1[z>0] + ½·1[z=0]    ∼0 (L6)
tanh       tanh z           sign z                    ∼0 (L8)
=========  ===============  ========================  ============================

The degrees are what :mod:`homogeneity.degree_engine` derives from the ops of ``forward``.
"""

from __future__ import annotations

import torch
from torch import nn

from homogeneity.components import functional as F
from homogeneity.components.init import example_tensor


class _Activation(nn.Module):
    uses_context = ("saturated",)

    def example_inputs(self) -> tuple[torch.Tensor]:
        """A small batch z (2, 4, 3) to run the map once on."""
        return (example_tensor(2, 4, 3),)


class ReLU(_Activation):
    """max(z, 0): positively 1-homogeneous, its own saturated form."""

    def forward(self, z: torch.Tensor, saturated: bool = False) -> torch.Tensor:
        return torch.relu(z)


class GeLU(_Activation):
    """z Φ(z); saturated: ReLU, since GeLU(cz)/c → ReLU(z)."""

    def forward(self, z: torch.Tensor, saturated: bool = False) -> torch.Tensor:
        return torch.relu(z) if saturated else F.gelu(z)


class Sigmoid(_Activation):
    """σ(z) = 1/(1+e^{−z}); saturated: the step function (L6)."""

    def forward(self, z: torch.Tensor, saturated: bool = False) -> torch.Tensor:
        return F.step(z) if saturated else torch.sigmoid(z)


class Tanh(_Activation):
    """tanh z; saturated: sign z (L8)."""

    def forward(self, z: torch.Tensor, saturated: bool = False) -> torch.Tensor:
        return torch.sign(z) if saturated else torch.tanh(z)


ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": ReLU,
    "gelu": GeLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
}


def make_activation(name: str) -> nn.Module:
    """Build an activation by name: one of ``relu``, ``gelu``, ``sigmoid``, ``tanh``."""
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        from homogeneity.errors import HomogeneityInputError

        raise HomogeneityInputError(
            f"activation={name!r} is unknown; pick one of {sorted(ACTIVATIONS)}"
        ) from None
