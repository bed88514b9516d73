"""Is the store sound? verify(name) re-hashes a model and re-checks its format; health() for doctor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from csteer.errors import CsteerError
from csteer.models import embedded, registry
from csteer.models.hashing import Progress, fingerprint, sha256_file, sha256_tree
from csteer.models.staging import stale_partials
from csteer.paths import models_dir


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
    entry = registry.get(name)
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
    registry.update(
        name,
        sha256=sha,
        verified_at=registry.now_iso(),
        summary=report.summary,
        fingerprint=fingerprint(entry.path),
    )
    return VerifyResult(name, True, f"sha256 {sha[:12]}... ok; {report.summary}")


def _verify_embedded(notify: Callable[[str], None] | None = None) -> VerifyResult:
    from csteer.models.formats import FormatError, check_gguf

    path = embedded.ensure_embedded(notify)  # assembles on first use and checks the package's sha256
    sha = sha256_file(path)
    entry = registry.embedded_entry()
    if sha != entry.sha256:
        return VerifyResult(
            "embedded", False, f"sha256 mismatch ({sha[:12]}...); run `csteer models rm embedded`"
        )
    try:
        report = check_gguf(path)
    except FormatError as err:
        return VerifyResult("embedded", False, str(err))
    embedded.write_stamp(path, sha)
    return VerifyResult("embedded", True, f"sha256 {sha[:12]}... ok; {report.summary}")


def health() -> list[tuple[str, str]]:
    """Problems with the store as (level, message) pairs, level 'warn' or 'fail'; empty when healthy."""
    problems: list[tuple[str, str]] = []
    try:
        registered = registry.read_records()
    except CsteerError as err:
        return [("fail", str(err))]
    for name, rec in sorted(registered.items()):
        entry = registry.entry_from_record(name, rec)
        if not entry.path.exists():
            problems.append(("fail", f"{name}: {entry.path} is missing"))
        elif not entry.verified:
            problems.append(
                ("warn", f"{name}: changed since it was last verified (csteer models verify {name})")
            )
    owned = set(registered) | {"embedded", ".partial"}
    if models_dir().is_dir():
        for item in models_dir().iterdir():
            if item.is_dir() and item.name not in owned:
                problems.append(("warn", f"{item} is not registered (left by an interrupted commit?)"))
    for item in stale_partials():
        problems.append(("warn", f"{item} is a leftover of an interrupted import (removed on next import)"))
    return problems
