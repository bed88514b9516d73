"""The KV slot store on disk: a cold process starts from the conversations the last one left.

A `csteer ask` process evaluates the coach's few-shot transcript (hundreds of tokens: seconds on a small
CPU, far more for an 8B coach) from nothing, although the previous process evaluated the same fixed
header moments earlier. llama.cpp can hand out and take back a sequence's KV state, which is what the
engine's in-memory slot store keeps; this module writes that store to one file per model when the
engine closes and reads it back on first use, so the longest common prefix is reused across processes
as it is within one (what llama.cpp's own `--prompt-cache` does for a single prompt).

File: <csteer home>/cache/kv/<key>.bin, the key from the model file's real path, size and mtime and the
llama-cpp-python version (a state is valid only for the model and library that wrote it). Layout: MAGIC,
one JSON line (per slot its token count and state length, and the payload's sha256), then per slot its
tokens (int32, little-endian) and its state bytes. A file that does not check out is ignored and removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path

from csteer import paths
from csteer.fileio import atomic_write_bytes

MAGIC = b"CSTEER-KV 3\n"  # 2: batch-invariant cells only (llamacpp module docstring); 3: no cells past a
# slot's prompt (a 2 file can hold a short prompt's slot with its long reply's cells: dropped)
MAX_FILE_BYTES = 64 * 1024 * 1024  # newest conversations first, the rest left out
DISABLE_ENV = "CSTEER_NO_KV_CACHE"  # set (to anything but 0 or empty) to neither read nor write the file

Slot = tuple[list[int], bytes]  # the tokens a state covers, and the state


def enabled() -> bool:
    return os.environ.get(DISABLE_ENV, "") in ("", "0")


def cache_file(model_path: str) -> Path:
    from importlib.metadata import PackageNotFoundError, version

    try:
        library = version("llama-cpp-python")
    except PackageNotFoundError:
        library = "unknown"
    real = os.path.realpath(model_path)
    stat = os.stat(real)
    key = hashlib.sha256(f"{real}\0{stat.st_size}\0{stat.st_mtime_ns}\0{library}".encode()).hexdigest()
    return paths.home() / "cache" / "kv" / f"{key[:24]}.bin"


def save(file: Path, slots: list[Slot]) -> None:
    """Write `slots` (newest first) that fit MAX_FILE_BYTES, atomically: a reader sees the old file or
    the new one, never a torn one."""
    chosen: list[Slot] = []
    size = 0
    for tokens, state in slots:
        cost = 4 * len(tokens) + len(state)
        if tokens and size + cost <= MAX_FILE_BYTES and not any(_covers(t, tokens) for t, _ in chosen):
            chosen.append((tokens, state))
            size += cost
    if not chosen:
        return
    payload = b"".join(struct.pack(f"<{len(t)}i", *t) + s for t, s in chosen)
    header = {
        "slots": [[len(t), len(s)] for t, s in chosen],
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    file.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(file, MAGIC + json.dumps(header).encode() + b"\n" + payload)


def load(file: Path, max_tokens: int) -> list[Slot]:
    """The slots of `file` that cover at most `max_tokens` tokens; [] for a missing or broken file (a
    broken one is removed so it is not read again)."""
    try:
        data = file.read_bytes()
    except OSError:
        return []
    try:
        slots = _parse(data)
    except (ValueError, KeyError, TypeError, struct.error):
        file.unlink(missing_ok=True)
        return []
    return [(tokens, state) for tokens, state in slots if len(tokens) <= max_tokens]


def _parse(data: bytes) -> list[Slot]:
    if not data.startswith(MAGIC):
        raise ValueError("not a csteer KV file")
    end = data.index(b"\n", len(MAGIC))
    header = json.loads(data[len(MAGIC) : end])
    payload = memoryview(data)[end + 1 :]
    if hashlib.sha256(payload).hexdigest() != header["sha256"]:
        raise ValueError("checksum mismatch")
    slots: list[Slot] = []
    offset = 0
    for n_tokens, n_state in header["slots"]:
        tokens = list(struct.unpack_from(f"<{int(n_tokens)}i", payload, offset))
        offset += 4 * int(n_tokens)
        state = bytes(payload[offset : offset + int(n_state)])
        if len(state) != int(n_state):
            raise ValueError("truncated state")
        offset += int(n_state)
        slots.append((tokens, state))
    if offset != len(payload):
        raise ValueError("trailing bytes")
    return slots


def _covers(longer: list[int], shorter: list[int]) -> bool:
    """`shorter` is a prefix of `longer`: a saved slot that adds nothing a kept one does not have."""
    return len(shorter) <= len(longer) and longer[: len(shorter)] == shorter
