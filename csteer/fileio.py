"""Atomic file writes: a crash, a kill or Ctrl-C leaves the old file or the new one, never half of one.

The one implementation in csteer. Content in memory goes through atomic_write_bytes/atomic_write_text;
a writer that needs a path of its own (the GGUF writer, llama.cpp's quantizer) gets one from
atomic_file; a folder built as a whole (an ONNX export) from atomic_dir. Each builds beside the target,
in the same folder, and renames over it only when the block succeeded; fsync_dir makes a rename
itself survive a power cut.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path


def temp_path(target: Path, suffix: str = "tmp") -> Path:
    """A fresh hidden name beside `target`: `.NAME.PID.TOKEN.SUFFIX` (the pid tells whose it is)."""
    return target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.{suffix}")


@contextlib.contextmanager
def atomic_file(target: str | Path, *, durable: bool = True) -> Iterator[Path]:
    """Yield a temp path beside `target` for the block to create; it replaces `target` if the block succeeds.

    durable=True fsyncs the new file before the rename and the folder after it, so the new content also
    survives a power cut. A block that raises leaves `target` as it was and no temp file behind."""
    target = Path(target).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(target)
    try:
        yield tmp
        if durable:
            fsync_file(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    if durable:
        fsync_dir(target.parent)


def atomic_write_bytes(path: str | Path, data: bytes, *, durable: bool = False) -> None:
    """Write `data` to `path` through a temp file in the same folder and a rename.

    durable=True also fsyncs the file and its folder, so the new content survives a power cut
    (registries, logs); reports and generated samples do not need that cost."""
    with atomic_file(path, durable=durable) as tmp, open(tmp, "xb") as fh:
        fh.write(data)


def atomic_write_text(path: str | Path, text: str, *, durable: bool = False) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), durable=durable)


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield an empty temp folder beside `target`; it replaces `target` (whole) if the block succeeds.

    An existing `target` is moved aside first and deleted after the swap, so readers see the old folder
    or the new one. A block that raises leaves `target` as it was and no temp folder behind."""
    target = Path(target).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(target, "partial")
    tmp.mkdir()
    try:
        yield tmp
        if target.exists():
            old = temp_path(target, "old")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
        fsync_dir(target.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def fsync_dir(folder: Path) -> None:
    """Make renames and new entries in `folder` durable; a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
