"""pytest plugin: check every registered claim and print the claims table at the end.

Load it from a ``conftest.py`` (``pytest_plugins = ["proofs_numeric.pytest_plugin"]``);
it is deliberately not a ``pytest11`` entry point, so it never runs in other projects'
test sessions.

What it adds:

* option ``--claims-profile {ci,thorough}`` (default: the profile ``$HYPOTHESIS_PROFILE``
  selects, ``ci`` when unset; see :mod:`proofs_numeric.profiles`);
* fixture ``claim_result(claim_id)`` (session cache): runs a claim and its negative
  controls once per session and returns the :class:`~proofs_numeric.runner.ClaimResult`;
* the terminal summary ends with the claims table of every claim checked in the session.

The test items themselves live in ``tests/test_claims.py`` (one verdict test and one
controls test per registered claim): an expected refutation passes, a changed verdict or
an unrejected control fails.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from proofs_numeric import report
from proofs_numeric.claim import CheckContext, registry
from proofs_numeric.profiles import PROFILES, get_profile, selected_profile
from proofs_numeric.runner import ClaimResult, run_claim

_RESULTS_KEY = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("proofs_numeric", "numeric proof checker")
    group.addoption(
        "--claims-profile",
        choices=sorted(PROFILES),
        default=selected_profile().name,
        help="search effort for the claims (default: $HYPOTHESIS_PROFILE, else ci)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_RESULTS_KEY] = {}


def _run(config: pytest.Config, claim_id: str) -> ClaimResult:
    cache: dict[str, ClaimResult] = config.stash[_RESULTS_KEY]
    if claim_id not in cache:
        claims = registry()
        if claim_id not in claims:
            raise pytest.UsageError(f"claim {claim_id!r} is not registered")
        ctx = CheckContext(get_profile(config.getoption("--claims-profile")))
        cache[claim_id] = run_claim(claims[claim_id], ctx)
    return cache[claim_id]


@pytest.fixture(scope="session")
def claim_result(request: pytest.FixtureRequest) -> Callable[[str], ClaimResult]:
    """``claim_result("L7")`` → the session's (cached) result for claim L7."""
    return lambda claim_id: _run(request.config, claim_id)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    cache: dict[str, ClaimResult] = config.stash.get(_RESULTS_KEY, {})
    if not cache:
        return
    order = list(registry())
    results = sorted(cache.values(), key=lambda r: order.index(r.claim.id))
    terminalreporter.section(f"claims checked (profile {config.getoption('--claims-profile')})")
    width = getattr(terminalreporter, "_tw", None)
    full = width.fullwidth if width is not None else 160
    terminalreporter.write_line(report.text_table(results, width=max(120, full)))
    for line in report.problems(results):
        terminalreporter.write_line(f"PROBLEM: {line}", red=True)
