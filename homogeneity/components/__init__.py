"""Transformer components, each with its forward map and its saturated (ρ→∞) form side by
side, selected with ``forward(..., saturated=True)``.

Every component is a ``torch.nn.Module`` that works in float32 or float64, on batched
inputs, on any device. Biases can be switched off everywhere. Degrees (SPEC D16) come
from one place, :mod:`homogeneity.degree_engine`, applied to the ops each forward runs, so
a component's degree cannot drift from its forward; ``example_inputs()`` gives the small
inputs the engine runs a component on. The parts of one forward call that sublayers share
travel in a :class:`~homogeneity.components.context.ForwardContext`.
"""

from homogeneity.components.activations import GeLU, ReLU, Sigmoid, Tanh, make_activation
from homogeneity.components.attention import AttentionHead, MultiHeadAttention, attend
from homogeneity.components.context import ForwardContext
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
    "ForwardContext",
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
