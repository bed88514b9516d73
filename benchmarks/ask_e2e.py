"""ask_e2e: end-to-end `csteer ask` on the embedded default as a user runs it (wall time, peak RSS),
next to loading the model alone, so the steering overhead is visible. Reported, no fixed goal."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from typing import Any

from benchmarks.common import main, result
from benchmarks.models import embedded_path

QUESTION = "What is 48271 * 91433?"


def _run(cmd: list[str], stdin: str = "") -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and stdout of one child, measured with wait4's rusage."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    out, _ = proc.communicate(stdin)
    if proc.returncode != 0:  # a run that failed fast must not be timed as a fast run
        raise RuntimeError(f"{' '.join(cmd[:4])}... exited {proc.returncode}")
    _, _, usage = (
        os.wait4(proc.pid, 0)
        if proc.returncode is None
        else (0, 0, resource.getrusage(resource.RUSAGE_CHILDREN))
    )
    return time.perf_counter() - start, usage.ru_maxrss / 1024, out


def measure(quick: bool) -> dict[str, Any]:
    path = embedded_path()
    ask = [sys.executable, "-m", "csteer", "ask", "--no-log"]
    load_only = [
        sys.executable,
        "-c",
        f"import llama_cpp; llama_cpp.Llama(model_path={str(path)!r}, n_ctx=8192, verbose=False)",
    ]
    walls_ask, walls_load, answers = [], [], []
    reps = 1 if quick else 3
    for _ in range(reps):
        wall, _, out = _run(ask, QUESTION)
        walls_ask.append(wall)
        answers.append(out.strip())
        walls_load.append(_run(load_only)[0])
    # peak RSS of the largest child so far (ru_maxrss of RUSAGE_CHILDREN is a max over children)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return result(
        "ask_e2e",
        walls_ask,
        walls_load,
        "s",
        None,
        "csteer ask (embedded, coach == task)",
        "model load only",
        note=f"answers {answers}; peak RSS of any child {peak_mb:.0f} MB; one model instance serves both roles",
    )


if __name__ == "__main__":
    main(measure)
