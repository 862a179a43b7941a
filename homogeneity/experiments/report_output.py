"""How the E3/E5 commands write and print a report: one JSON layout for the file and for
``--json`` (indented by one, non-ASCII symbols such as ρ and θ kept as they are), and
one closing line naming the files written."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path


def report_json(data: object) -> str:
    """``data`` as the reports' JSON text."""
    return json.dumps(data, indent=1, ensure_ascii=False)


def write_report_json(path: Path, data: object) -> Path:
    """Write :func:`report_json` of ``data`` to ``path`` (UTF-8); returns ``path``."""
    path.write_text(report_json(data), encoding="utf-8")
    return path


def print_report(data: object, text: str, paths: Sequence[Path], *, as_json: bool) -> None:
    """On stdout: the JSON of ``data`` when ``as_json``, else ``text`` and then the line
    ``wrote PATH, PATH, …`` of the files written."""
    if as_json:
        print(report_json(data))
    else:
        print(text)
        print("\nwrote " + ", ".join(str(p) for p in paths))
