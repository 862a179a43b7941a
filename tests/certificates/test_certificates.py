"""The stored certificates, the independent checker's entry point and its isolation.

* every stored certificate verifies, is the one the prover builds from its specification
  today (same boxes, forms and enclosures), and backs the claim it names;
* ``python -m proofs_numeric.certificates FILE...`` prints one line per file and exits 0
  when all verify, 1 otherwise;
* the checker loads nothing but itself, python-flint and the standard library, checked by
  inspecting ``sys.modules`` in a fresh interpreter on accepted and rejected files;
  controls show the probe flags a module of the package (the precision primitives, the
  registry, the search) or a third-party library imported beside it.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from proofs_numeric.certificates import DATA_DIR, tamper
from proofs_numeric.certificates import checker as independent
from proofs_numeric.certificates.prover import build
from proofs_numeric.certificates.specs import SPECS
from proofs_numeric.claim import CheckContext, registry

FILES = sorted(DATA_DIR.glob("*.json"))
NAMES = [p.stem for p in FILES]
ROOT = Path(__file__).resolve().parents[2]

#: the only modules of the package the checker's entry point may load
CHECKER_MODULES = {
    "proofs_numeric",
    "proofs_numeric.certificates",
    "proofs_numeric.certificates.__main__",
    "proofs_numeric.certificates.checker",
    "proofs_numeric.certificates.intervals",
    "proofs_numeric.certificates.stated",
    "proofs_numeric.certificates.theorems",
    "proofs_numeric.certificates.theorems.base",
    "proofs_numeric.certificates.theorems.growth",
    "proofs_numeric.certificates.theorems.heads",
    "proofs_numeric.certificates.theorems.saturation",
    "proofs_numeric.certificates.theorems.scalar",
    "proofs_numeric.certificates.theorems.softmax",
}
#: the only third-party distribution the checker may load
INTERVAL_LIBRARY = "flint"


def test_every_specification_has_its_certificate_and_no_other_is_stored() -> None:
    assert sorted(SPECS()) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_stored_certificate_verifies(name: str) -> None:
    report = independent.verify_file(DATA_DIR / f"{name}.json")
    spec = SPECS()[name]
    assert report.claim == spec.claim and report.theorem == spec.theorem
    assert report.boxes >= 1 and report.min_lower >= 0


def _same_enclosure(a: list, b: list) -> bool:
    """Equal up to far below the prover's widening (another arb build may round apart)."""
    return all(
        (x is None and y is None)
        or (x is not None and y is not None and abs(x - y) <= 1e-12 * (1 + abs(x)))
        for x, y in zip(a, b, strict=True)
    )


@pytest.mark.parametrize("name", NAMES)
def test_stored_certificate_is_what_the_prover_builds(name: str) -> None:
    stored = independent.load(DATA_DIR / f"{name}.json")
    rebuilt = build(SPECS()[name])
    for key in ("claim", "theorem", "parameters", "statement", "assumptions", "tail"):
        assert rebuilt[key] == stored[key], f"{name}: {key} differs; rebuild the certificate"
    for new, old in zip(rebuilt["parts"], stored["parts"], strict=True):
        assert {k: v for k, v in new.items() if k != "boxes"} == {
            k: v for k, v in old.items() if k != "boxes"
        }
        assert [(b["path"], b["box"], b["form"]) for b in new["boxes"]] == [
            (b["path"], b["box"], b["form"]) for b in old["boxes"]
        ], f"{name}: the boxes differ; rebuild with python -m proofs_numeric.certificates.prover"
        assert all(
            _same_enclosure(b["enclosure"], c["enclosure"])
            for b, c in zip(new["boxes"], old["boxes"], strict=True)
        )


@pytest.mark.parametrize("name", NAMES)
def test_the_claim_named_by_the_certificate_is_proved_by_it(name: str) -> None:
    spec = SPECS()[name]
    claim = registry()[spec.claim]
    assert claim.expected == "proved"
    verdict = claim.check(CheckContext())
    assert verdict.status == "proved", verdict.reason
    assert verdict.certificate is not None
    assert verdict.certificate.path.endswith(f"{name}.json")
    assert verdict.certificate.statement == independent.load(DATA_DIR / f"{name}.json")["statement"]


def test_every_claim_expected_proved_has_a_certificate() -> None:
    proved = {c.id for c in registry().values() if c.expected == "proved"}
    assert proved == {spec.claim for spec in SPECS().values()}
    assert len(proved) >= 8


