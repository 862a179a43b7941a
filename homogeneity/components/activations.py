"""Element-wise activations, each with its degree rule and its saturated (ρ→∞) form.

``forward(z, saturated=True)`` evaluates the limit map that appears in
lim_{c→∞} f(x; cθ)/c^k when the activation's input has positive degree:
ReLU → ReLU, GeLU → ReLU, sigmoid → step, tanh → sign.
"""

from __future__ import annotations

import torch
from torch import nn

from homogeneity import rules
from homogeneity.components import functional as F
from homogeneity.rules import Degree, RuleContext


class ReLU(nn.Module):
    """max(z, 0): positively 1-homogeneous, so degree k → k (L2)."""

    def forward(self, z: torch.Tensor, saturated: bool = False) -> torch.Tensor:
        return torch.relu(z)

    def degree_rule(self, d: Degree, ctx: RuleContext) -> Degree:
        return ctx.record("relu", d, rules.relu(d))


class GeLU(nn.Module):
    """z Φ(z); its saturated form is ReLU since GeLU(cz)/c → ReLU(z)."""

    def forward(self, z: torch.Tensor, saturated: bool = False) -> torch.Tensor:
        return torch.relu(z) if saturated else F.gelu(z)

    def degree_rule(self, d: Degree, ctx: RuleContext) -> Degree:
        return ctx.record("gelu", d, rules.gelu(d))


class Sigmoid(nn.Module):
    """σ(z) = 1/(1+e^{−z}); saturated: the step function (L6)."""

    def forward(self, z: torch.Tensor, saturated: bool = False) -> torch.Tensor:
        return F.step(z) if saturated else torch.sigmoid(z)

    def degree_rule(self, d: Degree, ctx: RuleContext) -> Degree:
        return ctx.record("sigmoid", d, rules.saturating(d, "sigmoid"))


class Tanh(nn.Module):
    """tanh z; saturated: sign z (L8)."""

    def forward(self, z: torch.Tensor, saturated: bool = False) -> torch.Tensor:
        return torch.sign(z) if saturated else torch.tanh(z)

    def degree_rule(self, d: Degree, ctx: RuleContext) -> Degree:
        return ctx.record("tanh", d, rules.saturating(d, "tanh"))


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
