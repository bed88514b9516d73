"""The append-only results file: one JSON line per (task, method, sample).

Crash safety rests on three rules:
  - each line is written whole, with one os.write of the full line (newline included) to an O_APPEND
    descriptor, then fsync'd, so a record is either entirely in the file or not at all;
  - a final line without its newline is a write that a crash cut short: on open it is truncated away
    (only the bytes after the last newline; complete lines are never touched) and reported;
  - the file is locked (flock) while a run writes to it, so two runs cannot interleave records.
A key may appear more than once (a `--retry-errors` run supersedes an errored line); readers use the
latest line per key.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from csteer.errors import CsteerError, UsageError
from csteer.fileio import fsync_dir

RECORD_VERSION = 1
Key = tuple[str, str, str]  # (task, method, sample_id)


def key_of(record: dict[str, Any]) -> Key:
    return (str(record["task"]), str(record["method"]), str(record["sample_id"]))


def fingerprint(settings: dict[str, Any]) -> str:
    """A short hash of the settings that change results (models, turns, seed, ...), not of how many."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


@dataclass
class Contents:
    records: list[dict[str, Any]] = field(default_factory=list)  # in file order
    torn_bytes: int = 0  # bytes of an unfinished final line (removed when opened for writing)
    bad_lines: list[int] = field(default_factory=list)  # 1-based numbers of complete lines that do not parse

    def latest(self) -> dict[Key, dict[str, Any]]:
        """The last record of each key, in order of first appearance."""
        latest: dict[Key, dict[str, Any]] = {}
        for record in self.records:
            latest[key_of(record)] = record
        return latest


def parse(data: bytes) -> Contents:
    contents = Contents()
    end = data.rfind(b"\n") + 1
    contents.torn_bytes = len(data) - end
    for number, raw in enumerate(data[:end].split(b"\n")[:-1], start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
            key_of(record)
        except (ValueError, KeyError, TypeError):
            contents.bad_lines.append(number)
            continue
        if isinstance(record, dict):
            contents.records.append(record)
        else:
            contents.bad_lines.append(number)
    return contents


def read_results(path: Path) -> Contents:
    """Read a results file without changing it (the report's view)."""
    path = Path(path).expanduser()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"no results file {str(path)!r}") from None
    except OSError as err:
        raise CsteerError(f"cannot read {path}: {err.strerror or err}") from err
    return parse(data)


class ResultsWriter:
    """The results file held open for appending by one run. Thread-safe `append`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path).expanduser()
        self._fd: int | None = None
        self._lock = threading.Lock()

    def open(self) -> Contents:
        import fcntl

        created = not self.path.exists()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as err:
            raise CsteerError(f"cannot open {self.path}: {err.strerror or err}") from err
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise CsteerError(f"{self.path} is in use by another `csteer bench` run") from None
        self._fd = fd
        if created:
            fsync_dir(self.path.parent)
        data = _read_all(fd)
        contents = parse(data)
        if contents.torn_bytes:
            # only the unfinished tail goes; every complete line before it stays byte for byte
            os.ftruncate(fd, len(data) - contents.torn_bytes)
            os.fsync(fd)
        return contents

    def append(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        with self._lock:
            if self._fd is None:
                raise CsteerError(f"{self.path} is not open for writing")
            written = os.write(self._fd, line)
            while written < len(line):  # only on a full disk or similar; the tail repair covers a crash here
                written += os.write(self._fd, line[written:])
            os.fsync(self._fd)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)  # also releases the flock
                self._fd = None

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    offset = 0
    while True:
        chunk = os.pread(fd, 1 << 20, offset)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        offset += len(chunk)


def describe(contents: Contents, repaired: bool) -> Iterable[str]:
    """Notes about damage found in a results file, one line each."""
    if contents.torn_bytes:
        done = "removed" if repaired else "ignored"
        yield f"{done} an unfinished final line ({contents.torn_bytes} bytes) left by an interrupted run"
    if contents.bad_lines:
        shown = ", ".join(str(n) for n in contents.bad_lines[:5])
        more = "" if len(contents.bad_lines) <= 5 else f" and {len(contents.bad_lines) - 5} more"
        yield f"ignored {len(contents.bad_lines)} unreadable line(s): {shown}{more}"
