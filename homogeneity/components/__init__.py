"""Transformer components, each with its forward map, its degree rule (SPEC D16) and its
saturated (ρ→∞) form, selected with ``forward(..., saturated=True)``.

Every component is a ``torch.nn.Module`` that works in float32 or float64, on batched
inputs, on any device. Biases can be switched off everywhere.
"""

from homogeneity.components.activations import GeLU, ReLU, Sigmoid, Tanh, make_activation
from homogeneity.components.attention import AttentionHead, MultiHeadAttention, attend
from homogeneity.components.encoder import (
    Encoder,
    EncoderClassifier,
    EncoderConfig,
    EncoderLayer,
    EncoderOutput,
)
from homogeneity.components.feedforward import FeedForward
from homogeneity.components.linear import ClassifierHead, Embedding, Linear
from homogeneity.components.norms import LayerNorm, ProofLayerNorm, RMSNorm, make_norm
from homogeneity.components.residual import PLACEMENTS, Residual

__all__ = [
    "AttentionHead",
    "ClassifierHead",
    "Embedding",
    "Encoder",
    "EncoderClassifier",
    "EncoderConfig",
    "EncoderLayer",
    "EncoderOutput",
    "FeedForward",
    "GeLU",
    "LayerNorm",
    "Linear",
    "MultiHeadAttention",
    "PLACEMENTS",
    "ProofLayerNorm",
    "RMSNorm",
    "ReLU",
    "Residual",
    "Sigmoid",
    "Tanh",
    "attend",
    "make_activation",
    "make_norm",
]
