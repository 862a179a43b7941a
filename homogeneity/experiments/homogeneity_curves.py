"""E6: the former module name, kept so ``python -m
homogeneity.experiments.homogeneity_curves`` and existing imports work. The experiment
lives in ``homogeneity.experiments.e6_homogeneity_curves``."""

import sys

from homogeneity.experiments.e6_homogeneity_curves import *  # noqa: F403
from homogeneity.experiments.e6_homogeneity_curves import __all__ as _experiment_names
from homogeneity.experiments.e6_homogeneity_curves.command import build_parser, main

__all__ = [*_experiment_names, "build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
