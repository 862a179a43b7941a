"""The proof checker: every numerically checkable claim of SPEC.md as a runnable claim.

``python -m proofs_numeric`` checks every registered claim and prints the table; a plain
``pytest`` run does the same through :mod:`proofs_numeric.pytest_plugin`. See
:mod:`proofs_numeric.claim` for how claims, verdicts and the registry work and how to add
a claim.
"""

from proofs_numeric.claim import (
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

__all__ += ["LimitNotEstablished", "LimitResult", "limit"]
