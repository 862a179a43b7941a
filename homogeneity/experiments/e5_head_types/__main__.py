"""``python -m homogeneity.experiments.e5_head_types``."""

from homogeneity.experiments.e5_head_types.command import main

if __name__ == "__main__":  # the campaign imports every module of the package
    raise SystemExit(main())
