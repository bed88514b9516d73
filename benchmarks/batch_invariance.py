"""batch_invariance: what csteer's batch-invariant llama.cpp setting costs (csteer.engines.llamacpp).

csteer loads GGUF models without llama.cpp's repacked weights, because with them a token's logits
depend on where a prompt's decode calls were cut (and so, with prefix reuse, on the process's history).
This case runs the embedded Gemma 3 both ways in one process, interleaved:
  a: no repacked weights (csteer's setting)   b: repacked weights (llama.cpp's default)
ratio = prompt evaluation tokens/s, a / b (a coach transcript of ~500 tokens from an empty context). The
note gives decode tokens/s both ways and the largest logit difference between evaluating that prompt in
one call and in two calls cut at each of a set of points (0 = batch-invariant). No goal: a cost to read.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from benchmarks.common import interleave, main, result
from benchmarks.models import LONG_PROMPT, embedded_path

CUTS = (100, 257, 300, 401, 450)  # where the prompt's evaluation is cut in two for the drift figure


def _load(repack: bool) -> Any:
    import llama_cpp
    import llama_cpp.llama_cpp as lib

    from csteer.engines.threads import choose_threads

    defaults = lib.llama_model_default_params

    def params() -> Any:
        p = defaults()
        p.use_extra_bufts = repack
        return p

    lib.llama_model_default_params = params
    try:
        threads = choose_threads()
        return llama_cpp.Llama(
            model_path=str(embedded_path()),
            n_ctx=4096,
            n_threads=threads,
            n_threads_batch=threads,
            n_batch=512,
            verbose=False,
        )
    finally:
        lib.llama_model_default_params = defaults


def _logits(llm: Any, tokens: list[int], cut: int | None) -> Any:
    import numpy as np

    llm.reset()
    llm._ctx.kv_cache_seq_rm(-1, 0, -1)
    for part in [tokens] if cut is None else [tokens[:cut], tokens[cut:]]:
        llm.eval(part)
    return np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(llm.n_vocab(),)).astype(np.float64)


def _drift(llm: Any, tokens: list[int]) -> float:
    import numpy as np

    whole = _logits(llm, tokens, None).copy()
    return max(float(np.abs(_logits(llm, tokens, cut) - whole).max()) for cut in CUTS)


def measure(quick: bool) -> dict[str, Any]:
    from csteer.runtime import prompts

    models = {True: _load(True), False: _load(False)}
    transcript = prompts.coach_transcript("How many days are there from March 1 to April 15?", [], None)
    tokens = models[False].tokenize(transcript.encode("utf-8"), add_bos=True)

    def prompt_eval(repack: bool) -> float:
        llm = models[repack]
        llm.reset()
        llm._ctx.kv_cache_seq_rm(-1, 0, -1)
        start = time.perf_counter()
        llm.eval(tokens)
        return len(tokens) / (time.perf_counter() - start)

    def decode(repack: bool) -> float:
        llm = models[repack]
        llm.reset()
        start = time.perf_counter()
        out = llm.create_completion(LONG_PROMPT, max_tokens=48 if quick else 96, temperature=0.0, top_k=1)
        return out["usage"]["completion_tokens"] / (time.perf_counter() - start)

    reps = 3 if quick else 6
    a, b = interleave(lambda: prompt_eval(False), lambda: prompt_eval(True), reps=reps)
    da, db = interleave(lambda: decode(False), lambda: decode(True), reps=reps)
    drift = {repack: _drift(models[repack], tokens) for repack in (False, True)}
    return result(
        "batch_invariance",
        a,
        b,
        "tok/s",
        None,
        "prompt eval, no repacked weights (csteer)",
        "prompt eval, repacked weights",
        note=(
            f"{len(tokens)}-token prompt; decode {statistics.median(da):.1f} / {statistics.median(db):.1f} tok/s "
            f"(ratio {statistics.median(da) / statistics.median(db):.2f}); largest logit change from cutting "
            f"the prompt's evaluation at {', '.join(map(str, CUTS))}: {drift[False]:.3g} without repacking, "
            f"{drift[True]:.3g} with it"
        ),
    )


if __name__ == "__main__":
    main(measure)
