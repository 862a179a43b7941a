"""The package's error types, in a module with no dependencies beyond the standard library.

Importing this module loads neither torch nor numpy, so the mpmath proof checker
(:mod:`proofs_numeric`) can share the same exception classes as the torch checks.

* :class:`HomogeneityInputError` — bad input to a public entry point (a ``ValueError``);
  the message names the argument at fault and the fix.
* :class:`NumericalBreakdown` — an evaluation the numbers cannot support: an overflow, a
  NaN, or an output that is exactly zero where a direction or a ratio is needed. It
  carries where it happened (``rho``, ``where``) and what to try (``suggestion``), and is
  never a verdict about the model.
"""

from __future__ import annotations


class HomogeneityInputError(ValueError):
    """Bad input to a homogeneity, saturation, degree or proof check.

    The message always names the argument at fault and the fix.
    """


class NumericalBreakdown(ArithmeticError):
    """An evaluation along the ray broke down (overflow, NaN, or an exactly zero output).

    Attributes:
        rho: the point of the ray where it happened (None when not on a ray).
        where: the layer, module path or op where it first happened ("" if unknown).
        suggestion: what to try (a smaller ρ, float64 when the run is float32, …).
    """

    def __init__(
        self, message: str, *, rho: float | None = None, where: str = "", suggestion: str = ""
    ) -> None:
        super().__init__(message)
        self.rho = rho
        self.where = where
        self.suggestion = suggestion
