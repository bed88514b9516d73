"""HF checkpoint (safetensors) -> GGUF, streamed one tensor at a time; K-quants through llama.cpp."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from csteer.errors import CsteerError, UsageError
from csteer.fileio import atomic_file
from csteer.quantize.arch import for_config, text_config
from csteer.quantize.checkpoint import Checkpoint, open_checkpoint
from csteer.quantize.progress import byte_progress

DIRECT_QUANTS = ("f32", "f16", "q8_0")  # written by us
LLAMA_CPP_QUANTS = (
    "q4_0",
    "q4_1",
    "q5_0",
    "q5_1",
    "q2_k",
    "q3_k_s",
    "q3_k_m",
    "q3_k_l",
    "q4_k_s",
    "q4_k_m",
    "q5_k_s",
    "q5_k_m",
    "q6_k",
)
GGUF_QUANTS = DIRECT_QUANTS + LLAMA_CPP_QUANTS


def to_gguf(src: str | Path, out: str | Path, quant: str = "f16", *, progress: bool = True) -> Path:
    """Convert the HF checkpoint folder `src` to the GGUF file `out` at `quant`; returns `out`.

    f32/f16/q8_0 are written directly; other types quantize an f16 intermediate with llama.cpp's
    own quantizer (the intermediate sits beside `out` and is removed afterwards).
    """
    quant = check_quant(quant)
    out = Path(out).expanduser()
    ckpt = open_checkpoint(src)
    arch = for_config(ckpt.config)  # fails early, before any work, on an unsupported architecture
    if quant in DIRECT_QUANTS:
        with atomic_file(out) as tmp:
            _write_gguf(ckpt, arch, tmp, quant, progress)
        return out
    ftype = _llama_cpp_ftype(quant)
    intermediate = out.with_name(f".{out.name}.{os.getpid()}.f16.gguf")
    try:
        with atomic_file(intermediate) as tmp:
            _write_gguf(ckpt, arch, tmp, "f16", progress)
        with atomic_file(out) as tmp:
            llama_quantize(intermediate, tmp, ftype)
    finally:
        intermediate.unlink(missing_ok=True)
    return out


def check_quant(quant: str) -> str:
    """`quant` in lower case if it is a GGUF quantization (GGUF_QUANTS), else a UsageError."""
    quant = quant.lower()
    if quant not in GGUF_QUANTS:
        raise UsageError(f"unknown GGUF quantization {quant!r} (choose from {', '.join(GGUF_QUANTS)})")
    return quant


def _llama_cpp_ftype(quant: str) -> int:
    import llama_cpp

    value = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{quant.upper()}", None)
    if value is None:
        raise UsageError(f"this llama.cpp build has no {quant} quantization")
    return int(value)


def llama_quantize(src: Path, dst: Path, ftype: int, threads: int | None = None) -> None:
    """Quantize GGUF `src` into `dst` with llama.cpp (`llama_model_quantize`)."""
    import ctypes

    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = threads or max(1, os.cpu_count() or 1)
    status = llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), ctypes.byref(params))
    if status != 0:
        raise CsteerError(f"llama.cpp failed to quantize {src} (status {status})")


def _tensor_type(gguf_name: str, shape: tuple[int, ...], quant: str) -> Any:
    import gguf

    T = gguf.GGMLQuantizationType
    if len(shape) < 2 or gguf_name == "rope_freqs.weight" or quant == "f32":
        return T.F32  # norms, biases and rope factors stay exact
    if quant == "q8_0" and shape[-1] % 32 == 0:
        return T.Q8_0
    return T.F16


def _file_type(quant: str) -> Any:
    import gguf

    return {
        "f32": gguf.LlamaFileType.ALL_F32,
        "f16": gguf.LlamaFileType.MOSTLY_F16,
        "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0,
    }[quant]


def _plan(ckpt: Checkpoint, arch: Any, config: dict[str, Any]) -> list[tuple[str, Any]]:
    """(gguf name, source) pairs: a TensorRef from the checkpoint or an array computed from the config."""
    plan: list[tuple[str, Any]] = []
    for name, array in arch.extra_tensors(config).items():
        plan.append((name, array))
    for ref in ckpt.iter_tensors():
        gguf_name = arch.tensor_name(ref.name, ckpt.config)
        if gguf_name is not None:
            plan.append((gguf_name, ref))
    names = {n for n, _ in plan}
    if "token_embd.weight" not in names:
        raise CsteerError(f"{ckpt.root}: no token embedding tensor found for {arch.GGUF_ARCH}")
    expected = int(config["num_hidden_layers"])
    if not any(n.startswith(f"blk.{expected - 1}.") for n in names):
        raise CsteerError(
            f"{ckpt.root}: the checkpoint lacks layer {expected - 1}; are weight files missing?"
        )
    return plan


def _write_gguf(ckpt: Checkpoint, arch: Any, path: Path, quant: str, progress: bool) -> None:
    import gguf
    import numpy as np

    config = text_config(ckpt.config)
    plan = _plan(ckpt, arch, config)
    writer = gguf.GGUFWriter(path=None, arch=arch.GGUF_ARCH)
    writer.add_name(ckpt.root.name)
    writer.add_file_type(_file_type(quant))
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    arch.write_hparams(writer, config)
    from csteer.quantize.gguf_vocab import add_vocab

    add_vocab(writer, ckpt, int(config.get("vocab_size", 0)))

    types: dict[str, Any] = {}
    for name, source in plan:
        shape = tuple(source.shape)
        qtype = _tensor_type(name, shape, quant)
        types[name] = qtype
        nbytes = int(np.prod(gguf.quant_shape_to_byte_shape(shape, qtype)))
        writer.add_tensor_info(name, shape, np.dtype(np.float32), nbytes, raw_dtype=qtype)

    writer.write_header_to_file(path=path)
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    total = sum(int(np.prod(src.shape)) for _, src in plan)
    with byte_progress(f"GGUF {quant}", total, enabled=progress) as advance:
        for name, source in plan:  # one tensor in memory at a time
            array = source.load() if hasattr(source, "load") else source
            array = arch.transform(name, array.astype(np.float32, copy=False), ckpt.config)
            writer.write_tensor_data(_encode(array, types[name]))
            advance(int(np.prod(source.shape)))
            del array
    writer.close()


def _encode(array: Any, qtype: Any) -> Any:
    import gguf
    import numpy as np

    T = gguf.GGMLQuantizationType
    if qtype == T.F32:
        return np.ascontiguousarray(array, dtype=np.float32)
    if qtype == T.F16:
        return np.ascontiguousarray(array, dtype=np.float16)
    return gguf.quants.quantize(np.ascontiguousarray(array, dtype=np.float32), qtype)
