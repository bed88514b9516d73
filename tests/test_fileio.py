"""csteer.fileio, the one atomic-write helper: the old content or the new, never half, no temp left."""

from __future__ import annotations

from pathlib import Path

import pytest

from csteer.fileio import atomic_dir, atomic_file, atomic_write_bytes, atomic_write_text, fsync_dir


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("durable", [False, True])
def test_write_replaces_and_creates_folders(tmp_path: Path, durable: bool) -> None:
    target = tmp_path / "a" / "b" / "file.json"
    atomic_write_text(target, "one", durable=durable)
    atomic_write_bytes(target, b"two", durable=durable)
    assert target.read_bytes() == b"two"
    assert _names(target.parent) == ["file.json"]


def test_a_failed_block_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "model.gguf"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_file(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".model.gguf.")
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    assert _names(tmp_path) == ["model.gguf"]


def test_atomic_file_lets_a_writer_create_the_path(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    with atomic_file(target) as tmp:
        assert not tmp.exists()  # writers that refuse an existing file (or want their own mode) work
        tmp.write_bytes(b"\0" * 10)
        assert not target.exists()  # nothing at the real path until the block is done
    assert target.read_bytes() == b"\0" * 10
    assert _names(tmp_path) == ["out.bin"]


def test_atomic_dir_swaps_a_whole_folder(tmp_path: Path) -> None:
    target = tmp_path / "onnx"
    target.mkdir()
    (target / "stale.onnx").write_text("v1")
    with atomic_dir(target) as work:
        (work / "model.onnx").write_text("v2")
        assert (target / "stale.onnx").exists()  # readers still see the old folder
    assert _names(target) == ["model.onnx"]
    assert _names(tmp_path) == ["onnx"]


def test_a_failed_atomic_dir_keeps_the_old_folder(tmp_path: Path) -> None:
    target = tmp_path / "onnx"
    with pytest.raises(ValueError), atomic_dir(target) as work:
        (work / "model.onnx").write_text("half")
        raise ValueError("export failed")
    assert not target.exists()
    assert _names(tmp_path) == []


def test_fsync_dir_tolerates_a_missing_folder(tmp_path: Path) -> None:
    fsync_dir(tmp_path)
    fsync_dir(tmp_path / "absent")
