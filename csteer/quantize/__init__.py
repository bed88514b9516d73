"""Quantize checkpoints: HF -> GGUF (+ llama.cpp K-quants), HF -> ONNX (+ int8/int4/fp16), verification.

Every verb is a plain function; `csteer quantize` is a thin wrapper. Heavy libraries (gguf, numpy,
torch, transformers, optimum, onnxruntime) are imported inside the functions that need them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def to_gguf(src: str | Path, out: str | Path, quant: str = "f16", *, progress: bool = True) -> Path:
    """HF checkpoint folder (safetensors) -> GGUF file at `quant` (f32, f16, q8_0 or a llama.cpp type)."""
    from csteer.quantize.gguf_convert import to_gguf as run

    return run(src, out, quant, progress=progress)


def to_onnx(src: str | Path, out_dir: str | Path, quant: str = "int8", *, progress: bool = True) -> Path:
    """HF checkpoint folder -> ONNX folder (KV-cache export) at `quant` (fp32, fp16, int8, int4)."""
    from csteer.quantize.onnx_convert import to_onnx as run

    return run(src, out_dir, quant, progress=progress)


def verify(reference: str | Path, candidate: str | Path, **kwargs: Any) -> dict[str, Any]:
    """Compare two models (HF dir, GGUF or ONNX) on fixed token sequences and texts; see compare.py."""
    from csteer.quantize.compare import verify as run

    return run(reference, candidate, **kwargs)


def convert_embedded(
    to: str = "onnx", quant: str = "int4", out: str | Path | None = None, *, source: str | Path | None = None
) -> Path:
    """The embedded Gemma 3 270M GGUF (or `source`) -> HF -> ONNX at `quant`; returns the ONNX folder."""
    from csteer.quantize.embedded import convert_embedded as run

    return run(to=to, quant=quant, out=out, source=source)


__all__ = ["convert_embedded", "to_gguf", "to_onnx", "verify"]
