"""Input validation shared by every public entry point.

Every check raises :class:`HomogeneityInputError` (a ``ValueError``) whose message names
the offending argument and says how to fix it. Nothing here mutates its arguments.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import torch

from homogeneity.constants import LOW_PRECISION_POLICIES
from homogeneity.errors import HomogeneityInputError


def check_positive_scale(value: float, argument: str) -> float:
    """Return ``value`` as a float after checking it is a finite number > 0.

    Scaling factors c (or ρ) must be positive: f(x; cθ) with c ≤ 0 is not on the ray.
    """
    try:
        as_float = float(value)
    except (TypeError, ValueError) as exc:
        raise HomogeneityInputError(
            f"{argument}={value!r} is not a number; pass a positive float such as 2.0"
        ) from exc
    if not math.isfinite(as_float) or as_float <= 0:
        raise HomogeneityInputError(
            f"{argument}={value!r} must be a finite number > 0 (scaling factors live on the "
            f"ray c·θ with c > 0); pass e.g. {argument}=2.0"
        )
    return as_float


def check_positive_scales(values: Iterable[float], argument: str) -> list[float]:
    """Validate a non-empty sequence of positive scales."""
    out = [check_positive_scale(v, argument) for v in values]
    if not out:
        raise HomogeneityInputError(f"{argument} is empty; pass at least one scale > 0")
    return out


def check_float_dtype(dtype: torch.dtype, argument: str = "dtype") -> torch.dtype:
    """Checks run in floating point: refuse integer or boolean dtypes."""
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise HomogeneityInputError(
            f"{argument}={dtype!r} is not a floating-point dtype; checks need "
            f"{argument}=torch.float64 (default) or torch.float32"
        )
    return dtype


def check_finite(tensor: torch.Tensor, argument: str) -> torch.Tensor:
    """Refuse NaN or infinite entries in a floating tensor (parameters or inputs)."""
    if tensor.is_floating_point() or tensor.is_complex():
        if not bool(torch.isfinite(tensor).all()):
            n_bad = int((~torch.isfinite(tensor)).sum())
            raise HomogeneityInputError(
                f"{argument} contains {n_bad} NaN or infinite value(s); replace them with "
                f"finite numbers before checking (e.g. re-initialise the parameter or clean "
                f"the input)"
            )
    return tensor


def check_sequence_not_empty(x: torch.Tensor, argument: str, seq_dim: int = -2) -> None:
    """Refuse inputs with an empty sequence (no positions to attend to)."""
    if x.dim() == 0 or x.shape[seq_dim] == 0:
        raise HomogeneityInputError(
            f"{argument} has an empty sequence (shape {tuple(x.shape)}); pass at least one position"
        )


def check_mask_rows(keep: torch.Tensor, argument: str) -> None:
    """Every query row must keep at least one key position.

    ``keep`` is a boolean tensor ``(..., n_queries, n_keys)`` with True where attention is
    allowed. A row with every position masked has no softmax (and no argmax) at all.
    """
    if keep.dtype != torch.bool:
        raise HomogeneityInputError(
            f"{argument} must be a boolean tensor (True = attend), got dtype {keep.dtype}; "
            f"convert with {argument}.bool()"
        )
    if keep.shape[-1] == 0:
        raise HomogeneityInputError(f"{argument} has no key positions; pass at least one")
    empty_rows = ~keep.any(dim=-1)
    if bool(empty_rows.any()):
        where = empty_rows.nonzero()[0].tolist()
        raise HomogeneityInputError(
            f"{argument} masks every key position of at least one query (first at index "
            f"{where}); softmax over an empty set is undefined: keep at least one position "
            f"per row (e.g. leave the [CLS] token or the query itself unmasked)"
        )


def check_low_precision(value: object, argument: str = "low_precision") -> str:
    """``'lift'`` or ``'keep'``: what a check does with ops below its working dtype."""
    if value not in LOW_PRECISION_POLICIES:
        raise HomogeneityInputError(
            f"{argument}={value!r} is not one of {list(LOW_PRECISION_POLICIES)}; pass "
            f"'lift' (default: such ops compute in the working dtype) or 'keep'"
        )
    return str(value)


def _is_number(value: object) -> bool:
    return isinstance(value, (bool, int, float, complex))


def check_input_kinds(value: Any, argument: str) -> None:
    """Refuse inputs torch modules cannot take, naming where they are.

    * a numpy array (pass ``torch.from_numpy(x)``);
    * a list or tuple of plain numbers (pass ``torch.tensor(...)``);
    * a tensor on the meta device (it holds no values).
    """
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.ndarray):
        raise HomogeneityInputError(
            f"{argument} is a numpy array; pass a torch tensor "
            f"(torch.from_numpy(x)): floating inputs are cast to the working dtype"
        )
    if isinstance(value, torch.Tensor):
        if value.is_meta:
            raise HomogeneityInputError(
                f"{argument} is on the meta device (shape only, no values); pass a tensor "
                f"with values on the model's device"
            )
        return
    if isinstance(value, (list, tuple)):
        if value and all(_is_number(v) for v in value):
            raise HomogeneityInputError(
                f"{argument} is a {type(value).__name__} of numbers; pass a tensor "
                f"(torch.tensor({argument}) for values, or integer token ids as "
                f"torch.tensor(ids, dtype=torch.long))"
            )
        for i, v in enumerate(value):
            check_input_kinds(v, f"{argument}[{i}]")
    elif isinstance(value, Mapping):
        for k, v in value.items():
            check_input_kinds(v, f"{argument}[{k!r}]")


def check_first_input(inputs: tuple[Any, ...], argument: str = "inputs") -> None:
    """The first positional input must not be None (a forward has nothing to run on)."""
    if inputs and inputs[0] is None:
        raise HomogeneityInputError(
            f"{argument}[0] is None; pass the model's input tensor(s), or inputs=() for a "
            f"model that takes only keyword inputs"
        )


def check_parameter_values(params: object, argument: str = "params") -> dict[str, torch.Tensor]:
    """A plain function's parameters: a mapping of names to tensors."""
    if not isinstance(params, Mapping):
        raise HomogeneityInputError(
            f"{argument} must be a dict {{name: tensor}}, got {type(params).__name__}"
        )
    for name, value in params.items():
        if not isinstance(name, str):
            raise HomogeneityInputError(f"{argument} keys must be strings, got {name!r}")
        if not isinstance(value, torch.Tensor):
            hint = (
                f"torch.tensor({value!r}, dtype=torch.float64)"
                if isinstance(value, (int, float))
                else "a torch.Tensor"
            )
            raise HomogeneityInputError(
                f"{argument}[{name!r}] is a {type(value).__name__}, not a tensor; pass {hint}"
            )
    return dict(params)


def check_not_meta(tensors: Mapping[str, torch.Tensor], what: str) -> None:
    """Parameters or buffers on the meta device have no values to evaluate."""
    for name, t in tensors.items():
        if t.is_meta:
            raise HomogeneityInputError(
                f"{what} '{name}' is on the meta device (the model was built without "
                f"values, e.g. under torch.device('meta')); materialise and load its weights "
                f"first (model.to_empty(device='cpu') and load_state_dict, or build it on cpu)"
            )
