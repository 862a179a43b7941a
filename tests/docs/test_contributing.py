"""CONTRIBUTING.md's module map matches the tree, and the guide has the sections it
promises (the primitives inventory, how to add a claim, a component, an experiment, a
degree rule, the test folders, every one of them listed), pointing at files that exist.

The map lists every package (``homogeneity/cli/``) and module (``homogeneity/cli/app.py``)
of homogeneity/ and proofs_numeric/ as ``- `path`: what it is for``, one line each.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.docs.package_tree import PACKAGES, ROOT, module_files

CONTRIBUTING = ROOT / "CONTRIBUTING.md"
_ENTRY = re.compile(r"^- `(?P<path>[^`]+)`: (?P<job>\S.*)$", re.M)


def tree_entries(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> set[str]:
    """What the map must list: ``pkg/sub/`` for a package, ``pkg/sub/mod.py`` otherwise."""
    return {
        f"{path.parent.as_posix()}/" if path.name == "__init__.py" else path.as_posix()
        for path in module_files(root, packages)
    }


def section(text: str, heading: str) -> str:
    """The body of the guide's ``## heading`` section, up to the next ``## `` heading."""
    assert f"\n## {heading}\n" in text, f"CONTRIBUTING.md has no '## {heading}' section"
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def map_section(text: str) -> str:
    return section(text, "Module map")


def map_entries(text: str) -> dict[str, str]:
    """The map's entries: path → job (a duplicate path is an error)."""
    entries: dict[str, str] = {}
    for match in _ENTRY.finditer(map_section(text)):
        assert match["path"] not in entries, f"the module map lists {match['path']} twice"
        entries[match["path"]] = match["job"]
    return entries


def map_mismatch(text: str, tree: set[str]) -> tuple[list[str], list[str]]:
    """(modules the map lacks, map entries the tree lacks)."""
    listed = set(map_entries(text))
    return sorted(tree - listed), sorted(listed - tree)


def test_the_map_check_catches_a_missing_and_a_stale_entry(tmp_path):
    for name in ("pkg/__init__.py", "pkg/a.py", "pkg/sub/__init__.py", "pkg/sub/b.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text('"""A module."""\n')
    tree = tree_entries(tmp_path, ("pkg",))
    assert tree == {"pkg/", "pkg/a.py", "pkg/sub/", "pkg/sub/b.py"}
    text = (
        "# Guide\n\n## Module map\n\n- `pkg/`: the package.\n- `pkg/a.py`: does a.\n"
        "- `pkg/sub/`: a subpackage.\n- `pkg/gone.py`: was removed.\n\n## Next\n\n"
        "- `pkg/sub/b.py`: listed outside the map, so it does not count.\n"
    )
    assert map_mismatch(text, tree) == (["pkg/sub/b.py"], ["pkg/gone.py"])


def test_the_module_map_matches_the_tree():
    missing, stale = map_mismatch(CONTRIBUTING.read_text(encoding="utf-8"), tree_entries())
    assert not missing, f"modules missing from CONTRIBUTING.md's module map: {missing}"
    assert not stale, f"CONTRIBUTING.md's module map lists what does not exist: {stale}"


def test_every_map_entry_says_what_the_module_is_for():
    short = {
        path: job
        for path, job in map_entries(CONTRIBUTING.read_text(encoding="utf-8")).items()
        if len(job) < 20
    }
    assert not short, f"module map entries without a real description: {short}"


def test_the_guide_has_its_sections_and_its_files_exist():
    text = CONTRIBUTING.read_text(encoding="utf-8")
    for heading in (
        "## The primitives and where each lives",
        "## How to add a claim",
        "## How to add a component",
        "## How to add an experiment",
        "## How to add a degree rule",
        "## The tests",
    ):
        assert f"\n{heading}\n" in text, f"CONTRIBUTING.md lacks the section {heading!r}"
    listed = set(re.findall(r"^- `(tests/\w+/)`: ", section(text, "The tests"), re.M))
    folders = {f"tests/{p.parent.name}/" for p in (ROOT / "tests").glob("*/__init__.py")}
    assert listed == folders, (
        f"CONTRIBUTING.md's list of test folders: missing {sorted(folders - listed)}, "
        f"stale {sorted(listed - folders)}"
    )
    outside_map = text.replace(map_section(text), "")
    cited = set(re.findall(r"`((?:homogeneity|proofs_numeric|tests|docs)/[\w./]+\.(?:py|md))`",
                           outside_map))  # fmt: skip
    assert "proofs_numeric/precision/inventory.py" in cited
    missing = sorted(p for p in cited if not (ROOT / p).exists())
    assert not missing, f"CONTRIBUTING.md cites files that do not exist: {missing}"
