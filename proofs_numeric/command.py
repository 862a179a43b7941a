"""``homogeneity claims`` (= ``python -m proofs_numeric``): check every registered claim
and print the table, or replay a stored counterexample.

Examples::

    homogeneity claims                      # all claims, ci profile, table
    homogeneity claims --claim L7 --claim P4
    homogeneity claims --profile thorough --json > claims.json
    homogeneity claims --markdown docs/claims.md
    homogeneity claims --save-counterexamples
    homogeneity claims --replay proofs_numeric/counterexamples/L7.json
    homogeneity claims --list

Exit status: 0 every claim got its expected verdict and every negative control was
rejected (or the replayed case is still a counterexample); 1 a verdict changed, a control
was not rejected, a check raised, or a replayed case no longer violates its claim; 2 a
usage error (a bad option, an unknown claim, a counterexample file that is malformed,
tampered with, too large or outside its claim's bounds); 130 interrupted.

A replayed file is untrusted input: :meth:`Counterexample.load` caps its size and checks
its fields, the claim's ``case_schema`` bounds every field of the case before any margin
is computed, and the line printed under the margin describes the case that was replayed.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from homogeneity.cli.arguments import int_between
from homogeneity.cli.errors import UsageError, run_command
from homogeneity.cli.parser import OneLineParser, command_parser
from proofs_numeric import report
from proofs_numeric.claim import (
    CheckContext,
    Claim,
    Counterexample,
    registry,
    select_claims,
)
from proofs_numeric.profiles import PROFILES, get_profile
from proofs_numeric.runner import ClaimResult, run_claims

#: the precision range of ``--digits`` (below 15 digits mpmath is coarser than float64;
#: above 2000 one replay can take minutes)
MIN_REPLAY_DIGITS, MAX_REPLAY_DIGITS = 15, 2000


def build_parser() -> OneLineParser:
    parser = command_parser(
        "claims",
        "Check every claim of the paper numerically and print verdicts "
        "(the same as python -m proofs_numeric).",
        report.EXIT_STATUS_DOC,
    )
    parser.add_argument(
        "--claim",
        action="append",
        metavar="ID",
        help="check only this claim id (repeatable; 'P4' also selects 'P4*'; default: all)",
    )
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default="ci",
        help="search effort: ci (fast, reproducible) or thorough",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument(
        "--markdown",
        metavar="PATH",
        type=Path,
        help="also write the claims page (Markdown) to PATH (default: no page)",
    )
    parser.add_argument(
        "--save-counterexamples",
        action="store_true",
        help="write each refuted claim's counterexample to "
        "proofs_numeric/counterexamples/<ID>.json",
    )
    parser.add_argument(
        "--replay",
        metavar="PATH",
        type=Path,
        help="replay a stored counterexample and exit (default: check the claims instead)",
    )
    parser.add_argument(
        "--digits",
        type=int_between(MIN_REPLAY_DIGITS, MAX_REPLAY_DIGITS),
        default=None,
        help=f"precision of --replay, {MIN_REPLAY_DIGITS}–{MAX_REPLAY_DIGITS} digits (default: "
        f"the profile's re-check digits, {PROFILES['ci'].recheck_digits} for ci)",
    )
    parser.add_argument(
        "--no-controls",
        action="store_true",
        help="skip the negative controls (the run then cannot pass as a check)",
    )
    parser.add_argument("--list", action="store_true", help="list the registered claims and exit")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return parser


# -- replay --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayOutcome:
    """A stored counterexample re-evaluated: ``margin`` at ``digits`` (< 0: still violated),
    beside what the file says; ``description`` is about the case that was replayed."""

    claim_id: str
    margin: float
    digits: int
    stored_margin: float
    stored_digits: int
    description: str

    @property
    def still_a_counterexample(self) -> bool:
        return self.margin < 0

    def __str__(self) -> str:
        verdict = (
            "still a counterexample" if self.still_a_counterexample else ("NOT a counterexample")
        )
        return (
            f"{self.claim_id}: margin {self.margin:.6g} at {self.digits} digits (stored "
            f"{self.stored_margin:.6g} at {self.stored_digits}): {verdict}\n  {self.description}"
        )


def replayable_claim(claim_id: str, source: str) -> Claim:
    """The registered claim ``claim_id``, if it can replay an untrusted case."""
    claims = registry()
    if claim_id not in claims:
        raise UsageError(
            f"{source} is for claim {claim_id!r}, which is not registered; known ids: "
            f"{', '.join(claims)}"
        )
    claim = claims[claim_id]
    if claim.replay is None:
        raise UsageError(f"{source}: claim {claim_id} has no replay; it cannot be refuted")
    if claim.case_schema is None:
        raise UsageError(
            f"{source}: claim {claim_id} declares no case_schema, so its case cannot be "
            f"checked before it runs; add one to its Claim (see proofs_numeric.case_schema)"
        )
    return claim


def describe_case(claim: Claim, case: dict) -> str:
    """The claim's own description of ``case``, or the case itself as JSON."""
    if claim.describe is not None:
        return claim.describe(case)
    return "case " + json.dumps(case, sort_keys=True, separators=(", ", ": "))


