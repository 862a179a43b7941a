"""The ``proved`` verdict in the framework: Verdict/Status, ids with brackets (sorting,
``--claim``, file names, grouping on the claims page), the runner's expectations and the
table, JSON and Markdown of the report."""

from __future__ import annotations

import json

import pytest

from homogeneity.errors import HomogeneityInputError
from proofs_numeric import report
from proofs_numeric.claim import (
    STATUSES,
    CertificateRecord,
    CheckContext,
    Claim,
    ControlOutcome,
    Counterexample,
    Evidence,
    NegativeControl,
    Verdict,
    _sort_key,
    base_id,
    file_stem,
    registry,
    select_claims,
)
from proofs_numeric.claims._certified import certified_check
from proofs_numeric.command import main as cli_main
from proofs_numeric.runner import run_claim

PROVED = (
    "L6",
    "L8",
    "L7*[n≤5]",
    "D7[n≤5]",
    "G2*[a≤100]",
    "P1*[instance]",
    "P4*[instance]",
    "EU~*[instance]",
)


def _record() -> CertificateRecord:
    return CertificateRecord(
        path="x.json",
        sha256="0" * 64,
        theorem="t",
        statement="s",
        assumptions=("a",),
        tail="",
        parts=1,
        boxes=1,
        precision_bits=128,
        checker="OK",
        command="python -m proofs_numeric.certificates x.json",
    )


def test_proved_is_a_status_and_needs_a_certificate() -> None:
    assert "proved" in STATUSES
    evidence = Evidence(1, 0.0, "arb", "b&b")
    assert Verdict("proved", evidence, certificate=_record()).to_dict()["certificate"]["boxes"] == 1
    with pytest.raises(HomogeneityInputError, match="proved verdict needs"):
        Verdict("proved", evidence)
    with pytest.raises(HomogeneityInputError, match="only a proved one"):
        Verdict("verified", evidence, certificate=_record())


def test_the_eight_claims_are_registered_as_proved() -> None:
    reg = registry()
    assert all(reg[cid].expected == "proved" for cid in PROVED)


def test_ids_with_brackets_sort_after_the_claim_they_restrict() -> None:
    order = list(registry())
    for restricted, parent in (
        ("L7*[n≤5]", "L7*"),
        ("D7[n≤5]", "D7"),
        ("P4*[instance]", "P4*"),
        ("EU~*[instance]", "EU~*"),
        ("G2*[a≤100]", "G2*"),
        ("P1*[instance]", "P1*"),
    ):
        assert order.index(restricted) == order.index(parent) + 1, restricted
        assert base_id(restricted) == parent
    assert _sort_key("L7*[n≤5]") > _sort_key("L7*") > _sort_key("L7")


def test_selecting_a_claim_selects_its_restrictions() -> None:
    assert [c.id for c in select_claims(["D7"])] == ["D7", "D7[n≤5]"]
    assert "L7*[n≤5]" in [c.id for c in select_claims(["L7"])]
    assert [c.id for c in select_claims(["L7*[n≤5]"])] == ["L7*[n≤5]"]


def test_bracketed_ids_get_portable_file_names(tmp_path) -> None:
    assert file_stem("L7*[n≤5]") == "L7_star_n_le_5"
    assert file_stem("EU~*[instance]") == "EU~_star_instance"
    assert file_stem("P1/P2") == "P1_P2" and file_stem("P4*") == "P4_star"
    cx = Counterexample("G2*[a≤100]", {"a": 1}, -1.0, 30)
    path = cx.save(tmp_path)
    assert path.name == "G2_star_a_le_100.json"
    assert Counterexample.load(path).claim_id == "G2*[a≤100]"


def test_cli_accepts_a_bracketed_claim_id(capsys) -> None:
    assert cli_main(["--claim", "D7[n≤5]", "--quiet", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert [c["id"] for c in payload["claims"]] == ["D7[n≤5]"]
    claim = payload["claims"][0]
    assert claim["verdict"]["status"] == "proved" and claim["restricts"] == "D7"
    assert claim["verdict"]["certificate"]["path"].endswith("d7_rows5.json")


def _dummy_claim(check, expected: str = "proved") -> Claim:
    control = NegativeControl("c", "c", lambda ctx: ControlOutcome(True, "ok"))
    return Claim(
        id="X9[n≤2]",
        title="t",
        statement="s",
        expected=expected,  # type: ignore[arg-type]
        check=check,
        negative_controls=(control,),
    )


def test_a_missing_or_foreign_certificate_is_open_and_fails_the_run() -> None:
    missing = run_claim(
        _dummy_claim(certified_check("no_such_file", "X9", "t", {})), CheckContext()
    )
    assert missing.verdict.status == "open" and "cannot read" in missing.verdict.reason
    assert not missing.as_expected and "verdict changed" in missing.problems()[0]
    foreign = run_claim(
        _dummy_claim(certified_check("d7_rows5", "D7[n≤5]", "argmax_limit", {"rows": 4})),
        CheckContext(),
    )
    assert foreign.verdict.status == "open" and "other parameters" in foreign.verdict.reason
    wrong_claim = run_claim(
        _dummy_claim(certified_check("d7_rows5", "L7*[n≤5]", "argmax_limit", {})),
        CheckContext(),
    )
    assert "is for D7[n≤5]" in wrong_claim.verdict.reason


def test_proved_is_compared_exactly_with_the_expectation() -> None:
    check = registry()["D7[n≤5]"].check
    as_verified = run_claim(_dummy_claim(check, expected="verified"), CheckContext())
    assert as_verified.verdict.status == "proved" and not as_verified.as_expected
    assert as_verified.proved


@pytest.fixture(scope="module")
def results():
    reg = registry()
    return [run_claim(reg[cid], CheckContext()) for cid in ("D7", "D7[n≤5]", "L8")]


def test_table_and_json_show_the_certificate(results) -> None:
    table = report.text_table(results)
    assert "proved" in table and "certificate proofs_numeric/certificates/data/" in table
    assert "(2 proved, 1 verified)" in table
    payload = json.loads(report.to_json(results, "ci"))
    proved = [c for c in payload["claims"] if c["verdict"]["status"] == "proved"]
    assert len(proved) == 2
    for c in proved:
        cert = c["verdict"]["certificate"]
        assert len(cert["sha256"]) == 64 and cert["assumptions"] and cert["boxes"] >= 1


def test_markdown_groups_a_restriction_under_its_claim_and_says_what_it_assumes(results) -> None:
    page = report.markdown_page(results, "ci")
    headings = [line for line in page.splitlines() if line.startswith("## ")]
    assert "## D7" in headings and "## D7[n≤5]" not in headings
    assert len(headings) == len(set(headings))  # unique anchors
    assert "corrected or restricted version" in page
    assert "*Restricts* D7" in page
    assert "*What it proves:*" in page and "*What it assumes:*" in page
    assert "python -m proofs_numeric.certificates proofs_numeric/certificates/data/" in page
    assert "**proved**" in page
