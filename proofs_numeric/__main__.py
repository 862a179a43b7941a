"""``python -m proofs_numeric``: check every registered claim and print the table.

Examples::

    python -m proofs_numeric                      # all claims, ci profile, table
    python -m proofs_numeric --claim L7 --claim P4
    python -m proofs_numeric --profile thorough --json > claims.json
    python -m proofs_numeric --markdown docs/claims.md
    python -m proofs_numeric --save-counterexamples
    python -m proofs_numeric --replay proofs_numeric/counterexamples/L7.json
    python -m proofs_numeric --list

Exit status: 0 every claim got its expected verdict and every negative control was
rejected; 1 a verdict changed, a control was not rejected, a check raised, or a replayed
counterexample no longer violates its claim; 2 usage error.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from homogeneity.errors import HomogeneityInputError
from proofs_numeric import report
from proofs_numeric.claim import (
    PROFILES,
    CheckContext,
    Counterexample,
    get_profile,
    registry,
    select_claims,
)
from proofs_numeric.runner import run_claims


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m proofs_numeric",
        description="Check every claim of SPEC.md numerically and print verdicts.",
        epilog=report.EXIT_STATUS_DOC,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--claim",
        action="append",
        metavar="ID",
        help="check only this claim id (repeatable; 'P4' also selects 'P4*')",
    )
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default="ci",
        help="search effort: ci (default, fast, reproducible) or thorough",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument(
        "--markdown",
        metavar="PATH",
        type=Path,
        help="also write the claims page (Markdown) to PATH",
    )
    parser.add_argument(
        "--save-counterexamples",
        action="store_true",
        help="write each refuted claim's counterexample to "
        "proofs_numeric/counterexamples/<ID>.json",
    )
    parser.add_argument(
        "--replay", metavar="PATH", type=Path, help="replay a stored counterexample and exit"
    )
    parser.add_argument(
        "--digits",
        type=int,
        default=None,
        help="precision for --replay (default: the profile's re-check digits)",
    )
    parser.add_argument(
        "--no-controls",
        action="store_true",
        help="skip the negative controls (the run then cannot pass as a check)",
    )
    parser.add_argument("--list", action="store_true", help="list the registered claims and exit")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return parser


def _replay(path: Path, digits: int) -> int:
    cx = Counterexample.load(path)
    claims = registry()
    if cx.claim_id not in claims:
        raise HomogeneityInputError(f"{path} is for claim {cx.claim_id!r}, which is not registered")
    margin = claims[cx.claim_id].replay_counterexample(cx, digits)
    still = margin < 0
    print(
        f"{cx.claim_id}: margin {margin:.6g} at {digits} digits (stored {cx.margin:.6g} at "
        f"{cx.digits}): {'still a counterexample' if still else 'NOT a counterexample'}"
    )
    if cx.description:
        print(f"  {cx.description}")
    return 0 if still else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    profile = get_profile(args.profile)
    try:
        if args.replay is not None:
            return _replay(args.replay, args.digits or profile.recheck_digits)
        claims = select_claims(args.claim)
    except HomogeneityInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.list:
        for c in claims:
            print(f"{c.id:8} {c.expected:9} {c.title}")
        return 0

    def progress(result) -> None:
        if not args.quiet:
            print(
                f"  {result.claim.id:8} {report.verdict_label(result):30} {result.seconds:6.1f} s",
                file=sys.stderr,
                flush=True,
            )

    ctx = CheckContext(profile)
    results = run_claims(claims, ctx, controls=not args.no_controls, progress=progress)
    if args.json:
        print(report.to_json(results, profile.name))
    else:
        width = shutil.get_terminal_size((160, 40)).columns
        print(report.text_table(results, width=max(120, width)))
        for line in report.problems(results):
            print(f"PROBLEM: {line}")
    if args.markdown is not None:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(report.markdown_page(results, profile.name), encoding="utf-8")
    if args.save_counterexamples:
        for r in results:
            if r.verdict.counterexample is not None:
                path = r.verdict.counterexample.save()
                if not args.quiet:
                    print(f"saved {path}", file=sys.stderr)
    if args.no_controls:
        return 0 if all(r.as_expected for r in results) else 1
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
