"""``python -m homogeneity.experiments.e5_head_types``."""

from homogeneity.experiments.e5_head_types.command import main

if __name__ == "__main__":
    raise SystemExit(main())
