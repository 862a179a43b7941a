"""Replaying a stored counterexample treats the file as untrusted input: a malformed,
tampered or oversized file, or a case outside its claim's bounds, is one line on stderr
and exit status 2, before any computation; the description printed is the replayed
case's; ``--digits`` is bounded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import proofs_numeric.command as claims_command
from proofs_numeric import search
from proofs_numeric.claim import COUNTEREXAMPLE_DIR, CheckContext, registry

ROOT = Path(__file__).resolve().parents[2]
STORED = sorted(COUNTEREXAMPLE_DIR.glob("*.json"))
L7 = json.loads((COUNTEREXAMPLE_DIR / "L7.json").read_text(encoding="utf-8"))


def replay(path: Path, capsys, *extra: str) -> tuple[int, str, str]:
    code = claims_command.main(["--replay", str(path), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def assert_refused(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("homogeneity: error: "), lines[0]
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def write(tmp_path: Path, content: str | bytes, name: str = "cx.json") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def l7_with(**changes) -> str:
    data = json.loads(json.dumps(L7))
    for key, value in changes.items():
        if key.startswith("case_"):
            data["case"][key[5:]] = value
        elif value is KeyError:
            del data[key]
        else:
            data[key] = value
    return json.dumps(data)


# -- malformed and tampered files ----------------------------------------------------------


@pytest.mark.parametrize(
    "content, fragments",
    [
        pytest.param(json.dumps(L7)[:-20], ("not valid JSON", "line"), id="truncated"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\xff", ("not UTF-8",), id="binary"),
        pytest.param("", ("not valid JSON",), id="empty"),
        pytest.param("[1, 2, 3]", ("JSON object, not list",), id="a list"),
        pytest.param(l7_with(case=KeyError), ("missing ['case']",), id="missing key"),
        pytest.param(
            l7_with(digits="100"), ("digits = '100' must be an integer",), id="digits str"
        ),
        pytest.param(l7_with(margin="bad"), ("margin = 'bad'",), id="margin str"),
        pytest.param(l7_with(claim_id=7), ("claim_id = 7",), id="claim_id int"),
        pytest.param(l7_with(case=[1, 2]), ("case = list must be a JSON object",), id="case list"),
        pytest.param(l7_with(extra=1), ("unexpected key(s) ['extra']",), id="unknown key"),
        pytest.param(l7_with(claim_id="Z9"), ("'Z9', which is not registered",), id="no claim"),
        pytest.param(l7_with(margin=-1.0).replace("-1.0", "NaN"), ("NaN",), id="NaN literal"),
        pytest.param("[" * 100_000 + "]" * 100_000, ("nested too deeply",), id="deep nesting"),
        pytest.param(
            l7_with(case_log10_c=1e6),
            ("case.log10_c = 1000000.0 must lie in [0, 400]",),
            id="log10_c 1e6",
        ),
        pytest.param(l7_with(case_x="abc"), ("case.x = 'abc' must be a list",), id="x a string"),
        pytest.param(
            l7_with(case_x=[1e7, -1e7]), ("max − min of x must be ≤ 10^4",), id="x spread"
        ),
        pytest.param(l7_with(case_keep=[True]), ("unexpected key(s) ['keep']",), id="case key"),
        pytest.param(
            l7_with(case_x=[True, 1.0]), ("case.x[0] = True must be a number",), id="bool x"
        ),
    ],
)
def test_malformed_or_tampered_file_is_one_line_and_status_2(
    tmp_path, capsys, content, fragments
) -> None:
    code, out, err = replay(write(tmp_path, content), capsys)
    assert_refused(code, err, *fragments)
    assert out == ""


def test_a_file_over_the_size_cap_is_refused_unread(tmp_path, capsys) -> None:
    big = json.dumps({**L7, "description": "x" * 300_000})
    code, _, err = replay(write(tmp_path, big), capsys)
    assert_refused(code, err, "larger than 262144 bytes")


def test_a_missing_file_is_one_line(tmp_path, capsys) -> None:
    code, _, err = replay(tmp_path / "nope.json", capsys)
    assert_refused(code, err, "is not a file")


def _leaves(value, path=()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, (*path, i))
    else:
        yield path


def _set(data, path, value):
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


@pytest.mark.parametrize("stored", STORED, ids=[p.stem for p in STORED])
def test_every_field_of_every_stored_case_is_bounded(tmp_path, capsys, stored) -> None:
    """Each leaf of each stored case, set to a string or to 1e300, is refused by the
    claim's bounds before any computation (no traceback, status 2)."""
    original = json.loads(stored.read_text(encoding="utf-8"))
    leaves = list(_leaves(original["case"]))
    assert leaves
    for path in leaves:
        for bad in ("abc", 1e300):
            data = json.loads(json.dumps(original))
            _set(data["case"], path, bad)
            code, _, err = replay(write(tmp_path, json.dumps(data)), capsys)
            assert_refused(code, err, "case")


# -- digits and description ----------------------------------------------------------------


@pytest.mark.parametrize("digits", ["-5", "0", "14", "100000"])
def test_digits_are_bounded(capsys, digits) -> None:
    code, _, err = replay(COUNTEREXAMPLE_DIR / "L7.json", capsys, "--digits", digits)
    assert_refused(code, err, "argument --digits: must lie in [15, 2000]")


