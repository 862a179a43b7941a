"""Griffe extension: Sphinx cross-reference roles in docstrings become site links.

The docstrings of this project cite other objects the Sphinx way (``:class:`Ray```,
``:func:`~homogeneity.rules.predict_degree```, ``:mod:`homogeneity.components```).
MkDocs renders them as Markdown, where a role is literal text. This extension rewrites
each role, at build time and in memory only (the source files are never touched), into
the cross-reference syntax of mkdocs-autorefs, ``[`Ray`][homogeneity.scaling.Ray]``.

The target is resolved the way Python would resolve the name inside the docstring's
object: a member of the object or of an enclosing scope, a name the module imports, or a
dotted path from a loaded package. A bare name the scope does not know links to the one
object of that name the packages define, if there is exactly one (as Sphinx searches).
The path is made canonical (an alias is followed to where the object is defined), which
is the identifier mkdocstrings registers for it.

* A target inside one of ``packages`` becomes a required link: the strict build fails
  when no page documents it (autorefs reports the page and the identifier).
* A name that cannot be resolved inside ``packages`` is reported as a warning naming the
  object and the role (the strict build fails); its text is kept as code.
* A target outside ``packages`` (``torch.func.functional_call``: a dotted name whose
  first part is not one of ``packages``) and a private name (the site documents no
  ``_name``) become plain code, as does ``:role:`!target```.

Display text follows Sphinx: ``~a.b.c`` shows ``c``, ``title <a.b.c>`` shows ``title``,
anything else shows what is written. Roles inside fenced code blocks are left alone.

Loaded by mkdocstrings (``mkdocs.yml``)::

    extensions:
      - docs/hooks/sphinx_roles.py:SphinxRoles:
          packages: [homogeneity, proofs_numeric]
"""

from __future__ import annotations

import importlib.util
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from griffe import Alias, AliasResolutionError, CyclicAliasError, Extension, Object

LOGGER = logging.getLogger("mkdocs.plugins.homogeneity.sphinx_roles")

#: the Python-domain roles of Sphinx; ``:py:class:`` is the same as ``:class:``
ROLE_NAMES = ("class", "func", "meth", "attr", "mod", "data", "exc", "obj", "const", "type")
ROLE = re.compile(
    r":(?:py:)?(?P<role>" + "|".join(ROLE_NAMES) + r"):`(?P<body>[^`]+)`",
)
_EXPLICIT_TITLE = re.compile(r"^(?P<title>.+?)\s*<(?P<target>[^<>]+)>$")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class Role:
    """One parsed role: what it shows, what it points at, and whether it may link."""

    display: str
    target: str
    linkable: bool


def parse_role(body: str) -> Role:
    """Split the text between the backticks of a role into display text and target.

    ``~a.b.c`` shows ``c``; ``title <a.b.c>`` shows ``title``; ``!a.b`` never links;
    a trailing ``()`` on the target (``:func:`f()```) is not part of the name. A role may
    wrap onto the next docstring line: the title's line break is a space, and a dotted
    name broken after a dot (``a.`` at the end of a line, ``b`` on the next) is ``a.b``.
    """
    body = " ".join(body.split())
    linkable = not body.startswith("!")
    body = body.lstrip("!")
    explicit = _EXPLICIT_TITLE.match(body)
    if explicit:
        display, target = explicit["title"], explicit["target"]
    else:
        name = "".join(body.removeprefix("~").split())
        display = name.rsplit(".", 1)[-1] if body.startswith("~") else name
        target = name
    target = "".join(target.split()).removesuffix("()").lstrip(".")
    return Role(display=display, target=target, linkable=linkable)


def code_span(text: str) -> str:
    """``text`` as a Markdown code span (longer fences when it contains backticks)."""
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}"


def canonical_path(obj: Object | Alias) -> str:
    """The path where ``obj`` is defined: aliases (imports, re-exports) are followed."""
    if isinstance(obj, Alias):
        try:
            return obj.final_target.path
        except (AliasResolutionError, CyclicAliasError):
            return obj.target_path
    return obj.path


