"""Build small but structurally complete model files for store tests."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path


def _gguf_str(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def write_gguf(path: Path, elements: int = 1024, chat_template: bool = False) -> Path:
    """A valid GGUF v3 with one F32 tensor of `elements` values (4 bytes each)."""
    kv = [("general.architecture", 8, "llama"), ("general.alignment", 4, 32)]
    if chat_template:
        kv.append(("tokenizer.chat_template", 8, "{{ messages }}"))
    out = b"GGUF" + struct.pack("<I", 3) + struct.pack("<QQ", 1, len(kv))
    for key, vtype, value in kv:
        out += _gguf_str(key) + struct.pack("<I", vtype)
        out += _gguf_str(value) if vtype == 8 else struct.pack("<I", value)
    out += _gguf_str("weight") + struct.pack("<I", 1) + struct.pack("<Q", elements)
    out += struct.pack("<I", 0) + struct.pack("<Q", 0)  # F32 at offset 0
    out += b"\0" * (-len(out) % 32)
    out += struct.pack(f"<{elements}f", *([0.5] * elements))
    path.write_bytes(out)
    return path


def truncate(src: Path, dst: Path, keep: int) -> Path:
    dst.write_bytes(src.read_bytes()[:keep])
    return dst


def write_hf_checkpoint(folder: Path, values: int = 4) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))
    header = json.dumps({"w": {"dtype": "F32", "shape": [values], "data_offsets": [0, 4 * values]}}).encode()
    data = struct.pack("<Q", len(header)) + header + struct.pack(f"<{values}f", *range(values))
    (folder / "model.safetensors").write_bytes(data)
    return folder


def csteer(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess (env-driven settings such as HF_HUB_OFFLINE are read at import)."""
    return subprocess.run(
        [sys.executable, "-m", "csteer", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
