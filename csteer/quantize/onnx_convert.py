"""HF checkpoint -> ONNX with KV cache: a fused graph (onnxruntime-genai's builder, onnx_fused.py) or
optimum's traced export followed by onnxruntime weight quantization."""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from csteer.errors import CsteerError, UsageError
from csteer.fileio import atomic_dir

if TYPE_CHECKING:
    from csteer.quantize.checkpoint import Checkpoint

ONNX_QUANTS = ("fp32", "fp16", "int8", "int4")
# auto: the fused graph where csteer has tested it (architecture and quantization), else optimum
ONNX_GRAPHS = ("auto", "fused", "optimum")
MODEL_FILE = "model.onnx"
# protobuf cannot hold a single file over 2 GB: larger models keep weights in an external data file
_PROTO_LIMIT = 1_800_000_000
# files the engine needs beside the graph
SIDE_FILES = (
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
)


def to_onnx(
    src: str | Path,
    out_dir: str | Path,
    quant: str = "int8",
    *,
    graph: str = "auto",
    progress: bool = True,
) -> Path:
    """Export the HF checkpoint folder `src` to an ONNX folder `out_dir` (model.onnx + tokenizer files).

    `graph`: "fused" (onnxruntime-genai's builder: fused attention and norms, faster on CPU),
    "optimum" (optimum's traced export), or "auto" (fused where it is tested, see pick_graph)."""
    quant = check_quant(quant)
    src = Path(src).expanduser()
    out_dir = Path(out_dir).expanduser()
    ckpt = _check_source(src)
    graph = pick_graph(graph, quant, ckpt.architecture)
    with atomic_dir(out_dir) as work:
        export_dir = work / "export"
        if graph == "fused":
            from csteer.quantize.onnx_fused import OUTPUT_FILES, build_fused

            build_fused(src, export_dir, quant, progress=progress)
            for name in OUTPUT_FILES:
                if (export_dir / name).is_file():
                    (export_dir / name).rename(work / name)
        else:
            _export(src, export_dir, progress)
            with _quiet():
                quantize_onnx(export_dir / MODEL_FILE, work / MODEL_FILE, quant)
        for name in SIDE_FILES:
            # the source's own files first: the exporters re-save tokenizers through transformers
            for origin in (src / name, export_dir / name):
                if origin.is_file():
                    shutil.copy2(origin, work / name)
                    break
        shutil.rmtree(export_dir)
        meta = {
            "format": "onnx",
            "quant": quant,
            "graph": graph,
            "source": str(src),
            "task": "text-generation-with-past",
        }
        (work / "csteer_onnx.json").write_text(json.dumps(meta, indent=2))
    return out_dir


def pick_graph(graph: str, quant: str, model_type: str) -> str:
    """The export path for `graph`: "auto" resolves to "fused" for a tested model type and a
    quantization the builder writes, when onnxruntime-genai is installed; else "optimum"."""
    from csteer.quantize.onnx_fused import FUSED_QUANTS, TESTED_MODEL_TYPES, builder_available

    graph = graph.lower()
    if graph not in ONNX_GRAPHS:
        raise UsageError(f"unknown ONNX graph {graph!r} (choose from {', '.join(ONNX_GRAPHS)})")
    if graph == "fused" and quant not in FUSED_QUANTS:
        raise UsageError(f"the fused graph has no {quant} (choose from {', '.join(FUSED_QUANTS)})")
    if graph != "auto":
        return graph
    fused = quant in FUSED_QUANTS and model_type in TESTED_MODEL_TYPES and builder_available()
    return "fused" if fused else "optimum"


def check_quant(quant: str) -> str:
    """`quant` in lower case if it is an ONNX quantization (ONNX_QUANTS), else a UsageError."""
    quant = quant.lower()
    if quant not in ONNX_QUANTS:
        raise UsageError(f"unknown ONNX quantization {quant!r} (choose from {', '.join(ONNX_QUANTS)})")
    return quant


def _check_source(src: Path) -> Checkpoint:
    from csteer.quantize.checkpoint import open_checkpoint

    ckpt = open_checkpoint(src)  # clear errors for a missing config, weights or a corrupt file
    if ckpt.file("tokenizer.json") is None:
        raise CsteerError(f"{src}: tokenizer.json is missing; the ONNX engine needs it beside the model")
    return ckpt


def _export(src: Path, dest: Path, progress: bool) -> None:
    try:
        from optimum.exporters.onnx import main_export
    except ImportError as err:
        raise CsteerError("ONNX export needs optimum-onnx: pip install 'csteer[quantize]'") from err
    if progress:
        import sys

        print(
            f"csteer: exporting {src.name} to ONNX (optimum, text-generation-with-past)...", file=sys.stderr
        )
    with _quiet():
        _run_export(main_export, src, dest)
    if not (dest / MODEL_FILE).is_file():
        raise CsteerError(f"ONNX export of {src} produced no {MODEL_FILE}")


def _run_export(main_export: Any, src: Path, dest: Path) -> None:
    try:
        main_export(
            model_name_or_path=str(src),
            output=dest,
            task="text-generation-with-past",
            device="cpu",
            do_validation=False,
            local_files_only=True,
        )
    except (ValueError, KeyError, OSError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CsteerError(f"ONNX export of {src} failed: {first}") from err


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Tracer and quantizer chatter is for library developers: keep stderr to our own lines."""
    import logging
    import warnings

    logging.disable(logging.WARNING)
    hf_logging: Any = None
    try:
        from transformers.utils import logging as hf_logging

        hf_level = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()
    except ImportError:
        hf_logging = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(logging.NOTSET)
        if hf_logging is not None:
            hf_logging.set_verbosity(hf_level)


def _save(model: Any, path: Path) -> None:
    import onnx

    external = model.ByteSize() > _PROTO_LIMIT if hasattr(model, "ByteSize") else True
    onnx.save_model(
        model,
        str(path),
        save_as_external_data=external,
        all_tensors_to_one_file=True,
        location=path.name + "_data",
    )


def quantize_onnx(src: Path, dst: Path, quant: str) -> None:
    """Write `dst` from the fp32 graph `src`: fp32 copy, fp16 cast, int8 dynamic or 4-bit MatMulNBits."""
    try:
        _quantize_onnx(src, dst, quant)
    except ImportError as err:
        raise CsteerError(
            f"ONNX {quant} quantization needs {err.name}: pip install 'csteer[quantize]'"
        ) from err


def _quantize_onnx(src: Path, dst: Path, quant: str) -> None:
    import onnx

    if quant == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # dynamic int8 on MatMul weights: activations are quantized per call, so no calibration data
        quantize_dynamic(
            str(src),
            str(dst),
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul"],
            per_channel=False,  # measured: per-channel MatMul weights agree worse with fp32 here
            use_external_data_format=_external_size(src) > _PROTO_LIMIT,
            extra_options={"MatMulConstBOnly": True},
        )
        return
    model = onnx.load(str(src))
    if quant == "fp32":
        _save(model, dst)
    elif quant == "fp16":
        from onnxruntime.transformers.float16 import convert_float_to_float16

        # keep fp32 inputs/outputs so the engine feeds the same tensors whatever the weights are
        _save(convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=True), dst)
    elif quant == "int4":
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

        # accuracy_level 4: int8 activations inside the 4-bit MatMuls on CPU. Measured on the embedded
        # Gemma: 41 -> 19 ms per decode step, same greedy tokens.
        quantizer = MatMulNBitsQuantizer(model, block_size=32, is_symmetric=True, accuracy_level=4)
        quantizer.process()
        _save(quantizer.model.model, dst)


def _external_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.iterdir() if p.is_file())
