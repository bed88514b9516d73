"""Decode speed of csteer's ONNX engine on the fused graph vs on optimum's traced graph of the same model.

Both folders hold the embedded Gemma 3 270M at int4 (the same MatMulNBits quantizer: 4 bits, blocks of
32, accuracy level 4); one is built by onnxruntime-genai's builder from fused contrib ops
(GroupQueryAttention, SimplifiedLayerNormalization: `csteer quantize --to onnx --graph fused`, the
default for Gemma 3 and Llama), the other traced by optimum (`--graph optimum`). The same engine, prompt
and timing as onnx_vs_optimum (the N-token call minus the 1-token call, repetitions alternating), so the
ratio is what the graph alone is worth.

    python -m benchmarks onnx_graph [--quick]
"""

from __future__ import annotations

from typing import Any

from benchmarks.common import interleave, main, result
from benchmarks.onnx_vs_optimum import PROMPT, _decode_rate, model_dir


def measure(quick: bool) -> dict[str, Any]:
    from csteer.engines.onnx import OnnxEngine

    new_tokens = 16 if quick else 64
    reps = 9 if quick else 15
    engines = {graph: OnnxEngine(model_dir(graph), kind="base") for graph in ("fused", "optimum")}

    def rate(graph: str) -> float:
        engine = engines[graph]
        engine.eos_ids = set()  # fixed-length decode

        def generate(n: int) -> None:
            engine._cache_tokens = []  # no cross-run prefix reuse
            out = engine.chat([{"role": "user", "content": PROMPT}], max_tokens=n)
            if out.usage.completion_tokens != n:
                raise RuntimeError(f"{graph} graph made {out.usage.completion_tokens} tokens, not {n}")

        return _decode_rate(generate, new_tokens)

    a, b = interleave(lambda: rate("fused"), lambda: rate("optimum"), reps)
    note = f"embedded Gemma 3 270M int4, {new_tokens} new tokens, greedy, CPU, csteer's OnnxEngine on both"
    return result("onnx_graph", a, b, "tok/s", ">= 1.2", "fused graph", "optimum's traced graph", note)


if __name__ == "__main__":
    main(measure)
