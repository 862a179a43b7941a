"""The built documentation site, read as files (no browser needed).

The site is ``site/`` when ``.ci/run`` has just built it, otherwise a fresh strict build
into a temporary folder (see docs_site.py). A strict build already fails on a broken
cross-reference; these tests check what the build does not:

* no page loads a script, stylesheet, font, image or frame from another host, and no
  stylesheet imports one (the vendored MathJax and the theme with ``font: false``);
* no Sphinx role (``:class:`Ray```) is left as text: docs/hooks/sphinx_roles.py turned
  them into links, and every link inside the site reaches an existing page and anchor;
* every API signature is formatted to the ``line_length`` of mkdocs.yml;
* no page, docstrings included, cites a file the repository does not have.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tests.docs.docs_site import (
    ROOT,
    built_site,
    cited_paths,
    exists_in,
    page_paths,
    repository_files,
)

yaml = pytest.importorskip("yaml")

#: attributes that make a browser fetch something, by element
FETCHING = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),
    "image": ("href", "xlink:href"),
    "use": ("href", "xlink:href"),
}
_REMOTE = re.compile(r"^\s*(https?:)?//", re.I)
_CSS_REMOTE = re.compile(r"""(url\(\s*['"]?\s*(https?:)?//|@import\s+['"](https?:)?//)""", re.I)
ROLE_TEXT = re.compile(
    r":(?:py:)?(?:class|func|meth|attr|mod|data|exc|obj|const|type):(?:`|<code>)", re.I
)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return built_site(tmp_path_factory)


@pytest.fixture(scope="module")
def pages(site) -> dict[str, str]:
    return {p.relative_to(site).as_posix(): p.read_text(encoding="utf-8") for p in page_paths(site)}


class _Page(HTMLParser):
    """What one HTML page fetches, links to and defines, and its inline code."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fetches: list[tuple[str, str]] = []
        self.styles: list[str] = []
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.code: list[str] = []
        self._in_style = self._in_pre = 0
        self._code_depth = 0
        self._code_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        for attr in FETCHING.get(tag, ()):
            if attr in values and not (tag == "link" and values.get("rel") == "canonical"):
                self.fetches.append((tag, values[attr]))
        if "style" in values:
            self.styles.append(values["style"])
        if tag == "a" and "href" in values:
            self.links.append(values["href"])
        if "id" in values:
            self.ids.add(values["id"])
        if tag == "a" and "name" in values:
            self.ids.add(values["name"])
        self._in_style += tag == "style"
        self._in_pre += tag == "pre"
        if tag == "code" and not self._in_pre:
            self._code_depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in ("style", "pre", "code"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style -= 1
        elif tag == "pre":
            self._in_pre -= 1
        elif tag == "code" and self._code_depth:
            self._code_depth -= 1
            if not self._code_depth:
                self.code.append("".join(self._code_text))
                self._code_text = []

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)
        if self._code_depth:
            self._code_text.append(data)


def parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    return page


def remote_sources(text: str) -> list[str]:
    page = parse(text)
    found = [f"<{tag}> {url}" for tag, url in page.fetches if _REMOTE.match(url)]
    found += [f"style: {m.group(0)}" for style in page.styles for m in _CSS_REMOTE.finditer(style)]
    return found


def test_the_remote_source_scan_catches_a_cdn():
    cdn = '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>'
    fonts = "<style>@import 'https://fonts.googleapis.com/css?family=Roboto';</style>"
    protocol_relative = '<link rel="stylesheet" href="//example.org/x.css">'
    assert remote_sources(cdn) and remote_sources(fonts) and remote_sources(protocol_relative)
    assert not remote_sources('<script src="../javascripts/mathjax.js"></script>')
    assert not remote_sources('<a href="https://arxiv.org/abs/2010.09697">the paper</a>')


def test_no_page_loads_anything_from_another_host(site, pages):
    found = {name: remote_sources(text) for name, text in pages.items()}
    for sheet in site.rglob("*.css"):
        text = sheet.read_text(encoding="utf-8", errors="replace")
        found[sheet.relative_to(site).as_posix()] = [m.group(0) for m in _CSS_REMOTE.finditer(text)]
    found = {name: urls for name, urls in found.items() if urls}
    assert not found, f"pages that load from another host: {found}"


def test_no_sphinx_role_is_left_as_text(pages):
    assert ROLE_TEXT.search(":class:<code>Ray</code> and :func:`f`")  # the scan can fail
    left = {
        name: sorted(set(ROLE_TEXT.findall(html.unescape(text))))
        for name, text in pages.items()
        if ROLE_TEXT.search(html.unescape(text))
    }
    assert not left, f"raw Sphinx roles in the built pages: {left}"


def test_the_docstrings_roles_became_links(pages):
    """The source has roles (so the previous test checks something) and the API pages
    link to what they name."""
    sources = [*(ROOT / "homogeneity").rglob("*.py"), *(ROOT / "proofs_numeric").rglob("*.py")]
    roles = sum(len(ROLE_TEXT.findall(p.read_text(encoding="utf-8"))) for p in sources)
    assert roles > 0, "no docstring uses a Sphinx role: nothing to convert"
    api = "".join(text for name, text in pages.items() if name.startswith("api/"))
    # a converted role: a cross-reference whose text is code (annotations in signatures
    # are links too, but not code spans)
    links = re.findall(r'class="autorefs autorefs-internal"[^>]*><code>', api)
    assert links, "the API pages have no link made from a docstring role"


def test_every_link_inside_the_site_reaches_a_page_and_anchor(site, pages):
    parsed = {name: parse(text) for name, text in pages.items()}
    ids = {name: page.ids for name, page in parsed.items()}
    broken = []
    for name, page in parsed.items():
        for href in page.links:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or href.startswith(("mailto:", "javascript:")):
                continue
            if not parts.path:
                target = site / name
            elif parts.path.startswith("/"):  # the 404 page links from the site's root
                target = site / unquote(parts.path).lstrip("/")
            else:
                target = (site / name).parent / unquote(parts.path)
            if target.is_dir() or parts.path.endswith("/"):
                target = target / "index.html"
            try:
                key = target.resolve().relative_to(site.resolve()).as_posix()
            except ValueError:
                broken.append(f"{name}: {href} leaves the site")
                continue
            if not target.exists():
                broken.append(f"{name}: {href} (no such file)")
            elif parts.fragment and key in ids and unquote(parts.fragment) not in ids[key]:
                broken.append(f"{name}: {href} (no such anchor)")
    assert not broken, "links that go nowhere:\n" + "\n".join(broken[:40])


def test_signatures_are_formatted_to_the_line_length(pages):
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    width = int(re.search(r"^\s*line_length:\s*(\d+)", config, re.M).group(1))
    signatures = []
    for name, text in pages.items():
        for block in re.findall(
            r'<div class="doc-signature highlight"><pre>(.*?)</pre>', text, re.S
        ):
            signatures.append((name, html.unescape(re.sub(r"<[^>]+>", "", block))))
    callables = [(n, s) for n, s in signatures if re.match(r"^\s*[\w.]+\(", s)]
    assert callables, "no API signature found: the test would check nothing"
    split = [s for _, s in callables if "\n" in s.strip()]
    assert split, "no signature was split over lines: is ruff (the dev extra) installed?"
    too_long = [
        f"{n}: {line}"
        for n, s in callables
        for line in s.splitlines()
        if len(line) > width and not re.search(r"""["']""", line)  # a long string literal
    ]
    assert not too_long, f"signature lines over {width} characters:\n" + "\n".join(too_long[:20])


def test_no_page_cites_a_file_the_repository_does_not_have(pages):
    """Inline code on every page, docstrings included (the Markdown sources are checked
    by test_docs.py)."""
    files = repository_files()
    missing = set()
    for name, text in pages.items():
        for code in parse(text).code:
            for token in cited_paths(code):
                if not exists_in(token, files, ["", "docs"]):
                    missing.add(f"{name}: {token}")
    assert not missing, "cited files that the repository does not have:\n" + "\n".join(
        sorted(missing)
    )
