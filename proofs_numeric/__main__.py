"""``python -m proofs_numeric``: the same as ``homogeneity claims`` (see
:mod:`proofs_numeric.command` for the options and exit statuses)."""

from proofs_numeric.command import main

if __name__ == "__main__":
    raise SystemExit(main())
