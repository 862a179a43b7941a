"""Argument types and cross-option checks shared by every ``homogeneity`` command.

An argument type raises ``argparse.ArgumentTypeError``; the parser of
:func:`homogeneity.cli.parser.command_parser` turns it into one line that names the flag:
``homogeneity: error: argument --workers: must be ≥ 1, got 0 (see 'homogeneity train
--help')``. Checks that involve two options (:func:`check_heads_divide`) raise
:class:`~homogeneity.cli.errors.UsageError` naming both flags.

This module imports torch only inside :func:`device`.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

from homogeneity.cli.errors import UsageError


def _parse(kind: type, text: str, what: str) -> Any:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None


def positive_int(text: str) -> int:
    """An integer ≥ 1."""
    value = _parse(int, text, "an integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be ≥ 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """An integer ≥ 0."""
    value = _parse(int, text, "an integer")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be ≥ 0, got {value}")
    return value


def int_between(low: int, high: int) -> Callable[[str], int]:
    """An integer in [low, high]."""

    def parse(text: str) -> int:
        value = _parse(int, text, "an integer")
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must lie in [{low}, {high}], got {value}")
        return value

    parse.__name__ = f"int_between_{low}_{high}"
    return parse


def positive_float(text: str) -> float:
    """A finite number > 0."""
    value = _parse(float, text, "a number")
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def non_negative_float(text: str) -> float:
    """A finite number ≥ 0."""
    value = _parse(float, text, "a number")
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number ≥ 0, got {text}")
    return value


def open_unit_interval(text: str) -> float:
    """A number in (0, 1)."""
    value = _parse(float, text, "a number")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must lie strictly between 0 and 1, got {text}")
    return value


def device(text: str) -> str:
    """A torch device that exists here: ``cpu``, or ``cuda``/``cuda:N``/``mps`` when
    available (else the error says so and suggests ``--device cpu``)."""
    import torch

    try:
        dev = torch.device(text)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a torch device; use e.g. cpu, cuda or cuda:0"
        ) from None
    if dev.type == "cpu":
        return text
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise argparse.ArgumentTypeError(
                f"{text}: CUDA is not available here (torch.cuda.is_available() is False); "
                f"use --device cpu"
            )
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise argparse.ArgumentTypeError(
                f"{text}: there are {count} CUDA device(s), numbered 0 to {count - 1}"
            )
        return text
    if dev.type == "mps":
        if not torch.backends.mps.is_available():
            raise argparse.ArgumentTypeError(f"{text}: MPS is not available here; use --device cpu")
        return text
    raise argparse.ArgumentTypeError(f"{text}: only cpu, cuda and mps devices are supported")


def check_heads_divide(
    d_model: int,
    heads: int,
    *,
    d_model_flag: str = "--d-model",
    heads_flag: str = "--heads",
    d_head_flag: str | None = None,
) -> None:
    """Attention splits the model width into equal heads: ``heads`` must divide ``d_model``
    (unless the command has a ``d_head_flag`` and it was given: then don't call this)."""
    if d_model % heads == 0:
        return
    divisors = [h for h in range(1, d_model + 1) if d_model % h == 0]
    shown = ", ".join(map(str, divisors[:12])) + (", …" if len(divisors) > 12 else "")
    fix = f"pick {heads_flag} from {shown}" + (
        f", or set the head width with {d_head_flag}" if d_head_flag else ""
    )
    raise UsageError(f"{d_model_flag} {d_model} is not divisible by {heads_flag} {heads}; {fix}")


def check_divides(
    every: int, every_flag: str, period: int, period_flag: str, zero_means: str = ""
) -> None:
    """``every`` must divide ``period`` (a period of 0 switches the thing off)."""
    if period and period % every:
        raise UsageError(
            f"{every_flag} {every} must divide {period_flag} {period}"
            + (f" ({period_flag} 0 {zero_means})" if zero_means else "")
        )
