"""Classify how an error e(ρ) vanishes along a ray: exactly, exponentially, polynomially, not.

Given samples (ρ_i, e_i) of a non-negative error, for instance the relative homogeneity
error ‖f(cρθ) − c^k f(ρθ)‖ / ‖c^k f(ρθ)‖, the law is read off the **asymptotic tail only**:

1. **Floors.** Errors at or below ``floor`` (the working precision, e.g. 1e3·machine
   epsilon) count as zero; a curve at or below it everywhere is ``exact``. A noise floor
   above it is either given (``known_floor``: e.g. the rounding of float32 islands kept in
   a float64 run) or detected from the data. A *rough* floor shows as the error jumping up
   by more than :data:`RISE_FACTOR` between neighbours past its peak (a decaying law never
   rises) with no clean decay after the jump, or as a *cliff* into exact zeros where the
   law would still be well above the precision floor; a *quiet* floor as a trailing run of
   :data:`PLATEAU_MIN_POINTS` or more points with a log-log slope flatter than
   :data:`FLAT_ORDER`. The law is fitted only on points above the given floor (a
   threshold: errors below it are noise) and above :data:`FLOOR_MARGIN` × the detected one
   (a noise level: there, noise of its size moves ln e by at most about 1/FLOOR_MARGIN).
2. **The tail.** Past the error's peak and above the floor, the tail is the *last run of
   points consistent with one law*: it starts as the last ``min_points`` points and grows
   backwards while one law of the family below fits all of its points to
   :data:`RUN_RESIDUAL_MAX` in ln e. An exponential drop followed by a polynomial tail is
   classified by its tail. A run longer than 2·``min_points`` is fitted on its later half:
   the law is a statement about large ρ.
3. **The law.** With u = ln ρ the family ln e = a − q·g_m(u − u₀), g_m(t) = (e^{mt} − 1)/m
   (``homogeneity.decay_laws``) holds both laws: m = 0 is polynomial decay e ≈ A ρ^(−p)
   (the local slope d ln e/d ln ρ = −p is constant) and m > 0 is exponential-type decay
   e ≈ A exp(−d ρ^m) (−d ln e/d ln ρ = d m ρ^m grows). The least-squares m̂ decides:
   m̂ ≥ ``exponent_threshold`` (0.5) is exponential, m̂ ≈ 0 polynomial.

The verdict is ``undetermined``, with a reason a user can act on, whenever the evidence is
thin: fewer than ``min_points`` tail points (a tail cut short by a floor, by a breakdown of
the sweep, or by a change of regime), both laws fitting the tail within :data:`SEPARATION`
(in units of the residual variance), a log-log slope that drifts by more than
:data:`ORDER_DRIFT_MAX` without being exponential, R² below :data:`MIN_R2`, a run that
falls by less than :data:`MIN_TAIL_DROP`, or a curve that sits on a noise floor everywhere.
``none`` is kept for errors that clearly do not vanish: flat or rising past their peak
without falling below :data:`PEAK_FRACTION` × it, or levelling off at
:data:`NO_DECAY_LEVEL` or above (no rounding of float32 or float64 arithmetic is that
large).

The functions take plain floats, numpy arrays or mpmath numbers (errors far below the
float64 range are fine: logarithms are taken with mpmath when needed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import mpmath
import numpy as np

from homogeneity.decay_laws import LawFit, fit_at, fit_law, fit_on_grid
from homogeneity.errors import HomogeneityInputError

#: m̂ at or above this means exponential decay (exp(−d ρ^m))
EXPONENT_THRESHOLD = 0.5
#: fewer points in the asymptotic tail than this: undetermined
MIN_TAIL_POINTS = 5
#: the run of points that follows the law must fall by at least this factor
MIN_TAIL_DROP = 10.0
#: a law fitted with R² (of ln e) below this: undetermined
MIN_R2 = 0.98
#: RMS residual in ln e up to which points count as following one law (10 %)
RUN_RESIDUAL_MAX = 0.1
#: the other law is ruled out when its residual sum of squares exceeds the best fit's by more
#: than this many residual variances (a Δχ² of 16: four standard deviations)
SEPARATION = 16.0
#: a polynomial tail's log-log slope may drift by at most this fraction over the points used
ORDER_DRIFT_MAX = 0.25
#: the residual standard deviation in ln e is taken as at least this (0.1 %)
RESIDUAL_NOISE_MIN = 1e-3
#: an error that stays above this fraction of its peak (flat or rising) does not decay
PEAK_FRACTION = 0.3
#: an error that jumps up by more than this factor between neighbours past the peak is noise
RISE_FACTOR = 2.0
#: a quiet floor needs this many trailing points; a jump is a rough floor when the last this
#: many errors stay within PLATEAU_BAND of its level, or fewer than this many later points
#: fall between the precision floor and level / PLATEAU_BAND (no clean decay follows)
PLATEAU_MIN_POINTS = 4
PLATEAU_BAND = 10.0
#: log-log slopes flatter than this are no meaningful decay (a plateau, or none)
FLAT_ORDER = 0.25
#: the law is fitted only on points above this multiple of a given or detected noise floor
FLOOR_MARGIN = 10.0
#: a relative error that levels off at or above this is not rounding noise: it does not vanish
NO_DECAY_LEVEL = 1e-2

DecayKind = Literal["exact", "exponential", "polynomial", "none", "undetermined"]
FloorSource = Literal["precision", "given", "detected"]


@dataclass(frozen=True)
class DecayFit:
    """The decay law read off a curve e(ρ), and what it rests on.

    ``kind``: exact (at or below the precision floor throughout), exponential
    (e ≈ A exp(−d ρ^m)), polynomial (e ≈ A ρ^(−p)), none (the error does not vanish),
    undetermined (the numbers cannot support a verdict; ``detail`` says why and what to do).

    ``rate`` is d (exponential) or p (polynomial); ``exponent`` is the fitted m̂ (≈ 0 for a
    polynomial tail); ``log_amplitude`` is ln A; ``r2`` the coefficient of determination of
    ln e on the points used. ``indices`` are the positions (in the input) of the points the
    law rests on, ``n_points`` their number and ``rho_range`` their first and last ρ.

    ``floor`` is the floor the fit was made above (the points used exceed it, or
    FLOOR_MARGIN × it for a detected floor); ``floor_source`` says where it came from:
    ``"precision"`` (the ``floor`` argument: the working dtype's rounding level),
    ``"given"`` (``known_floor``) or ``"detected"`` (a plateau in the data, whose level is
    also in ``detected_floor``; ``noise_from`` is the ρ where it was first seen).
    ``precision_floor`` is the ``floor`` argument. ``peak`` is the largest error sampled.
    """

    kind: DecayKind
    rate: float | None = None
    exponent: float | None = None
    r2: float | None = None
    n_points: int = 0
    floor: float = 0.0
    peak: float = 0.0
    detail: str = ""
    indices: tuple[int, ...] = ()
    rho_range: tuple[float, float] | None = None
    log_amplitude: float | None = None
    floor_source: FloorSource = "precision"
    detected_floor: float | None = None
    noise_from: float | None = None
    precision_floor: float = 0.0

    @property
    def is_law(self) -> bool:
        """True when a decay law (exponential or polynomial) was established."""
        return self.kind in ("exponential", "polynomial")

    def log_law(self, rhos: Sequence[float] | np.ndarray) -> np.ndarray:
        """ln e of the fitted law at ``rhos`` (exponential or polynomial fits only)."""
        if not self.is_law or self.rate is None or self.log_amplitude is None:
            raise ValueError(f"a {self.kind} decay has no fitted law to evaluate")
        r = np.asarray(rhos, dtype=float)
        if self.kind == "exponential":
            return self.log_amplitude - self.rate * r ** float(self.exponent or 0.0)
        return self.log_amplitude - self.rate * np.log(r)

    def law(self) -> str:
        """The fitted law as text, e.g. ``e ≈ A·ρ^−6.00``."""
        if self.kind == "exponential":
            return f"e ≈ A·exp(−{self.rate:.3g}·ρ^{self.exponent:.2f})"
        if self.kind == "polynomial":
            return f"e ≈ A·ρ^−{self.rate:.3g}"
        return ""

    def evidence(self) -> str:
        """The points the law rests on, R² and the floor, as text."""
        parts = []
        if self.rho_range is not None:
            lo, hi = self.rho_range
            parts.append(f"{self.n_points} points, ρ from {lo:.3g} to {hi:.3g}")
        if self.r2 is not None:
            parts.append(f"R² = {self.r2:.4f}")
        parts.append(self.floor_text())
        return "; ".join(parts)

    def floor_text(self) -> str:
        """The floor and its source, as text."""
        return floor_phrase(self.floor, self.floor_source, self.noise_from)

    def __str__(self) -> str:
        if self.is_law:
            return f"{self.kind}: {self.law()} ({self.evidence()})"
        if self.kind == "exact":
            return f"exact: error ≤ {self.floor_text()} everywhere"
        if self.kind == "undetermined":
            return f"undetermined, because {self.detail}"
        return f"none: {self.detail}"


def floor_phrase(level: float, source: FloorSource, noise_from: float | None = None) -> str:
    """``precision floor 2.2e-13`` or ``noise floor 5.7e-08 (detected, from ρ ≈ 3.16e+04;
    fitted above 10× it)``."""
    if source == "precision":
        return f"precision floor {level:.1e}"
    if source == "given":
        return f"noise floor {level:.1e} (given; fitted above it)"
    text = f"noise floor {level:.1e} (detected"
    if noise_from is not None:
        text += f", from ρ ≈ {noise_from:.3g}"
    return text + f"; fitted above {FLOOR_MARGIN:g}× it)"


def _log(x: object) -> float:
    """Natural log as a float, valid for mpmath numbers far below 1e-308.

    Zero gives −inf (no error at all); NaN stays NaN, so that a NaN error (an overflow)
    is refused instead of being read as "below the floor"."""
    if isinstance(x, (mpmath.mpf,)):
        if mpmath.isnan(x):
            return math.nan
        if mpmath.isinf(x):
            return math.inf
        return float(mpmath.log(x)) if x > 0 else -math.inf
    xf = float(x)  # type: ignore[arg-type]
    if math.isnan(xf):
        return math.nan
    if math.isinf(xf):
        return math.inf
    return math.log(xf) if xf > 0 else -math.inf


def _level(log_value: float) -> float:
    """exp of a log as a float (0 below the float range)."""
    return math.exp(log_value) if log_value > -745 else 0.0


def _validated_logs(
    rhos: Sequence[float], errors: Sequence[object]
) -> tuple[np.ndarray, np.ndarray]:
    if len(rhos) != len(errors):
        raise HomogeneityInputError(
            f"rhos and errors have different lengths ({len(rhos)} vs {len(errors)})"
        )
    if len(rhos) < 3:
        raise HomogeneityInputError("need at least 3 samples (rhos) to classify a decay")
    if not all(float(r) > 0 for r in rhos):
        raise HomogeneityInputError("rhos must be strictly increasing and positive (ρ > 0)")
    log_rho = np.array([math.log(float(r)) for r in rhos])
    if np.any(np.diff(log_rho) <= 0):
        raise HomogeneityInputError("rhos must be strictly increasing and positive")
    log_err = np.array([_log(e) for e in errors])
    if np.any(np.isnan(log_err)):
        raise HomogeneityInputError("errors contain NaN; the function overflowed or is undefined")
    if np.any(log_err == math.inf):
        raise HomogeneityInputError(
            "errors contain inf (NaN or overflow upstream); stop the sweep at the breakdown "
            "and classify the points before it"
        )
    return log_rho, log_err


def _check_floor(value: float, argument: str) -> float:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
        raise HomogeneityInputError(f"{argument}={value!r} must be a finite number ≥ 0")
    return float(value)


@dataclass
class DecayData:
    """The tail a law is fitted on, and how it was chosen.

    ``indices``: positions of the tail points in the input; ``log_rho``/``log_err`` their
    logarithms. ``peak_index``/``peak``: where the error peaks, and its value;
    ``floor_hit``: the tail region ends because the error reached the floor (precision,
    given or detected). ``floor``, ``floor_source``, ``detected_floor``, ``noise_from``:
    the floor the tail lies above (as in :class:`DecayFit`). ``verdict``: set when the
    curve needs no fit or allows none (exact, none, undetermined). ``thin``: the ρ interval
    (indices) where denser sampling would add tail points, when too few were found.
    ``run``: the whole trailing run that follows one law (``indices`` is its later half
    when it is long); ``full_log_err``: ln e at every input point.
    """

    log_rho: np.ndarray
    log_err: np.ndarray
    peak_index: int
    floor_hit: bool = False
    indices: list[int] = field(default_factory=list)
    floor: float = 0.0
    floor_source: FloorSource = "precision"
    detected_floor: float | None = None
    noise_from: float | None = None
    verdict: DecayFit | None = None
    thin: tuple[int, int] | None = None
    peak: float = 0.0
    run: list[int] = field(default_factory=list)
    full_log_err: np.ndarray = field(default_factory=lambda: np.zeros(0))


@dataclass(frozen=True)
class _Floor:
    """A noise level (natural log) with its source and, when detected, where it begins."""

    log_level: float
    source: FloorSource
    start: int | None = None


def _points(n: int) -> str:
    return f"{n} point" if n == 1 else f"{n} points"


def _threshold(floor: _Floor) -> float:
    """ln of the level the tail must exceed: a given or precision floor is a threshold
    already (errors below it are noise); a detected floor is the noise level itself, so
    the tail must clear FLOOR_MARGIN × it."""
    return floor.log_level + (math.log(FLOOR_MARGIN) if floor.source == "detected" else 0.0)


def _rough_plateau(log_err: np.ndarray, peak: int, log_floor: float) -> _Floor | None:
    """A noise floor that shows as jumps.

    Past the peak, a point above the precision floor that exceeds its left neighbour by
    more than RISE_FACTOR is noise (a decaying law never rises), unless it is a transient
    bump: one after which the error goes on to fall well below it. The first jump that is
    not transient starts the floor, whose level is the largest error from the jump's left
    neighbour on. A jump is noise when

    * the largest of the last PLATEAU_MIN_POINTS errors stays within PLATEAU_BAND of the
      level (the noise lasts to the end of the sweep), or
    * fewer than PLATEAU_MIN_POINTS later points lie between the precision floor and
      level / PLATEAU_BAND (no clean decay follows: the error drops to exact zeros, as when
      a float32 island rounds the term that made it away).
    """
    n = len(log_err)
    rise, band = math.log(RISE_FACTOR), math.log(PLATEAU_BAND)
    for r in range(peak + 1, n):
        if log_err[r] > log_floor and log_err[r] > log_err[r - 1] + rise:
            level = float(np.max(log_err[r - 1 :]))
            end = float(np.max(log_err[max(r, n - PLATEAU_MIN_POINTS) :]))
            later = log_err[r + 1 :]
            clean = int(np.sum((later > log_floor) & (later < level - band)))
            if end >= level - band or clean < PLATEAU_MIN_POINTS:
                return _Floor(level, "detected", r - 1)
    return None


def _cliff_floor(
    log_rho: np.ndarray, log_err: np.ndarray, peak: int, log_floor: float
) -> _Floor | None:
    """A noise floor that shows as a cliff: past the peak the error becomes exactly zero
    right after a point well above the precision floor, where the local slope of the last
    two points says the law would still be above FLOOR_MARGIN × the precision floor. The
    computation has rounded the term that made the error away (a float32 island absorbing
    an ε), so the last errors before the cliff are at its noise level: the floor is the
    largest of the last PLATEAU_MIN_POINTS of them. (A steep exponential reaching exact
    zeros is not a cliff: its own continuation is already below the floor.)"""
    margin = math.log(FLOOR_MARGIN)
    for i in range(peak + 2, len(log_err)):
        before, last = log_err[i - 2], log_err[i - 1]
        if log_err[i] != -math.inf or not (last > log_floor and math.isfinite(before)):
            continue
        slope = (last - before) / (log_rho[i - 1] - log_rho[i - 2])
        predicted = last + min(slope, 0.0) * (log_rho[i] - log_rho[i - 1])
        if predicted > log_floor + margin:
            level = float(np.max(log_err[max(peak + 1, i - PLATEAU_MIN_POINTS) : i]))
            return _Floor(level, "detected", i - 1)
    return None


def _follows_one_law(log_rho: np.ndarray, log_err: np.ndarray) -> bool:
    """One law of the family fits every point: RMS residual ≤ RUN_RESIDUAL_MAX and no point
    off by more than three times that (the grid fit first, the refined one if it fails)."""

    def close(fit: LawFit) -> bool:
        res = fit.residuals(log_rho, log_err)
        return bool(
            math.sqrt(float(np.mean(res**2))) <= RUN_RESIDUAL_MAX
            and float(np.max(np.abs(res))) <= 3 * RUN_RESIDUAL_MAX
        )

    return close(fit_on_grid(log_rho, log_err)) or close(fit_law(log_rho, log_err))


def _consistent_run(
    log_rho: np.ndarray, log_err: np.ndarray, block: list[int], min_points: int
) -> list[int] | None:
    """The longest trailing part of ``block`` (at least ``min_points``) that follows one
    law, grown backwards from its last ``min_points`` points; None when even those do not."""
    k = len(block) - min_points
    if not _follows_one_law(log_rho[block[k:]], log_err[block[k:]]):
        return None
    while k > 0 and _follows_one_law(log_rho[block[k - 1 :]], log_err[block[k - 1 :]]):
        k -= 1
    return block[k:]


def decay_tail(
    rhos: Sequence[float],
    errors: Sequence[object],
    floor: float = 0.0,
    *,
    known_floor: float = 0.0,
    min_points: int = MIN_TAIL_POINTS,
    stopped_by: str = "",
) -> DecayData:
    """Select the asymptotic tail a decay law is fitted on (steps 1 and 2 of the module
    docstring): its indices, or a ``verdict`` when no fit is possible or needed."""
    floor = _check_floor(floor, "floor")
    known_floor = _check_floor(known_floor, "known_floor")
    if not isinstance(min_points, int) or min_points < 3:
        raise HomogeneityInputError(f"min_points={min_points!r} must be an integer ≥ 3")
    log_rho, log_err = _validated_logs(rhos, errors)
    return _TailSearch(
        [float(r) for r in rhos], log_rho, log_err, floor, known_floor, min_points, stopped_by
    ).run()


@dataclass
class _TailSearch:
    """The tail selection of :func:`decay_tail`, one step per method."""

    rhos: list[float]
    log_rho: np.ndarray
    log_err: np.ndarray
    floor: float
    known_floor: float
    min_points: int
    stopped_by: str

    def __post_init__(self) -> None:
        self.n = len(self.log_err)
        self.log_floor = math.log(self.floor) if self.floor > 0 else -math.inf
        self.peak = int(np.argmax(self.log_err))
        self.peak_value = _level(float(self.log_err[self.peak]))
        self.ceiling = float(self.log_err[self.peak]) + math.log(PEAK_FRACTION)
        self.after = f" ({self.stopped_by})" if self.stopped_by else ""
        self.data = DecayData(
            self.log_rho, self.log_err, self.peak, peak=self.peak_value, full_log_err=self.log_err
        )

    # -- helpers -------------------------------------------------------------------------
    def _set_floor(self, plateau: _Floor | None) -> float:
        """Record the floor used and return the threshold (log) the tail must exceed."""
        floors = [_Floor(self.log_floor, "precision")]
        if self.known_floor > 0:
            floors.append(_Floor(math.log(self.known_floor), "given"))
        if plateau is not None:
            floors.append(plateau)
        used = max(floors, key=_threshold)
        d = self.data
        exact_value = {"precision": self.floor, "given": self.known_floor}
        d.floor = exact_value.get(used.source, _level(used.log_level))
        d.floor_source = used.source
        d.detected_floor = None if plateau is None else _level(plateau.log_level)
        d.noise_from = (
            self.rhos[plateau.start] if plateau is not None and plateau.start is not None else None
        )
        return max(_threshold(f) for f in floors)

    def _phrase(self) -> str:
        return floor_phrase(self.data.floor, self.data.floor_source, self.data.noise_from)

    def _verdict(self, kind: DecayKind, detail: str, **extra: object) -> DecayData:
        d = self.data
        d.verdict = DecayFit(
            kind,
            detail=detail,
            floor=d.floor,
            peak=self.peak_value,
            floor_source=d.floor_source,
            detected_floor=d.detected_floor,
            noise_from=d.noise_from,
            precision_floor=self.floor,
            **extra,  # type: ignore[arg-type]
        )
        return d

    # -- the search ----------------------------------------------------------------------
    def run(self) -> DecayData:
        if np.all(self.log_err <= self.log_floor):
            self._set_floor(None)
            return self._verdict("exact", "at the floor everywhere")
        plateau = _rough_plateau(self.log_err, self.peak, self.log_floor) or _cliff_floor(
            self.log_rho, self.log_err, self.peak, self.log_floor
        )
        outcome = self._search(plateau, allow_quiet=True)
        if isinstance(outcome, _Floor):  # a quiet plateau: search again above it
            outcome = self._search(outcome, allow_quiet=False)
        assert isinstance(outcome, DecayData)
        return outcome

    def _search(self, plateau: _Floor | None, allow_quiet: bool) -> DecayData | _Floor:
        threshold = self._set_floor(plateau)
        err, n, peak = self.log_err, self.n, self.peak
        stop = next((i for i in range(peak + 1, n) if err[i] <= threshold), n)
        self.data.floor_hit = stop < n
        if err[peak] <= threshold:
            return self._at_floor_everywhere()
        block = list(range(peak + 1, stop))
        if not block or (
            stop == n and bool(np.all(err[block] >= self.ceiling)) and not self._falling(block)
        ):
            return self._no_tail(stop)
        if len(block) < self.min_points:
            return self._too_few(block, stop)
        run = _consistent_run(self.log_rho, err, block, self.min_points)
        if run is None:
            return self._regime_too_short(block, stop)
        power = fit_at(self.log_rho[run], err[run], 0.0)
        if power.slope < FLAT_ORDER:
            return self._flat(run, power, plateau, allow_quiet)
        self.data.run = run
        if len(run) > 2 * self.min_points:
            # the law is a statement about large ρ: fit the later half of a long run (the
            # earlier half follows the same law to RUN_RESIDUAL_MAX, which is all it shows)
            run = run[len(run) // 2 :]
        self.data.indices = run
        self.data.log_rho, self.data.log_err = self.log_rho[run], err[run]
        return self.data

    def _falling(self, block: list[int]) -> bool:
        """The error still falls past the peak (a log-log slope steeper than −FLAT_ORDER):
        a short sweep, not an error that stays up."""
        points = [self.peak, *block]
        return fit_at(self.log_rho[points], self.log_err[points], 0.0).slope >= FLAT_ORDER

    def _at_floor_everywhere(self) -> DecayData:
        d = self.data
        if d.floor_source == "detected" and d.floor >= NO_DECAY_LEVEL:
            return self._verdict(
                "none", f"the error stays near {d.floor:.2g} at every ρ sampled: it does not vanish"
            )
        return self._verdict(
            "undetermined",
            f"the error sits at a noise floor of about {d.floor:.1e} ({d.floor_source}) at "
            f"every ρ sampled{self.after}: not exact (the precision floor is "
            f"{self.floor:.1e}) and no decay law can be read above it; lift the float32 "
            f"islands (compute in the working dtype) or sample ρ where the error is larger",
        )

    def _no_tail(self, stop: int) -> DecayData:
        rhos, peak = self.rhos, self.peak
        if stop == self.n:
            detail = (
                f"the error does not fall below {PEAK_FRACTION:g}× its peak "
                f"{self.peak_value:.2g} (at ρ = {rhos[peak]:.3g}) by the end of the "
                f"sweep{self.after}"
            )
            if self.peak_value >= NO_DECAY_LEVEL:
                return self._verdict("none", detail)
            return self._verdict(
                "undetermined",
                detail + f"; at {self.peak_value:.1e} this may be a noise floor (float32 "
                "islands?): lift them or sample larger ρ",
            )
        self.data.thin = (peak, stop)
        return self._verdict(
            "undetermined",
            f"the error falls from its peak (at ρ = {rhos[peak]:.3g}) to the {self._phrase()} "
            f"(reached at ρ = {rhos[stop]:.3g}) between two samples: sample ρ more densely "
            f"between them",
        )

    def _too_few(self, block: list[int], stop: int) -> DecayData:
        rhos = self.rhos
        where = f"ρ from {rhos[block[0]]:.3g} to {rhos[block[-1]]:.3g}"
        self.data.indices = block
        if stop < self.n:
            self.data.thin = (block[0] - 1, stop)
            detail = (
                f"only {_points(len(block))} above the {self._phrase()} ({where}); a law needs "
                f"{self.min_points}: sample ρ more densely up to {rhos[stop]:.3g}"
            )
            if self.data.floor_source != "precision":
                detail += ", or lift the float32 islands to lower the floor"
        else:
            self.data.thin = (block[0] - 1, self.n - 1)
            detail = (
                f"only {_points(len(block))} past the peak ({where}){self.after}; a law needs "
                f"{self.min_points}: sample ρ more densely or further"
            )
        return self._verdict("undetermined", detail, n_points=len(block))

    def _regime_too_short(self, block: list[int], stop: int) -> DecayData:
        """The last ``min_points`` points do not follow one law: the last regime (the
        longest trailing run that does, three points at least since any three fit a law of
        the three-parameter family) is too short."""
        short = 3
        for k in range(self.min_points - 1, 3, -1):
            if _follows_one_law(self.log_rho[block[-k:]], self.log_err[block[-k:]]):
                short = k
                break
        run = block[-short:]
        rhos = self.rhos
        self.data.indices = run
        self.data.thin = (run[0] - 1, stop if stop < self.n else self.n - 1)
        return self._verdict(
            "undetermined",
            f"only the last {short} points above the {self._phrase()} (ρ from "
            f"{rhos[run[0]]:.3g} to {rhos[run[-1]]:.3g}) follow one decay law (the points "
            f"before them are off it by more than {RUN_RESIDUAL_MAX:g} in ln e: another "
            f"regime){self.after}; a law needs {self.min_points}: sample ρ more densely from "
            f"{rhos[run[0] - 1]:.3g} to {rhos[self.data.thin[1]]:.3g}",
            n_points=short,
        )

    def _flat(
        self, run: list[int], power: LawFit, plateau: _Floor | None, allow_quiet: bool
    ) -> DecayData | _Floor:
        """The tail's last run falls slower than ρ^−FLAT_ORDER (or rises)."""
        level_log = float(np.max(self.log_err[run]))
        level = _level(level_log)
        rising = power.slope <= -FLAT_ORDER
        quiet = not rising and level < NO_DECAY_LEVEL and len(run) >= PLATEAU_MIN_POINTS
        if quiet and allow_quiet:
            # a quiet plateau after the fall from the peak: a noise floor; fit above it
            previous = plateau.log_level if plateau is not None else -math.inf
            return _Floor(max(level_log, previous), "detected", run[0])
        self.data.indices = run
        start = self.rhos[run[0]]
        slope = f"log-log slope {-power.slope:+.2g}"
        if level >= NO_DECAY_LEVEL:
            return self._verdict(
                "none",
                f"the error {'rises' if rising else 'levels off'} at about {level:.2g} from "
                f"ρ = {start:.3g} ({slope}): it does not vanish",
                rate=power.slope,
            )
        trend = "rises again" if rising else "levels off"
        return self._verdict(
            "undetermined",
            f"the error {trend} at about {level:.1e} from ρ = {start:.3g} ({slope})"
            f"{self.after}: a noise floor (float32 islands?) or an error that does not "
            f"vanish; lift the islands, pass the floor as floor=, or sample larger ρ",
        )


def classify_decay(
    rhos: Sequence[float],
    errors: Sequence[object],
    floor: float = 0.0,
    exponent_threshold: float = EXPONENT_THRESHOLD,
    min_points: int = MIN_TAIL_POINTS,
    *,
    known_floor: float = 0.0,
    stopped_by: str = "",
) -> DecayFit:
    """Classify the decay of ``errors`` (≥ 0) sampled at increasing ``rhos``.

    Args:
        rhos: strictly increasing positive ρ values.
        errors: error at each ρ (float or mpmath number; NaN and inf are refused: stop the
            sweep at a breakdown and pass the points before it).
        floor: the working precision's floor: errors at or below it are zero for the check
            (e.g. 1e3·machine epsilon); a curve at or below it everywhere is ``exact``.
        exponent_threshold: m̂ at or above this means exponential decay.
        min_points: fewer points in the asymptotic tail gives ``undetermined``.
        known_floor: a floor known from how the errors were computed (e.g. 1e3·eps of
            float32 for float32 islands kept in a float64 run): errors below it are noise;
            the law is fitted above it and above FLOOR_MARGIN × the floor detected in the
            data; a curve at or below it everywhere is undetermined, not ``exact``.
        stopped_by: why the samples end early (a breakdown of the sweep), quoted in reasons.
    """
    if not (isinstance(exponent_threshold, (int, float)) and exponent_threshold > 0):
        raise HomogeneityInputError(
            f"exponent_threshold={exponent_threshold!r} must be a number > 0, e.g. 0.5"
        )
    data = decay_tail(
        rhos,
        errors,
        floor,
        known_floor=known_floor,
        min_points=min_points,
        stopped_by=stopped_by,
    )
    if data.verdict is not None:
        return data.verdict
    return _fit_tail(data, [float(r) for r in rhos], float(exponent_threshold), floor, stopped_by)


@dataclass(frozen=True)
class _LawEvidence:
    """Both laws fitted on the tail, and how much worse each is than the best law of the
    family, in residual variances (Δχ²)."""

    best: LawFit
    power: LawFit
    expo: LawFit
    power_excess: float
    expo_excess: float

    @classmethod
    def of(cls, u: np.ndarray, y: np.ndarray, threshold: float) -> _LawEvidence:
        best = fit_law(u, y)
        power = fit_at(u, y, 0.0)
        expo = best if best.exponent >= threshold else fit_law(u, y, lo=threshold)
        n = len(u)
        sigma2 = max(best.rss / (n - 3) if n > 3 else 0.0, RESIDUAL_NOISE_MIN**2)
        return cls(
            best,
            power,
            expo,
            (power.rss - best.rss) / sigma2,
            (expo.rss - best.rss) / sigma2,
        )


def _fit_tail(
    data: DecayData, rhos: list[float], threshold: float, floor: float, stopped_by: str
) -> DecayFit:
    """Step 3: fit both laws on the tail and decide, or refuse to."""
    u, y, run = data.log_rho, data.log_err, data.indices
    ev = _LawEvidence.of(u, y, threshold)
    exponential = ev.best.exponent >= threshold
    chosen = ev.expo if exponential else ev.power
    r2 = chosen.r2(u, y)
    lo, hi = rhos[run[0]], rhos[run[-1]]
    where = f"{len(run)} points, ρ from {lo:.3g} to {hi:.3g}"
    after = f" ({stopped_by})" if stopped_by else ""
    # the fall of the error (ln) over the whole run that follows the law
    log_drop = float(np.ptp(data.full_log_err[data.run or run]))
    # under the best law the power law's log-log slope drifts by this fraction on the tail
    drift = math.expm1(ev.best.exponent * float(np.ptp(u)))
    rival_fits = ev.power_excess <= SEPARATION if exponential else ev.expo_excess <= SEPARATION
    reason = ""
    if rival_fits:
        reason = (
            f"both laws fit the tail ({where}): ρ^−{ev.power.rate:.3g} and "
            f"exp(−d·ρ^{ev.expo.exponent:.2f}) differ by less than the noise; sample a wider "
            f"ρ range{after}"
        )
    elif not exponential and drift > ORDER_DRIFT_MAX and ev.power_excess > SEPARATION:
        reason = (
            f"the log-log slope of the tail ({where}) drifts by {100 * drift:.0f} % "
            f"(m̂ = {ev.best.exponent:.2f}, below the exponential threshold {threshold:g}): "
            f"neither one power law nor an exponential; sample larger ρ{after}"
        )
    elif r2 < MIN_R2:
        law = f"exp(−d·ρ^{chosen.exponent:.2f})" if exponential else f"ρ^−{chosen.rate:.3g}"
        reason = f"the fit {law} on the tail ({where}) has R² = {r2:.3f} < {MIN_R2:g}"
    elif log_drop < math.log(MIN_TAIL_DROP):
        reason = (
            f"the tail ({where}) falls only by a factor {math.exp(log_drop):.3g} "
            f"(< {MIN_TAIL_DROP:g}): too short to tell its law; sample larger ρ{after}"
        )
    common = dict(
        exponent=ev.best.exponent,
        r2=r2,
        n_points=len(run),
        floor=data.floor,
        peak=data.peak,
        indices=tuple(run),
        rho_range=(lo, hi),
        floor_source=data.floor_source,
        detected_floor=data.detected_floor,
        noise_from=data.noise_from,
        precision_floor=floor,
    )
    if reason:
        return DecayFit("undetermined", detail=reason, **common)  # type: ignore[arg-type]
    return DecayFit(
        "exponential" if exponential else "polynomial",
        rate=chosen.rate,
        log_amplitude=chosen.log_amplitude,
        **common,  # type: ignore[arg-type]
    )


def refine_grid(
    rhos: Sequence[float],
    errors: Sequence[object],
    floor: float = 0.0,
    n_new: int = 16,
    *,
    known_floor: float = 0.0,
    min_points: int = MIN_TAIL_POINTS,
) -> list[float]:
    """Geometric ρ samples where the tail is too thinly sampled for a law.

    That is between the last point above the tail (or the peak) and the point where the
    tail region ends (the floor, or the end of the sweep). Empty when the tail has enough
    points, or when the verdict is not about sampling (exact, none, a noise floor
    everywhere). A fast exponential decay crosses 15 decades between two coarse samples.
    """
    data = decay_tail(rhos, errors, floor, known_floor=known_floor, min_points=min_points)
    if data.thin is None:
        return []
    lo, hi = data.thin
    a, b = math.log(float(rhos[lo])), math.log(float(rhos[hi]))
    if b <= a:
        return []
    return [math.exp(a + (b - a) * j / (n_new + 1)) for j in range(1, n_new + 1)]
