"""Small file helpers for the task loaders and writers: atomic writes, sample ids from paths."""

from __future__ import annotations

import hashlib
from pathlib import Path

from csteer.fileio import atomic_write_text

__all__ = ["atomic_write_text", "content_tag", "relative_id"]


def relative_id(path: Path, root: Path) -> str:
    """A sample id: the folder's path relative to the dataset root, with forward slashes."""
    return Path(path).relative_to(root).as_posix()


def content_tag(text: str, length: int = 10) -> str:
    """A short stable hash of `text`: generated sample folders are named by content, so a seed
    always yields the same names and different samples never collide."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]
