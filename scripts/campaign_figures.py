"""The benchmarks page's table of a campaign: claim by claim, verdict, cases, non-vacuous
cases, the units' own seconds and cases per second, from the JSON of one or more runs of
``python -m proofs_numeric.campaign --json``.

Usage::

    python -m proofs_numeric.campaign --profile thorough --workers 2 --shards 2 --seed 0 \\
        --json > run.json
    python scripts/campaign_figures.py run.json [more.json ...]

Cases per second divide the claim's distinct cases by the time of all its units (its
check shards and its negative controls), so they understate the search's own speed a
little. A claim's row says ``below the floor`` when a sampled verdict rests on fewer
non-vacuous cases than the profile's floor (only an ``open`` verdict may).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from proofs_numeric.profiles import PROFILES


def rows(run: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per claim of a campaign's JSON."""
    out = []
    floor = PROFILES[run["profile"]].min_cases
    for claim in run["claims"]:
        verdict = claim["verdict"]
        evidence = verdict.get("evidence") or {}
        cases = evidence.get("cases")
        non_vacuous = evidence.get("non_vacuous")
        seconds = claim["seconds"]
        short = verdict["status"] == "verified" and (non_vacuous is None or non_vacuous < floor)
        out.append(
            {
                "id": claim["id"],
                "expected": claim["expected"],
                "status": verdict["status"],
                "cases": cases,
                "non_vacuous": non_vacuous,
                "seconds": seconds,
                "rate": (cases / seconds) if cases and seconds else None,
                "short": short,
            }
        )
    return out


def markdown(all_rows: list[dict[str, Any]]) -> str:
    lines = [
        "| claim | verdict | cases | non-vacuous | units' time | cases/s |",
        "|---|---|---|---|---|---|",
    ]
    for r in all_rows:
        status = r["status"] + (
            "" if r["status"] == r["expected"] else f" (expected {r['expected']})"
        )
        if r["short"]:
            status += ", below the floor"
        nv = "–" if r["non_vacuous"] is None else str(r["non_vacuous"])
        rate = "–" if r["rate"] is None else f"{r['rate']:.1f}"
        lines.append(
            f"| {r['id']} | {status} | {r['cases']} | {nv} | {r['seconds']:.1f} s | {rate} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    all_rows: list[dict[str, Any]] = []
    for name in argv:
        all_rows.extend(rows(json.loads(Path(name).read_text(encoding="utf-8"))))
    print(markdown(all_rows))
    sampled = [r for r in all_rows if r["non_vacuous"] is not None and r["status"] == "verified"]
    total = sum(r["seconds"] for r in all_rows)
    print(
        f"\n{len(all_rows)} claims; {len(sampled)} verified on counted cases, the fewest "
        f"non-vacuous cases {min((r['non_vacuous'] for r in sampled), default=0)}; "
        f"units' own time {total:.1f} s",
    )
    unexpected = [r["id"] for r in all_rows if r["status"] != r["expected"] or r["short"]]
    if unexpected:
        print(f"not as expected: {', '.join(unexpected)}")
    return 1 if unexpected else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
