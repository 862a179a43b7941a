"""Three layer norms (SPEC D9 and its real-world variants).

* :class:`ProofLayerNorm`: γ ⊙ (x − μ)/‖x − μ‖₂, no ε (the paper's proofs). Exactly
  scale-invariant in its input, so degree k → 0 (→ 1 with a scaled gain).
* :class:`LayerNorm`: γ ⊙ (x − μ)/sqrt(var + ε) + β (torch, BERT). ε makes the
  scale-invariance only asymptotic: the error decays like ε/ρ^{2k}, polynomially.
* :class:`RMSNorm`: γ ⊙ x/sqrt(mean(x²) + ε) (T5): no centring, no β.

``forward(x, saturated=True)`` uses ε = 0, the limit when the input's degree is positive.
The degrees above are what :mod:`homogeneity.degree_engine` derives from the ops of
``forward``.
"""

from __future__ import annotations

import torch
from torch import nn

from homogeneity.components import functional as F
from homogeneity.components.init import ParameterFactory, example_tensor
from homogeneity.constants import NORM_EPS, NORMS, NormKind
from homogeneity.errors import HomogeneityInputError


class _Norm(nn.Module):
    """γ ⊙ normalise(x, ε) + β with an optional gain γ and bias β (both (d,), drawn near 1
    and 0); ``normalise`` is the subclass's map, ε ≥ 0 its stabiliser."""

    eps: float = 0.0
    label: str = "norm"
    uses_context = ("saturated",)

    def __init__(
        self,
        d: int,
        gain: bool,
        bias: bool,
        eps: float = 0.0,
        *,
        dtype: torch.dtype | None,
        device: torch.device | str | None,
        generator: torch.Generator | None,
    ) -> None:
        if eps < 0:
            raise HomogeneityInputError(f"eps={eps!r} must be ≥ 0")
        super().__init__()
        self.d = d
        self.eps = float(eps)
        self.weight = nn.Parameter(torch.ones(d, dtype=dtype, device=device)) if gain else None
        self.bias = nn.Parameter(torch.zeros(d, dtype=dtype, device=device)) if bias else None
        with torch.no_grad():
            if self.weight is not None:
                self.weight.add_(0.1 * torch.randn(d, generator=generator).to(self.weight))
            if self.bias is not None:
                self.bias.add_(0.1 * torch.randn(d, generator=generator).to(self.bias))

    def normalise(self, x: torch.Tensor, eps: float) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor, saturated: bool = False) -> torch.Tensor:
        # x: (..., d); the saturated form is the ε → 0 limit
        y = self.normalise(x, 0.0 if saturated else self.eps)
        if self.weight is not None:
            y = y * self.weight
        if self.bias is not None:
            y = y + self.bias
        return y

    def example_inputs(self) -> tuple[torch.Tensor]:
        """A small batch x (2, 4, d)."""
        like = self.weight if self.weight is not None else self.bias
        return (example_tensor(2, 4, self.d, like=like),)


class ProofLayerNorm(_Norm):
    """SPEC D9: γ ⊙ (x − μ)/‖x − μ‖₂ (ℓ2 norm, no ε, no β)."""

    label = "LN (D9)"

    def __init__(
        self,
        d: int,
        gain: bool = True,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__(d, gain, False, dtype=dtype, device=device, generator=generator)

    def normalise(self, x: torch.Tensor, eps: float) -> torch.Tensor:
        return F.proof_layer_norm(x)


class LayerNorm(_Norm):
    """Standard layer norm γ ⊙ (x − μ)/sqrt(var + ε) + β."""

    label = "LayerNorm"

    def __init__(
        self,
        d: int,
        eps: float = NORM_EPS[NormKind.LAYERNORM],
        gain: bool = True,
        bias: bool = True,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__(d, gain, bias, eps, dtype=dtype, device=device, generator=generator)

    def normalise(self, x: torch.Tensor, eps: float) -> torch.Tensor:
        return F.standard_layer_norm(x, eps)


class RMSNorm(_Norm):
    """T5's RMS norm γ ⊙ x/sqrt(mean(x²) + ε)."""

    label = "RMSNorm"

    def __init__(
        self,
        d: int,
        eps: float = NORM_EPS[NormKind.RMSNORM],
        gain: bool = True,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__(d, gain, False, eps, dtype=dtype, device=device, generator=generator)

    def normalise(self, x: torch.Tensor, eps: float) -> torch.Tensor:
        return F.rms_norm(x, eps)


def make_norm(
    kind: str,
    d: int,
    *,
    eps: float | None = None,
    bias: bool = True,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    generator: torch.Generator | None = None,
) -> _Norm:
    """Build a norm by name: ``proof`` (D9), ``layernorm`` or ``rmsnorm``.

    ``bias`` only applies to ``layernorm`` (the other two have no β by definition).
    """
    kw = ParameterFactory(dtype=dtype, device=device, generator=generator)
    if kind == NormKind.PROOF:
        return ProofLayerNorm(d, **kw)
    if kind == NormKind.LAYERNORM:
        return LayerNorm(d, NORM_EPS[kind] if eps is None else eps, bias=bias, **kw)
    if kind == NormKind.RMSNORM:
        return RMSNorm(d, NORM_EPS[kind] if eps is None else eps, **kw)
    raise HomogeneityInputError(f"norm={kind!r} is unknown; pick one of {NORMS}")
