"""`csteer models convert`: default quantizations and early usage errors (no converter runs here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from csteer.errors import UsageError
from csteer.models import pull, store
from tests.models.helpers import write_hf_checkpoint


def test_defaults_are_q4_k_m_for_gguf_and_int4_for_onnx() -> None:
    from csteer.quantize import GGUF_DEFAULT, check_gguf_quant, check_onnx_quant

    assert pull.DEFAULT_QUANT == {"gguf": "q4_k_m", "onnx": "int4"}
    assert pull.DEFAULT_QUANT["gguf"] == GGUF_DEFAULT
    # every default is a quantization its converter accepts (the old int4 default for GGUF was not)
    assert check_gguf_quant(pull.DEFAULT_QUANT["gguf"]) == "q4_k_m"
    assert check_onnx_quant(pull.DEFAULT_QUANT["onnx"]) == "int4"


def test_help_documents_the_defaults() -> None:
    from csteer.cli.main import cli

    result = CliRunner().invoke(cli, ["models", "convert", "--help"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "q4_k_m (default)" in text and "int4 (default)" in text


def test_a_wrong_quant_is_a_usage_error_before_anything_is_staged(tmp_path: Path, home: Path) -> None:
    store.import_model(write_hf_checkpoint(tmp_path / "ckpt"), "ck")
    with pytest.raises(UsageError, match="unknown GGUF quantization 'int4'"):
        pull.convert("ck", "gguf", "int4")
    with pytest.raises(UsageError, match="unknown ONNX quantization 'q4_k_m'"):
        pull.convert("ck", "onnx", "q4_k_m")
    assert not (home / "models" / ".partial").exists() or not any((home / "models" / ".partial").iterdir())
    assert {e.name for e in store.list_models(include_available=False)} == {"embedded", "ck"}
