"""The claim framework: claims, verdicts, counterexamples, registry, search, reports, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import mpmath
import pytest
from hypothesis import strategies as st

from homogeneity.errors import HomogeneityInputError
from proofs_numeric import report
from proofs_numeric.claim import (
    CheckContext,
    Claim,
    Counterexample,
    Evidence,
    Verdict,
    discover_claims,
    get_profile,
    registry,
    select_claims,
)
from proofs_numeric.command import main
from proofs_numeric.profiles import Profile
from proofs_numeric.runner import run_claim
from proofs_numeric.search import (
    check_property,
    log_margin,
    property_control,
    replay_control,
)
from tests.helpers.toy_search import NOOP, toy_search

ROOT = Path(__file__).resolve().parents[2]


def test_check_property_verifies_refutes_and_detects_precision_artefacts() -> None:
    ok = check_property(toy_search(lambda c, d: 1 + abs(mpmath.mpf(c["x"]))), CheckContext())
    assert ok.status == "verified" and ok.evidence.cases > 10
    assert ok.evidence.worst_margin is not None and ok.evidence.worst_margin >= 1
    bad = check_property(toy_search(lambda c, d: mpmath.mpf(c["x"]) + 5), CheckContext())
    assert bad.status == "refuted" and bad.counterexample is not None
    assert bad.counterexample.margin < 0
    assert bad.counterexample.case["x"] < -5  # shrunk toward the boundary
    # negative at 50 digits, positive at 100: a precision artefact, not a refutation
    artefact = check_property(
        toy_search(lambda c, d: -1 if d < 60 else 1, constructions=[{"x": 0.0}]), CheckContext()
    )
    assert artefact.status == "open" and "precision" in artefact.reason


def test_unsatisfiable_search_is_open() -> None:
    never = st.floats(0, 1).filter(lambda x: False).map(lambda x: {"x": x})
    verdict = check_property(toy_search(lambda c, d: 1, strategy=never), CheckContext())
    assert verdict.status == "open"


def test_controls() -> None:
    refutable = property_control("c", "", lambda: toy_search(lambda c, d: mpmath.mpf(c["x"])))
    assert refutable.run(CheckContext()).rejected
    unrefutable = property_control("c", "", lambda: toy_search(lambda c, d: mpmath.mpf(1)))
    assert not unrefutable.run(CheckContext()).rejected
    assert replay_control("r", "", {"x": 1.0}, lambda c, d: 1).run(CheckContext()).rejected
    assert not replay_control("r", "", {"x": 1.0}, lambda c, d: -1).run(CheckContext()).rejected


def test_log_margin() -> None:
    assert log_margin(1, 0) == mpmath.inf
    assert log_margin(0, 1) == -mpmath.inf
    assert abs(log_margin(mpmath.e, 1) - 1) < 1e-12


def test_claim_validation() -> None:
    def check(ctx: CheckContext) -> Verdict:
        return Verdict("verified", Evidence(1, 0.0, "p", "s"))

    with pytest.raises(HomogeneityInputError, match="negative control"):
        Claim("X1", "t", "s", "verified", check, ())
    with pytest.raises(HomogeneityInputError, match="expected"):
        Claim("X1", "t", "s", "maybe", check, (NOOP,))  # type: ignore[arg-type]
    with pytest.raises(HomogeneityInputError, match="corrects"):
        Claim("X1*", "t", "s", "verified", check, (NOOP,))
    with pytest.raises(HomogeneityInputError, match="counterexample"):
        Verdict("refuted", Evidence(1, 0.0, "p", "s"))
    with pytest.raises(HomogeneityInputError, match="profile"):
        get_profile("fast")
    with pytest.raises(HomogeneityInputError, match="max_examples"):
        Profile("x", 0, 50, 100, True, 20)
    with pytest.raises(HomogeneityInputError, match="min_cases"):
        Profile("x", 30, 50, 100, True, 0)
    with pytest.raises(HomogeneityInputError, match="recheck_digits"):
        Profile("x", 30, 50, 40, True, 20)


def test_counterexample_json_roundtrip(tmp_path: Path) -> None:
    cx = Counterexample("L7", {"x": [1.0, 2.0]}, -0.5, 100, "desc")
    path = cx.save(tmp_path)
    assert path.name == "L7.json"
    assert Counterexample.load(path) == cx
    assert Counterexample.path_for("P4*", tmp_path).name == "P4_star.json"
    assert Counterexample.path_for("P1/P2", tmp_path).name == "P1_P2.json"
    with pytest.raises(HomogeneityInputError, match="missing"):
        Counterexample.from_dict({"claim_id": "x"})
    with pytest.raises(HomogeneityInputError, match="not a file"):
        Counterexample.load(tmp_path / "nope.json")


def test_registry() -> None:
    reg = registry()
    ids = list(reg)
    for required in [
        "D3",
        "D7",
        "D16",
        "P1/P2",
        "P3",
        "P4",
        "P4*",
        "P5",
        "P6",
        "L1",
        "L2",
        "L3",
        "L4",
        "L5",
        "L6",
        "L7",
        "L7*",
        "L8",
        "T1",
        "T1*",
        "C1",
        "EU",
    ]:
        assert required in reg, required
    assert (
        ids.index("D3") < ids.index("P1/P2") < ids.index("L1") < ids.index("T1") < ids.index("C1")
    )
    assert ids.index("P4") + 1 == ids.index("P4*")
    for claim in reg.values():
        assert claim.negative_controls
        if claim.expected == "refuted":
            assert claim.replay is not None
    assert [c.id for c in select_claims(["P4"])] == ["P4", "P4*", "P4*[instance]"]
    with pytest.raises(HomogeneityInputError, match="not registered"):
        select_claims(["Z9"])
    assert discover_claims().keys() == reg.keys()


def test_run_claim_reports_a_crash_as_error_not_verdict() -> None:
    def boom(ctx):
        raise RuntimeError("bug")

    result = run_claim(Claim("X9", "t", "s", "verified", boom, (NOOP,)), CheckContext())
    assert result.error and not result.ok
    assert "raised" in result.problems()[0]


def test_reports(claim_result) -> None:
    results = [claim_result("L7"), claim_result("L7*")]
    table = report.text_table(results, width=140)
    assert "L7*" in table and "refuted" in table and "verified" in table
    page = report.markdown_page(results, "ci")
    assert "| as the paper states it | corrected or restricted version |" in page
    assert "## L7" in page
    payload = json.loads(report.to_json(results, "ci"))
    assert payload["ok"] and payload["claims"][0]["id"] == "L7"


def test_cli_exit_statuses(tmp_path: Path, capsys) -> None:
    assert main(["--list"]) == 0
    assert "L7*" in capsys.readouterr().out
    assert main(["--claim", "NOPE"]) == 2
    assert main(["--claim", "L6", "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["claims"][0]["verdict"]["status"] == "proved"
    md = tmp_path / "claims.md"
    assert main(["--claim", "L8", "--quiet", "--markdown", str(md)]) == 0
    assert "L8" in md.read_text()
    assert main(["--profile", "fast"]) == 2  # one line on stderr, not a SystemExit


def test_cli_replays_stored_counterexamples(capsys) -> None:
    for claim_id in ["L7", "P4"]:
        path = Counterexample.path_for(claim_id)
        assert main(["--replay", str(path)]) == 0
        assert "still a counterexample" in capsys.readouterr().out


def test_cli_replay_of_a_non_counterexample_fails(tmp_path: Path) -> None:
    fake = Counterexample("L7", {"x": [150.0, 0.0], "log10_c": 3.0}, -1.0, 100)
    assert main(["--replay", str(fake.save(tmp_path))]) == 1


def test_python_dash_m_runs() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "proofs_numeric", "--claim", "L6", "--quiet"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "L6" in proc.stdout and "proved" in proc.stdout
