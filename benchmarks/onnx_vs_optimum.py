"""Decode speed of csteer's ONNX engine vs optimum's ORTModelForCausalLM.generate on the same ONNX model.

Both run the embedded Gemma 3 270M converted to ONNX int4 by csteer's default path (the fused graph of
onnxruntime-genai's builder, converted once into the benchmarks' model store; optimum runs that graph
too), the same prompt, greedy, the same number of new tokens (EOS ignored). Decode speed only, timed the same way
from outside on both sides: the wall time of a call that makes N new tokens minus that of a call that
makes one (prefill and the first token), over N - 1, so neither side's own clock is trusted and short
quick runs measure the same thing as long ones. Repetitions alternate between the two so machine load
hits both alike; the median of each is reported.

    python -m benchmarks.onnx_vs_optimum [--quick]
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from benchmarks.common import interleave, main, result
from benchmarks.models import embedded_path

PROMPT = "Question: What is 48271 * 91433? Decide whether to write Python code or reason in text.\nAnswer:"


def _decode_rate(generate: Any, new_tokens: int) -> float:
    """Tokens per second after the first, from the wall clock around two calls (N tokens, 1 token)."""
    start = time.perf_counter()
    generate(1)
    one = time.perf_counter() - start
    start = time.perf_counter()
    generate(new_tokens)
    many = time.perf_counter() - start
    return (new_tokens - 1) / (many - one)


def model_dir(graph: str = "fused") -> Path:
    """The embedded model as ONNX int4 with `graph` (fused or optimum), converted once per store."""
    embedded_path()  # the benchmarks' store (CSTEER_HOME) holds the GGUF and its ONNX conversions
    from csteer.models.embedded import default_output
    from csteer.quantize import gguf_to_onnx

    target = default_output("int4")
    if graph != "fused":
        target = target.with_name(f"{target.name}-{graph}")
    if _graph_of(target) != graph:  # missing, or converted before csteer had the fused graph
        from csteer.models.embedded import ensure_embedded

        gguf_to_onnx(ensure_embedded(), target, "int4", graph=graph)
    return target


def _graph_of(folder: Path) -> str | None:
    try:
        return json.loads((folder / "csteer_onnx.json").read_text()).get("graph", "optimum")
    except (OSError, ValueError):
        return None


def measure(quick: bool) -> dict[str, Any]:
    import torch
    from optimum.onnxruntime import ORTModelForCausalLM

    from csteer.engines.onnx import OnnxEngine

    folder = model_dir()
    new_tokens = 16 if quick else 64
    reps = 9 if quick else 15
    ours = OnnxEngine(folder, kind="base")
    ours.eos_ids = set()  # fixed-length decode, like min_new_tokens below
    theirs = ORTModelForCausalLM.from_pretrained(folder, file_name="model.onnx", use_cache=True)
    prompt_ids = torch.tensor([ours.tokenizer.encode(PROMPT).ids])

    def ours_generate(n: int) -> None:
        ours._cache_tokens = []  # no cross-run prefix reuse: both sides evaluate the prompt
        out = ours.chat([{"role": "user", "content": PROMPT}], max_tokens=n)
        if out.usage.completion_tokens != n:
            raise RuntimeError(f"csteer made {out.usage.completion_tokens} tokens, not {n}")

    def theirs_generate(n: int) -> None:
        ids = theirs.generate(prompt_ids, max_new_tokens=n, min_new_tokens=n, do_sample=False)
        if ids.shape[1] - prompt_ids.shape[1] != n:
            raise RuntimeError(f"optimum made {ids.shape[1] - prompt_ids.shape[1]} tokens, not {n}")

    def run_ours() -> float:
        return _decode_rate(ours_generate, new_tokens)

    def run_theirs() -> float:
        return _decode_rate(theirs_generate, new_tokens)

    a, b = interleave(run_ours, run_theirs, reps)
    note = f"{folder.name} (fused graph), {new_tokens} new tokens, greedy, CPU, both timed from outside (N-token call minus 1-token call)"
    return result("onnx_vs_optimum", a, b, "tok/s", ">= 3", "csteer OnnxEngine", "optimum generate", note)


if __name__ == "__main__":
    main(measure)
