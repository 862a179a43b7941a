"""Small example inputs for modules whose input shape the module itself says.

The engine predicts a degree by running the model once; a user's model needs the inputs
the user passes (as every check does). The package's components say what they take
(``example_inputs()``), and so do the standard torch layers below, so
``predict_degree(component)`` works without inputs.
"""

from __future__ import annotations

from torch import nn

from homogeneity.components.init import example_ids, example_tensor
from homogeneity.errors import HomogeneityInputError

#: parameter-free element-wise layers: any shape will do
_ELEMENTWISE = (
    nn.ReLU,
    nn.LeakyReLU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Softplus,
    nn.Tanh,
    nn.Sigmoid,
    nn.Hardtanh,
    nn.Softmax,
    nn.LogSoftmax,
    nn.Identity,
    nn.Dropout,
)


def example_inputs(model: nn.Module) -> tuple:
    """Inputs for one forward call of ``model``, from the model's own description.

    A module with an ``example_inputs()`` method (every component of
    :mod:`homogeneity.components`) gives its own; an ``nn.Sequential`` takes its first
    layer's; ``nn.Linear``, ``nn.Embedding``, the norms and the element-wise layers are
    built here. Anything else raises :class:`HomogeneityInputError` asking for ``inputs``.
    """
    own = getattr(model, "example_inputs", None)
    if callable(own):
        return tuple(own())
    if isinstance(model, nn.Sequential) and len(model) > 0:
        return example_inputs(model[0])
    like = next(iter(model.parameters()), None)
    if isinstance(model, nn.Linear):
        return (example_tensor(2, 4, model.in_features, like=like),)
    if isinstance(model, nn.Embedding):
        return (example_ids(model.num_embeddings, 4, like),)
    if isinstance(model, nn.LayerNorm | nn.RMSNorm):
        return (example_tensor(2, 4, *model.normalized_shape, like=like),)
    if isinstance(model, _ELEMENTWISE):
        return (example_tensor(2, 4, 3),)
    raise HomogeneityInputError(
        f"inputs: predict_degree runs the model once and a {type(model).__name__} does not "
        f"say what it takes; pass inputs=(x,) (and kwargs=...) as for check_degree"
    )
