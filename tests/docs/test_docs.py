"""The README, the CI script and the documentation sources stay consistent.

* CI runs the README's set-up command in a brand-new virtual environment, installs
  Chromium, builds the docs strictly, then runs exactly the README's test command (whose
  browser test reads the site just built).
* Every page under docs/ is in the site's navigation and every navigation entry exists.
* Every image that README.md or a page shows exists, and every figure in docs/figures is
  shown somewhere; every file the README or a page cites exists in the repository.
* docs/SPEC.md is the project's specification, verbatim below its attribution note.
* The site loads nothing from another host: MathJax is vendored, with its licence.
* Sphinx roles in docstrings become cross-references (docs/hooks/sphinx_roles.py).
* Every subcommand of ``homogeneity`` is documented in docs/usage/cli.md and README.md.

The tests of the built site are in test_docs_site.py and test_docs_browser.py.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import re
import shlex
import sys
from pathlib import Path

import pytest

from homogeneity.cli.delegate import DELEGATES
from tests.docs.docs_site import cited_paths, exists_in, repository_files

yaml = pytest.importorskip("yaml")  # comes with mkdocs (the docs extra of setup.sh)

ROOT = Path(__file__).resolve().parents[2]
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


def test_ci_builds_the_docs_strictly_before_the_tests_and_requires_the_browser():
    """The browser test reads the site CI has just built, so the build comes first; CI
    installs Debian's Chromium and makes a missing browser a failure, not a skip."""
    lines = ci_commands()
    builds = [
        i
        for i, line in enumerate(lines)
        if "mkdocs build" in line and "--strict" in shlex.split(line)
    ]
    assert builds, "CI must run '.venv/bin/mkdocs build --strict'"
    assert builds[0] < lines.index(TESTS)
    installs = [i for i, line in enumerate(lines) if "apt-get install -y chromium" in line]
    assert installs and installs[0] < lines.index(TESTS), "CI must install chromium first"
    assert "export DOCS_BROWSER_REQUIRED=1" in lines[: lines.index(TESTS)]


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


VENDOR = DOCS / "javascripts" / "vendor" / "mathjax"


def test_every_script_and_stylesheet_is_a_vendored_file():
    """No CDN: each extra script and stylesheet is a file under docs/, so a page reads
    the same with no network (the browser test checks that the formulas render)."""
    cfg = mkdocs_config()
    assets = [*cfg.get("extra_javascript", []), *cfg.get("extra_css", [])]
    assets = [a if isinstance(a, str) else a["path"] for a in assets]
    remote = [a for a in assets if re.match(r"^(https?:)?//", a)]
    assert not remote, f"mkdocs.yml loads from another host: {remote}"
    missing = [a for a in assets if not (DOCS / a).is_file()]
    assert not missing, f"mkdocs.yml names assets that are not in docs/: {missing}"
    assert cfg["theme"].get("font") is False, "theme fonts would come from Google Fonts"


def test_mathjax_is_the_recorded_release_with_its_licence():
    notes = (VENDOR / "VENDORED.txt").read_text(encoding="utf-8")
    recorded = re.search(r"sha256 of tex-svg-full\.js: ([0-9a-f]{64})", notes)
    assert recorded, "VENDORED.txt must record the sha256 of tex-svg-full.js"
    digest = hashlib.sha256((VENDOR / "tex-svg-full.js").read_bytes()).hexdigest()
    assert digest == recorded.group(1), "tex-svg-full.js differs from the recorded release"
    assert "Apache License" in (VENDOR / "LICENSE").read_text(encoding="utf-8")
    assert "javascripts/vendor/mathjax/tex-svg-full.js" in mkdocs_config()["extra_javascript"]


# -- the specification page ------------------------------------------------------------------

SPEC_PAGE = DOCS / "SPEC.md"
SHARED_SPEC = ROOT.parent / "shared" / "SPEC.md"
_VERBATIM = "<!-- Everything below this line is SPEC.md verbatim"