def replay_file(path: str | Path, digits: int) -> ReplayOutcome:
    """Load, check and replay one counterexample file at ``digits`` decimal digits."""
    if not MIN_REPLAY_DIGITS <= digits <= MAX_REPLAY_DIGITS:
        raise UsageError(
            f"--digits {digits} must lie in [{MIN_REPLAY_DIGITS}, {MAX_REPLAY_DIGITS}]"
        )
    cx = Counterexample.load(path)
    claim = replayable_claim(cx.claim_id, str(path))
    assert claim.case_schema is not None
    claim.case_schema.check(cx.case, "case")  # before any computation
    margin = claim.replay_counterexample(cx, digits)
    return ReplayOutcome(
        cx.claim_id, margin, digits, cx.margin, cx.digits, describe_case(claim, cx.case)
    )


# -- the command -------------------------------------------------------------------------------


def print_results(
    results: Sequence[ClaimResult], profile: str, *, as_json: bool, markdown: Path | None
) -> None:
    """What a run of the claims prints: the JSON (``as_json``) or the table with a
    ``PROBLEM:`` line per problem, and the claims page written to ``markdown`` if given.
    The campaign (``python -m proofs_numeric.campaign``) prints its results with it too."""
    if as_json:
        print(report.to_json(results, profile))
    else:
        width = shutil.get_terminal_size((160, 40)).columns
        print(report.text_table(results, width=max(120, width)))
        for line in report.problems(results):
            print(f"PROBLEM: {line}")
    if markdown is not None:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(report.markdown_page(results, profile), encoding="utf-8")


def _run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    profile = get_profile(args.profile)
    if args.replay is not None:
        outcome = replay_file(args.replay, args.digits or profile.recheck_digits)
        print(outcome)
        return 0 if outcome.still_a_counterexample else 1
    if args.digits is not None:
        raise UsageError("--digits sets the precision of --replay; add --replay PATH or drop it")
    claims = select_claims(args.claim)
    id_width = max((len(c.id) for c in claims), default=0)  # the column of claim ids
    if args.list:
        for c in claims:
            print(f"{c.id:{id_width}} {c.expected:9} {c.title}")
        return 0

    def progress(result) -> None:
        if not args.quiet:
            print(
                f"  {result.claim.id:{id_width}} {report.verdict_label(result):34} "
                f"{result.seconds:6.1f} s",
                file=sys.stderr,
                flush=True,
            )

    ctx = CheckContext(profile)
    results = run_claims(claims, ctx, controls=not args.no_controls, progress=progress)
    print_results(results, profile.name, as_json=args.json, markdown=args.markdown)
    if args.save_counterexamples:
        for r in results:
            if r.verdict.counterexample is not None:
                path = r.verdict.counterexample.save()
                if not args.quiet:
                    print(f"saved {path}", file=sys.stderr)
    if args.no_controls:
        return 0 if all(r.as_expected for r in results) else 1
    return 0 if all(r.ok for r in results) else 1


def main(argv: Sequence[str] | None = None) -> int:
    """``homogeneity claims``: returns the exit status (errors one line on stderr)."""
    return run_command(_run, argv)
