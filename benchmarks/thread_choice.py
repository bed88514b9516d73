"""thread_choice: decode tokens/s with csteer's thread choice / with all cores, while another process
keeps one core busy. llama.cpp's threads spin-wait on each other, so oversubscription collapses decode;
csteer picks idle physical cores (threads.py). Reported, no fixed goal (higher is better)."""

from __future__ import annotations

import multiprocessing
import os
import time
from typing import Any

from benchmarks.common import interleave, main, result
from benchmarks.models import LONG_PROMPT, embedded_path


def _spin(stop_at: float) -> None:
    while time.time() < stop_at:
        pass


def measure(quick: bool) -> dict[str, Any]:
    import llama_cpp

    from csteer.engines.threads import choose_threads, physical_cores

    path = str(embedded_path())
    cores = physical_cores()
    n_tokens = 24 if quick else 64
    busy = multiprocessing.Process(target=_spin, args=(time.time() + (240 if quick else 600),), daemon=True)
    busy.start()
    try:
        time.sleep(3)  # let the load average see the busy core
        chosen = choose_threads()
        models = {
            n: llama_cpp.Llama(model_path=path, n_ctx=1024, n_threads=n, n_threads_batch=n, verbose=False)
            for n in {chosen, cores}
        }

        def decode(n: int) -> float:
            start = time.perf_counter()
            out = models[n].create_completion(LONG_PROMPT, max_tokens=n_tokens, temperature=0.0, top_k=1)
            return out["usage"]["completion_tokens"] / (time.perf_counter() - start)

        a, b = interleave(lambda: decode(chosen), lambda: decode(cores), reps=2 if quick else 4)
    finally:
        busy.terminate()
    return result(
        "thread_choice",
        a,
        b,
        "tok/s",
        None,
        f"csteer choice ({chosen} threads)",
        f"all cores ({cores} threads)",
        note=f"one core kept busy by another process; load average at choice: {os.getloadavg()[0]:.1f}",
    )


if __name__ == "__main__":
    main(measure)
