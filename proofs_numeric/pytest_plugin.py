"""pytest plugin: check every registered claim and print the claims table at the end.

Load it from a ``conftest.py`` (``pytest_plugins = ["proofs_numeric.pytest_plugin"]``);
it is deliberately not a ``pytest11`` entry point, so it never runs in other projects'
test sessions.

What it adds:

* option ``--claims-profile {ci,thorough}`` (default: the profile ``$HYPOTHESIS_PROFILE``
  selects, ``ci`` when unset; see :mod:`proofs_numeric.profiles`);
* fixture ``claim_result(claim_id)`` (session cache): runs a claim and its negative
  controls once per session and returns the :class:`~proofs_numeric.runner.ClaimResult`.
  It runs under the conditions of a campaign's units
  (:func:`proofs_numeric.campaign.units.unit_conditions`: every module of the package
  loaded first, one torch thread), so the verdicts and evidence do not depend on which
  tests ran before, and a test session, a parallel one and a campaign agree;
* the terminal summary ends with the claims table of every claim checked in the session.

With pytest-xdist (``python -m pytest -n 2``) every worker checks the claims its tests
need and sends the results to the controller when it finishes (xdist's ``workeroutput``
channel, read in ``pytest_testnodedown``); the controller prints one table, in registry
order, with the same rows a serial run prints. A claim that two workers checked (its
verdict test on one, its controls test on the other) appears once, from the
lowest-numbered worker. Add ``--dist loadgroup`` to keep a claim's tests on one worker
(each claim is then checked once): the plugin puts them in one ``xdist_group``.

The test items themselves live in ``tests/claims/test_claims.py`` (one verdict test and one
controls test per registered claim): an expected refutation passes, a changed verdict or
an unrejected control fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from proofs_numeric import report
from proofs_numeric.campaign.units import unit_conditions
from proofs_numeric.campaign.wire import from_wire, to_wire
from proofs_numeric.claim import CheckContext, registry
from proofs_numeric.profiles import PROFILES, get_profile, selected_profile
from proofs_numeric.runner import ClaimResult, run_claim

_RESULTS_KEY = pytest.StashKey[dict[str, ClaimResult]]()
#: results sent by xdist workers: {worker id: {claim id: result}}
_REMOTE_KEY = pytest.StashKey[dict[str, dict[str, ClaimResult]]]()
#: the key of the results in xdist's ``workeroutput``
WORKEROUTPUT_KEY = "proofs_numeric_claim_results"


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
    config.stash[_REMOTE_KEY] = {}


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _worker_output(config: pytest.Config) -> dict[str, object] | None:
    """The dict an xdist worker sends back to the controller (``config.workeroutput``,
    which xdist sets on a worker's config only), else None."""
    output = getattr(config, "workeroutput", None)
    return output if isinstance(output, dict) else None


def _run(config: pytest.Config, claim_id: str) -> ClaimResult:
    cache: dict[str, ClaimResult] = config.stash[_RESULTS_KEY]
    if claim_id not in cache:
        claims = registry()
        if claim_id not in claims:
            raise pytest.UsageError(f"claim {claim_id!r} is not registered")
        ctx = CheckContext(get_profile(config.getoption("--claims-profile")))
        with unit_conditions():
            cache[claim_id] = run_claim(claims[claim_id], ctx)
    return cache[claim_id]


@pytest.fixture(scope="session")
def claim_result(request: pytest.FixtureRequest) -> Callable[[str], ClaimResult]:
    """``claim_result("L7")`` → the session's (cached) result for claim L7."""
    return lambda claim_id: _run(request.config, claim_id)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist, the tests of one claim form one ``xdist_group`` (used by
    ``--dist loadgroup``; xdist reads the marks after this hook)."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None or "claim_result" not in getattr(item, "fixturenames", ()):
            continue
        claim_id = callspec.params.get("claim_id")
        if isinstance(claim_id, str):
            item.add_marker(pytest.mark.xdist_group(name=f"claim-{claim_id}"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """An xdist worker hands its claim results to the controller."""
    config = session.config
    output = _worker_output(config)
    if _is_xdist_worker(config) and output is not None:
        cache = config.stash.get(_RESULTS_KEY, {})
        output[WORKEROUTPUT_KEY] = [to_wire(r) for r in cache.values()]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """The xdist controller receives a finished worker's claim results."""
    texts = getattr(node, "workeroutput", {}).get(WORKEROUTPUT_KEY, [])
    worker = getattr(getattr(node, "gateway", None), "id", "") or str(node)
    received = {r.claim.id: r for r in map(from_wire, texts)}
    node.config.stash[_REMOTE_KEY][worker] = received


def _worker_order(worker: str) -> tuple[int, str]:
    match = re.fullmatch(r"gw(\d+)", worker)
    return (int(match.group(1)) if match else 1 << 30, worker)


def collected_results(config: pytest.Config) -> list[ClaimResult]:
    """Every claim result of the session, this process's and its xdist workers', one per
    claim (this process's first, then the lowest-numbered worker's), in registry order."""
    results = config.stash.get(_RESULTS_KEY, {}).copy()
    remote = config.stash.get(_REMOTE_KEY, {})
    for worker in sorted(remote, key=_worker_order):
        for claim_id, result in remote[worker].items():
            results.setdefault(claim_id, result)
    order = {cid: i for i, cid in enumerate(registry())}
    return sorted(results.values(), key=lambda r: order.get(r.claim.id, len(order)))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if _is_xdist_worker(config):
        return
    results = collected_results(config)
    if not results:
        return
    terminalreporter.section(f"claims checked (profile {config.getoption('--claims-profile')})")
    width = getattr(terminalreporter, "_tw", None)
    full = width.fullwidth if width is not None else 160
    terminalreporter.write_line(report.text_table(results, width=max(120, full)))
    for line in report.problems(results):
        terminalreporter.write_line(f"PROBLEM: {line}", red=True)
