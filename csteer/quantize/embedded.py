"""A Gemma 3 GGUF (the embedded model's family) in ONNX: GGUF -> HF checkpoint (dequantized) -> ONNX.

Takes the GGUF's path: where the embedded model lives is csteer.models' business
(csteer.models.embedded.convert_embedded finds it and calls gguf_to_onnx).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from csteer.errors import CsteerError


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


def gguf_to_onnx(
    source: str | Path, out: str | Path, quant: str = "int4", *, graph: str = "auto", progress: bool = True
) -> Path:
    """Convert the Gemma 3 GGUF `source` to the ONNX folder `out` at `quant`; returns `out`."""
    from csteer.quantize.onnx_convert import check_quant, to_onnx

    quant = check_quant(quant)
    gguf_path = Path(source).expanduser()
    target = Path(out).expanduser()
    if not gguf_path.is_file():
        raise CsteerError(f"{gguf_path}: no such GGUF file")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".embedded-hf-") as tmp:
        hf_dir = gguf_to_hf(gguf_path, Path(tmp) / "hf")
        return to_onnx(hf_dir, target, quant, graph=graph, progress=progress)
