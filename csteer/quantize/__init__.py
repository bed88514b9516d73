"""Quantize checkpoints: HF -> GGUF (+ llama.cpp K-quants), HF -> ONNX (+ int8/int4/fp16), verification.

Every verb is a plain function; `csteer quantize` is a thin wrapper. Heavy libraries (gguf, numpy,
torch, transformers, optimum, onnxruntime) are imported inside the functions that need them.
Nothing here imports csteer.models or anything above it: callers pass paths in.

Default quantizations, when a caller gives none:
- GGUF: q4_k_m (GGUF_DEFAULT), llama.cpp's usual size/quality trade-off (an 8B model in ~4.9 GB);
- ONNX: int8 (ONNX_DEFAULT) for `csteer quantize`; the model store converts to int4 (see csteer.models.pull).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

GGUF_DEFAULT = "q4_k_m"
ONNX_DEFAULT = "int8"


def to_gguf(src: str | Path, out: str | Path, quant: str = "f16", *, progress: bool = True) -> Path:
    """HF checkpoint folder (safetensors) -> GGUF file at `quant` (f32, f16, q8_0 or a llama.cpp type)."""
    from csteer.quantize.gguf_convert import to_gguf as run

    return run(src, out, quant, progress=progress)


def to_onnx(
    src: str | Path, out_dir: str | Path, quant: str = "int8", *, graph: str = "auto", progress: bool = True
) -> Path:
    """HF checkpoint folder -> ONNX folder (KV-cache export) at `quant` (fp32, fp16, int8, int4);
    `graph` fused (onnxruntime-genai builder), optimum, or auto (fused where tested)."""
    from csteer.quantize.onnx_convert import to_onnx as run

    return run(src, out_dir, quant, graph=graph, progress=progress)


def gguf_to_onnx(
    source: str | Path, out: str | Path, quant: str = "int4", *, graph: str = "auto", progress: bool = True
) -> Path:
    """A Gemma 3 GGUF (such as the embedded model) -> HF (dequantized) -> ONNX folder at `quant`."""
    from csteer.quantize.embedded import gguf_to_onnx as run

    return run(source, out, quant, graph=graph, progress=progress)


def verify(reference: str | Path, candidate: str | Path, **kwargs: Any) -> dict[str, Any]:
    """Compare two models (HF dir, GGUF or ONNX) on fixed token sequences and texts; see compare.py."""
    from csteer.quantize.compare import verify as run

    return run(reference, candidate, **kwargs)


def check_gguf_quant(quant: str) -> str:
    """`quant` in lower case if to_gguf knows it, else a UsageError naming the choices."""
    from csteer.quantize.gguf_convert import check_quant

    return check_quant(quant)


def check_onnx_quant(quant: str) -> str:
    """`quant` in lower case if to_onnx knows it, else a UsageError naming the choices."""
    from csteer.quantize.onnx_convert import check_quant

    return check_quant(quant)


__all__ = [
    "GGUF_DEFAULT",
    "ONNX_DEFAULT",
    "check_gguf_quant",
    "check_onnx_quant",
    "gguf_to_onnx",
    "to_gguf",
    "to_onnx",
    "verify",
]
