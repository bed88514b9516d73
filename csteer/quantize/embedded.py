"""The embedded Gemma 3 270M in ONNX: GGUF -> HF checkpoint (dequantized) -> ONNX int4/int8."""

from __future__ import annotations

import tempfile
from pathlib import Path

from csteer.errors import CsteerError, UsageError


def gguf_to_hf(gguf_path: Path, dest: Path) -> Path:
    """Dequantize a GGUF into an fp32 safetensors checkpoint with a tokenizer that matches llama.cpp's."""
    try:
        import torch
        from transformers import AutoModelForCausalLM
    except ImportError as err:
        raise CsteerError("GGUF -> HF needs torch and transformers: pip install 'csteer[quantize]'") from err
    from csteer.quantize.gguf_tokenizer import write_tokenizer_files
    from csteer.quantize.onnx_convert import _quiet

    dest.mkdir(parents=True, exist_ok=True)
    with _quiet():
        try:
            model = AutoModelForCausalLM.from_pretrained(
                gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32
            )
        except (ValueError, OSError, KeyError) as err:
            raise CsteerError(f"transformers could not load {gguf_path}: {err}") from err
        model.save_pretrained(dest, safe_serialization=True)
    del model
    # transformers' own GGUF tokenizer for Gemma 3 is a Unigram that splits differently: rebuild it
    write_tokenizer_files(gguf_path, dest)
    return dest


def default_output(quant: str) -> Path:
    from csteer.models.paths import models_dir

    return models_dir() / f"embedded-onnx-{quant}"


def convert_embedded(
    to: str = "onnx", quant: str = "int4", out: str | Path | None = None, *, source: str | Path | None = None
) -> Path:
    """Convert the embedded GGUF (or `source`, another Gemma 3 GGUF) to ONNX at `quant`; returns the folder."""
    if to != "onnx":
        raise UsageError(f"the embedded model converts to onnx only (it already is GGUF), not {to!r}")
    from csteer.models.embedded import ensure_embedded
    from csteer.quantize.onnx_convert import ONNX_QUANTS, to_onnx

    quant = quant.lower()
    if quant not in ONNX_QUANTS:
        raise UsageError(f"unknown ONNX quantization {quant!r} (choose from {', '.join(ONNX_QUANTS)})")
    target = Path(out).expanduser() if out else default_output(quant)
    gguf_path = Path(source).expanduser() if source else ensure_embedded()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".embedded-hf-") as tmp:
        hf_dir = gguf_to_hf(gguf_path, Path(tmp) / "hf")
        return to_onnx(hf_dir, target, quant)
