"""Run claims and their negative controls; collect results for the table and the tests.

A run is *as expected* when every claim gets its expected verdict, every negative control
is rejected and no check raised. Verdicts are compared exactly: a claim expected
``proved`` that is only ``verified`` (or whose certificate the checker rejects, which
makes it ``open``) fails the run, and so does a claim expected ``verified`` that comes
out ``proved`` (its expectation, and the claim's row, must then say what the certificate
proves). Both front doors (``python -m proofs_numeric`` and the
pytest plugin) use :func:`run_claim`.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from proofs_numeric.claim import (
    CheckContext,
    Claim,
    ControlOutcome,
    Counterexample,
    Evidence,
    NegativeControl,
    Verdict,
    base_id,
)


@dataclass
class ClaimResult:
    """A claim's verdict, its controls' outcomes and the time they took."""

    claim: Claim
    verdict: Verdict
    controls: list[tuple[NegativeControl, ControlOutcome]] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None

    @property
    def as_expected(self) -> bool:
        return self.error is None and self.verdict.status == self.claim.expected

    @property
    def proved(self) -> bool:
        """A ``proved`` verdict (it always carries the certificate the checker verified)."""
        return self.verdict.status == "proved" and self.verdict.certificate is not None

    @property
    def controls_rejected(self) -> bool:
        return bool(self.controls) and all(o.rejected for _, o in self.controls)

    @property
    def ok(self) -> bool:
        return self.as_expected and self.controls_rejected

    def problems(self) -> list[str]:
        """Why this result makes the run fail (empty when it does not)."""
        out = []
        if self.error is not None:
            out.append(f"{self.claim.id}: the check raised: {self.error.strip().splitlines()[-1]}")
        elif self.verdict.status != self.claim.expected:
            out.append(
                f"{self.claim.id}: verdict changed: expected {self.claim.expected}, got "
                f"{self.verdict.status}"
                + (f" ({self.verdict.reason})" if self.verdict.reason else "")
            )
        if not self.controls:
            out.append(f"{self.claim.id}: no negative control ran")
        for control, outcome in self.controls:
            if not outcome.rejected:
                out.append(
                    f"{self.claim.id}: negative control '{control.name}' was NOT "
                    f"rejected: {outcome.detail}"
                )
        return out

    def to_dict(self) -> dict[str, Any]:
        c = self.claim
        return {
            "id": c.id,
            "title": c.title,
            "statement": c.statement,
            "expected": c.expected,
            "corrects": c.corrects,
            "restricts": base_id(c.id) if base_id(c.id) != c.id else None,
            "explanation": c.explanation,
            "verdict": self.verdict.to_dict(),
            "as_expected": self.as_expected,
            "controls": [
                {
                    "name": k.name,
                    "description": k.description,
                    "rejected": o.rejected,
                    "detail": o.detail,
                }
                for k, o in self.controls
            ],
            "seconds": round(self.seconds, 3),
            "error": self.error,
        }


def run_controls(claim: Claim, ctx: CheckContext) -> list[tuple[NegativeControl, ControlOutcome]]:
    out = []
    for control in claim.negative_controls:
        try:
            outcome = control.run(ctx)
        except Exception as exc:  # a control that crashes has not rejected anything
            outcome = ControlOutcome(False, f"control raised {type(exc).__name__}: {exc}")
        out.append((control, outcome))
    return out


def run_claim(claim: Claim, ctx: CheckContext, controls: bool = True) -> ClaimResult:
    """Check one claim (and, by default, its negative controls), timing both."""
    start = time.perf_counter()
    error = None
    try:
        verdict = claim.check(ctx)
    except Exception:
        error = traceback.format_exc()
        verdict = Verdict(
            "open",
            Evidence(0, None, "n/a", "the check raised"),
            reason="the check raised an exception (a bug, not a verdict)",
        )
    outcomes = run_controls(claim, ctx) if controls else []
    return ClaimResult(claim, verdict, outcomes, time.perf_counter() - start, error)


def run_claims(
    claims: Iterable[Claim],
    ctx: CheckContext,
    controls: bool = True,
    progress: Callable[[ClaimResult], None] | None = None,
) -> list[ClaimResult]:
    results = []
    for claim in claims:
        result = run_claim(claim, ctx, controls)
        results.append(result)
        if progress is not None:
            progress(result)
    return results


def replay(claim: Claim, counterexample: Counterexample, digits: int) -> float:
    """The stored counterexample's margin at ``digits`` (negative: still a counterexample)."""
    return claim.replay_counterexample(counterexample, digits)
