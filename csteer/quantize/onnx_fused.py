"""HF checkpoint -> a fused ONNX decoder graph, built by onnxruntime-genai's model builder.

Why a second export path: optimum-onnx traces the PyTorch model, so Gemma 3 comes out as ~4,000 small
nodes (decomposed attention, rotary, masks) whose per-token kernel launches cost as much as the int4
matmuls themselves. The builder writes each layer from onnxruntime's fused contrib ops instead
(GroupQueryAttention with rotary inside, SimplifiedLayerNormalization, MatMulNBits): 375 nodes for
the embedded Gemma 3, 1.3-1.5x the decode speed in csteer's engine (docs/BENCHMARKS.md). Its graph has
optimum's interface (input_ids, attention_mask, past_key_values.N.key/value -> logits, present.N.*;
positions come from the mask), so the same OnnxEngine runs either.

Why a subprocess: the builder is a script (it imports its siblings by path) and onnxruntime-genai
loads its own copy of the onnxruntime library; neither belongs in csteer's process.

Why version 0.11.4: later builders import transformers 5 classes, and optimum-onnx needs
transformers < 4.58; 0.11.4 is the newest whose builder runs on the transformers csteer pins.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

from csteer.errors import CsteerError

# quantizations the builder writes (int8 stays with optimum + onnxruntime's dynamic quantizer)
FUSED_QUANTS = ("fp32", "fp16", "int4")
# model types (config.json) whose fused graph csteer tests against transformers' logits
# (tests/quantize): Llama (CodeSteer-v1) and Gemma 3 (the embedded model); the builder knows more,
# and `--graph fused` tries any of them
TESTED_MODEL_TYPES = ("llama", "gemma3_text")
BUILDER = "onnxruntime_genai.models.builder"
OUTPUT_FILES = ("model.onnx", "model.onnx.data", "genai_config.json")


def builder_available() -> bool:
    return importlib.util.find_spec("onnxruntime_genai") is not None


def build_fused(src: Path, dest: Path, quant: str, *, progress: bool = True) -> Path:
    """Write `dest`/model.onnx (+ model.onnx.data, genai_config.json) for the checkpoint `src`;
    `quant` is one of FUSED_QUANTS (onnx_convert.pick_graph has checked it)."""
    if not builder_available():
        raise CsteerError("the fused ONNX graph needs onnxruntime-genai: pip install 'csteer[quantize]'")
    dest.mkdir(parents=True, exist_ok=True)
    cache = dest / "builder-cache"
    if progress:
        print(
            f"csteer: building a fused ONNX graph ({quant}, onnxruntime-genai builder)...",
            file=sys.stderr,
        )
    source = _staged_source(src, dest / "source")
    cmd = [sys.executable, "-m", BUILDER, "-i", str(source), "-o", str(dest), "-p", quant, "-e", "cpu"]
    cmd += ["-c", str(cache)]
    # offline: the checkpoint is local, and nothing may be fetched behind the user's back
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    except OSError as err:
        raise CsteerError(f"could not start the ONNX builder: {err}") from err
    if done.returncode != 0:
        raise CsteerError(f"fused ONNX build of {src} failed: {_last_error(done.stderr + done.stdout)}")
    if not (dest / "model.onnx").is_file():
        raise CsteerError(f"fused ONNX build of {src} produced no model.onnx")
    return dest


def _staged_source(src: Path, stage: Path) -> Path:
    """`src`, or a folder of links to its files with config.json patched for a builder bug.

    The bug (0.11.4): for llama3-type rope scaling (Llama 3.1 and later) the builder looks for
    `original_max_position_embeddings` as an attribute of the rope_scaling dict, never finds it, and
    rescales the rotary frequencies against max_position_embeddings instead: every position after the
    first comes out wrong (tests/quantize/test_onnx.py catches it). A top-level copy of the key is the
    first place it looks."""
    config = json.loads((src / "config.json").read_text(encoding="utf-8"))
    scaling = config.get("rope_scaling") or {}
    if "original_max_position_embeddings" in config or "original_max_position_embeddings" not in scaling:
        return src
    stage.mkdir(parents=True)
    for item in src.iterdir():
        if item.name != "config.json":
            (stage / item.name).symlink_to(item.resolve())
    config["original_max_position_embeddings"] = scaling["original_max_position_embeddings"]
    (stage / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return stage


def _last_error(output: str) -> str:
    """The builder's own error line (the last line of its traceback), not its progress chatter."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line.split(":", 1)[0]]
    return (errors or lines or ["no output"])[-1][:300]
