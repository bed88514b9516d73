"""vs_transformers: csteer's GGUF coach decode tokens/s / transformers' CPU `generate` on the same model
(the reference's engine). transformers dequantizes the embedded Gemma GGUF to fp32. Goal >= 5.
Needs the `quantize` extra (torch CPU, transformers)."""

from __future__ import annotations

import time
from typing import Any

from benchmarks.common import interleave, main, result
from benchmarks.models import LONG_PROMPT, embedded_path


def measure(quick: bool) -> dict[str, Any]:
    import torch
    from transformers import AutoModelForCausalLM

    from csteer.engines.base import EngineOptions
    from csteer.engines.llamacpp import LlamaCppEngine
    from csteer.engines.threads import choose_threads

    path = embedded_path()
    threads = choose_threads()
    torch.set_num_threads(threads)
    n_tokens = 32 if quick else 64
    ours = LlamaCppEngine(str(path), EngineOptions(n_ctx=2048, threads=threads), kind="base")
    hf = AutoModelForCausalLM.from_pretrained(
        str(path.parent), gguf_file=path.name, torch_dtype=torch.float32
    )
    hf.eval()
    # same prompt tokens for both: llama.cpp's tokenization (transformers builds a wrong Gemma tokenizer from GGUF)
    ids = ours.tokenize(LONG_PROMPT)
    input_ids = torch.tensor([ids])

    def run_ours() -> float:
        start = time.perf_counter()
        out = ours.chat([{"role": "user", "content": LONG_PROMPT}], max_tokens=n_tokens)
        return out.usage.completion_tokens / (time.perf_counter() - start)

    def run_hf() -> float:
        start = time.perf_counter()
        with torch.no_grad():
            out = hf.generate(input_ids, max_new_tokens=n_tokens, min_new_tokens=n_tokens, do_sample=False)
        rate = (out.shape[1] - input_ids.shape[1]) / (time.perf_counter() - start)
        # torch's OpenMP workers spin-wait for a while after each parallel region; let them go idle so
        # they do not steal the cores from the llama.cpp run that follows (outside the timed part)
        time.sleep(0.5)
        return rate

    a, b = interleave(run_ours, run_hf, reps=3 if quick else 5)
    return result(
        "vs_transformers",
        a,
        b,
        "tok/s",
        ">= 5",
        "csteer GGUF engine",
        "transformers generate (fp32)",
        note=f"{n_tokens} new tokens, {threads} threads",
    )


if __name__ == "__main__":
    main(measure)
