"""Files into and out of the store, atomically: staged imports, commit, remove, leftovers swept.

A model is only registered after its files are complete: imports, pulls and conversions write into a
private staging folder (models_dir()/.partial/NAME.PID.TOKEN), which commit() renames into place and
registers in one locked step. A killed process leaves at most a staging folder, swept away by the
next staging() call (only folders whose process is gone; the pid is in the name).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from csteer.errors import CsteerError, UsageError
from csteer.fileio import fsync_dir
from csteer.models import embedded, registry
from csteer.models.hashing import Progress, copy_into, fingerprint
from csteer.models.registry import KINDS, StoreEntry, now_iso, validate_name
from csteer.paths import models_dir

_PARTIAL_RE = re.compile(r"\.(\d+)\.[0-9a-f]{8}(\.trash)?$")


def partial_dir() -> Path:
    return models_dir() / ".partial"


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) terminates the process on Windows: never sweep there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _owner_alive(item: Path) -> bool:
    """Staging and trash folders carry the pid of the process that made them."""
    match = _PARTIAL_RE.search(item.name)
    return match is not None and _pid_alive(int(match.group(1)))


def _trash_path(name: str) -> Path:
    return partial_dir() / f"{name}.{os.getpid()}.{secrets.token_hex(4)}.trash"


def stale_partials() -> list[Path]:
    """Staging and trash folders whose process is gone."""
    root = partial_dir()
    if not root.is_dir():
        return []
    return sorted(item for item in root.iterdir() if not _owner_alive(item))


def sweep_partials() -> list[Path]:
    """Delete staging folders left by processes that died mid-import; return what was removed."""
    removed = stale_partials()
    for item in removed:
        if item.is_dir() and not item.is_symlink():
            shutil.rmtree(item, ignore_errors=True)
        else:
            item.unlink(missing_ok=True)
    return removed


@contextmanager
def staging(name: str) -> Iterator[Path]:
    """An empty private folder to build a model in; deleted on exit unless commit() moved it."""
    sweep_partials()
    root = partial_dir()
    root.mkdir(parents=True, exist_ok=True)
    folder = root / f"{name}.{os.getpid()}.{secrets.token_hex(4)}"
    folder.mkdir()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def commit(stage: Path, entry: StoreEntry) -> StoreEntry:
    """Move a finished staging folder to models_dir()/NAME and register it, as one locked step.

    `entry.path` must lie inside `stage`; it is rewritten to the final location.
    """
    final_dir = models_dir() / entry.name
    rel = entry.path.relative_to(stage)
    with registry.locked():
        models = registry.read_records()
        trash = None
        if final_dir.exists():
            trash = _trash_path(entry.name)
            os.replace(final_dir, trash)
        os.replace(stage, final_dir)
        fsync_dir(models_dir())
        entry.path = final_dir / rel
        entry.fingerprint = fingerprint(entry.path)
        models[entry.name] = registry.record_from_entry(entry)
        registry.write_records(models)
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)
    return entry


def remove(name: str) -> StoreEntry:
    """Unregister `name` and delete the files the store owns (never files outside models_dir())."""
    if name == "embedded":
        entry = registry.embedded_entry()
        if entry.installed:
            entry.path.unlink(missing_ok=True)
            embedded.stamp_path(entry.path).unlink(missing_ok=True)
        return entry
    with registry.locked():
        models = registry.read_records()
        if name not in models:
            raise UsageError(f"no model named {name!r} in the store; see `csteer models list`")
        entry = registry.entry_from_record(name, models.pop(name))
        # a default naming the removed model would fail every later command: it goes with the model
        defaults = {role: spec for role, spec in registry.read_defaults().items() if spec != name}
        registry.write_records(models, defaults)
        owned = models_dir() / name
        trash = None
        if owned.exists():
            partial_dir().mkdir(parents=True, exist_ok=True)
            trash = _trash_path(name)
            os.replace(owned, trash)
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)
    return entry


def import_model(
    src: Path,
    name: str,
    kind: str | None = None,
    fmt: str | None = None,
    progress: Progress | None = None,
) -> StoreEntry:
    """Validate `src`, copy it into the store and register it. Nothing is registered if any step fails."""
    from csteer.models.formats import check_format, detect_format, guess_kind

    validate_name(name)
    src = src.expanduser()
    if not src.exists():
        raise UsageError(f"{src}: no such file or directory")
    if kind is not None and kind not in KINDS:
        raise UsageError(f"kind must be one of {', '.join(KINDS)}")
    fmt = fmt or detect_format(src)
    report = check_format(src, fmt)  # validate before anything is written
    with staging(name) as stage:
        staged, sha = copy_into(src, stage, progress)
        copied, original = fingerprint(staged), fingerprint(src)
        if copied is None or original is None or copied[0] != original[0]:
            raise CsteerError(f"{src} changed while it was being copied; try again")
        entry = StoreEntry(
            name=name,
            format=fmt,
            path=staged,
            kind=kind or guess_kind(fmt, src, report.details),
            size=copied[0],
            sha256=sha,
            source=f"imported from {src.resolve()}",
            license="unknown (imported by the user)",
            added_at=now_iso(),
            verified_at=now_iso(),
            summary=report.summary,
        )
        return commit(stage, entry)
