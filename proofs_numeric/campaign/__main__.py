"""``python -m proofs_numeric.campaign``: check claims in parallel and print the table.

Examples::

    python -m proofs_numeric.campaign                                   # ci, 2 processes
    python -m proofs_numeric.campaign --profile thorough --workers 2 --shards 4
    python -m proofs_numeric.campaign --claim L7 --claim D3 --shards 3 --executor thread
    python -m proofs_numeric.campaign --executor dask --workers 4       # a LocalCluster
    python -m proofs_numeric.campaign --scheduler tcp://host:8786       # a Dask cluster
    python -m proofs_numeric.campaign --profile thorough --seed 5eed --json > run.json

The table, the JSON and the claims page are those of ``python -m proofs_numeric``; the
last line on stderr sums the campaign up (units, workers, wall time, seed). Exit status:
0 every claim got its expected verdict and every negative control was rejected; 1 not;
2 usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from homogeneity.errors import HomogeneityInputError
from proofs_numeric import report
from proofs_numeric.campaign.executors import EXECUTOR_KINDS, open_executor
from proofs_numeric.campaign.run import Campaign
from proofs_numeric.campaign.units import UnitOutcome
from proofs_numeric.command import print_results
from proofs_numeric.profiles import PROFILES


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be ≥ 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m proofs_numeric.campaign",
        description=(
            "Check claims through an executor (processes, threads, a Dask cluster), each "
            "claim's searches split into shards whose outcomes merge into one verdict."
        ),
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
        "--profile", choices=sorted(PROFILES), default="ci", help="search effort (default: ci)"
    )
    parser.add_argument(
        "--workers",
        type=_positive,
        default=min(2, os.cpu_count() or 1),
        help="worker processes or threads (default: %(default)s)",
    )
    parser.add_argument(
        "--shards",
        type=_positive,
        default=1,
        help="shards per sampled claim (default: %(default)s; proved claims run whole)",
    )
    parser.add_argument(
        "--executor",
        choices=EXECUTOR_KINDS,
        default=None,
        help="process (default), thread, serial (in this process) or dask",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a Dask scheduler to run on (implies --executor dask)",
    )
    parser.add_argument(
        "--seed",
        help="seed of the sharded searches (default: 0 for ci, a fresh one for thorough)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--markdown", metavar="PATH", type=Path, help="also write the claims page")
    parser.add_argument(
        "--no-controls",
        action="store_true",
        help="skip the negative controls (the run then cannot pass as a check)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    kind = args.executor or ("dask" if args.scheduler else "process")
    campaign = Campaign(args.claim, args.profile, args.shards, args.seed, not args.no_controls)

    def progress(outcome: UnitOutcome) -> None:
        if not args.quiet:
            status = (
                "ERROR"
                if outcome.error
                else (outcome.verdict.status if outcome.verdict is not None else "controls")
            )
            print(
                f"  {outcome.unit.label:28} {status:9} {outcome.seconds:7.1f} s",
                file=sys.stderr,
                flush=True,
            )

    try:
        campaign.units()  # bad claim ids or shard counts: usage errors, before any work
        with open_executor(kind, args.workers, args.scheduler) as executor:
            result = campaign.run(executor, progress=progress)
    except HomogeneityInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    results = result.results
    print_results(results, result.profile.name, as_json=args.json, markdown=args.markdown)
    if not args.quiet:
        print(f"{result.summary()}; executor {kind}, {args.workers} worker(s)", file=sys.stderr)
    if args.no_controls:
        return 0 if all(r.as_expected for r in results) else 1
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
