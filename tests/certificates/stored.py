"""The stored certificates as the checker tests read them, and how a rejection reads."""

from __future__ import annotations

from typing import Any

import pytest

from proofs_numeric.certificates import DATA_DIR
from proofs_numeric.certificates import checker as independent
from proofs_numeric.certificates.theorems.base import CertificateRejected


def stored_certificate(name: str) -> dict[str, Any]:
    """The stored certificate ``name`` (``DATA_DIR/<name>.json``), loaded by the
    independent checker."""
    return independent.load(DATA_DIR / f"{name}.json")


def reject_reason(cert: dict[str, Any]) -> str:
    """Why the independent checker rejects ``cert`` (the test fails if it accepts it)."""
    with pytest.raises(CertificateRejected) as info:
        independent.verify(cert)
    return str(info.value)
