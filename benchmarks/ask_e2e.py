"""ask_e2e: end-to-end `csteer ask` on the embedded default as a user runs it (wall time, peak RSS),
next to loading the model alone, and where each question's seconds go (the run record's phases: model
load, coach, task-model drafting, sandbox, self-check; "process" is the rest of the wall time: the
interpreter, imports, writing the answer, exit). Reported, no fixed goal.

The full run asks the five first-contact questions of issue 19 as well; `--quick` only the ratio's one.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

from benchmarks.common import main, result
from benchmarks.models import embedded_path
from csteer.runtime.clock import PHASES

QUESTION = "What is 48271 * 91433?"
FIRST_CONTACT = (  # issue 19's table: what a newcomer tries first
    "What is 3 * 41?",
    "How many r's are in strawberry?",
    "What is the sum of all primes below 100?",
    "Sort these numbers: 5, 3, 9, 1",
    "What is the capital of France?",
)


def _run(cmd: list[str], stdin: str = "") -> tuple[float, str]:
    """Wall seconds and stdout of one child that must succeed."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 3):  # 3: no answer, a result; anything else must not be timed
        raise RuntimeError(f"{' '.join(cmd[:4])}... exited {proc.returncode}: {proc.stderr[-300:]}")
    return wall, proc.stdout


def ask(question: str) -> dict[str, Any]:
    """One cold `csteer ask --json`: its wall time, answer and phase seconds."""
    cmd = [sys.executable, "-m", "csteer", "ask", "--json", "--no-log", "--no-server"]
    wall, out = _run(cmd, question)
    record = json.loads(out)
    phases = {p: record.get("phases", {}).get(p, 0.0) for p in PHASES}
    phases["process"] = round(wall - phases["load"] - record["seconds"], 3)
    return {
        "question": question,
        "answer": record["answer"],
        "turns": len(record["turns"]),
        "wall_s": round(wall, 3),
        "phases": phases,
    }


def measure(quick: bool) -> dict[str, Any]:
    path = embedded_path()
    load_only = [
        sys.executable,
        "-c",
        f"import llama_cpp; llama_cpp.Llama(model_path={str(path)!r}, n_ctx=8192, verbose=False)",
    ]
    walls_ask, walls_load, runs = [], [], []
    reps = 1 if quick else 3
    for _ in range(reps):
        first = ask(QUESTION)
        runs.append(first)
        walls_ask.append(first["wall_s"])
        walls_load.append(_run(load_only)[0])
    if not quick:
        runs += [ask(q) for q in FIRST_CONTACT]
    # peak RSS of the largest child so far (ru_maxrss of RUSAGE_CHILDREN is a max over children)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    median_phases = {
        p: round(statistics.median(r["phases"][p] for r in runs), 3) for p in (*PHASES, "process")
    }
    out = result(
        "ask_e2e",
        walls_ask,
        walls_load,
        "s",
        None,
        "csteer ask (embedded, coach == task)",
        "model load only",
        note=(
            f"peak RSS of any child {peak_mb:.0f} MB; one model instance serves both roles; median phase "
            "seconds over all questions: " + ", ".join(f"{p} {s}" for p, s in median_phases.items())
        ),
    )
    out["questions"] = runs
    out["median_phases"] = median_phases
    out["cpus"] = os.cpu_count()
    return out


if __name__ == "__main__":
    main(measure)
