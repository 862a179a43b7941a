"""Subcommands that hand their arguments to another module's ``main(argv)``.

``homogeneity claims ...`` is ``python -m proofs_numeric ...`` and so on: the options are
the target's own (``homogeneity claims --help`` prints them), so the two front doors never
drift apart. Each target is imported by an ordinary import statement inside a loader
function (loaded only when its subcommand runs, and visible to any import-graph tool);
a target whose dependencies are not installed gives a one-line error, not a traceback.

A target module follows the conventions of ``homogeneity.cli``: ``build_parser()``
returns the parser of ``homogeneity <name>`` and ``main(argv) -> int`` runs it under
:func:`homogeneity.cli.errors.run_command`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType

from homogeneity.cli.errors import UsageError, exit_status

Main = Callable[[Sequence[str]], "int | str | None"]


@dataclass(frozen=True)
class Delegate:
    """A subcommand implemented by a module with ``main(argv)`` and ``build_parser()``.

    ``target`` imports and returns that module; ``module`` is its dotted name (for
    messages) and ``equivalent`` the ``python -m`` command it is the same as."""

    name: str
    target: Callable[[], ModuleType]
    module: str
    summary: str
    equivalent: str

    def _module(self) -> ModuleType:
        try:
            return self.target()
        except ModuleNotFoundError as exc:
            missing = exc.name or "?"
            if self.module == missing or self.module.startswith(missing + "."):
                raise UsageError(
                    f"'homogeneity {self.name}' is not available in this installation: the "
                    f"module {self.module} is missing"
                ) from exc
            raise UsageError(
                f"'homogeneity {self.name}' needs the Python package '{missing}', which is "
                f"not installed; run the set-up command of the README "
                f"(bash scripts/setup.sh)"
            ) from exc

    def load(self) -> Main:
        """The target's ``main``; a missing target or dependency is a UsageError."""
        main = getattr(self._module(), "main", None)
        if not callable(main):
            raise UsageError(f"'homogeneity {self.name}': {self.module} has no main(argv)")
        return main

    def parser(self) -> argparse.ArgumentParser:
        """The target's parser (for help and for tests that walk every option)."""
        build = getattr(self._module(), "build_parser", None)
        if not callable(build):
            raise UsageError(f"'homogeneity {self.name}': {self.module} has no build_parser()")
        return build()

    def run(self, argv: Sequence[str]) -> int:
        """Run the target with ``argv``; its return value (or SystemExit code) is ours."""
        main = self.load()
        with _program_name(f"homogeneity {self.name}"):
            try:
                code = main(list(argv))
            except SystemExit as exc:  # a target that exits instead of returning
                code = exc.code
        return exit_status(code)


@contextmanager
def _program_name(name: str) -> Iterator[None]:
    """argparse names the program after sys.argv[0] when a parser sets no ``prog``."""
    saved = sys.argv[0] if sys.argv else ""
    if sys.argv:
        sys.argv[0] = name
    try:
        yield
    finally:
        if sys.argv:
            sys.argv[0] = saved


def _claims() -> ModuleType:
    import proofs_numeric.command as module

    return module


def _saturation() -> ModuleType:
    import homogeneity.experiments.e3_pretrained_saturation.command as module

    return module


def _train() -> ModuleType:
    import homogeneity.experiments.e2_e4_e7_norm_growth.command as module

    return module


def _curves() -> ModuleType:
    import homogeneity.experiments.e6_homogeneity_curves.command as module

    return module


def _weight_decay() -> ModuleType:
    import homogeneity.experiments.e8_weight_decay.command as module

    return module


DELEGATES: dict[str, Delegate] = {
    d.name: d
    for d in (
        Delegate(
            "claims",
            _claims,
            "proofs_numeric.command",
            "check every claim of the paper and print the verdicts (proof checker)",
            "python -m proofs_numeric",
        ),
        Delegate(
            "saturation",
            _saturation,
            "homogeneity.experiments.e3_pretrained_saturation.command",
            "per-layer saturation and head types of a pretrained checkpoint, MiniLM by "
            "default (E3, E5)",
            "python -m homogeneity.experiments.e3_pretrained_saturation",
        ),
        Delegate(
            "train",
            _train,
            "homogeneity.experiments.e2_e4_e7_norm_growth.command",
            "train the small LM and report norm growth, alignment, saturation (E2, E4, E7)",
            "python -m homogeneity.experiments.norm_growth",
        ),
        Delegate(
            "curves",
            _curves,
            "homogeneity.experiments.e6_homogeneity_curves.command",
            "cos(f(x; cθ), f(x; 1000θ)) for c = 1..10 on random-init encoders (E6)",
            "python -m homogeneity.experiments.homogeneity_curves",
        ),
        Delegate(
            "weight-decay",
            _weight_decay,
            "homogeneity.experiments.e8_weight_decay.command",
            "an η × λ grid of AdamW runs of the small LM: where weight decay stops norm "
            "growth (E8)",
            "python -m homogeneity.experiments.weight_decay_grid",
        ),
    )
}
