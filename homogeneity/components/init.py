"""Seeded initialisation that gives the same parameters on every device.

A ``torch.Generator`` lives on one device and torch refuses to draw with it into a tensor on
another. Components take a generator (CPU by default) and a device; these helpers draw on
the generator's device and copy, so ``Encoder(cfg, device="cuda", generator=g)`` holds the
very numbers ``Encoder(cfg, generator=g)`` holds on the CPU, and a model's results can be
compared across devices.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypedDict

import torch

from homogeneity.constants import EXAMPLE_SEED


class ParameterFactory(TypedDict):
    """How a component creates its parameters, passed on unchanged to its parts: their
    ``dtype`` and ``device`` (torch's defaults when None) and the ``generator`` that draws
    their initial values (torch's global one when None)."""

    dtype: torch.dtype | None
    device: torch.device | str | None
    generator: torch.Generator | None


def _same_device(tensor: torch.Tensor, generator: torch.Generator) -> bool:
    a, b = tensor.device, torch.device(generator.device)
    return a.type == b.type and (a.index or 0) == (b.index or 0)


def _draw_(
    tensor: torch.Tensor,
    generator: torch.Generator | None,
    fill: Callable[[torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """``fill`` (an in-place sampler using ``generator``) applied on the generator's device."""
    if generator is None or _same_device(tensor, generator):
        return fill(tensor)
    draw = torch.empty(tensor.shape, dtype=tensor.dtype, device=generator.device)
    return tensor.copy_(fill(draw))


def normal_(
    tensor: torch.Tensor, mean: float, std: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``tensor.normal_(mean, std)`` drawn with ``generator`` on the generator's device."""
    return _draw_(tensor, generator, lambda t: t.normal_(mean, std, generator=generator))


def uniform_(
    tensor: torch.Tensor, low: float, high: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``tensor.uniform_(low, high)`` drawn with ``generator`` on the generator's device."""
    return _draw_(tensor, generator, lambda t: t.uniform_(low, high, generator=generator))


def example_tensor(*shape: int, like: torch.Tensor | None = None) -> torch.Tensor:
    """Standard normal entries of ``shape``, seeded (:data:`~homogeneity.constants.
    EXAMPLE_SEED`), in ``like``'s dtype and device (float64 on the CPU without ``like``):
    the small inputs a component runs on when the degree engine asks for example inputs."""
    g = torch.Generator().manual_seed(EXAMPLE_SEED)
    x = torch.randn(*shape, generator=g, dtype=torch.float64)
    if like is not None and like.is_floating_point():
        x = x.to(dtype=like.dtype, device=like.device)
    return x


def example_batch(weight: torch.Tensor) -> tuple[torch.Tensor]:
    """The one input of a component whose first map has matrix ``weight`` (d_out, d_in): a
    small batch x (2, 4, d_in) of :func:`example_tensor`, in ``weight``'s dtype and device."""
    return (example_tensor(2, 4, weight.shape[1], like=weight),)


def example_ids(vocab_size: int, length: int, like: torch.Tensor | None = None) -> torch.Tensor:
    """Token ids (2, ``length``) below ``vocab_size``, seeded, on ``like``'s device."""
    g = torch.Generator().manual_seed(EXAMPLE_SEED)
    ids = torch.randint(0, vocab_size, (2, length), generator=g)
    return ids if like is None else ids.to(like.device)
