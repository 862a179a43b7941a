"""The built documentation site, for the tests that read it or load it in a browser.

* :func:`built_site` gives a strictly built site: ``site/`` when it is newer than every
  source of the site (``.ci/run`` builds it just before the tests), otherwise a fresh
  ``mkdocs build --strict`` into a temporary folder, once per test session (6 s on
  an idle 2-core machine).
* :class:`SiteServer` serves a site on 127.0.0.1 and records every request it answered,
  so a test can tell what a page loaded and whether anything was missing.
* :func:`chromium` finds Debian's headless Chromium; :func:`dump_dom` loads one address
  with name resolution disabled (only 127.0.0.1 is reachable), a fresh profile and no
  background networking, and returns the DOM after the page's scripts ran.
"""

from __future__ import annotations

import http.server
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "site"
#: what the site is built from: a change to any of these makes ``site/`` stale
SOURCES = ("mkdocs.yml", "docs", "homogeneity", "proofs_numeric")
#: set by .ci/run: a missing Chromium then fails the browser tests instead of skipping them
REQUIRE_BROWSER = "DOCS_BROWSER_REQUIRED"
HOW_TO_GET_CHROMIUM = (
    "headless Chromium is not installed: install Debian's package with "
    "'apt-get install chromium' (as root), then rerun; .ci/run installs it"
)


def newest_source_mtime() -> float:
    newest = 0.0
    for name in SOURCES:
        path = ROOT / name
        files = [path] if path.is_file() else path.rglob("*")
        for file in files:
            if file.is_file() and "__pycache__" not in file.parts:
                newest = max(newest, file.stat().st_mtime)
    return newest


def site_is_fresh(site: Path) -> bool:
    """``site`` was built after the last change to any of its sources."""
    index = site / "index.html"
    return index.is_file() and index.stat().st_mtime >= newest_source_mtime()


def build_site(destination: Path) -> Path:
    """``mkdocs build --strict`` into ``destination``; the test fails with the log if the
    build does (a broken cross-reference, a page missing from the nav, any warning)."""
    pytest.importorskip("mkdocs", reason="the docs extra is not installed (scripts/setup.sh)")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(destination)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed:\n{done.stderr[-6000:]}")
    return destination


#: sites built in this test session, by the newest source time they were built from, so
#: that the test modules that need a build share one
_BUILT: dict[float, Path] = {}


def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if site_is_fresh(SITE):
        return SITE
    newest = newest_source_mtime()
    if newest not in _BUILT or not (_BUILT[newest] / "index.html").is_file():
        _BUILT[newest] = build_site(tmp_path_factory.mktemp("docs") / "site")
    return _BUILT[newest]


def page_paths(site: Path) -> list[Path]:
    """Every HTML page of ``site`` (the theme's assets excluded)."""
    return sorted(p for p in site.rglob("*.html") if "assets" not in p.relative_to(site).parts)


@dataclass
class SiteServer:
    """An HTTP server on 127.0.0.1 for ``site``, with extra in-memory ``pages``."""

    site: Path
    pages: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    requests: list[tuple[str, int]] = field(default_factory=list)
    port: int = 0

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def missing(self) -> list[str]:
        return [path for path, status in self.requests if status >= 400]

    @contextmanager
    def running(self) -> Iterator[SiteServer]:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join()

    def _handler(self) -> Callable[..., http.server.BaseHTTPRequestHandler]:
        owner = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs) -> None:
                super().__init__(*args, directory=str(owner.site), **kwargs)

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path in owner.pages:
                    kind, body = owner.pages[path]
                    self.send_response(200)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                super().do_GET()

            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                status = int(code) if str(code).isdigit() else 0
                owner.requests.append((self.path, status))

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep the test output clean; requests are recorded above

        return Handler


