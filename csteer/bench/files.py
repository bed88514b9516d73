"""Atomic file output for the report (HTML, PNG)."""

from __future__ import annotations

from pathlib import Path

from csteer.fileio import atomic_write_bytes


def write_atomic(path: Path, data: bytes) -> None:
    """Write through a temp file and a rename, so a crash never leaves half a file."""
    atomic_write_bytes(path, data)