def _cli(*files: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "proofs_numeric.certificates", *map(str, files)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_cli_verifies_every_stored_certificate() -> None:
    out = _cli(*FILES)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == len(FILES)
    assert all(line.startswith("OK   ") for line in lines)


def test_cli_fails_when_one_file_does_not_verify(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    cert = tamper.remove_box(independent.load(DATA_DIR / "l8_tanh.json"))
    bad.write_text(json.dumps(cert), encoding="utf-8")
    out = _cli(FILES[0], bad)
    assert out.returncode == 1
    first, second = out.stdout.splitlines()
    assert first.startswith("OK   ") and second.startswith(f"FAIL {bad}")
    assert "hole in the cover" in second


def test_cli_rejects_an_unreadable_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    out = _cli(broken)
    assert out.returncode == 1 and out.stdout.startswith("FAIL")


def _modules_after(
    module: str, argv: list[str], also_import: tuple[str, ...] = ()
) -> tuple[int, set[str]]:
    """Run ``module`` as ``__main__`` in a fresh interpreter (after importing
    ``also_import``, for the controls) and return its exit status and every module it
    loaded that was not loaded when the interpreter started."""
    code = (
        "import json, runpy, sys\n"
        "before = set(sys.modules)\n"
        f"for name in {list(also_import)!r}:\n"
        "    __import__(name)\n"
        f"sys.argv = {['probe', *argv]!r}\n"
        "status = 0\n"
        "try:\n"
        f"    runpy.run_module({module!r}, run_name='__main__', alter_sys=True)\n"
        "except SystemExit as exc:\n"
        "    status = exc.code or 0\n"
        "print(json.dumps([status, sorted(set(sys.modules) - before)]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    status, mods = json.loads(out.stdout.splitlines()[-1])
    return status, set(mods)


@functools.cache
def _interval_library_footprint() -> frozenset[str]:
    """What ``import flint`` alone loads in a fresh interpreter (its Cython runtime too)."""
    code = (
        "import json, sys\n"
        "before = set(sys.modules)\n"
        f"import {INTERVAL_LIBRARY}\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return frozenset(json.loads(out.stdout.splitlines()[-1]))


def _foreign(loaded: set[str]) -> set[str]:
    """The loaded modules the checker may not load: anything of the package outside the
    checker, and anything that is neither the standard library nor what python-flint
    loads."""
    out = set()
    for name in loaded:
        top = name.split(".")[0]
        if top == "proofs_numeric":
            if name not in CHECKER_MODULES:
                out.add(name)
        elif top not in sys.stdlib_module_names and name not in _interval_library_footprint():
            out.add(name)
    return out


def test_checker_loads_nothing_else_of_the_package(tmp_path: Path) -> None:
    # accepted and rejected files both, so an import on the failure path is seen too
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(tamper.remove_box(independent.load(FILES[0]))), encoding="utf-8")
    status, loaded = _modules_after("proofs_numeric.certificates", [*map(str, FILES), str(bad)])
    assert status == 1  # the bad file fails
    assert not _foreign(loaded), sorted(_foreign(loaded))
    assert "proofs_numeric.certificates.checker" in loaded and INTERVAL_LIBRARY in loaded


@pytest.mark.parametrize(
    "extra", ["proofs_numeric.precision", "proofs_numeric.claim", "proofs_numeric.search"]
)
def test_the_probe_sees_an_import_of_the_package_beside_the_checker(extra: str) -> None:
    # negative control: the checker's run with one module of the package imported beside
    # it (as an import inside the checker would) is flagged
    _, loaded = _modules_after("proofs_numeric.certificates", [str(FILES[0])], (extra,))
    assert extra in _foreign(loaded)


def test_the_probe_sees_a_third_party_import() -> None:
    _, loaded = _modules_after("proofs_numeric.certificates", [str(FILES[0])], ("mpmath",))
    assert "mpmath" in _foreign(loaded)


def test_the_probe_sees_the_framework_when_it_is_loaded() -> None:
    # negative control: the same probe, run on a module of the claims' side, must see the
    # claim framework load (so an import of it by the checker would not go unnoticed)
    _, loaded = _modules_after("proofs_numeric.report", [])
    assert "proofs_numeric.claim" in _foreign(loaded)
