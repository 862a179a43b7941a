"""The code examples of the documentation run and print what the pages say they print.

A page opts in by listing itself in ``EXECUTED_PAGES``. Its ```python blocks run in order
in one namespace (like a notebook); a ```python block immediately followed by a ```text
block must print that text: the same words and, for every number, the same printed
digits, except numbers below 1e-12 in magnitude (a float64 Euler residual of 1e-15 is
rounding noise whose digits depend on the CPU and BLAS), which need only be below 1e-12
too and within a factor of 100 of the page's. Run this file directly to print the actual outputs
(``--write`` puts them into the page, to refresh it after a deliberate change):

    .venv/bin/python tests/docs/test_docs_examples.py [--write] docs/usage/own_model.md
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXECUTED_PAGES = [
    "README.md",
    "docs/quickstart.md",
    "docs/usage/own_model.md",
    "docs/usage/limits.md",
    "docs/usage/strategies.md",
]

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
            between = text[end : blocks[i + 1][2]]
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


NOISE = 1e-12
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def same_output(printed: str, expected: str) -> bool:
    """Equal text and numbers, numbers below :data:`NOISE` compared as rounding noise."""
    if printed == expected:
        return True
    if _NUMBER.split(printed) != _NUMBER.split(expected):
        return False
    for a, b in zip(_NUMBER.findall(printed), _NUMBER.findall(expected), strict=True):
        if a == b:
            continue
        x, y = abs(float(a)), abs(float(b))
        if not (0 < x < NOISE and 0 < y < NOISE and max(x, y) <= 100 * min(x, y)):
            return False
    return True


def test_only_noise_level_numbers_may_differ():
    page = "residual 1.029e-15 (relative 1.852e-16), k = 2.000"
    assert same_output("residual 8.978e-16 (relative 1.616e-16), k = 2.000", page)
    assert not same_output("residual 8.978e-16 (relative 1.616e-16), k = 2.001", page)
    assert not same_output("residual 1.029e-10 (relative 1.852e-16), k = 2.000", page)
    assert not same_output("residual 1.029e-19 (relative 1.852e-16), k = 2.000", page)
    assert not same_output("residual 1.029e-15 (relative 1.852e-16), k ≈ 2.000", page)


@pytest.mark.parametrize("page", EXECUTED_PAGES)
def test_page_examples_print_what_the_page_shows(page):
    path = ROOT / page
    if not path.exists():
        pytest.fail(f"{page} is listed in EXECUTED_PAGES but does not exist")
    results = run_examples(path)
    assert results, f"{page} has no python examples"
    for ex, printed in results:
        if ex.expected is not None:
            assert same_output(printed, ex.expected), (
                f"{page}:{ex.line}: output differs\n--- page\n{ex.expected}--- printed\n{printed}"
            )


def write_outputs(page: Path) -> None:
    """Replace each shown output block of ``page`` by what its example prints now."""
    text = page.read_text(encoding="utf-8")
    for ex, printed in reversed(run_examples(page)):
        if ex.expected is None:
            continue
        code_at = text.index(ex.code)
        out_at = text.index("```text\n", code_at) + len("```text\n")
        text = text[:out_at] + printed + text[out_at + len(ex.expected) :]
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
