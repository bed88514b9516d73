"""Decode speed of csteer's ONNX engine vs optimum's ORTModelForCausalLM.generate on the same ONNX model.

Both run the embedded Gemma 3 270M converted to ONNX int4 (converted once into the model store), the
same prompt, greedy, the same number of new tokens (EOS ignored). Decode speed only: the prompt's prefill
is left out on both sides (ours: Timing.decode_seconds; optimum: timestamps from a streamer), so short
quick runs measure the same thing as long ones. Repetitions alternate between the two so machine load
hits both alike; the median of each is reported.

    python -m benchmarks.onnx_vs_optimum [--quick]
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from benchmarks.common import interleave, main, result
from benchmarks.models import embedded_path

PROMPT = "Question: What is 48271 * 91433? Decide whether to write Python code or reason in text.\nAnswer:"


class _Stamps:
    """A transformers streamer that timestamps every new token: decode speed without the prompt's prefill.

    generate() hands the prompt to put() first, then one call per generated token."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def put(self, value: Any) -> None:
        self.times.append(time.perf_counter())

    def end(self) -> None:
        pass

    def decode_rate(self) -> float:
        new = self.times[1:]  # drop the prompt
        return (len(new) - 1) / (new[-1] - new[0])


def _model_dir() -> Path:
    embedded_path()  # the benchmarks' store (CSTEER_HOME) holds the GGUF and its ONNX conversion
    from csteer.models.embedded import convert_embedded, default_output

    target = default_output("int4")
    if not (target / "model.onnx").is_file():
        convert_embedded(quant="int4", out=target)
    return target


def measure(quick: bool) -> dict[str, Any]:
    import torch
    from optimum.onnxruntime import ORTModelForCausalLM

    from csteer.engines.onnx import OnnxEngine

    model_dir = _model_dir()
    new_tokens = 16 if quick else 64
    reps = 9 if quick else 15
    ours = OnnxEngine(model_dir, kind="base")
    ours.eos_ids = set()  # fixed-length decode, like min_new_tokens below
    theirs = ORTModelForCausalLM.from_pretrained(model_dir, file_name="model.onnx", use_cache=True)
    prompt_ids = torch.tensor([ours.tokenizer.encode(PROMPT).ids])

    def run_ours() -> float:
        ours._cache_tokens = []  # no cross-run prefix reuse: both sides evaluate the prompt
        out = ours.chat([{"role": "user", "content": PROMPT}], max_tokens=new_tokens)
        return out.usage.completion_tokens / out.timing.decode_seconds

    def run_theirs() -> float:
        stamps = _Stamps()
        theirs.generate(
            prompt_ids, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False, streamer=stamps
        )
        return stamps.decode_rate()

    a, b = interleave(run_ours, run_theirs, reps)
    note = f"{model_dir.name}, {new_tokens} new tokens, greedy, CPU"
    return result("onnx_vs_optimum", a, b, "tok/s", ">= 2.5", "csteer OnnxEngine", "optimum generate", note)


if __name__ == "__main__":
    main(measure)