def spec_page_body() -> str:
    """docs/SPEC.md without its attribution note: what must equal the shared SPEC.md."""
    text = SPEC_PAGE.read_text(encoding="utf-8")
    title, rest = text.split("\n", 1)
    assert _VERBATIM in rest, "docs/SPEC.md must mark where the verbatim copy starts"
    note, body = rest.split(_VERBATIM, 1)
    assert "SPEC.md" in note and "claims" in note, "the note must say what the page is"
    return title + "\n" + body.split("-->\n", 1)[1]


def test_spec_page_is_the_shared_specification():
    if not SHARED_SPEC.is_file():
        pytest.skip(
            f"{SHARED_SPEC} is not here (a clone of the repository alone): nothing to compare"
        )
    assert spec_page_body() == SHARED_SPEC.read_text(encoding="utf-8"), (
        "docs/SPEC.md differs from the shared SPEC.md: copy it again below the note"
    )


def test_spec_page_defines_the_ids_the_pages_cite():
    """'SPEC D16', 'SPEC E3' in README and pages name an id docs/SPEC.md defines."""
    body = spec_page_body()
    defined = set(re.findall(r"^- \*\*([A-Z]+\d*)", body, re.M))
    cited = set()
    for page in [README, *DOCS.rglob("*.md")]:
        cited |= set(re.findall(r"\bSPEC ([A-Z]+\d+)\b", page.read_text(encoding="utf-8")))
    assert cited, "the pages cite no SPEC id: this test would check nothing"
    assert not cited - defined, f"cited ids docs/SPEC.md does not define: {sorted(cited - defined)}"


# -- files the pages cite --------------------------------------------------------------------

_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.M | re.S)
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def citations(page: Path) -> list[str]:
    """What ``page`` names as a file: code spans, commands in shell blocks, link targets."""
    text = page.read_text(encoding="utf-8")
    commands = [m.group(2) for m in _FENCE.finditer(text) if m.group(1) in ("", "bash", "sh")]
    prose = _FENCE.sub("", text)
    chunks = [*commands, *re.findall(r"`([^`\n]+)`", prose)]
    return [token for chunk in chunks for token in cited_paths(chunk)]


def test_the_citation_scan_catches_a_missing_file():
    files = {"docs/index.md", "docs/SPEC.md", "benchmarks/bench_euler.py", "proofs_numeric/x.py"}
    assert cited_paths("see `SPEC.md` and benchmarks/bench_*.py, not runs/out.json") == [
        "SPEC.md",
        "benchmarks/bench_*.py",
    ]
    assert exists_in("SPEC.md", files, [""])
    assert exists_in("benchmarks/bench_*.py", files, [""])
    assert exists_in("proofs_numeric/", files, [""])
    assert not exists_in("DEVELOPERS.md", files, [""])
    assert not exists_in("tests/test_missing.py", files, [""])


def test_every_file_the_readme_and_pages_cite_exists():
    files = repository_files()
    missing = []
    for page in [README, *DOCS.rglob("*.md")]:
        folder = page.parent.relative_to(ROOT).as_posix()
        bases = ["", "" if folder == "." else folder, "docs"]
        missing += [
            f"{page.relative_to(ROOT)}: {token}"
            for token in citations(page)
            if not exists_in(token, files, bases)
        ]
        for target in _LINK.findall(_FENCE.sub("", page.read_text(encoding="utf-8"))):
            target = target.split("#", 1)[0]
            if target and not re.match(r"^[a-z]+:", target):
                if not (page.parent / target).exists():
                    missing.append(f"{page.relative_to(ROOT)}: link to {target}")
    assert not missing, "cited files that the repository does not have:\n" + "\n".join(missing)


# -- Sphinx roles in docstrings ----------------------------------------------------------------


