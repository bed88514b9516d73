"""What a model's files are: sha256 of a file or a folder, a cheap stat fingerprint, copy-and-hash.

A folder's sha256 is that of its sorted `relative-path NUL file-sha256` lines, so it does not depend
on the order the filesystem lists files in. The fingerprint ([total size, newest mtime_ns]) tells
without re-hashing whether files changed since they were last hashed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

Progress = Callable[[int, int], None]  # (bytes done, bytes total)


def files(path: Path) -> list[Path]:
    """`path` itself when it is a file, else every file below it, sorted."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file())


def fingerprint(path: Path) -> list[int] | None:
    """[total size, newest mtime_ns] of the files at `path`; None when there are none."""
    try:
        stats = [p.stat() for p in files(path)] if path.exists() else []
    except OSError:
        return None
    if not stats:
        return None
    return [sum(s.st_size for s in stats), max(s.st_mtime_ns for s in stats)]


def sha256_file(path: Path, progress: Progress | None = None, total: int = 0, done: int = 0) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
            done += len(block)
            if progress:
                progress(done, total)
    return digest.hexdigest()


def sha256_tree(path: Path, progress: Progress | None = None) -> str:
    """sha256 of a file, or for a directory of its sorted `relative-path NUL file-sha256` lines."""
    if path.is_file():
        return sha256_file(path, progress, path.stat().st_size)
    items = files(path)
    total, done = sum(f.stat().st_size for f in items), 0
    digest = hashlib.sha256()
    for file in items:
        digest.update(
            f"{file.relative_to(path).as_posix()}\0{sha256_file(file, progress, total, done)}\n".encode()
        )
        done += file.stat().st_size
    return digest.hexdigest()


def copy_stream(
    fin: IO[bytes], fout: IO[bytes], digest: Any, progress: Progress | None, total: int, done: int
) -> int:
    """Copy `fin` onto `fout`, feeding `digest` and reporting progress; return the bytes done so far."""
    while block := fin.read(1 << 20):
        fout.write(block)
        digest.update(block)
        done += len(block)
        if progress:
            progress(done, total)
    return done


def _copy_file(src: Path, dst: Path, progress: Progress | None, total: int, done: int) -> tuple[str, int]:
    """Copy and hash in one pass; fsync so a rename after this never exposes unwritten data."""
    digest = hashlib.sha256()
    with src.open("rb") as fin, dst.open("wb") as fout:
        done = copy_stream(fin, fout, digest, progress, total, done)
        fout.flush()
        os.fsync(fout.fileno())
    return digest.hexdigest(), done


def copy_file(src: Path, dst: Path, progress: Progress | None = None) -> str:
    """Copy `src` to `dst` (synced to disk); return the sha256 of what was copied."""
    return _copy_file(src, dst, progress, src.stat().st_size, 0)[0]


def copy_into(src: Path, folder: Path, progress: Progress | None = None) -> tuple[Path, str]:
    """Copy a model file or folder into `folder`; return its path there and its sha256 (see sha256_tree)."""
    dst = folder / src.name
    if src.is_file():
        return dst, copy_file(src, dst, progress)
    items = files(src)
    total, done = sum(f.stat().st_size for f in items), 0
    digest = hashlib.sha256()
    for file in items:
        rel = file.relative_to(src)
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        sha, done = _copy_file(file, dst / rel, progress, total, done)
        digest.update(f"{rel.as_posix()}\0{sha}\n".encode())
    return dst, digest.hexdigest()
