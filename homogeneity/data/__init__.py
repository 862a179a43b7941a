"""Data shipped with the package: natural English sentences with their provenance.

``english_sentences.tsv`` holds 105 sentences from two public-domain novels (Project
Gutenberg #1342 *Pride and Prejudice* and #84 *Frankenstein*); ``SOURCES.md`` next to it
says which edition, which passages and how they were transcribed.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

SENTENCES_FILE = "english_sentences.tsv"
SOURCES_FILE = "SOURCES.md"


@dataclass(frozen=True)
class Sentence:
    """One sentence: a stable id, the source work's key, where in it, and the text."""

    id: str
    source: str
    location: str
    text: str


def load_sentences(limit: int | None = None) -> list[Sentence]:
    """The shipped sentences in file order (the first ``limit`` if given)."""
    raw = resources.files(__package__).joinpath(SENTENCES_FILE).read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(raw), delimiter="\t", quoting=csv.QUOTE_NONE)
    rows = [Sentence(r["id"], r["source"], r["location"], r["text"]) for r in reader]
    if limit is not None:
        if limit < 1:
            from homogeneity.errors import HomogeneityInputError

            raise HomogeneityInputError(f"limit={limit} must be ≥ 1 (or None for all)")
        rows = rows[:limit]
    return rows


def read_sentences(path: str | Path, limit: int | None = None) -> list[Sentence]:
    """A user's own sentences: one per line of a UTF-8 text file, blank lines skipped.

    Each gets the id ``<file stem>-<line number>``. Raises ``FileNotFoundError`` for a
    missing file and :class:`~homogeneity.errors.HomogeneityInputError` for a file that
    is not UTF-8 text or holds no sentence.
    """
    from homogeneity.errors import HomogeneityInputError

    path = Path(path)
    try:
        raw = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HomogeneityInputError(
            f"text file {str(path)!r} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
            f"save it as UTF-8, one sentence per line"
        ) from exc
    rows = [
        Sentence(f"{path.stem}-{n}", str(path), f"line {n}", line.strip())
        for n, line in enumerate(raw.splitlines(), start=1)
        if line.strip()
    ]
    if not rows:
        raise HomogeneityInputError(
            f"text file {str(path)!r} holds no sentence; write one sentence per line"
        )
    if limit is not None:
        if limit < 1:
            raise HomogeneityInputError(f"limit={limit} must be ≥ 1 (or None for all)")
        rows = rows[:limit]
    return rows


def sources_note() -> str:
    """The provenance note (``SOURCES.md``)."""
    return resources.files(__package__).joinpath(SOURCES_FILE).read_text(encoding="utf-8")
