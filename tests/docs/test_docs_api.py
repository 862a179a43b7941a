"""Every public module of homogeneity and proofs_numeric is documented on an API page.

A page under docs/api/ documents a module with a mkdocstrings directive, ``::: name``,
optionally followed by its indented ``options:`` block. A module counts as documented when
a directive names it, or when a directive on an enclosing package sets
``show_submodules: true`` (and does not set ``members: false``, which would hide them).
Private modules (``_d3``) and entry points (``__main__``) are not part of the API.
Docstrings cross-reference modules by name, so an undocumented module is also a broken
link in the strict build; this test says which page should list it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.docs.package_tree import ROOT, public_modules

yaml = pytest.importorskip("yaml")  # comes with mkdocs (the docs extra of setup.sh)

API = ROOT / "docs" / "api"
_DIRECTIVE = re.compile(r"^::: +(?P<name>[\w.]+) *\n(?P<options>(?:[ \t]+\S.*\n?)*)", re.M)


@dataclass(frozen=True)
class Directive:
    """One ``::: name`` of a page, with its options."""

    page: str
    name: str
    options: dict

    @property
    def covers_submodules(self) -> bool:
        return bool(self.options.get("show_submodules")) and self.options.get("members", True)


def directives(api: Path = API) -> list[Directive]:
    """Every mkdocstrings directive of the pages under ``api``."""
    found = []
    for page in sorted(api.glob("*.md")):
        for match in _DIRECTIVE.finditer(page.read_text(encoding="utf-8")):
            block = yaml.safe_load(match["options"]) if match["options"].strip() else None
            options = (block or {}).get("options") or {}
            found.append(Directive(page.name, match["name"], options))
    return found


def undocumented(modules: list[str], found: list[Directive]) -> list[str]:
    """The modules of ``modules`` that no directive of ``found`` documents."""
    named = {d.name for d in found}
    recursive = [d.name for d in found if d.covers_submodules]
    return [
        m
        for m in modules
        if m not in named and not any(m.startswith(f"{pkg}.") for pkg in recursive)
    ]


def suggested_page(module: str, found: list[Directive]) -> str:
    """Where to add ``module``: the page that documents its own submodules, else the page
    of its nearest enclosing package (the one named after it, else the one with the most
    of its modules)."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        pages = [d.page for d in found if d.name == prefix or d.name.startswith(f"{prefix}.")]
        if f"{parts[end - 1]}.md" in pages:  # the page named after the package
            return f"docs/api/{parts[end - 1]}.md"
        if pages:
            return f"docs/api/{max(sorted(set(pages)), key=pages.count)}"
    return "a new page under docs/api/ (and the mkdocs.yml nav)"


def test_the_scan_catches_an_undocumented_module(tmp_path):
    """The check can fail: a module without a directive is reported, one named by a
    directive or under a ``show_submodules`` package is not, ``members: false`` hides."""
    for name in ("pkg/__init__.py", "pkg/a.py", "pkg/sub/__init__.py", "pkg/sub/b.py",
                 "pkg/_private.py", "pkg/__main__.py", "pkg/hidden/__init__.py",
                 "pkg/hidden/c.py", "pkg/missing.py"):  # fmt: skip
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text('"""A module."""\n')
    api = tmp_path / "api"
    api.mkdir()
    (api / "pkg.md").write_text(
        "# pkg\n\n::: pkg\n    options:\n      members: false\n\n::: pkg.a\n\n"
        "::: pkg.sub\n    options:\n      show_submodules: true\n\n"
        "::: pkg.hidden\n    options:\n      members: false\n      show_submodules: true\n"
    )
    found = directives(api)
    assert [d.name for d in found] == ["pkg", "pkg.a", "pkg.sub", "pkg.hidden"]
    modules = public_modules(tmp_path, ("pkg",))
    assert "pkg._private" not in modules and "pkg.__main__" not in modules
    assert undocumented(modules, found) == ["pkg.hidden.c", "pkg.missing"]
    assert suggested_page("pkg.missing", found) == "docs/api/pkg.md"


def test_every_public_module_has_an_api_page():
    found = directives()
    missing = undocumented(public_modules(), found)
    assert not missing, "modules that no page under docs/api/ documents; add `::: <module>`:\n" + (
        "\n".join(f"  {m}  (to {suggested_page(m, found)})" for m in missing)
    )


def test_every_directive_names_a_module_or_object_of_the_packages():
    """A directive for a module that was moved or deleted is caught here with its page
    (the build would fail too, with a longer message)."""
    modules = set(public_modules())
    stale = [
        f"docs/api/{d.page}: ::: {d.name}"
        for d in directives()
        if d.name not in modules and d.name.rsplit(".", 1)[0] not in modules
    ]
    assert not stale, f"directives that name no module of the packages: {stale}"