class Resolver:
    """Resolves a role's target from the scope of one object, in loaded packages."""

    def __init__(self, collection: Any, packages: Iterable[str]) -> None:
        self.collection = collection
        self.packages = tuple(packages)
        self._by_name: dict[str, set[str]] | None = None

    def in_packages(self, path: str) -> bool:
        return path.split(".", 1)[0] in self.packages

    def lookup(self, path: str) -> Object | Alias | None:
        """The object at ``path``, following aliases through modules; None if absent."""
        head, *rest = path.split(".")
        if head not in self.collection:
            return None
        obj: Object | Alias = self.collection[head]
        for part in rest:
            try:
                members = obj.members
            except (AliasResolutionError, CyclicAliasError):
                return None
            if part not in members:
                return None
            obj = members[part]
        return obj

    def resolve(self, target: str, scope: Object) -> str | None:
        """The canonical path of ``target`` seen from ``scope``; None if unresolvable."""
        head, _, tail = target.partition(".")
        candidates = []
        if head in self.packages or head in self.collection:
            candidates.append(target)
        # A relative name: this object's members, then the enclosing scopes and imports.
        try:
            resolved_head = scope.resolve(head)
        except Exception:  # griffe raises NameResolutionError, or alias errors
            resolved_head = None
        if resolved_head is not None:
            candidates.append(f"{resolved_head}.{tail}" if tail else resolved_head)
        # A method or attribute named from its class's docstring siblings: walk up.
        parent = scope.parent
        while parent is not None:
            candidates.append(f"{parent.path}.{target}")
            parent = parent.parent
        for path in candidates:
            found = self.lookup(path)
            if found is not None:
                return canonical_path(found)
            if not self.in_packages(path):
                return path  # outside the documented packages: not checked, not linked
        if tail and head not in self.packages:
            if resolved_head is None or is_importable(head):
                # a dotted name of another library (``random.Random``), even where a member
                # of the scope has the library's name (a method ``random``)
                return target
        if not tail:
            return self.unique(target)
        return None

    def unique(self, name: str) -> str | None:
        """The one object named ``name`` defined in ``packages`` (Sphinx's search for a
        bare name the scope does not know); None when there is none or more than one."""
        if self._by_name is None:
            self._by_name = {}
            for package in self.packages:
                if package in self.collection:
                    for obj in walk(self.collection[package]):
                        self._by_name.setdefault(obj.name, set()).add(obj.path)
        paths = self._by_name.get(name, set())
        return next(iter(paths)) if len(paths) == 1 else None


def outside_fences(text: str) -> Iterator[tuple[str, bool]]:
    """``text`` in pieces, each with whether it lies outside fenced code blocks."""
    piece: list[str] = []
    inside = False
    for line in text.splitlines(keepends=True):
        if _FENCE.match(line):
            if piece:
                yield "".join(piece), not inside
                piece = []
            inside = not inside
            yield line, False
            continue
        piece.append(line)
    if piece:
        yield "".join(piece), not inside


def is_importable(name: str) -> bool:
    """``name`` is a top-level module Python can import (looked up, not imported)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def is_private(path: str) -> bool:
    return any(part.startswith("_") and not part.startswith("__") for part in path.split("."))


def convert_roles(text: str, scope: Object, resolver: Resolver) -> tuple[str, list[str]]:
    """``text`` with every role replaced; the problems found (one line each)."""
    problems: list[str] = []

    def replace(match: re.Match[str]) -> str:
        role = parse_role(match["body"])
        shown = code_span(role.display)
        if not role.linkable:
            return shown
        path = resolver.resolve(role.target, scope)
        if path is None:
            problems.append(
                f"{scope.path}: {match.group(0)} names nothing that "
                f"{' or '.join(resolver.packages)} defines or imports"
            )
            return shown
        if not resolver.in_packages(path) or is_private(path):
            return shown
        return f"[{shown}][{path}]"

    pieces = [ROLE.sub(replace, piece) if out else piece for piece, out in outside_fences(text)]
    return "".join(pieces), problems


def walk(obj: Object) -> Iterator[Object]:
    """``obj`` and every object defined inside it (aliases are skipped: the object they
    point at is visited where it is defined)."""
    yield obj
    for member in obj.members.values():
        if not isinstance(member, Alias):
            yield from walk(member)


class SphinxRoles(Extension):
    """Rewrite Sphinx roles in the docstrings of ``packages`` into autorefs links."""

    def __init__(self, packages: list[str] | None = None) -> None:
        super().__init__()
        self.packages = tuple(packages or ())
        self._done: set[str] = set()

    def on_package(self, *, pkg: Object, loader: Any, **kwargs: Any) -> None:
        if self.packages and pkg.name not in self.packages:
            return
        # Names may point into another documented package: load it first, so they resolve.
        for name in self.packages:
            if name not in loader.modules_collection:
                loader.load(name, try_relative_path=False)
        if pkg.name in self._done:
            return
        self._done.add(pkg.name)
        resolver = Resolver(loader.modules_collection, self.packages or (pkg.name,))
        for obj in walk(pkg):
            docstring = obj.docstring
            if docstring is None or ":" not in docstring.value:
                continue
            converted, problems = convert_roles(docstring.value, obj, resolver)
            for problem in problems:
                LOGGER.warning("sphinx_roles: %s", problem)
            if converted != docstring.value:
                docstring.value = converted
                docstring.__dict__.pop("parsed", None)  # drop a parse of the old text
