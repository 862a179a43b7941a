"""The proof checker: every numerically checkable claim of SPEC.md as a runnable claim.

``python -m proofs_numeric`` checks every registered claim and prints the table; a plain
``pytest`` run does the same through :mod:`proofs_numeric.pytest_plugin`. See
:mod:`proofs_numeric.claim` for how claims, verdicts and the registry work and how to add
a claim.

The names below are loaded on first use (PEP 562), so the independent certificate
checker, ``python -m proofs_numeric.certificates``, loads nothing of the package but
itself. The checker core (``claim``, ``search``, ``runner``, ``report``, ``strategies``,
``precision``, ``limits``) does not import torch; importing ``proofs_numeric.claim``
points Hypothesis's files (``.hypothesis/``) at a per-user cache instead of the working
directory (:mod:`proofs_numeric.storage`).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

#: public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    **{
        name: "proofs_numeric.claim"
        for name in (
            "COUNTEREXAMPLE_DIR",
            "PROFILES",
            "CertificateRecord",
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
        )
    },
    **{name: "proofs_numeric.limits" for name in ("LimitNotEstablished", "LimitResult", "limit")},
}

__all__ = sorted([*_EXPORTS, "main"])


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m proofs_numeric`` as a function: check the claims and print the table
    (the options and exit status of ``python -m proofs_numeric --help``). Other front
    doors (``homogeneity claims``) call this instead of importing the ``__main__`` module
    by name."""
    from proofs_numeric.command import main as run

    return run(argv)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'proofs_numeric' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from proofs_numeric.claim import COUNTEREXAMPLE_DIR as COUNTEREXAMPLE_DIR
    from proofs_numeric.claim import CertificateRecord as CertificateRecord
    from proofs_numeric.claim import CheckContext as CheckContext
    from proofs_numeric.claim import Claim as Claim
    from proofs_numeric.claim import ControlOutcome as ControlOutcome
    from proofs_numeric.claim import Counterexample as Counterexample
    from proofs_numeric.claim import Evidence as Evidence
    from proofs_numeric.claim import NegativeControl as NegativeControl
    from proofs_numeric.claim import Verdict as Verdict
    from proofs_numeric.claim import get_profile as get_profile
    from proofs_numeric.claim import registry as registry
    from proofs_numeric.claim import select_claims as select_claims
    from proofs_numeric.limits import LimitNotEstablished as LimitNotEstablished
    from proofs_numeric.limits import LimitResult as LimitResult
    from proofs_numeric.limits import limit as limit
    from proofs_numeric.profiles import PROFILES as PROFILES
    from proofs_numeric.profiles import Profile as Profile
