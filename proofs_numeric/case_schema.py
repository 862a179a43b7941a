"""Declarative bounds on the cases a claim replays.

A stored counterexample is data read from a file. Before its margin is computed, its case
is checked against the claim's ``case_schema``: every field's type, its range and, for a
list, its length. A tampered or mistyped file is then refused with one line that names
the field (``case.log10_c = 1000000.0 must lie in [0, 1000]``) instead of running for
minutes at a scale no search ever drew.

The pieces compose like the Hypothesis strategies they sit next to::

    Record({"x": ListOf(Real(-1e7, 1e7), 1, 16), "log10_c": Real(0, 1000)},
           optional={"keep": Nullable(ListOf(Boolean(), 1, 16))})

Bounds are the claim's search domain with headroom (a replay may probe a little beyond
what the search drew), never the whole float range: every bound keeps one replay within
seconds. :meth:`Schema.check` raises :class:`~homogeneity.errors.HomogeneityInputError`.
This module has no dependencies.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from homogeneity.errors import HomogeneityInputError


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fail(where: str, value: Any, what: str) -> HomogeneityInputError:
    return HomogeneityInputError(f"{where} = {_show(value)} {what}")


class Schema:
    """A bound on one JSON value; ``check(value, where)`` raises if ``value`` is outside."""

    def check(self, value: Any, where: str = "case") -> None:
        raise NotImplementedError

    def describe(self) -> str:
        """A short description for messages and docs."""
        raise NotImplementedError


@dataclass(frozen=True)
class Real(Schema):
    """A finite number (int or float, not bool) in [low, high]."""

    low: float
    high: float

    def check(self, value: Any, where: str = "case") -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(where, value, f"must be a number in [{self.low:g}, {self.high:g}]")
        if not math.isfinite(value) or not self.low <= value <= self.high:
            raise _fail(where, value, f"must lie in [{self.low:g}, {self.high:g}]")

    def describe(self) -> str:
        return f"number in [{self.low:g}, {self.high:g}]"


@dataclass(frozen=True)
class Integer(Schema):
    """An integer (not bool) in [low, high]."""

    low: int
    high: int

    def check(self, value: Any, where: str = "case") -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(where, value, f"must be an integer in [{self.low}, {self.high}]")
        if not self.low <= value <= self.high:
            raise _fail(where, value, f"must lie in [{self.low}, {self.high}]")

    def describe(self) -> str:
        return f"integer in [{self.low}, {self.high}]"


@dataclass(frozen=True)
class Boolean(Schema):
    """true or false."""

    def check(self, value: Any, where: str = "case") -> None:
        if not isinstance(value, bool):
            raise _fail(where, value, "must be true or false")

    def describe(self) -> str:
        return "true or false"


@dataclass(frozen=True)
class Choice(Schema):
    """One of a few values (compared with their type: 1 is not True)."""

    values: tuple[Any, ...]

    def check(self, value: Any, where: str = "case") -> None:
        if not any(type(value) is type(v) and value == v for v in self.values):
            raise _fail(where, value, f"must be one of {list(self.values)}")

    def describe(self) -> str:
        return f"one of {list(self.values)}"


@dataclass(frozen=True)
class Nullable(Schema):
    """null, or a value of ``inner``."""

    inner: Schema

    def check(self, value: Any, where: str = "case") -> None:
        if value is not None:
            self.inner.check(value, where)

    def describe(self) -> str:
        return f"null or {self.inner.describe()}"


@dataclass(frozen=True)
class ListOf(Schema):
    """A list of ``min_len`` to ``max_len`` values of ``item``."""

    item: Schema
    min_len: int
    max_len: int

    def check(self, value: Any, where: str = "case") -> None:
        if not isinstance(value, list):
            raise _fail(where, value, f"must be a list of {self.min_len}–{self.max_len} values")
        if not self.min_len <= len(value) <= self.max_len:
            raise _fail(
                where, value, f"has {len(value)} values; {self.min_len}–{self.max_len} allowed"
            )
        for i, v in enumerate(value):
            self.item.check(v, f"{where}[{i}]")

    def describe(self) -> str:
        return f"list of {self.min_len}–{self.max_len} × {self.item.describe()}"


@dataclass(frozen=True)
class Record(Schema):
    """An object with exactly the keys of ``fields`` (each required) and possibly those of
    ``optional``; any other key is refused."""

    fields: Mapping[str, Schema]
    optional: Mapping[str, Schema] = field(default_factory=dict)

    def check(self, value: Any, where: str = "case") -> None:
        if not isinstance(value, dict):
            raise _fail(where, value, f"must be an object with keys {sorted(self.fields)}")
        missing = sorted(set(self.fields) - set(value))
        if missing:
            raise HomogeneityInputError(f"{where} is missing {missing}")
        unknown = sorted(set(value) - set(self.fields) - set(self.optional))
        if unknown:
            allowed = sorted({*self.fields, *self.optional})
            raise HomogeneityInputError(
                f"{where} has unexpected key(s) {unknown}; the keys are {allowed}"
            )
        for name, schema in {**self.fields, **self.optional}.items():
            if name in value:
                schema.check(value[name], f"{where}.{name}")

    def describe(self) -> str:
        return "object with keys " + ", ".join(sorted({*self.fields, *self.optional}))


@dataclass(frozen=True)
class Tagged(Schema):
    """An object whose ``key`` field picks the schema of the other fields (a tagged union;
    the variants do not list ``key`` themselves)."""

    key: str
    variants: Mapping[Any, Schema]

    def check(self, value: Any, where: str = "case") -> None:
        if not isinstance(value, dict) or self.key not in value:
            raise _fail(where, value, f"must be an object with a {self.key!r} field")
        tag = value[self.key]
        Choice(tuple(self.variants)).check(tag, f"{where}.{self.key}")
        self.variants[tag].check({k: v for k, v in value.items() if k != self.key}, where)

    def describe(self) -> str:
        return f"object tagged by {self.key!r} ({', '.join(map(str, self.variants))})"


@dataclass(frozen=True)
class OneOf(Schema):
    """A value of one of several schemas (tried in order; the error lists each reason)."""

    options: tuple[Schema, ...]

    def check(self, value: Any, where: str = "case") -> None:
        reasons = []
        for option in self.options:
            try:
                option.check(value, where)
                return
            except HomogeneityInputError as exc:
                reasons.append(str(exc))
        raise HomogeneityInputError(
            f"{where} matches none of its {len(self.options)} forms: " + "; ".join(reasons)
        )

    def describe(self) -> str:
        return " or ".join(o.describe() for o in self.options)


@dataclass(frozen=True)
class DecimalText(Schema):
    """A number written as a decimal string (kept exact beyond float64), in [low, high],
    at most ``max_length`` characters."""

    low: float
    high: float
    max_length: int = 400

    def check(self, value: Any, where: str = "case") -> None:
        if not isinstance(value, str) or len(value) > self.max_length:
            raise _fail(where, value, f"must be a decimal string of ≤ {self.max_length} characters")
        body = value.strip().lstrip("+-")
        mantissa = body.replace(".", "", 1)
        if not mantissa.isdigit():
            raise _fail(where, value, "must be a plain decimal number such as '99.58'")
        number = float(value)
        if not self.low <= number <= self.high:
            raise _fail(where, value, f"must lie in [{self.low:g}, {self.high:g}]")

    def describe(self) -> str:
        return f"decimal string in [{self.low:g}, {self.high:g}]"


@dataclass(frozen=True)
class Where(Schema):
    """``inner``, and then a condition across its fields (lengths that must match, a spread
    that bounds the working precision): ``test(value)`` must hold; ``what`` says what it
    asks for."""

    inner: Schema
    test: Callable[[Any], bool]
    what: str

    def check(self, value: Any, where: str = "case") -> None:
        self.inner.check(value, where)
        if not self.test(value):
            raise HomogeneityInputError(f"{where}: {self.what}")

    def describe(self) -> str:
        return f"{self.inner.describe()} ({self.what})"


def real_list(low: float, high: float, min_len: int, max_len: int) -> ListOf:
    """A list of ``min_len``–``max_len`` numbers in [low, high]."""
    return ListOf(Real(low, high), min_len, max_len)


def spread_at_most(key: str, bound: float) -> Callable[[Any], bool]:
    """max − min of the numbers in ``value[key]`` is at most ``bound`` (the working
    precision of a softmax grows with the spread of its scores)."""

    def test(value: Any) -> bool:
        xs = value[key]
        return max(xs) - min(xs) <= bound

    return test


def same_length(*keys: str) -> Callable[[Any], bool]:
    """The lists under ``keys`` have one length (a None value is skipped)."""

    def test(value: Any) -> bool:
        lengths = {len(value[k]) for k in keys if value.get(k) is not None}
        return len(lengths) <= 1

    return test
