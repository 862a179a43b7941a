"""What the degree engine knows about one tensor: its degree in θ, and whether it is θ-free.

Every tensor the model computes gets a :class:`TensorDegree` in the interpreter's side
table. Two facts beyond the :class:`~homogeneity.rules.Degree` matter to the rules:

* ``constant``: the tensor does not depend on the scaled parameters at all (data, buffers,
  unscaled parameters, masks, position ids, rotary tables). An op whose inputs are all
  constant gives a constant, whatever the op. A tensor that is the same at every ρ (a
  constant, or one of exact degree 0) with entries 0 and −∞ or below
  :data:`homogeneity.constants.MASK_FLOOR` is a *mask*.
* ``zero``: the tensor is known to be all zeros (``torch.zeros``, ``zero_()``), which is
  homogeneous of every degree, so it never mixes degrees in a sum.

``missing`` marks a value that an op without a degree rule produced (or fed): it
propagates to everything computed from it, and reaching the output means *no prediction*.
"""

from __future__ import annotations

from dataclasses import dataclass

from homogeneity.rules import Degree, MissingRule


@dataclass(frozen=True, slots=True)
class TensorDegree:
    """The degree of one tensor in θ, and what else the rules may rely on."""

    degree: Degree
    constant: bool = False
    zero: bool = False
    missing: MissingRule | None = None

    @classmethod
    def of(cls, degree: Degree) -> TensorDegree:
        """A θ-dependent tensor of degree ``degree``."""
        return cls(degree)

    @classmethod
    def unpredicted(cls, missing: MissingRule) -> TensorDegree:
        """A value with no prediction because of ``missing``."""
        return cls(Degree.none(f"no prediction: {missing}"), missing=missing)


#: a θ-independent tensor (data, buffers, unscaled parameters, masks)
CONSTANT = TensorDegree(Degree.exact(0), constant=True)
#: a θ-independent tensor known to be all zeros
ZERO = TensorDegree(Degree.exact(0), constant=True, zero=True)
