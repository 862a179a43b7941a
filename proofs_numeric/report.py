"""Render claim results: a terminal table, JSON, and the Markdown claims page.

All three are generated from :class:`~proofs_numeric.runner.ClaimResult` objects, never
written by hand.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence

from proofs_numeric.claim import STATUSES, Verdict, base_id
from proofs_numeric.runner import ClaimResult

EXIT_STATUS_DOC = """Exit status:
  0  every claim got its expected verdict and every negative control was rejected
  1  a verdict differs from the expected one, a negative control was not rejected,
     or a check raised (the table and the messages say which)
  2  usage error (unknown option, unknown claim id, unreadable counterexample file)"""


def status_text(verdict: Verdict) -> str:
    """The verdict as the reports show it: ``proved``, ``verified (N non-vacuous cases)``,
    ``refuted`` or ``open (why)``."""
    if verdict.status == "verified" and verdict.evidence.non_vacuous is not None:
        n = verdict.evidence.non_vacuous
        return f"verified ({n} non-vacuous case{'' if n == 1 else 's'})"
    if verdict.status == "open" and verdict.reason:
        return f"open ({verdict.reason})"
    return verdict.status


def verdict_label(result: ClaimResult) -> str:
    if result.error is not None:
        return "ERROR"
    text = status_text(result.verdict)
    if result.verdict.status == result.claim.expected:
        return text
    return f"{text} (expected {result.claim.expected})"


def controls_label(result: ClaimResult) -> str:
    if not result.controls:
        return "not run"
    n_ok = sum(o.rejected for _, o in result.controls)
    return f"{n_ok}/{len(result.controls)} rejected"


def certificate_summary(result: ClaimResult) -> str:
    """One line for a proved claim: the certificate, its size, and how it was re-checked."""
    cert = result.verdict.certificate
    if cert is None:
        return ""
    return (
        f"certificate {cert.path}: {cert.boxes} boxes in {cert.parts} part(s), "
        f"{cert.precision_bits}-bit arb, re-verified by the independent checker "
        f"(sha256 {cert.sha256[:12]}…); assumes {len(cert.assumptions)} lemma(s)"
        + (" and a tail lemma" if cert.tail else "")
    )


def evidence_text(result: ClaimResult) -> str:
    v = result.verdict
    if v.certificate is not None:
        return "; ".join(p for p in (certificate_summary(result), v.reason) if p)
    parts = [v.evidence.summary()]
    if v.counterexample is not None:
        parts.append(f"counterexample: {v.counterexample.description or v.counterexample.case}")
    if v.reason and v.status != "open":  # an open verdict's label carries its reason
        parts.append(v.reason)
    return "; ".join(parts)


def _wrap_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[int]
) -> str:
    def cells(row: Sequence[str]) -> list[list[str]]:
        return [textwrap.wrap(str(c), w) or [""] for c, w in zip(row, widths, strict=True)]

    sep = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    lines = [sep]
    for i, row in enumerate([headers, *rows]):
        wrapped = cells(row)
        for k in range(max(len(c) for c in wrapped)):
            lines.append(
                "| "
                + " | ".join(
                    (c[k] if k < len(c) else "").ljust(w)
                    for c, w in zip(wrapped, widths, strict=True)
                )
                + " |"
            )
        lines.append(sep if i == 0 or i == len(rows) else sep.replace("-", "-"))
    return "\n".join(lines)


def text_table(results: Sequence[ClaimResult], width: int = 160) -> str:
    """The claims table for a terminal: claim, statement, verdict, evidence, controls."""
    fixed = 8 + 26 + 12 + 5 * 3 + 1
    flexible = max(60, width - fixed)
    statement_w = flexible * 11 // 20
    evidence_w = flexible - statement_w
    widths = [8, statement_w, 26, evidence_w, 12]
    rows = [
        [r.claim.id, r.claim.statement, verdict_label(r), evidence_text(r), controls_label(r)]
        for r in results
    ]
    table = _wrap_table(["claim", "statement", "verdict", "evidence", "controls"], rows, widths)
    total = sum(r.seconds for r in results)
    n_bad = sum(not r.ok for r in results)
    footer = f"{len(results)} claims checked in {total:.1f} s ({status_counts(results)}): " + (
        "all verdicts as expected, all negative controls rejected"
        if n_bad == 0
        else f"{n_bad} claim(s) NOT as expected"
    )
    return table + "\n" + footer


def status_counts(results: Sequence[ClaimResult]) -> str:
    """ "2 proved, 30 verified, 12 refuted" (statuses that occur, in the order of STATUSES)."""
    counts = {s: sum(r.verdict.status == s for r in results) for s in STATUSES}
    return ", ".join(f"{n} {s}" for s, n in counts.items() if n)


def problems(results: Sequence[ClaimResult]) -> list[str]:
    return [p for r in results for p in r.problems()]


def to_json(results: Sequence[ClaimResult], profile: str) -> str:
    payload = {
        "profile": profile,
        "ok": all(r.ok for r in results),
        "claims": [{**r.to_dict(), "label": verdict_label(r)} for r in results],
        "problems": problems(results),
    }
    return json.dumps(payload, indent=2, ensure_ascii=False)


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _claim_cell(r: ClaimResult) -> str:
    c, v = r.claim, r.verdict
    parts = [
        f"**{c.id}: {_md(c.title)}**",
        "",
        f"*Statement.* {_md(c.statement)}",
        "",
        f"*Verdict:* **{verdict_label(r)}** (expected: {c.expected})",
        "",
    ]
    if base_id(c.id) != c.id:
        parts += [f"*Restricts* {base_id(c.id)} to the domain named in its id.", ""]
    cert = v.certificate
    if cert is not None:
        parts += [
            f"*Certificate* `{_md(cert.path)}` (sha256 `{cert.sha256[:16]}…`, "
            f"{cert.precision_bits}-bit arb): {_md(v.evidence.search)}; re-verified by the "
            f"independent checker.",
            "",
            f"*What it proves:* {_md(cert.statement)}.",
            "",
            "*What it assumes:* the correctness of the interval library (arb, through "
            "python-flint) and of the independent checker's maps, and the lemmas: "
            + " ".join(f"({i}) {_md(a)};" for i, a in enumerate(cert.assumptions, 1)),
            "",
            f"*Re-check:* `{_md(cert.command)}`",
        ]
    else:
        parts += [
            f"*Evidence:* {_md(v.evidence.summary())}. Search: {_md(v.evidence.search)}. "
            f"Margin: {_md(v.evidence.margin)}.",
        ]
    if v.evidence.notes and cert is None:
        parts += ["", f"*Notes:* {_md(v.evidence.notes)}"]
    if v.counterexample is not None:
        cx = v.counterexample
        parts += [
            "",
            f"*Counterexample* (margin {cx.margin:.3g} at {cx.digits} digits): "
            f"{_md(cx.description)} `{_md(json.dumps(cx.case))[:400]}`",
        ]
    if v.reason and v.status != "open":  # an open verdict's label carries its reason
        parts += ["", f"*Reason:* {_md(v.reason)}"]
    if c.explanation:
        parts += ["", f"*Explanation:* {_md(c.explanation)}"]
    ctl = "; ".join(
        f"{_md(k.name)}: {'rejected' if o.rejected else 'NOT rejected'} ({_md(o.detail)})"
        for k, o in r.controls
    )
    parts += ["", f"*Negative controls:* {ctl or 'not run'}"]
    return "<br>".join(p if p else "" for p in parts)


def group_id(result: ClaimResult) -> str:
    """The SPEC id a result is shown under: a corrected claim under the claim it corrects,
    a restricted claim (``D7[n≤5]``) under the claim it restricts."""
    claim = result.claim
    return claim.corrects or base_id(claim.id)


def markdown_page(results: Sequence[ClaimResult], profile: str) -> str:
    """The claims page: a summary table, then each SPEC id with the paper's claim and its
    corrected version side by side."""
    lines = [
        "# Claims checked by `proofs_numeric`",
        "",
        "This page is generated by `python -m proofs_numeric --markdown docs/claims.md` "
        f"(profile `{profile}`) from the claim registry; do not edit it by hand.",
        "",
        "Verdicts: **proved** = a certificate covers the whole stated domain (a "
        "ball-arithmetic branch-and-bound proof with its lemmas and tail, re-verified by "
        "the independent checker: `python -m proofs_numeric.certificates "
        "proofs_numeric/certificates/data/*.json`; see the certificates page); "
        "**verified (N non-vacuous cases)** = held on every case the search produced, "
        "and at least the profile's floor of them were non-vacuous (the premise held and "
        "the margin was finite; evidence: cases, worst margin, precision); "
        "**refuted** = a counterexample was found, shrunk and "
        "re-checked at higher precision (replay it with `python -m proofs_numeric --replay "
        "proofs_numeric/counterexamples/<ID>.json`; a refutation along a ray stores "
        "several points of the ray and replays at each); **open (why)** = not decided: "
        "not decidable numerically, or too few non-vacuous cases. "
        "A claim `X*` is the corrected version of the paper's claim `X`; a claim "
        "`X[domain]` is `X` restricted to the domain in brackets, where only the "
        "restriction is proved (`X` keeps its sampled verdict). The searches are "
        "derandomized, so this command reproduces the numbers below; inside `pytest` "
        "Hypothesis also draws constants from the loaded test modules, so the same searches "
        "take other paths there and may report other worst margins.",
        "",
        "| claim | title | verdict | evidence | controls | time (s) |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        evidence = (
            f"{r.verdict.certificate.boxes} boxes, {r.verdict.certificate.precision_bits}-bit "
            f"arb, certificate `{r.verdict.certificate.path}`"
            if r.verdict.certificate is not None
            else r.verdict.evidence.summary()
        )
        lines.append(
            f"| {r.claim.id} | {_md(r.claim.title)} | {verdict_label(r)} | "
            f"{_md(evidence)} | {controls_label(r)} | "
            f"{r.seconds:.1f} |"
        )
    lines += ["", EXIT_STATUS_DOC.replace("\n", "  \n"), ""]
    by_spec: dict[str, list[ClaimResult]] = {}
    for r in results:
        by_spec.setdefault(group_id(r), []).append(r)
    for spec_id, group in by_spec.items():
        lines += [f"## {spec_id}", ""]
        paper = [r for r in group if r.claim.corrects is None and base_id(r.claim.id) == r.claim.id]
        fixed = [r for r in group if r not in paper]
        if fixed:
            lines += ["| as the paper states it | corrected or restricted version |", "|---|---|"]
            left = paper[0] if paper else None
            for i, r in enumerate(fixed):
                lcell = _claim_cell(left) if (left is not None and i == 0) else ""
                lines.append(f"| {lcell} | {_claim_cell(r)} |")
            for extra in paper[1:]:
                lines.append(f"| {_claim_cell(extra)} | |")
        else:
            lines += ["| claim |", "|---|"]
            for r in paper:
                lines.append(f"| {_claim_cell(r)} |")
        lines.append("")
    return "\n".join(lines) + "\n"
