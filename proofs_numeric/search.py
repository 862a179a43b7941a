"""Searching for counterexamples to "for every case, margin(case) ≥ 0" claims.

A :class:`PropertySearch` bundles a Hypothesis strategy of JSON-serialisable cases, a
margin function (≥ 0 where the claim holds on the case) evaluated at a given mpmath
precision, and hand-made constructions that are always tried first (the cases a
mathematician would try: ties, near-ties, zero, huge norms).

:func:`check_property` turns a search into a :class:`~proofs_numeric.claim.Verdict`:

1. evaluate every construction;
2. run ``hypothesis.find`` for a case with margin < 0, with ``target(-margin)`` steering
   generation toward the worst case; Hypothesis shrinks what it finds;
3. re-evaluate the smallest failing case at ``profile.recheck_digits``; only a case whose
   margin stays negative there is a counterexample (else the verdict is ``open``: a
   precision artefact is not a refutation).

:func:`property_control` and :func:`replay_control` build the negative controls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import mpmath
from hypothesis import HealthCheck, find, settings
from hypothesis.errors import NoSuchExample, Unsatisfiable
from hypothesis.strategies import SearchStrategy

from proofs_numeric.claim import (
    CheckContext,
    ControlOutcome,
    Counterexample,
    Evidence,
    NegativeControl,
    Verdict,
)
from proofs_numeric.precision import working_precision
from proofs_numeric.strategies import toward

Case = dict[str, Any]
MarginFn = Callable[[Mapping[str, Any], int], Any]


@dataclass(frozen=True)
class PropertySearch:
    """A "for all cases, margin ≥ 0" statement and how to search it.

    Attributes:
        claim_id: the claim this search checks (stamped on counterexamples).
        strategy: Hypothesis strategy of cases (JSON-serialisable dicts).
        margin: ``margin(case, digits)``; ≥ 0 iff the statement holds on the case,
            computed at ``digits`` (plus the guard digits the margin itself adds).
        constructions: hand-made cases evaluated before the random search.
        search: one line saying what is searched (goes into the evidence).
        margin_label: the unit of the margin (e.g. "log(bound/error)").
        precision: how the margin is computed ("mpmath", "mpmath.iv", "float64 + mpmath").
        examples_scale: fraction of the profile's ``max_examples`` this search uses.
        describe: turns a failing case into one line for the counterexample record.
    """

    claim_id: str
    strategy: SearchStrategy[Case]
    margin: MarginFn
    search: str
    constructions: Sequence[Case] = field(default_factory=tuple)
    margin_label: str = "margin ≥ 0 ⇔ the statement held on the case"
    precision: str = "mpmath"
    examples_scale: float = 1.0
    describe: Callable[[Mapping[str, Any]], str] = lambda case: ""


@dataclass
class SearchOutcome:
    """Raw result of a search (before the re-check)."""

    cases: int
    worst_margin: Any
    worst_case: Case | None
    failing_case: Case | None
    unsatisfiable: bool = False


def evaluate_margin(margin: MarginFn, case: Mapping[str, Any], digits: int) -> Any:
    """``margin(case, digits)`` evaluated at ``digits`` decimal digits (precision restored)."""
    with working_precision(digits):
        return margin(case, digits)


def run_search(search: PropertySearch, ctx: CheckContext) -> SearchOutcome:
    """Constructions first, then a targeted Hypothesis search for margin < 0."""
    digits = ctx.digits
    state = SearchOutcome(0, None, None, None)

    def record(case: Mapping[str, Any]) -> Any:
        m = evaluate_margin(search.margin, case, digits)
        state.cases += 1
        if state.worst_margin is None or m < state.worst_margin:
            state.worst_margin, state.worst_case = m, dict(case)
        return m

    # a campaign's shard (ctx.shard): constructions in its first shard only, own seed
    shard = ctx.shard
    for case in search.constructions if shard is None or shard.first else ():
        if record(case) < 0:
            state.failing_case = dict(case)
            return state

    def violated(case: Case) -> bool:
        m = record(case)
        toward(m)
        return bool(m < 0)

    hypothesis_settings = settings(
        max_examples=ctx.examples(search.examples_scale),
        database=None,
        deadline=None,
        derandomize=ctx.profile.derandomize,
        suppress_health_check=list(HealthCheck),
    )
    try:
        rng = None if shard is None else shard.random()
        found = find(search.strategy, violated, settings=hypothesis_settings, random=rng)
        state.failing_case = dict(found)
    except NoSuchExample:
        pass
    except Unsatisfiable:
        state.unsatisfiable = True
    return state


def check_property(search: PropertySearch, ctx: CheckContext, notes: str = "") -> Verdict:
    """Search, shrink, re-check at high precision, and return the verdict."""
    outcome = run_search(search, ctx)
    if ctx.shard is not None:
        ctx.shard.record(search.claim_id, outcome.cases)
    n_constructions = len(search.constructions)
    what = (
        f"{search.search}; {n_constructions} constructed case(s) + Hypothesis "
        f"(≤{ctx.examples(search.examples_scale)} examples, target → worst margin)"
    )
    if outcome.failing_case is None and outcome.unsatisfiable:
        evidence = Evidence(
            outcome.cases,
            _float(outcome.worst_margin),
            f"{search.precision}, {ctx.digits} digits",
            what,
            search.margin_label,
            notes,
            margin_text(outcome.worst_margin),
        )
        return Verdict(
            "open",
            evidence,
            reason=(
                "the search could not generate enough valid cases (Hypothesis: Unsatisfiable); "
                "nothing is verified"
            ),
        )
    if outcome.failing_case is None:
        evidence = Evidence(
            outcome.cases,
            _float(outcome.worst_margin),
            f"{search.precision}, {ctx.digits} digits",
            what,
            search.margin_label,
            notes,
            margin_text(outcome.worst_margin),
        )
        return Verdict("verified", evidence)
    case = outcome.failing_case
    confirmed = evaluate_margin(search.margin, case, ctx.recheck_digits)
    if confirmed < 0:
        cx = Counterexample(
            search.claim_id, case, _float(confirmed), ctx.recheck_digits, search.describe(case)
        )
        evidence = Evidence(
            outcome.cases,
            _float(confirmed),
            f"{search.precision}, searched at {ctx.digits} digits, "
            f"re-checked at {ctx.recheck_digits}",
            what,
            search.margin_label,
            notes,
            margin_text(confirmed),
        )
        return Verdict("refuted", evidence, cx)
    evidence = Evidence(
        outcome.cases,
        _float(outcome.worst_margin),
        f"{search.precision}, {ctx.digits} digits",
        what,
        search.margin_label,
        notes,
    )
    return Verdict(
        "open",
        evidence,
        reason=(
            f"a case failed at {ctx.digits} digits but held at {ctx.recheck_digits} "
            f"(margin {_float(confirmed):.3g}); raise the precision: {case}"
        ),
    )


def property_control(
    name: str, description: str, make_search: Callable[[], PropertySearch]
) -> NegativeControl:
    """A control that runs the same search on a mutated statement; rejected iff refuted."""

    def run(ctx: CheckContext) -> ControlOutcome:
        verdict = check_property(make_search(), ctx)
        detail = f"mutated claim {verdict.status}" + (
            f" (margin {verdict.counterexample.margin:.3g} on "
            f"{_short(verdict.counterexample.case)})"
            if verdict.counterexample
            else f": {verdict.evidence.summary()}"
        )
        return ControlOutcome(verdict.status == "refuted", detail)

    return NegativeControl(name, description, run)


def replay_control(
    name: str, description: str, case: Mapping[str, Any], margin: MarginFn
) -> NegativeControl:
    """A control for refuted claims: ``case`` is NOT a counterexample (the statement holds
    on it) and the replay must say so (margin ≥ 0). A replay that calls every case a
    violation fails this control."""

    def run(ctx: CheckContext) -> ControlOutcome:
        m = evaluate_margin(margin, case, ctx.recheck_digits)
        return ControlOutcome(bool(m >= 0), f"replay margin {_float(m):.3g} on {_short(case)}")

    return NegativeControl(name, description, run)


def margin_text(x: Any) -> str:
    """A margin printed with 3 significant digits, exact beyond the float64 range."""
    if x is None:
        return "n/a"
    if isinstance(x, mpmath.mpf) or isinstance(x, mpmath.ctx_mp_python.mpf):
        return mpmath.nstr(x, 3)
    return f"{float(x):.3g}"


def _float(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError, OverflowError):
        return float("nan")


def _short(case: Mapping[str, Any], limit: int = 160) -> str:
    text = repr(dict(case))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def log_margin(bound: Any, error: Any, digits: int | None = None) -> Any:
    """ln(bound/error) at ``digits``: ≥ 0 iff error ≤ bound (+inf if error = 0, −inf if
    only the bound is 0). A natural unit for exponentially small quantities; the quotient
    is rounded monotonically, so bound ≥ error always gives a margin ≥ 0."""
    if error < 0 or bound < 0:
        raise ValueError("log_margin takes non-negative bound and error")
    if error == 0:
        return mpmath.inf
    if bound == 0:
        return -mpmath.inf
    with working_precision(digits):
        return mpmath.log(mpmath.mpf(bound) / mpmath.mpf(error))


def scale_from_log10(log10_c: Any, digits: int | None = None) -> Any:
    """c = 10^log10_c as an mpf at ``digits`` (works far beyond float64)."""
    with working_precision(digits):
        return mpmath.power(10, mpmath.mpf(log10_c))