def test_the_description_is_the_replayed_case(tmp_path, capsys) -> None:
    edited = json.loads(json.dumps(L7))
    edited["case"]["x"] = [1002.5, 1000.0]
    code, out, _ = replay(write(tmp_path, json.dumps(edited)), capsys)
    assert code == 0, out
    assert "x = [1002.5, 1000.0]" in out
    assert "1001.0" not in out  # the stored description was about the stored case


def test_a_claim_without_a_describe_prints_the_case(tmp_path, capsys) -> None:
    case = {"x": 1.0, "log10_c": 3.0}  # L6 holds: not a counterexample
    path = write(
        tmp_path, json.dumps({"claim_id": "L6", "case": case, "margin": -1.0, "digits": 50})
    )
    code, out, _ = replay(path, capsys)
    assert code == 1 and 'case {"log10_c": 3.0, "x": 1.0}' in out


# -- the real command, as a shell runs it --------------------------------------------------


@pytest.mark.parametrize(
    "content, fragment",
    [
        (json.dumps(L7)[:-20], "not valid JSON"),
        (l7_with(case_log10_c=1e6), "case.log10_c = 1000000.0 must lie in [0, 400]"),
    ],
    ids=["truncated", "log10_c 1e6"],
)
def test_python_dash_m_refuses_before_computing(tmp_path, content, fragment) -> None:
    """The timeout only guards against the minutes-long hang of an unbounded case."""
    path = write(tmp_path, content)
    done = subprocess.run(
        [sys.executable, "-m", "proofs_numeric", "--replay", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("homogeneity: error: ")
    assert fragment in lines[0]


# -- every replayable claim declares bounds that admit what its search draws ---------------


def _replayable():
    return [c for c in registry().values() if c.replay is not None]


def test_every_replayable_claim_declares_bounds_and_a_description() -> None:
    missing = [c.id for c in _replayable() if getattr(c, "case_schema", None) is None]
    assert not missing, f"claims with replay but no case_schema: {missing}"


def _searches_of(claim, monkeypatch) -> list:
    captured = []

    def capture(found, ctx):
        captured.append(found)
        return search.SearchOutcome(0, None, None, None)

    monkeypatch.setattr(search, "run_search", capture)
    claim.check(CheckContext())
    if not any(s.claim_id == claim.id for s in captured):
        # a proved claim checks a certificate; its property controls search the same cases
        for control in claim.negative_controls:
            control.run(CheckContext())
    return [s for s in captured if s.claim_id == claim.id]


def _drawn(strategy, n: int) -> list:
    cases = []

    @settings(
        max_examples=n,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(case):
        cases.append(case)

    collect()
    return cases


@pytest.mark.parametrize("claim_id", [c.id for c in _replayable()])
def test_bounds_admit_every_case_the_search_tries(claim_id, monkeypatch) -> None:
    """The constructions and 40 drawn cases of the claim's own search all pass its
    case_schema (bounds that refused the search's own cases would break replays)."""
    claim = registry()[claim_id]
    searches = _searches_of(claim, monkeypatch)
    assert searches, f"{claim_id}'s check runs no PropertySearch to compare its bounds with"
    stored = COUNTEREXAMPLE_DIR / f"{claim_id.replace('*', '_star').replace('/', '_')}.json"
    cases = [json.loads(stored.read_text())["case"]] if stored.is_file() else []
    for found in searches:
        cases += [dict(c) for c in found.constructions] + _drawn(found.strategy, 40)
    schema = claim.case_schema
    assert schema is not None, f"{claim_id} is replayable, so it bounds its cases"
    for case in cases:
        schema.check(json.loads(json.dumps(case)), "case")


def test_with_ray_admits_the_stored_points_within_their_bounds_only() -> None:
    from homogeneity.errors import HomogeneityInputError
    from proofs_numeric import case_schema as cs

    base = cs.Record({"rho": cs.Real(0.0, 5.0), "log10_c": cs.Real(0.0, 40.0)})
    schema = search.with_ray(base, rho=cs.Real(0.0, 80.0))
    schema.check({"rho": 2.0, "log10_c": 3.0})
    schema.check({"rho": 2.0, "log10_c": 3.0, "ray": [{"rho": 32.0}, {"rho": 2.0, "log10_c": 4}]})
    for bad in (
        {"rho": 32.0, "log10_c": 3.0},  # the case itself keeps the search's bound
        {"rho": 2.0, "log10_c": 3.0, "ray": [{"rho": 100.0}]},  # beyond the ray's bound
        {"rho": 2.0, "log10_c": 3.0, "ray": [{"log10_c": 41.0}]},  # unwidened field
        {"rho": 2.0, "log10_c": 3.0, "ray": [{"seed": 1}]},  # not a field of the case
        {"rho": 2.0, "log10_c": 3.0, "ray": []},  # an empty ray
    ):
        with pytest.raises(HomogeneityInputError):
            schema.check(bad)
    with pytest.raises(HomogeneityInputError):
        search.with_ray(base).check({"rho": 2.0, "log10_c": 3.0, "ray": [{"rho": 32.0}]})
