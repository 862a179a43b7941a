"""``python -m homogeneity.experiments.e8_weight_decay`` = ``homogeneity weight-decay``."""

import sys

from homogeneity.experiments.e8_weight_decay.command import main

if __name__ == "__main__":
    sys.exit(main())
