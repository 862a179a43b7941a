"""Claim results as text, to carry them between processes (pytest-xdist's workers and its
controller) and turn them back into :class:`~proofs_numeric.runner.ClaimResult` objects.

A result holds its :class:`~proofs_numeric.claim.Claim`, whose checks are functions; what
travels is everything else (the verdict, the control outcomes with the controls' names,
the seconds, the traceback), pickled and base64-encoded so that it fits a channel that
takes strings. The receiving process looks the claim up in its own registry (it runs the
same code) and checks that the controls are the same ones. Only decode text that your
own processes wrote: unpickling runs code.
"""

from __future__ import annotations

import base64
import pickle
from dataclasses import dataclass

from homogeneity.errors import HomogeneityInputError
from proofs_numeric.claim import ControlOutcome, Verdict, registry
from proofs_numeric.runner import ClaimResult


@dataclass(frozen=True)
class ResultRecord:
    """A :class:`ClaimResult` without its claim: what travels."""

    claim_id: str
    verdict: Verdict
    controls: tuple[tuple[str, ControlOutcome], ...]
    seconds: float
    error: str | None

    @classmethod
    def of(cls, result: ClaimResult) -> ResultRecord:
        controls = tuple((k.name, o) for k, o in result.controls)
        return cls(result.claim.id, result.verdict, controls, result.seconds, result.error)

    def result(self) -> ClaimResult:
        """The :class:`ClaimResult` again, with this process's registered claim."""
        claims = registry()
        if self.claim_id not in claims:
            raise HomogeneityInputError(f"claim {self.claim_id!r} is not registered here")
        claim = claims[self.claim_id]
        by_name = {k.name: k for k in claim.negative_controls}
        unknown = [name for name, _ in self.controls if name not in by_name]
        if unknown:
            raise HomogeneityInputError(
                f"claim {self.claim_id} has no negative controls {unknown} here; both "
                f"processes must run the same code"
            )
        controls = [(by_name[name], outcome) for name, outcome in self.controls]
        return ClaimResult(claim, self.verdict, controls, self.seconds, self.error)


def to_wire(result: ClaimResult) -> str:
    """A claim result as ASCII text."""
    return base64.b64encode(pickle.dumps(ResultRecord.of(result))).decode("ascii")


def from_wire(text: str) -> ClaimResult:
    """The claim result that :func:`to_wire` wrote (in a process running the same code)."""
    record = pickle.loads(base64.b64decode(text.encode("ascii")))
    if not isinstance(record, ResultRecord):
        raise HomogeneityInputError(f"text decodes to {type(record).__name__}, not a ResultRecord")
    return record.result()
