"""``python -m homogeneity.experiments.e6_homogeneity_curves`` = ``homogeneity curves``."""

import sys

from homogeneity.experiments.e6_homogeneity_curves.command import main

if __name__ == "__main__":
    sys.exit(main())
