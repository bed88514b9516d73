from __future__ import annotations

from pathlib import Path

import pytest

from csteer.doctor import tiny_onnx_model
from csteer.models.formats import FormatError, check_format, check_gguf, check_hf, check_onnx, detect_format
from tests.models.helpers import truncate, write_gguf, write_hf_checkpoint


def test_gguf_complete_file_passes(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf", elements=100)
    report = check_gguf(path)
    assert report.details["tensors"] == 1
    assert report.details["architecture"] == "llama"
    assert report.details["bytes_needed"] == path.stat().st_size
    assert detect_format(path) == "gguf"


@pytest.mark.parametrize("keep", [3, 20, 60, -1])
def test_gguf_truncated_anywhere_is_rejected(tmp_path: Path, keep: int) -> None:
    full = write_gguf(tmp_path / "m.gguf", elements=100)
    size = full.stat().st_size
    bad = truncate(full, tmp_path / "bad.gguf", keep if keep > 0 else size + keep)
    with pytest.raises(FormatError, match="truncated|bad magic"):
        check_gguf(bad)


def test_gguf_bad_magic(tmp_path: Path) -> None:
    path = tmp_path / "x.gguf"
    path.write_bytes(b"NOPE" + b"\0" * 64)
    with pytest.raises(FormatError, match="not a GGUF"):
        check_gguf(path)
    with pytest.raises(FormatError):
        detect_format(path)


def test_embedded_gguf_layout_is_exact(embedded_gguf: Path) -> None:
    """The header walk accounts for every byte of a real quantized model (Q4_K/Q6_K/F32 tensors)."""
    details = check_gguf(embedded_gguf).details
    assert details["architecture"] == "gemma3"
    assert details["unknown_tensor_types"] == []
    assert details["bytes_needed"] == embedded_gguf.stat().st_size


def test_onnx_loads_and_truncated_onnx_fails(tmp_path: Path) -> None:
    folder = tmp_path / "onnx"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(tiny_onnx_model())
    assert detect_format(folder) == "onnx"
    assert "1 graph" in check_onnx(folder).summary
    (folder / "model.onnx").write_bytes(tiny_onnx_model()[:-9])
    with pytest.raises(FormatError, match="onnxruntime cannot load"):
        check_onnx(folder)


def test_hf_checkpoint_checks_safetensors_extent(tmp_path: Path) -> None:
    folder = write_hf_checkpoint(tmp_path / "ckpt")
    assert detect_format(folder) == "hf"
    assert check_hf(folder).details["tensors"] == 1
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4])
    with pytest.raises(FormatError, match="truncated safetensors"):
        check_format(folder, "hf")
