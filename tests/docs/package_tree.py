"""The modules of the two packages, as files on disk: what the API pages and the module
map of CONTRIBUTING.md must cover (tests/docs/test_docs_api.py, tests/docs/test_contributing.py)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("homogeneity", "proofs_numeric")


def module_files(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> list[Path]:
    """Every ``.py`` file of ``packages`` under ``root``, relative to ``root``, sorted."""
    return sorted(
        path.relative_to(root)
        for package in packages
        for path in (root / package).rglob("*.py")
        if "__pycache__" not in path.parts
    )


def module_name(path: Path) -> str:
    """``a/b/__init__.py`` → ``a.b``; ``a/b/c.py`` → ``a.b.c``."""
    parts = list(path.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_public(name: str) -> bool:
    """No part of the dotted name is private (``_d3``) or an entry point (``__main__``)."""
    return not any(part.startswith("_") for part in name.split("."))


def public_modules(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> list[str]:
    """The dotted names of the public modules and packages of ``packages``, sorted."""
    names = (module_name(path) for path in module_files(root, packages))
    return sorted(name for name in names if is_public(name))
