"""``python -m homogeneity.experiments.e3_pretrained_saturation``."""

from homogeneity.experiments.e3_pretrained_saturation.command import main

if __name__ == "__main__":
    raise SystemExit(main())
