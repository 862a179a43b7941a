"""Proof certificates: ball-arithmetic branch-and-bound proofs that an independent checker
re-verifies.

* :mod:`.checker` (with :mod:`.intervals` and :mod:`.theorems`) is the independent checker:
  it imports nothing of the package but itself and python-flint. Run it with
  ``python -m proofs_numeric.certificates FILE...``.
* :mod:`.prover` builds the certificates (``python -m proofs_numeric.certificates.prover``)
  from the specifications in :mod:`.specs`; they are stored in ``data/*.json``.

Importing this package loads nothing else (the checker is imported on first use).
"""

from __future__ import annotations

from pathlib import Path

#: where the repository's certificates live
DATA_DIR = Path(__file__).resolve().parent / "data"
