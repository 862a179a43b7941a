"""``python -m homogeneity.experiments.e3_pretrained_saturation``."""

from homogeneity.experiments.e3_pretrained_saturation.command import main

if __name__ == "__main__":  # the campaign imports every module of the package
    raise SystemExit(main())
