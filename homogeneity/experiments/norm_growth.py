"""E2, E4, E7: the former module name, kept so ``python -m
homogeneity.experiments.norm_growth`` and existing imports work. The experiment lives in
``homogeneity.experiments.e2_e4_e7_norm_growth``."""

import sys

from homogeneity.experiments.e2_e4_e7_norm_growth import *  # noqa: F403
from homogeneity.experiments.e2_e4_e7_norm_growth import __all__ as _experiment_names
from homogeneity.experiments.e2_e4_e7_norm_growth.command import build_parser, main

__all__ = [*_experiment_names, "build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
