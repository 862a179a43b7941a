"""Forgeries a hostile referee tried on the certificate checker, each a negative control.

Every certificate below is rejected; each was accepted by the checker before the fix its
test names (see the commit messages):

* a valid proof of a *weaker* statement (a larger constant, a slower rate, shorter rows,
  a smaller domain, another instance), honestly built by the prover, under the name of a
  claim: the checker printed ``OK … claim L6 proved`` for it. The checker now records what
  each claim states (:mod:`proofs_numeric.certificates.stated`) and matches it last;
* a certificate relabelled to another claim, or naming a claim nobody states;
* parameters or an instance with keys the statement ignores;
* instance numbers rounded on the way in (an int above 2⁵³ went through ``float``, so
  the checker proved a statement about a different instance than the file's), bools
  taken for numbers;
* a NaN among the margins (or endpoints), which ``min`` dropped instead of refusing;
* enclosures computed where their monotonicity argument does not hold (−q ln q off
  [e^{−1}, 1]; a negative enclosure of a non-negative gap clipped to [0, 0]);
* the head statements did not say which instance they are about: two different instances
  printed the same statement.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flint import arb

from proofs_numeric.certificates import DATA_DIR, stated, tamper
from proofs_numeric.certificates import checker as independent
from proofs_numeric.certificates.intervals import Interval, arb_precision
from proofs_numeric.certificates.prover import Spec, build
from proofs_numeric.certificates.specs import SPECS, head_instance
from proofs_numeric.certificates.theorems import THEOREMS
from proofs_numeric.certificates.theorems.base import Form, digest
from proofs_numeric.claim import registry
from tests.certificates.stored import reject_reason, stored_certificate

ROOT = Path(__file__).resolve().parents[2]


def _other_head(p: dict[str, Any]) -> dict[str, Any]:
    """The stored head instance with its input doubled (exact in binary64)."""
    out = copy.deepcopy(p)
    out["instance"]["x"] = [[2 * v for v in row] for row in out["instance"]["x"]]
    return out


#: claim → (certificate to start from, a weaker statement that is true and provable)
WEAKER = {
    "L6": ("l6_sigmoid", lambda p: {**p, "bounds": [["2", "1/2"]]}),
    "L8": ("l8_tanh", lambda p: {**p, "bounds": [["2", "2"]]}),
    "L7*[n≤5]": ("l7_star_rows5", lambda p: {**p, "rows": 2}),
    "D7[n≤5]": ("d7_rows5", lambda p: {**p, "scale": "2"}),
    "G2*[a≤100]": ("g2_star_exponent", lambda p: {**p, "a_max": "1"}),
    "P1*[instance]": ("p1_star_instance", lambda p: {**p, "E_max": "1/16"}),
    "P4*[instance]": ("p4_star_instance", _other_head),
    "EU~*[instance]": ("eu_star_instance", lambda p: {**p, "constant": "13"}),
}


def test_every_proved_claim_has_a_weakening_control() -> None:
    assert sorted(WEAKER) == sorted(stated.STATED)
    assert sorted(WEAKER) == sorted(c.id for c in registry().values() if c.expected == "proved")


def _weaker(claim: str) -> dict[str, Any]:
    """A certificate for a weaker statement, honestly built by the prover, named ``claim``."""
    name, weaken = WEAKER[claim]
    spec = SPECS()[name]
    parameters = weaken(dict(spec.parameters))
    return build(Spec(spec.name, claim, spec.theorem, parameters, spec.constants))


@pytest.mark.parametrize("claim", sorted(WEAKER))
def test_a_valid_proof_of_a_weaker_statement_does_not_prove_the_claim(
    claim: str, monkeypatch
) -> None:
    weaker = _weaker(claim)
    reason = reject_reason(weaker)
    assert f"a valid proof of another statement, not of {claim}" in reason
    # control: the mathematics of the weaker certificate is sound (every other check
    # passes), so it is the claim's label alone that the checker refuses
    monkeypatch.setattr(independent, "check_claim", lambda *args: None)
    assert independent.verify(weaker).boxes >= 1


def test_a_certificate_relabelled_to_another_claim_is_rejected() -> None:
    cert = tamper.rehash({**stored_certificate("l8_tanh"), "claim": "L6"})
    assert "claim L6 states" in reject_reason(cert)


def test_a_certificate_naming_a_claim_nobody_states_is_rejected() -> None:
    cert = tamper.rehash({**stored_certificate("l6_sigmoid"), "claim": "L6′"})
    assert "no statement for" in reject_reason(cert)


def test_the_stored_statements_are_the_claims() -> None:
    # the checker's record, the prover's specifications and the claims agree
    for spec in SPECS().values():
        stated.check_claim(spec.claim, spec.theorem, spec.parameters)
    assert stated.HEAD_INSTANCE_SHA256 == digest(head_instance())


def test_parameters_with_a_key_the_statement_ignores_are_rejected() -> None:
    cert = copy.deepcopy(stored_certificate("l6_sigmoid"))
    cert["parameters"]["only_for_x_below"] = "1"  # a restriction nothing checks
    assert "exactly the keys" in reject_reason(tamper.rehash(cert))


def test_an_instance_with_a_key_the_statement_ignores_is_rejected() -> None:
    cert = copy.deepcopy(stored_certificate("p4_star_instance"))
    cert["parameters"]["instance"]["value_bias"] = [1.0, 1.0]  # the head has no bias
    assert "instance keys" in reject_reason(tamper.rehash(cert))


# -- the instance's numbers, exactly as written -----------------------------------------

BIG = 2**53 + 1  # not a binary64 number: float(BIG) == 2**53


def test_instance_integers_are_not_rounded_through_float() -> None:
    theorem = THEOREMS["perturbed_saturation"]
    parameters = {"w": [1], "us": [[BIG], [2**53 + 2]], "E_max": "1/1024", "factor": "1"}
    assert f"[[{BIG}]" in theorem.statement(parameters)
    with arb_precision(128):
        prepared = theorem.prepare(parameters, {}, {})
        gamma = prepared.data["gamma"]  # (2⁵³ + 2) − (2⁵³ + 1) = 1, not 2
        assert gamma.lo <= 1 <= gamma.hi and gamma.hi < 2


def test_head_instance_integers_are_not_rounded_through_float() -> None:
    from proofs_numeric.certificates.theorems.heads import instance

    params = stored_certificate("p4_star_instance")["parameters"]
    params = copy.deepcopy(params)
    params["instance"]["x"][0][0] = BIG
    assert instance(params)["x"][0][0] == BIG


def test_bools_in_an_instance_are_not_numbers() -> None:
    cert = copy.deepcopy(stored_certificate("p1_star_instance"))
    cert["parameters"]["w"] = [True, False]  # == [1.0, 0.0] in Python, not in the file
    assert "not a number" in reject_reason(tamper.rehash(cert))


# -- NaN and enclosures off their monotonicity domain -----------------------------------


def test_minimum_refuses_a_nan_endpoint() -> None:
    nan = arb("nan")
    with pytest.raises(ValueError, match="NaN"):
        Interval(nan, nan).minimum(Interval(arb(1), arb(1)))
    with pytest.raises(ValueError, match="NaN"):
        Interval(arb(1), arb(1)).maximum(Interval(nan, nan))
    assert Interval(arb(1), arb(2)).minimum(Interval(arb(0), arb(3))).lo == 0  # control


def test_a_nan_margin_is_not_dropped(monkeypatch) -> None:
    theorem = THEOREMS["scalar_saturation"]
    genuine = theorem.forms

    def forms(prepared):
        out = dict(genuine(prepared))
        honest = out["canonical"]

        def margins(vals, consts):
            return [Interval(arb("nan"), arb("nan")), *honest.margins(vals, consts)]

        out["canonical"] = Form("canonical", "canonical", margins, honest.justification)
        return out

    monkeypatch.setattr(theorem, "forms", forms)
    assert "NaN" in reject_reason(stored_certificate("l6_sigmoid"))


def test_minus_q_log_q_is_enclosed_only_where_it_is_monotone() -> None:
    theorem = THEOREMS["head_euler_ray"]
    params = stored_certificate("eu_star_instance")["parameters"]
    with arb_precision(128):
        prepared = theorem.prepare(params, {"row": 0}, {})
        low = [(arb(1) / 8, arb(1) / 4)]  # −q ln q increases there: [q1, q0] is no enclosure
        high = [(arb(1) / 2, arb(1))]
        assert "qlogq" not in theorem.derived(prepared, low)
        enclosure = theorem.derived(prepared, high)["qlogq"]
        assert enclosure.lo <= -(arb(3) / 4) * (arb(3) / 4).log() <= enclosure.hi


def test_a_negative_enclosure_of_a_gap_is_refused_not_clipped() -> None:
    from proofs_numeric.certificates.theorems.saturation import _nonnegative

    with pytest.raises(ValueError, match="below 0"):
        _nonnegative(Interval(arb(-2), arb(-1)))
    clipped = _nonnegative(Interval(arb(-1), arb(3)))  # control: a straddling one is cut
    assert clipped.lo == 0 and clipped.hi == 3


# -- what the statement says -------------------------------------------------------------


def test_the_head_statement_names_its_instance_and_that_x_is_a_parameter() -> None:
    for theorem in ("head_ray", "head_euler_ray"):
        params = stored_certificate("p4_star_instance")["parameters"]
        mine = THEOREMS[theorem].statement(params)
        other = THEOREMS[theorem].statement(_other_head(params))
        assert mine != other
        assert digest(params["instance"]) in mine
        assert "the input X is one of the parameters" in mine


def test_the_cli_prints_the_statement_when_asked() -> None:
    path = DATA_DIR / "l8_tanh.json"
    out = subprocess.run(
        [sys.executable, "-m", "proofs_numeric.certificates", "--verbose", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("OK   ") and "claim L8 proved" in lines[0]
    assert lines[1] == f"     statement: {stored_certificate('l8_tanh')['statement']}"
    assert any(line.startswith("     tail: ") for line in lines)


def test_a_weaker_certificate_fails_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "l6_weak.json"
    path.write_text(json.dumps(_weaker("L6")), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "proofs_numeric.certificates", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 1 and out.stdout.startswith("FAIL")
