"""The documentation read in a real browser with no network: headless Chromium.

The site (``site/`` as ``.ci/run`` builds it just before the tests, or a fresh strict
build into a temporary folder when ``site/`` is missing or older than its sources) is
served on 127.0.0.1, and Chromium loads it with every host name resolving to nothing, so
a page that needed a CDN would show its formulas as raw TeX here.

* Formulas render: on the home, concepts, claims and one experiment page, every formula
  of the built page became a MathJax element (``mjx-container``), no raw ``\\(`` or ``\\[``
  is left in the text, MathJax reported no TeX error, and every file the page asked for
  was served (no 404). The claims page has no formulas today (its statements are
  Unicode); the test still checks that any it gets render. The same checks run on the
  static HTML as a control and must fail there (nothing is rendered before MathJax).
* Wide content fits: at a desktop and a phone width the page never scrolls sideways,
  no table, code block, signature or display formula is cut off, no formula is drawn
  smaller than MathJax made it, and the page fetched nothing from another origin; a
  control page that is too wide, cuts a block off and squeezes a formula must be caught. The
  default run measures the pages with the widest content; ``-m slow`` measures them all.

Without Chromium the tests are skipped with a message saying how to get it
(``apt-get install chromium``); ``.ci/run`` installs it and sets DOCS_BROWSER_REQUIRED
so that there a missing browser fails. Cost: one Chromium start per page, a few seconds
each (the README gives the measured total).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.docs.docs_site import SiteServer, built_site, chromium, dump_dom, page_paths

HERE = Path(__file__).resolve().parent
#: page -> whether it must contain formulas (the experiment page: E2, norm growth)
MATH_PAGES = {"": True, "concepts/": True, "claims/": False, "experiments/e2_norm_growth/": True}
#: the widest content (the claims table, the degree table's output, API signatures and
#: tables) and the pages with inline formulas near the right edge on a phone
LAYOUT_PAGES = [
    "claims/",
    "dynamics/",
    "experiments/degree_table/",
    "experiments/e8_weight_decay/",
    "api/homogeneity/",
    "api/cli/",
]
WIDTHS = (1280, 390)  # a desktop window and a phone held upright, in CSS pixels


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    chromium()  # skip (or fail under CI) before building anything
    return built_site(tmp_path_factory)


# -- what a DOM says about its formulas -----------------------------------------------------

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}
_VOID |= {"track", "wbr"}
_RAW_TEXT = {"script", "style", "code", "pre", "textarea", "template"}
_TEX_DELIMITER = re.compile(r"\\[\(\)\[\]]")


@dataclass
class MathReport:
    formulas: int = 0  # elements arithmatex marked as a formula
    rendered: int = 0  # of those, how many hold a MathJax element
    raw_tex: list[str] = field(default_factory=list)  # TeX left as text
    errors: int = 0  # MathJax error nodes (a TeX command it could not typeset)


class _MathScanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.report = MathReport()
        self.stack: list[tuple[str, bool]] = []  # (tag, is a formula)
        self.formula_has_jax: list[bool] = []

    def _inside(self, tags: set[str]) -> bool:
        return any(tag in tags for tag, _ in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("data-mjx-error") is not None or values.get("data-mml-node") == "merror":
            self.report.errors += 1
        if tag == "mjx-container" and self.formula_has_jax:
            self.formula_has_jax[-1] = True
        if tag in _VOID:
            return
        is_formula = "arithmatex" in (values.get("class") or "").split()
        if is_formula:
            self.report.formulas += 1
            self.formula_has_jax.append(False)
        self.stack.append((tag, is_formula))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("data-mjx-error") is not None or values.get("data-mml-node") == "merror":
            self.report.errors += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        while self.stack:
            open_tag, is_formula = self.stack.pop()
            if is_formula:
                self.report.rendered += self.formula_has_jax.pop()
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._inside(_RAW_TEXT) or self._inside({"mjx-container"}):
            return
        in_formula = any(is_formula for _, is_formula in self.stack)
        if (in_formula and data.strip()) or _TEX_DELIMITER.search(data):
            self.report.raw_tex.append(data.strip()[:80])


def math_report(dom: str) -> MathReport:
    scanner = _MathScanner()
    scanner.feed(dom)
    scanner.close()
    return scanner.report


def test_the_math_scan_tells_rendered_from_raw():
    raw = '<p>a <span class="arithmatex">\\(x^2\\)</span> b</p><pre>\\(kept\\)</pre>'
    done = '<p>a <span class="arithmatex"><mjx-container><svg></svg></mjx-container></span></p>'
    broken = '<span class="arithmatex"><mjx-container><g data-mjx-error="x"></g></mjx-container>'
    assert math_report(raw) == MathReport(formulas=1, rendered=0, raw_tex=["\\(x^2\\)"])
    assert math_report(done) == MathReport(formulas=1, rendered=1)
    assert math_report(broken + "</span>").errors == 1


@pytest.mark.parametrize("page", list(MATH_PAGES), ids=lambda p: p or "home")
def test_formulas_render_without_network(site, tmp_path, page):
    static = math_report((site / page / "index.html").read_text(encoding="utf-8"))
    if MATH_PAGES[page]:
        assert static.formulas > 0, f"/{page} has no formulas: the test would check nothing"
        # the control: before MathJax runs, every formula is raw TeX
        assert static.rendered == 0 and static.raw_tex
    server = SiteServer(site)
    with server.running():
        dom = dump_dom(server.url("/" + page), tmp_path / "profile")
    rendered = math_report(dom)
    assert not server.missing, f"/{page} asked for files the site does not have: {server.missing}"
    assert rendered.formulas == static.formulas, "the page lost or gained formulas"
    assert rendered.rendered == rendered.formulas, (
        f"/{page}: only {rendered.rendered} of {rendered.formulas} formulas rendered"
    )
    assert not rendered.raw_tex, f"/{page}: raw TeX left in the page: {rendered.raw_tex[:5]}"
    assert rendered.errors == 0, f"/{page}: MathJax could not typeset {rendered.errors} formulas"
    if rendered.formulas:
        assert any("vendor/mathjax/tex-svg-full.js" in path for path, _ in server.requests)


# -- wide content fits the page ----------------------------------------------------------------

CONTROL = b"""<!doctype html><html><body>
<div style="width: 3000px">a page wider than any screen</div>
<div style="width: 200px; overflow: hidden"><pre class="control" style="overflow: hidden">
a line of code far longer than its box, cut off where the box ends and not scrollable
</pre></div>
<div style="width: 40px"><mjx-container><svg width="400" height="20" style="max-width: 100%">
</svg></mjx-container></div>
</body></html>"""


def run_probe(site: Path, tmp_path: Path, targets: list[tuple[str, int]]) -> list[dict]:
    server = SiteServer(site)
    with server.running():
        probe = (
            "<!doctype html><html><head><title>probe</title></head><body>"
            '<pre id="report">[]</pre><script id="targets" type="application/json">'
            + json.dumps([{"url": url, "width": width} for url, width in targets])
            + '</script><script src="/__probe/probe.js"></script></body></html>'
        )
        server.pages["/__probe/index.html"] = ("text/html", probe.encode())
        server.pages["/__probe/probe.js"] = (
            "text/javascript",
            (HERE / "docs_layout_probe.js").read_bytes(),
        )
        server.pages["/__probe/control.html"] = ("text/html", CONTROL)
        dom = dump_dom(
            server.url("/__probe/index.html"),
            tmp_path / "profile",
            budget_ms=120_000,
            timeout_s=300,
        )
    assert "<title>probe done</title>" in dom, "the layout probe did not finish"
    report = re.search(r'<pre id="report">(.*?)</pre>', dom, re.S)
    assert report, "the probe page wrote no report"
    return json.loads(html.unescape(report.group(1)))


def layout_problems(measured: list[dict]) -> list[str]:
    problems = []
    for m in measured:
        where = f"{m['url']} at {m['width']} px"
        if m["overflow"] > 1:
            problems.append(f"{where}: the page scrolls sideways by {m['overflow']} px")
        problems += [f"{where}: cut off: {c}" for c in m["clipped"]]
        problems += [f"{where}: formula squeezed: {f}" for f in m["shrunk"]]
        problems += [f"{where}: fetched from another origin: {f}" for f in m["foreign"]]
    return problems


def check_layout(site: Path, tmp_path: Path, pages: list[str]) -> None:
    targets = [("/__probe/control.html", 800)]
    targets += [("/" + page, width) for page in pages for width in WIDTHS]
    control, *measured = run_probe(site, tmp_path, targets)
    # the control must be caught, or the measurements could not fail
    assert control["overflow"] > 1000 and control["clipped"] and control["shrunk"], control
    assert len(measured) == len(pages) * len(WIDTHS)
    problems = layout_problems(measured)
    assert not problems, "\n".join(problems)


def test_wide_content_fits_the_page(site, tmp_path):
    check_layout(site, tmp_path, LAYOUT_PAGES)


@pytest.mark.slow
def test_every_page_fits(site, tmp_path):
    """The same on every page of the site (about a second a page): -m slow."""
    pages = sorted({str(p.parent.relative_to(site)) for p in page_paths(site)})
    check_layout(site, tmp_path, ["" if p == "." else p + "/" for p in pages])
