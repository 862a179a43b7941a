"""E8: the former module name, kept so ``python -m
homogeneity.experiments.weight_decay_grid`` and existing imports work. The experiment
lives in ``homogeneity.experiments.e8_weight_decay``."""

import sys

from homogeneity.experiments.e8_weight_decay import *  # noqa: F403
from homogeneity.experiments.e8_weight_decay import __all__ as _experiment_names
from homogeneity.experiments.e8_weight_decay.command import build_parser, main

__all__ = [*_experiment_names, "build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