def chromium() -> str:
    """The headless Chromium to use; skips the test (or fails it under .ci/run) if none."""
    found = (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if found:
        return found
    if os.environ.get(REQUIRE_BROWSER):
        pytest.fail(f"{REQUIRE_BROWSER} is set but {HOW_TO_GET_CHROMIUM}")
    pytest.skip(HOW_TO_GET_CHROMIUM)


def chromium_flags(profile: Path, budget_ms: int) -> list[str]:
    """Headless, no sandbox (CI runs as root), nothing from the network: every host name
    resolves to nothing except the local server's 127.0.0.1, and Chromium's own
    background requests (updates, sync, first-run pages) are off."""
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-default-apps",
        "--no-first-run",
        "--no-default-browser-check",
        f"--user-data-dir={profile}",
        f"--virtual-time-budget={budget_ms}",
    ]


def dump_dom(
    url: str, profile: Path, *, budget_ms: int = 20_000, timeout_s: float = 180.0, extra=()
) -> str:
    """The DOM of ``url`` after its scripts ran for ``budget_ms`` of virtual time."""
    command = [chromium(), *chromium_flags(profile, budget_ms), *extra, "--dump-dom", url]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, so a hang can be ended whole
    )
    try:
        out, err = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"Chromium did not finish {url} within {timeout_s:.0f} s")
    if process.returncode != 0 or not out.strip():
        pytest.fail(f"Chromium failed on {url} (exit {process.returncode}):\n{err[-3000:]}")
    return out


# -- files the documentation cites ---------------------------------------------------------

#: the repository's top-level folders: a path starting with one of them names a file of ours
REPO_FOLDERS = (
    "homogeneity/",
    "proofs_numeric/",
    "tests/",
    "benchmarks/",
    "docs/",
    "scripts/",
    ".ci/",
)
#: made by the set-up, a build or a run, never committed
GENERATED = (".venv/", "site/", "runs/", ".hypothesis/", ".benchmarks/")
#: a bare name with one of these endings names a file that must be somewhere in the repository
SOURCE_SUFFIXES = (".md", ".py", ".sh", ".toml", ".yml", ".yaml", ".cfg", ".js", ".css")
_TOKEN_SPLIT = re.compile(r"[\s,;()'\"=`]+")
_SKIP_PARTS = {".git", ".venv", "site", "__pycache__", "node_modules"}


def repository_files(root: Path = ROOT) -> set[str]:
    """Every file of the working tree (relative paths), build outputs excluded."""
    files = set()
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if path.is_file() and not (_SKIP_PARTS & set(rel.parts)):
            files.add(rel.as_posix())
    return files


def cited_paths(text: str) -> list[str]:
    """The tokens of ``text`` (code spans, commands, link targets) that name a file."""
    cited = []
    for token in _TOKEN_SPLIT.split(text):
        # a pytest node id (tests/test_x.py::test_y) cites its file
        token = token.rstrip(".:").split("#", 1)[0].split("::", 1)[0]
        if not token or "://" in token or token.startswith(GENERATED):
            continue
        if token.startswith(REPO_FOLDERS) or (
            "/" not in token and token.endswith(SOURCE_SUFFIXES) and not token.startswith(".")
        ):
            cited.append(token)
    return cited


def exists_in(token: str, files: set[str], bases: list[str]) -> bool:
    """Whether ``token`` names a file or folder of ``files``: a path is looked up from
    each of ``bases``, with ``*`` as a wildcard and ``<placeholder>`` standing for any
    name; a bare file name may be anywhere."""
    if "/" not in token.rstrip("/"):
        name = token.rstrip("/")
        return any(f == name or f.endswith("/" + name) or f.startswith(name + "/") for f in files)
    pattern = re.escape(token.rstrip("/"))
    pattern = pattern.replace(r"\*", "[^/]*")
    pattern = re.sub(r"<[^>/]*>|\\<[^/]*?\\>", "[^/]+", pattern)
    for base in bases:
        prefix = (base.rstrip("/") + "/") if base else ""
        wanted = re.compile(re.escape(prefix) + pattern + "(/.*)?$")
        if any(wanted.match(f) for f in files):
            return True
    return False
