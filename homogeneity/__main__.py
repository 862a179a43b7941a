"""``python -m homogeneity``: the same as the ``homogeneity`` console script."""

import sys

from homogeneity.cli import main

if __name__ == "__main__":
    sys.exit(main())
