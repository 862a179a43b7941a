"""Clear errors for inputs of the wrong kind, diagnosed where the model first trips on them.

A raw torch error such as ``mat1 and mat2 must have the same dtype, but got Long and
Double`` or ``Expected tensor for argument #1 'indices' to have one of the following
scalar types: Long, Int`` names neither the argument nor the fix. The first pass of a ray
runs under :class:`~homogeneity.execution.observed_calls.CallObserver`, which hands a
failing torch call to the diagnosis built here; it names the user's input that caused it
and the module where it happened, and says what to pass instead:

* integer tensors (token ids) reaching a floating computation such as ``F.linear``;
* floating tensors reaching ``F.embedding`` as indices;
* a list (or another non-tensor) where a tensor was needed, also when the model's Python
  code trips on it before any torch function sees it (:func:`diagnose_failure`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from homogeneity.errors import HomogeneityInputError
from homogeneity.execution.observed_calls import Diagnosis, tensors_in

#: (argument name as the user wrote it, the value the model receives)
NamedInput = tuple[str, Any]


def named_inputs(inputs: Sequence[Any], kwargs: Mapping[str, Any]) -> list[NamedInput]:
    """The leaves of a ray's inputs with the names the error messages use."""
    out: list[NamedInput] = []

    def walk(value: Any, name: str) -> None:
        out.append((name, value))
        if isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                walk(v, f"{name}[{i}]")
        elif isinstance(value, Mapping):
            for k, v in value.items():
                walk(v, f"{name}[{k!r}]")

    for i, v in enumerate(inputs):
        walk(v, f"inputs[{i}]")
    for k, v in kwargs.items():
        walk(v, f"kwargs[{k!r}]")
    return out


def _is_integer(t: torch.Tensor) -> bool:
    return not (t.is_floating_point() or t.is_complex() or t.dtype == torch.bool)


def _which(value: Any, inputs: Sequence[NamedInput], kind: str) -> str | None:
    """The name of the input that is ``value``, or else of the one input of ``kind``."""
    for name, v in inputs:
        if v is value:
            return name
    matching = [
        name
        for name, v in inputs
        if isinstance(v, torch.Tensor)
        and (
            (kind == "integer" and _is_integer(v)) or (kind == "floating" and v.is_floating_point())
        )
    ]
    return matching[0] if len(matching) == 1 else None


def _function_name(func: Any) -> str:
    name = getattr(func, "__name__", None) or str(func)
    return f"F.{name}" if getattr(F, name, None) is func else f"torch.{name}"


def input_kind_diagnosis(inputs: Sequence[NamedInput]) -> Diagnosis:
    """The diagnosis for a ray whose inputs are ``inputs`` (see the module docstring)."""

    def diagnose(
        func: Any, args: Sequence[Any], kwargs: Mapping[str, Any], exc: BaseException, where: str
    ) -> Exception | None:
        name = _function_name(func)
        raw = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        at = f" {where}" if where else ""
        if func is F.embedding:
            indices = args[0] if args else kwargs.get("input")
            if isinstance(indices, torch.Tensor) and indices.is_floating_point():
                arg = _which(indices, inputs, "floating") or "an input"
                return HomogeneityInputError(
                    f"{arg} is floating ({indices.dtype}) but reaches F.embedding{at} as token "
                    f"ids; pass integer ids (x.long()): integer inputs are kept as they are, "
                    f"floating ones are cast to the working dtype"
                )
        for value in list(args) + list(kwargs.values()):
            if value is None or isinstance(value, torch.Tensor):
                continue
            container = _which(value, inputs, "")
            if container is not None and isinstance(value, (list, tuple)):
                return HomogeneityInputError(
                    f"{container} is a {type(value).__name__} but the model needs a tensor there "
                    f"({name}{at}: {raw}); pass a torch.Tensor (e.g. torch.stack or "
                    f"torch.tensor)"
                )
        tensors = tensors_in(list(args) + list(kwargs.values()))
        ints = [t for t in tensors if _is_integer(t)]
        if ints and any(t.is_floating_point() for t in tensors):
            ids = _which(ints[0], inputs, "integer")
            if ids is not None:
                return HomogeneityInputError(
                    f"{ids} has integer dtype {ints[0].dtype} but reaches {name}{at}, which "
                    f"computes in floating point ({raw}); pass a floating tensor (x.double()), "
                    f"or token ids to a model that embeds them: integer inputs are kept as "
                    f"they are"
                )
        return None

    return diagnose


def diagnose_failure(exc: BaseException, inputs: Sequence[NamedInput]) -> Exception | None:
    """A clear error for a first pass that raised ``TypeError`` on a list or tuple input
    outside any torch function (``[x, y] @ w``), or None."""
    if not isinstance(exc, TypeError):
        return None
    for name, value in inputs:
        kind = type(value).__name__
        if isinstance(value, (list, tuple)) and f"'{kind}'" in str(exc):
            return HomogeneityInputError(
                f"{name} is a {kind} but the model needs a tensor there ({exc}); pass a "
                f"torch.Tensor (e.g. torch.stack or torch.tensor)"
            )
    return None
