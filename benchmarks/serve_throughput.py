"""serve_throughput: 8 short questions sent at once to one `csteer serve` (8 concurrent `csteer ask`
clients) vs the same 8 asked one after another in-process (`csteer ask --no-server` each, as a user
runs them today). Reported, no fixed goal: one llama.cpp context runs one question at a time, so the
server's gain is the model loads it saves and the overlap of everything around the decode."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from benchmarks.ask_warm import ask, csteer_serve
from benchmarks.common import main, result
from benchmarks.models import embedded_path

PAIRS = ((48271, 91433), (12, 34), (507, 93), (3, 41), (999, 999), (86, 7), (4096, 2), (123, 456))
QUESTIONS = [f"What is {a} * {b}?" for a, b in PAIRS]
EXPECTED = [str(a * b) for a, b in PAIRS]


def measure(quick: bool) -> dict[str, Any]:
    embedded_path()
    served: list[float] = []
    local: list[float] = []
    answers: dict[str, list[str]] = {"served": [], "in-process": []}
    with csteer_serve("--queue", str(len(QUESTIONS))) as url:
        ask(QUESTIONS[0], env={"CSTEER_SERVER": url})  # warm-up: first-request costs on both sides
        for _ in range(1 if quick else 2):
            start = time.perf_counter()
            with ThreadPoolExecutor(len(QUESTIONS)) as pool:
                outs = list(pool.map(lambda q: ask(q, env={"CSTEER_SERVER": url}), QUESTIONS))
            served.append(time.perf_counter() - start)
            answers["served"] = [o for _, o in outs]
    for _ in range(1 if quick else 2):
        start = time.perf_counter()
        answers["in-process"] = [ask(q, "--no-server")[1] for q in QUESTIONS]
        local.append(time.perf_counter() - start)
    same = sum(x == y for x, y in zip(answers["served"], answers["in-process"]))
    right = {side: sum(x == y for x, y in zip(got, EXPECTED)) for side, got in answers.items()}
    return result(
        "serve_throughput",
        served,
        local,
        "s",
        None,
        "8 concurrent via csteer serve (wall)",
        "8 sequential csteer ask --no-server (wall)",
        note=f"{same}/8 answers equal, right {right}; served {answers['served']}",
    )


if __name__ == "__main__":
    main(measure)
