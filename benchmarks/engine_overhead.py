"""engine_overhead: csteer's GGUF engine decode tokens/s / raw llama-cpp-python, same model, prompt, threads.

Goal >= 0.95: the engine's prompt rendering, slot bookkeeping and record keeping must cost (almost) nothing.
"""

from __future__ import annotations

from typing import Any

from benchmarks.common import interleave, main, result
from benchmarks.models import LONG_PROMPT, embedded_path


def measure(quick: bool) -> dict[str, Any]:
    import time

    import llama_cpp

    from csteer.engines.base import EngineOptions
    from csteer.engines.llamacpp import LlamaCppEngine
    from csteer.engines.threads import choose_threads

    path = str(embedded_path())
    threads = choose_threads()
    n_tokens = 64 if quick else 128
    ours = LlamaCppEngine(path, EngineOptions(n_ctx=2048, threads=threads), kind="base")
    raw = llama_cpp.Llama(
        model_path=path, n_ctx=2048, n_threads=threads, n_threads_batch=threads, verbose=False
    )

    def run_ours() -> float:
        start = time.perf_counter()
        out = ours.chat([{"role": "user", "content": LONG_PROMPT}], max_tokens=n_tokens, temperature=0.0)
        return out.usage.completion_tokens / (time.perf_counter() - start)

    def run_raw() -> float:
        start = time.perf_counter()
        out = raw.create_completion(LONG_PROMPT, max_tokens=n_tokens, temperature=0.0, top_k=1)
        return out["usage"]["completion_tokens"] / (time.perf_counter() - start)

    a, b = interleave(run_ours, run_raw, reps=5 if quick else 9)
    return result(
        "engine_overhead",
        a,
        b,
        "tok/s",
        ">= 0.95",
        "csteer engine",
        "raw llama-cpp-python",
        note=f"{n_tokens} tokens, {threads} threads, Gemma 3 270M Q4_K_M",
    )


if __name__ == "__main__":
    main(measure)
