"""Small file helpers for the task loaders and writers: atomic writes, sample ids from paths."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` through a temp file in the same folder and a rename.

    A crash leaves either the old file or the new one, never half of one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def relative_id(path: Path, root: Path) -> str:
    """A sample id: the folder's path relative to the dataset root, with forward slashes."""
    return Path(path).relative_to(root).as_posix()


def content_tag(text: str, length: int = 10) -> str:
    """A short stable hash of `text`: generated sample folders are named by content, so a seed
    always yields the same names and different samples never collide."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]
