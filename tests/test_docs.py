"""The README, the CI script and the documentation site stay consistent (issue 6).

* CI runs the README's set-up command in a brand-new virtual environment, then exactly the
  README's test command, then the strict docs build.
* Every page under docs/ is in the site's navigation and every navigation entry exists.
* Every image that README.md or a page shows exists, and every figure in docs/figures is
  shown somewhere.
* Every subcommand of ``homogeneity`` is documented in docs/usage/cli.md and README.md.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from homogeneity.cli.delegate import DELEGATES

yaml = pytest.importorskip("yaml")  # comes with mkdocs (the docs extra of setup.sh)

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CI = ROOT / ".ci" / "run"
DOCS = ROOT / "docs"

SETUP_AND_MAIN = "bash scripts/setup.sh && .venv/bin/python -m proofs_numeric"
TESTS = ".venv/bin/python -m pytest"


def readme_two_commands() -> tuple[str, str]:
    """The first two indented or fenced command lines under the README's 'Two commands'."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^(?: {4}|\t)(\S.*)$", section, re.M)
    commands += re.findall(r"^```(?:bash|sh|console)?\n(.*?)\n```", section, re.M | re.S)
    lines = [c.strip() for block in commands for c in block.splitlines() if c.strip()]
    assert len(lines) >= 2, "the README's 'Two commands' section must show two commands"
    return lines[0], lines[1]


def ci_commands() -> list[str]:
    return [
        line.strip()
        for line in CI.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


# -- README and CI ---------------------------------------------------------------------


def test_readme_shows_the_two_commands():
    assert readme_two_commands() == (SETUP_AND_MAIN, TESTS)


def test_ci_runs_the_readme_commands_in_a_fresh_environment():
    setup_and_main, tests = readme_two_commands()
    setup = setup_and_main.split("&&")[0].strip()
    lines = ci_commands()
    assert "rm -rf .venv" in lines, "CI must start from a brand-new virtual environment"
    assert setup in lines and tests in lines
    assert lines.index("rm -rf .venv") < lines.index(setup) < lines.index(tests)


def test_ci_builds_the_docs_strictly_after_the_tests():
    lines = ci_commands()
    builds = [
        i
        for i, line in enumerate(lines)
        if "mkdocs build" in line and "--strict" in shlex.split(line)
    ]
    assert builds, "CI must run '.venv/bin/mkdocs build --strict'"
    assert builds[0] > lines.index(TESTS)


def test_setup_script_installs_what_the_docs_build_needs():
    setup = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'-e "\.\[(all|docs)[^"]*\]"', setup), "setup.sh must install the docs extra"
    for package in ("mkdocs==", "mkdocs-material==", "mkdocstrings==", "mkdocstrings-python=="):
        assert package in pyproject


# -- the site ----------------------------------------------------------------------------


def mkdocs_config() -> dict:
    # mkdocs.yml may use python tags (none today); the safe loader is enough for nav.
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))


def nav_pages(nav: object) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [p for item in nav for p in nav_pages(item)]
    if isinstance(nav, dict):
        return [p for value in nav.values() for p in nav_pages(value)]
    return []


def test_every_page_is_in_the_nav_and_every_nav_entry_exists():
    pages = nav_pages(mkdocs_config()["nav"])
    missing = [p for p in pages if not (DOCS / p).is_file()]
    assert not missing, f"mkdocs.yml lists pages that do not exist: {missing}"
    on_disk = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    omitted = [p for p in on_disk if p not in pages]
    assert not omitted, f"pages missing from the mkdocs.yml nav (add them): {omitted}"


def test_site_renders_math_and_api_offline():
    cfg = mkdocs_config()
    extensions = [e if isinstance(e, str) else next(iter(e)) for e in cfg["markdown_extensions"]]
    assert "pymdownx.arithmatex" in extensions
    plugins = [p if isinstance(p, str) else next(iter(p)) for p in cfg["plugins"]]
    assert "mkdocstrings" in plugins
    assert "social" not in plugins  # needs network/cairo at build time
    assert cfg["theme"]["name"] == "material"


_IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)")


def shown_images() -> dict[Path, list[str]]:
    shown: dict[Path, list[str]] = {}
    for page in [README, *DOCS.rglob("*.md")]:
        for target in _IMAGE.findall(page.read_text(encoding="utf-8")):
            if not target.startswith(("http://", "https://")):
                shown.setdefault((page.parent / target).resolve(), []).append(
                    str(page.relative_to(ROOT))
                )
    return shown


def test_every_image_shown_exists():
    missing = {str(p): pages for p, pages in shown_images().items() if not p.is_file()}
    assert not missing, f"images shown but missing: {missing}"


def test_every_figure_is_shown_somewhere():
    shown = set(shown_images())
    orphans = [
        str(p.relative_to(ROOT))
        for p in (DOCS / "figures").rglob("*.png")
        if p.resolve() not in shown
    ]
    assert not orphans, f"figures no page shows (delete or show them): {orphans}"


# -- the command line is documented --------------------------------------------------------


@pytest.mark.parametrize("document", ["docs/usage/cli.md", "README.md"])
def test_every_subcommand_is_documented(document):
    text = (ROOT / document).read_text(encoding="utf-8")
    for name in ["degree", *DELEGATES]:
        assert f"homogeneity {name}" in text, f"{document} does not mention 'homogeneity {name}'"
