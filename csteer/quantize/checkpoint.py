"""Read a Hugging Face checkpoint directory without loading it: config, tokenizer files, mmapped tensors.

safetensors files are parsed here (8-byte header length, JSON header, raw data) and memory-mapped with
numpy, so converting an 8B model touches one tensor at a time and never needs torch. bf16 has no numpy
dtype: it is widened to float32 on read, one tensor at a time.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from csteer.errors import CsteerError

_DTYPES = {
    "F32": ("float32", 4),
    "F16": ("float16", 2),
    "BF16": ("bfloat16", 2),
    "F64": ("float64", 8),
    "I64": ("int64", 8),
    "I32": ("int32", 4),
    "I16": ("int16", 2),
    "I8": ("int8", 1),
    "U8": ("uint8", 1),
    "BOOL": ("bool", 1),
}


@dataclass(frozen=True)
class TensorRef:
    name: str
    file: Path
    dtype: str  # safetensors dtype code, e.g. "BF16"
    shape: tuple[int, ...]
    start: int  # absolute byte offset in the file
    end: int

    def load(self) -> Any:
        """The tensor as a numpy array (float32 for bf16), read through a memory map."""
        import numpy as np

        np_name, _ = _DTYPES[self.dtype]
        count = (self.end - self.start) // _DTYPES[self.dtype][1]
        if self.dtype == "BF16":
            raw = np.memmap(self.file, dtype=np.uint16, mode="r", offset=self.start, shape=(count,))
            out = (raw.astype(np.uint32) << 16).view(np.float32)
        else:
            out = np.array(np.memmap(self.file, dtype=np_name, mode="r", offset=self.start, shape=(count,)))
        return out.reshape(self.shape)


@dataclass
class Checkpoint:
    root: Path
    config: dict[str, Any]
    tensors: dict[str, TensorRef] = field(default_factory=dict)

    @property
    def architecture(self) -> str:
        return str(self.config.get("model_type", ""))

    def file(self, name: str) -> Path | None:
        path = self.root / name
        return path if path.is_file() else None

    def json_file(self, name: str) -> dict[str, Any] | None:
        path = self.file(name)
        if path is None:
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise CsteerError(f"{path}: not valid JSON ({err})") from err

    def iter_tensors(self) -> Iterator[TensorRef]:
        yield from self.tensors.values()

    @property
    def total_bytes(self) -> int:
        return sum(t.end - t.start for t in self.tensors.values())


def open_checkpoint(src: str | Path) -> Checkpoint:
    """Open an HF checkpoint dir: config.json plus one or more *.safetensors files. Clear errors otherwise."""
    root = Path(src).expanduser()
    if not root.is_dir():
        raise CsteerError(f"{root}: not a directory (expected a Hugging Face checkpoint folder)")
    cfg_path = root / "config.json"
    if not cfg_path.is_file():
        raise CsteerError(f"{root}: config.json is missing; is this a Hugging Face checkpoint folder?")
    try:
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise CsteerError(f"{cfg_path}: not valid JSON ({err})") from err
    if isinstance(config.get("text_config"), dict) and "model_type" not in config["text_config"]:
        config["text_config"]["model_type"] = config.get("model_type", "")
    files = sorted(root.glob("*.safetensors"))
    if not files:
        if any(root.glob("*.bin")) or any(root.glob("*.pt")):
            raise CsteerError(f"{root}: only PyTorch .bin weights found; csteer reads safetensors only")
        raise CsteerError(f"{root}: no *.safetensors weight files found")
    index = root / "model.safetensors.index.json"
    if index.is_file():
        try:
            wanted = set(json.loads(index.read_text())["weight_map"].values())
        except (OSError, ValueError, KeyError) as err:
            raise CsteerError(f"{index}: unreadable index ({err})") from err
        missing = sorted(name for name in wanted if not (root / name).is_file())
        if missing:
            raise CsteerError(f"{root}: weight files listed in the index are missing: {', '.join(missing)}")
    ckpt = Checkpoint(root=root, config=config)
    for path in files:
        for ref in read_safetensors_header(path):
            ckpt.tensors[ref.name] = ref
    return ckpt


def read_safetensors_header(path: Path) -> list[TensorRef]:
    """Parse and validate one safetensors header; a truncated or corrupt file raises CsteerError."""
    size = path.stat().st_size
    bad = f"{path}: corrupt safetensors file"
    with path.open("rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise CsteerError(f"{bad} (shorter than its 8-byte header length)")
        (n,) = struct.unpack("<Q", head)
        if n == 0 or 8 + n > size or n > 100_000_000:
            raise CsteerError(f"{bad} (header length {n} does not fit a {size}-byte file)")
        try:
            header = json.loads(fh.read(n))
        except ValueError as err:
            raise CsteerError(f"{bad} (header is not JSON)") from err
    if not isinstance(header, dict):
        raise CsteerError(f"{bad} (header is not a JSON object)")
    base = 8 + n
    refs = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype = info["dtype"]
            shape = tuple(int(d) for d in info["shape"])
            start, end = (int(x) for x in info["data_offsets"])
        except (KeyError, TypeError, ValueError) as err:
            raise CsteerError(f"{bad} (bad entry for tensor {name!r})") from err
        if dtype not in _DTYPES:
            raise CsteerError(f"{path}: tensor {name!r} has unsupported dtype {dtype}")
        count = 1
        for d in shape:
            count *= d
        if end - start != count * _DTYPES[dtype][1] or start < 0 or base + end > size:
            raise CsteerError(f"{bad} (tensor {name!r} lies outside the file or has the wrong size)")
        refs.append(TensorRef(name, path, dtype, shape, base + start, base + end))
    return refs
