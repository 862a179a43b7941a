"""The proof checker: every numerically checkable claim of SPEC.md as a runnable claim.

``python -m proofs_numeric`` checks every registered claim and prints the table; a plain
``pytest`` run does the same through :mod:`proofs_numeric.pytest_plugin`. See
:mod:`proofs_numeric.claim` for how claims, verdicts and the registry work and how to add
a claim.

Importing the package points Hypothesis's files (``.hypothesis/``) at a per-user cache
instead of the working directory (:mod:`proofs_numeric.storage`); the checker core
(this package, ``claim``, ``search``, ``runner``, ``report``, ``strategies``,
``precision``, ``limits``) does not import torch.
"""

from collections.abc import Sequence

from proofs_numeric.storage import keep_hypothesis_files_out_of_cwd

keep_hypothesis_files_out_of_cwd()

from proofs_numeric.claim import (  # noqa: E402
    COUNTEREXAMPLE_DIR,
    PROFILES,
    CheckContext,
    Claim,
    ControlOutcome,
    Counterexample,
    Evidence,
    NegativeControl,
    Profile,
    Verdict,
    get_profile,
    registry,
    select_claims,
)

__all__ = [
    "COUNTEREXAMPLE_DIR",
    "PROFILES",
    "CheckContext",
    "Claim",
    "ControlOutcome",
    "Counterexample",
    "Evidence",
    "NegativeControl",
    "Profile",
    "Verdict",
    "get_profile",
    "registry",
    "select_claims",
]

from proofs_numeric.limits import LimitNotEstablished, LimitResult, limit  # noqa: E402

__all__ += ["LimitNotEstablished", "LimitResult", "limit", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m proofs_numeric`` as a function: check the claims and print the table
    (the options and exit status of ``python -m proofs_numeric --help``). Other front
    doors (``homogeneity claims``) call this instead of importing the ``__main__`` module
    by name."""
    from proofs_numeric.__main__ import main as run

    return run(argv)
