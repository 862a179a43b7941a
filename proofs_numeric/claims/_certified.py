"""Claims backed by certificates: the check re-verifies a stored certificate with the
independent checker, and the controls show that the checker rejects forgeries.

A proved claim's check loads ``proofs_numeric/certificates/data/<name>.json``, runs the
checker of :mod:`proofs_numeric.certificates.checker` on it, and verifies that the
certificate is about this claim (claim id, theorem and parameters as the claim states
them; the checker itself also matches them against its own record,
:mod:`proofs_numeric.certificates.stated`, and for an instance claim this module's
comparison is what ties the stored weights to the package's seeded initialisation). The
verdict is ``proved`` with a :class:`~proofs_numeric.claim.CertificateRecord`; if the file
is missing, rejected or about another statement, the verdict is ``open`` with the reason
(so the run fails: the claim expects ``proved``). Rebuild a certificate with
``python -m proofs_numeric.certificates.prover NAME``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from proofs_numeric.certificates import DATA_DIR, tamper
from proofs_numeric.certificates import checker as independent
from proofs_numeric.certificates.specs import HEAD_CASE, head_instance
from proofs_numeric.claim import (
    CertificateRecord,
    CheckContext,
    Claim,
    ControlOutcome,
    Evidence,
    NegativeControl,
    Verdict,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def certificate_path(name: str) -> Path:
    return DATA_DIR / f"{name}.json"


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _open(reason: str) -> Verdict:
    return Verdict(
        "open",
        Evidence(0, None, "arb (python-flint)", "re-check of the stored certificate"),
        reason=reason,
    )


def certified_check(
    name: str,
    claim_id: str,
    theorem: str,
    parameters: Callable[[], Mapping[str, Any]] | Mapping[str, Any],
) -> Callable[[CheckContext], Verdict]:
    """The check of a proved claim: re-verify ``data/<name>.json`` and match its statement."""

    def check(ctx: CheckContext) -> Verdict:
        path = certificate_path(name)
        try:
            cert = independent.load(path)
            report = independent.verify(cert)
        except independent.CertificateRejected as exc:
            return _open(f"certificate {_display(path)} rejected by the checker: {exc}")
        expected = dict(parameters() if callable(parameters) else parameters)
        if cert["claim"] != claim_id or cert["theorem"] != theorem:
            return _open(
                f"certificate {_display(path)} is for {cert['claim']} ({cert['theorem']}), "
                f"not {claim_id} ({theorem})"
            )
        if cert["parameters"] != expected:
            return _open(
                f"certificate {_display(path)} proves other parameters than the claim states: "
                f"{cert['parameters']} ≠ {expected}"
            )
        shown = _display(path)
        line = report.line(shown)
        record = CertificateRecord(
            path=shown,
            sha256=report.sha256,
            theorem=report.theorem,
            statement=report.statement,
            assumptions=report.assumptions,
            tail=report.tail,
            parts=report.parts,
            boxes=report.boxes,
            precision_bits=report.precision_bits,
            checker=line,
            command=f"python -m proofs_numeric.certificates {shown}",
        )
        return Verdict(
            "proved",
            Evidence(
                cases=report.boxes,
                worst_margin=report.min_lower,
                precision=(
                    f"arb {report.precision_bits}-bit (python-flint "
                    f"{independent.flint_version()}), outward-rounded intervals"
                ),
                search=(
                    f"branch-and-bound over {report.parts} part(s) of a compact "
                    f"reparametrisation, {report.boxes} boxes"
                    + (f"; {report.tail}" if report.tail else "")
                ),
                margin=(
                    "lower end of the margin's enclosure on a box; ≥ 0 on every box of a "
                    "partition of the domain proves the statement"
                ),
                notes=f"re-verified by the independent checker: {line}",
            ),
            certificate=record,
        )

    return check


def _rejected(cert: dict[str, Any], what: str) -> ControlOutcome:
    try:
        report = independent.verify(cert)
    except independent.CertificateRejected as exc:
        return ControlOutcome(True, f"{what}: rejected ({exc})")
    return ControlOutcome(False, f"{what}: the checker ACCEPTED it ({report.line('forgery')})")


def certificate_controls(
    name: str, sharpen: Callable[[dict[str, Any]], dict[str, Any]], sharpened: str
) -> tuple[NegativeControl, ...]:
    """Forgeries of ``data/<name>.json`` that the checker must reject: the statement with a
    false sharpened constant (``sharpen`` edits the parameters; every enclosure honestly
    recomputed for it), and the stored certificate tampered with (an edited enclosure, a
    box removed, a box moved, a stale hash, a relabelled claim)."""

    def forged(ctx: CheckContext) -> ControlOutcome:
        cert = independent.load(certificate_path(name))
        return _rejected(tamper.with_parameters(cert, sharpen), sharpened)

    def tampered(ctx: CheckContext) -> ControlOutcome:
        cert = independent.load(certificate_path(name))
        outcomes = [_rejected(change(cert), what) for what, change in tamper.TAMPERINGS.items()]
        return ControlOutcome(
            all(o.rejected for o in outcomes), "; ".join(o.detail for o in outcomes)
        )

    return (
        NegativeControl(
            f"certificate for a false sharpened constant ({sharpened})",
            "the checker must reject the certificate restated with the sharper constant, "
            "even with every enclosure recomputed for it",
            forged,
        ),
        NegativeControl(
            "tampered certificate",
            "an edited enclosure, a box removed (hole in the cover), a box moved off its "
            "path, a content change without a new hash and the certificate relabelled to "
            "another claim must each be rejected",
            tampered,
        ),
    )


def certified_claim(
    claim_id: str,
    title: str,
    *,
    name: str,
    theorem: str,
    parameters: Callable[[], Mapping[str, Any]] | Mapping[str, Any],
    sharpen: Callable[[dict[str, Any]], dict[str, Any]],
    sharpened: str,
    explanation: str,
    corrects: str | None = None,
    statement_tail: str = ".",
) -> Claim:
    """The claim that ``data/<name>.json`` proves: its statement is the checker's statement
    of ``theorem`` with ``parameters`` (then ``statement_tail``), it expects ``proved``, its
    check is :func:`certified_check` and its controls are :func:`certificate_controls`
    (the statement with ``sharpen``'s sharper constant, and tampered certificates)."""
    stated = parameters() if callable(parameters) else parameters
    return Claim(
        id=claim_id,
        title=title,
        corrects=corrects,
        statement=independent.THEOREMS[theorem].statement(stated) + statement_tail,
        expected="proved",
        check=certified_check(name, claim_id, theorem, parameters),
        explanation=explanation,
        negative_controls=certificate_controls(name, sharpen, sharpened),
    )


def head_instance_claim(
    claim_id: str,
    title: str,
    *,
    corrects: str,
    name: str,
    theorem: str,
    constant: str,
    sharper: str,
    explanation: str,
) -> Claim:
    """A :func:`certified_claim` about the seeded attention head of
    :data:`proofs_numeric.certificates.specs.HEAD_CASE` along its ray, with the constant
    ``constant``; the forgery control restates it with the false ``sharper`` constant."""
    return certified_claim(
        claim_id,
        title,
        corrects=corrects,
        name=name,
        theorem=theorem,
        parameters=lambda: {"instance": head_instance(), "constant": constant},
        statement_tail=f" (instance: the seeded sublayer {HEAD_CASE}).",
        explanation=explanation,
        sharpen=lambda p: {**p, "constant": sharper},
        sharpened=f"constant {sharper} instead of {constant}",
    )
