"""Reading the weights of a torch module into :class:`~proofs_numeric.precision.model.Weights`
(float64 values convert to mpmath exactly). The only module of
:mod:`proofs_numeric.precision` that imports torch.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from homogeneity.errors import HomogeneityInputError
from proofs_numeric.precision.model import MpEncoder, Weights


def tensor_to_lists(t: torch.Tensor) -> Any:
    """A float64 copy of a tensor as nested Python floats (exact for float64 and float32)."""
    return t.detach().to(torch.float64).cpu().tolist()


def weights_from_module(module: nn.Module, prefix: str = "") -> Weights:
    """Every named parameter of ``module`` (names as in ``named_parameters``, with
    ``prefix`` stripped from those that start with it)."""
    values = {}
    for name, p in module.named_parameters():
        if prefix and name.startswith(prefix):
            name = name[len(prefix) :]
        values[name] = tensor_to_lists(p)
    return Weights(values)


def encoder_from_torch(encoder: nn.Module) -> MpEncoder:
    """The mpmath twin of a :class:`homogeneity.components.Encoder`."""
    from homogeneity.components import EncoderConfig

    cfg = getattr(encoder, "config", None)
    if not isinstance(cfg, EncoderConfig):
        raise HomogeneityInputError(
            "encoder must be a homogeneity.components.Encoder (it has no EncoderConfig)"
        )
    return MpEncoder(cfg, weights_from_module(encoder))


def classifier_from_torch(model: nn.Module) -> tuple[MpEncoder, Weights, str]:
    """(encoder, head weights, pooling) of a :class:`homogeneity.components.EncoderClassifier`,
    for :func:`proofs_numeric.precision.model.classifier`."""
    encoder = getattr(model, "encoder", None)
    head = getattr(model, "head", None)
    if encoder is None or head is None:
        raise HomogeneityInputError(
            "model must be a homogeneity.components.EncoderClassifier (encoder + head)"
        )
    return encoder_from_torch(encoder), weights_from_module(head), str(head.pooling)
