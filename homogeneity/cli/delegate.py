"""Subcommands that hand their arguments to another module's ``main(argv)``.

``homogeneity claims ...`` is ``python -m proofs_numeric ...`` and so on: the options are
the target's own (``homogeneity claims --help`` prints them), so the two front doors never
drift apart. A target that is not installed gives a one-line error, not a traceback.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from homogeneity.cli.errors import UsageError


@dataclass(frozen=True)
class Delegate:
    """A subcommand implemented by ``module.main(argv) -> int``."""

    name: str
    module: str
    summary: str
    equivalent: str  # the command it is equivalent to, shown in the help

    def load(self) -> Callable[[Sequence[str]], int | None]:
        """Import the target and return its ``main``; a missing target is a UsageError."""
        try:
            target = importlib.import_module(self.module)
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
        main = getattr(target, "main", None)
        if not callable(main):
            raise UsageError(f"'homogeneity {self.name}': {self.module} has no main(argv)")
        return main

    def run(self, argv: Sequence[str]) -> int:
        """Run the target with ``argv``; its return value (or SystemExit code) is ours."""
        main = self.load()
        with _program_name(f"homogeneity {self.name}"):
            try:
                code = main(list(argv))
            except SystemExit as exc:  # argparse errors and --help inside the target
                code = exc.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)  # sys.exit("message") convention
        return 1


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


DELEGATES: dict[str, Delegate] = {
    d.name: d
    for d in (
        Delegate(
            "claims",
            "proofs_numeric.__main__",
            "check every claim of the paper and print the verdicts (proof checker)",
            "python -m proofs_numeric",
        ),
        Delegate(
            "saturation",
            "homogeneity.experiments.e3_pretrained_saturation.command",
            "per-layer saturation and head types of a pretrained checkpoint, MiniLM by "
            "default (E3, E5)",
            "python -m homogeneity.experiments.e3_pretrained_saturation",
        ),
        Delegate(
            "train",
            "homogeneity.experiments.norm_growth",
            "train the small LM and report norm growth, alignment, saturation (E2, E4, E7)",
            "python -m homogeneity.experiments.norm_growth",
        ),
        Delegate(
            "curves",
            "homogeneity.experiments.homogeneity_curves",
            "cos(f(x; cθ), f(x; 1000θ)) for c = 1..10 on random-init encoders (E6)",
            "python -m homogeneity.experiments.homogeneity_curves",
        ),
    )
}
