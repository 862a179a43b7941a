"""The code examples of the documentation run and print what the pages say they print.

A page opts in by listing itself in ``EXECUTED_PAGES``. Its ```python blocks run in order
in one namespace (like a notebook); a ```python block immediately followed by a ```text
block must print exactly that text. Run this file directly to print the actual outputs
(``--write`` puts them into the page, to refresh it after a deliberate change):

    .venv/bin/python tests/test_docs_examples.py [--write] docs/usage/own_model.md
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXECUTED_PAGES = ["README.md", "docs/quickstart.md", "docs/usage/own_model.md",
                  "docs/usage/limits.md", "docs/usage/strategies.md"]

_FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```\s*$", re.M | re.S)


@dataclass
class Example:
    code: str
    expected: str | None  # None: the block's output is not shown on the page
    line: int


def examples(page: Path) -> list[Example]:
    """The python blocks of ``page``, each with the text block that follows it, if any."""
    text = page.read_text(encoding="utf-8")
    blocks = [(m.group(1), m.group(2), m.start(), m.end()) for m in _FENCE.finditer(text)]
    found = []
    for i, (lang, body, start, end) in enumerate(blocks):
        if lang != "python":
            continue
        expected = None
        if i + 1 < len(blocks) and blocks[i + 1][0] == "text":
            between = text[end:blocks[i + 1][2]]
            if between.strip() == "":
                expected = blocks[i + 1][1]
        found.append(Example(body, expected, text.count("\n", 0, start) + 1))
    return found


def run_examples(page: Path) -> list[tuple[Example, str]]:
    namespace: dict = {"__name__": "__docs__"}
    outputs = []
    for ex in examples(page):
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            exec(compile(ex.code, f"{page}:{ex.line}", "exec"), namespace)
        outputs.append((ex, buffer.getvalue()))
    return outputs


@pytest.mark.parametrize("page", EXECUTED_PAGES)
def test_page_examples_print_what_the_page_shows(page):
    path = ROOT / page
    if not path.exists():
        pytest.fail(f"{page} is listed in EXECUTED_PAGES but does not exist")
    results = run_examples(path)
    assert results, f"{page} has no python examples"
    for ex, printed in results:
        if ex.expected is not None:
            assert printed == ex.expected, f"{page}:{ex.line}: output differs"


def write_outputs(page: Path) -> None:
    """Replace each shown output block of ``page`` by what its example prints now."""
    text = page.read_text(encoding="utf-8")
    for ex, printed in reversed(run_examples(page)):
        if ex.expected is None:
            continue
        code_at = text.index(ex.code)
        out_at = text.index("```text\n", code_at) + len("```text\n")
        text = text[:out_at] + printed + text[out_at + len(ex.expected):]
    page.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    write = "--write" in sys.argv[1:]
    for name in [a for a in sys.argv[1:] if a != "--write"]:
        if write:
            write_outputs(ROOT / name)
            continue
        for ex, printed in run_examples(ROOT / name):
            print(f"--- {name}:{ex.line}")
            print(printed, end="")
