"""``python -m homogeneity.experiments.e2_e4_e7_norm_growth`` = ``homogeneity train``."""

import sys

from homogeneity.experiments.e2_e4_e7_norm_growth.command import main

if __name__ == "__main__":
    sys.exit(main())
