"""What every certified theorem provides to the checker.

A *theorem* is a statement with parameters (e.g. "|σ(cx) − σ(x)| ≤ A e^{−d|x|} for all
c ≥ 1, x ∈ ℝ", parameters φ, A, d). Its module reduces the statement, by the lemmas it
lists, to finitely many *parts*; each part is "margin(z) ≥ 0 for every z in a compact box
D ⊂ ℝᵏ" (the *domain*, a compact reparametrisation of the original variables), possibly
together with a *tail lemma* that covers what the compact box leaves out.

For one part the theorem gives:

* the derived quantities on a box B ⊂ D (``derived``): enclosures of the exponentials,
  powers and instance constants the margin is written in, computed by monotonicity;
* one or more *forms* of the margin: functions of the derived quantities returning a list
  of margins, every one of which must be ≥ 0 on B. A form is

  - ``canonical``: the margin as derived from the statement (the docstring shows how);
  - ``rewrite``: the same polynomial written differently (e.g. as a sum of squares, so
    that it evaluates to exactly 0, not below, where the bound is attained); the checker
    verifies the identity with the canonical form exactly, by polynomial arithmetic;
  - ``relaxation``: a different sufficient condition, justified by a lemma stated in its
    ``justification``; it may only be used on boxes where ``valid(box)`` holds.

The checker evaluates the chosen form on each box with outward-rounded interval
arithmetic; lower ends ≥ 0 on boxes that partition D prove the part.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flint import arb, fmpq

from proofs_numeric.certificates.intervals import Interval

Box = Sequence[tuple[arb, arb]]
Margins = Callable[[Mapping[str, Any], Mapping[str, Any]], list[Any]]


class CertificateRejected(Exception):
    """The certificate does not prove its statement (the message says why)."""


def canonical_json(value: Any) -> bytes:
    """The canonical JSON of a value (sorted keys, no spaces, UTF-8, no NaN): what hashes
    are taken of."""
    return json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def digest(value: Any) -> str:
    """sha256 (hex) of the canonical JSON of a value."""
    return hashlib.sha256(canonical_json(value)).hexdigest()


def exact_number(x: Any, what: str) -> int | float:
    """A JSON number of an instance, kept exactly as written: an int stays an int (never
    rounded through binary64), a float is its exact binary64 value; bools and non-finite
    values are refused. Arithmetic on it goes through ``Interval.of``, which encloses an
    int that arb cannot hold exactly at the working precision."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise CertificateRejected(f"{what}={x!r} is not a number")
    if isinstance(x, float) and not math.isfinite(x):
        raise CertificateRejected(f"{what}={x!r} is not finite")
    return x


def rational(text: Any, what: str) -> fmpq:
    """Parse "p/q", "p" or an int as an exact rational (a float is refused: say what you mean)."""
    if isinstance(text, bool) or isinstance(text, float):
        raise CertificateRejected(f"{what}={text!r}: write rationals as strings 'p/q'")
    if isinstance(text, int):
        return fmpq(text)
    if not isinstance(text, str):
        raise CertificateRejected(f"{what}={text!r} is not a rational 'p/q'")
    num, _, den = text.partition("/")
    try:
        value = fmpq(int(num), int(den) if den else 1)
    except (ValueError, ZeroDivisionError):
        raise CertificateRejected(f"{what}={text!r} is not a rational 'p/q'") from None
    return value


def rational_text(x: fmpq) -> str:
    return str(x.p) if x.q == 1 else f"{x.p}/{x.q}"


@dataclass(frozen=True)
class Form:
    """One way of evaluating a part's margin (see the module docstring)."""

    name: str
    kind: str  # "canonical" | "rewrite" | "relaxation"
    margins: Margins
    justification: str
    valid: Callable[[Box], bool] | None = None


@dataclass
class Prepared:
    """A part made ready for evaluation: its constants and the names of its variables.

    ``consts`` maps names to exact rationals (fmpq) or to enclosures (Interval) of
    instance quantities; rewrite identities may only involve the rational ones.
    """

    variables: tuple[str, ...]
    consts: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


class Theorem:
    """Base class: one certified statement family. Subclasses override every method."""

    name: str = ""
    #: the keys of the statement's parameters: no more (an ignored key could make the file
    #: look as if it said more than the statement does), no fewer
    parameter_keys: frozenset[str] = frozenset()
    #: the lemmas the reduction to the parts rests on (copied verbatim into certificates)
    lemmas: tuple[str, ...] = ()
    #: the tail lemma, if the compact domain leaves part of the statement out
    tail_lemma: str | None = None

    def statement(self, parameters: Mapping[str, Any]) -> str:
        raise NotImplementedError

    def required_parts(self, parameters: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """The parts (name → part parameters) that together prove the statement."""
        raise NotImplementedError

    def check_constants(self, parameters: Mapping[str, Any], constants: Mapping[str, Any]) -> str:
        """Check the proof constants (tail constants, …); return what was checked."""
        if constants:
            raise CertificateRejected(f"theorem {self.name} takes no constants, got {constants}")
        return ""

    def prepare(
        self,
        parameters: Mapping[str, Any],
        part: Mapping[str, Any],
        constants: Mapping[str, Any],
    ) -> Prepared:
        raise NotImplementedError

    def domain(self, prepared: Prepared) -> list[tuple[fmpq, fmpq]]:
        """The compact box the part's boxes must partition (exact rationals)."""
        raise NotImplementedError

    def derived(self, prepared: Prepared, box: Box) -> dict[str, Interval]:
        raise NotImplementedError

    def forms(self, prepared: Prepared) -> dict[str, Form]:
        raise NotImplementedError

    def touching(self, prepared: Prepared, box: Box) -> tuple[int, ...] | None:
        """Whether the box's closure meets a point where no bisection can close a box: where
        the claimed bound is attained (the margin is 0 there) or where the
        reparametrisation is singular. Returns the axes along which such a box must be
        small before the prover uses a rewrite or lemma there (None: not such a box).
        Only the prover asks; the checker accepts any valid form on any box."""
        return None


def at_point(values: Sequence[Any]) -> list[tuple[arb, arb]]:
    """A degenerate box (every side a point) for evaluating a part at one point."""
    out = []
    for v in values:
        a = v if isinstance(v, arb) else arb(v)
        out.append((a, a))
    return out