def load_sphinx_roles():
    path = DOCS / "hooks" / "sphinx_roles.py"
    spec = importlib.util.spec_from_file_location("sphinx_roles", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("sphinx_roles", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return sys.modules["sphinx_roles"]


def test_sphinx_roles_become_cross_references(tmp_path, caplog):
    """Every form of role, resolved as Python would from the docstring's object; a role
    naming nothing is reported (the strict build fails on it), never silently dropped."""
    griffe = pytest.importorskip("griffe")
    roles = load_sphinx_roles()
    (tmp_path / "pkg").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "__init__.py").write_text('def helper():\n    """Help."""\n')
    (tmp_path / "pkg" / "__init__.py").write_text(
        '"""See :mod:`pkg.core` and :func:`other.helper`."""\nfrom pkg.core import Ray as Ray\n'
    )
    (tmp_path / "pkg" / "core.py").write_text(
        "import torch\n"
        "from other import helper\n\n"
        "class Ray:\n"
        '    """A :class:`Ray`; see :meth:`at`, :func:`~pkg.core.step`, :func:`helper`,\n'
        "    :func:`torch.func.functional_call`, :class:`!Ray`, :func:`the step <step>`,\n"
        "    :class:`Nowhere` and :func:`_hidden`; a role may wrap: :func:`the\n"
        "    step <pkg.core.step>`, and after a dot: :func:`~pkg.core.\n"
        "    step` and :func:`pkg.\n    core.step`.\n\n"
        "    ```text\n    :class:`Ray` inside a code block stays\n    ```\n"
        '    """\n\n'
        "    def at(self):\n"
        '        """The :class:`Ray` again."""\n\n'
        "    def random(self):\n"
        '        """Seeded by :class:`random.Random`, another library\'s class."""\n\n'
        "def step():\n"
        '    """Step."""\n\n'
        "def _hidden():\n"
        '    """Hidden."""\n'
    )
    loader = griffe.GriffeLoader(
        extensions=griffe.load_extensions(roles.SphinxRoles(packages=["pkg", "other"])),
        search_paths=[str(tmp_path)],
    )
    with caplog.at_level(logging.WARNING, logger=roles.LOGGER.name):
        loader.load("pkg")
    ray = loader.modules_collection["pkg.core.Ray"].docstring.value
    assert "[`Ray`][pkg.core.Ray]" in ray
    assert "[`at`][pkg.core.Ray.at]" in ray
    assert "[`step`][pkg.core.step]" in ray
    assert "[`helper`][other.helper]" in ray  # an import, followed to its definition
    assert "[`the step`][pkg.core.step]" in ray
    assert "wrap: [`the step`][pkg.core.step], and" in ray
    assert "dot: [`step`][pkg.core.step] and [`pkg.core.step`][pkg.core.step]." in ray
    assert "`torch.func.functional_call`" in ray and "[`torch" not in ray  # not ours: code
    assert " `Ray`, " in ray  # the ! form: code, no link
    assert "`_hidden`" in ray and "][pkg.core._hidden]" not in ray  # private: never linked
    assert ":class:`Ray` inside a code block stays" in ray
    assert ":class:" not in ray.split("```")[0] and ":func:" not in ray.split("```")[0]
    assert "[`Ray`][pkg.core.Ray]" in loader.modules_collection["pkg.core.Ray.at"].docstring.value
    seeded = loader.modules_collection["pkg.core.Ray.random"].docstring.value
    assert "`random.Random`" in seeded and "[`random" not in seeded  # not ours: code
    package = loader.modules_collection["pkg"].docstring.value
    assert package == "See [`pkg.core`][pkg.core] and [`other.helper`][other.helper]."
    problems = [r.getMessage() for r in caplog.records]
    assert len(problems) == 1 and ":class:`Nowhere`" in problems[0], problems


def test_mkdocstrings_loads_the_roles_extension():
    handler = mkdocs_config()["plugins"][1]["mkdocstrings"]["handlers"]["python"]
    extensions = handler["options"]["extensions"]
    names = [e if isinstance(e, str) else next(iter(e)) for e in extensions]
    assert "docs/hooks/sphinx_roles.py:SphinxRoles" in names
    assert (ROOT / "docs" / "hooks" / "sphinx_roles.py").is_file()


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
