"""ask_warm: `csteer ask` answered by a warm `csteer serve` vs in-process (`--no-server`), the same
question, the embedded model as task and coach. Goal <= 0.5 of the in-process wall time: the server
has the models loaded and the sandbox pool warm; the ask process imports no engine."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from benchmarks.common import interleave, main, result
from benchmarks.models import embedded_path


# --- a `csteer serve` child (serve_throughput uses these too) ---
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def csteer_serve(*args: str) -> Iterator[str]:
    """Start `csteer serve` on a free loopback port (the CSTEER_HOME of this process); yield its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "csteer", "serve", "--port", str(port), "--no-log", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"csteer serve exited {proc.returncode} at start")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("csteer serve did not come up") from None
                time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def ask(question: str, *args: str, env: dict[str, str] | None = None) -> tuple[float, str]:
    """Wall seconds and stdout of one `csteer ask --no-log` child."""
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "csteer", "ask", "--no-log", *args],
        input=question,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=900,
    )
    if out.returncode != 0:  # a failed ask must not be timed as a fast one
        tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"csteer ask exited {out.returncode}: {tail}")
    return time.perf_counter() - start, out.stdout.strip()


QUESTION = "What is 48271 * 91433?"


def measure(quick: bool) -> dict[str, Any]:
    embedded_path()
    answers: dict[str, list[str]] = {"warm": [], "in-process": []}
    with csteer_serve() as url:

        def warm() -> float:
            wall, out = ask(QUESTION, env={"CSTEER_SERVER": url})
            answers["warm"].append(out)
            return wall

        def cold() -> float:
            wall, out = ask(QUESTION, "--no-server")
            answers["in-process"].append(out)
            return wall

        a, b = interleave(warm, cold, reps=1 if quick else 3, warmup=1)
    wrong = [x for x in answers["warm"] + answers["in-process"] if x != str(48271 * 91433)]
    if wrong:
        raise RuntimeError(f"wrong answers {wrong}: the timings would not be of a working ask")
    return result(
        "ask_warm",
        a,
        b,
        "s",
        "<= 0.5",
        "csteer ask via csteer serve",
        "csteer ask --no-server",
        note=f"answers (warm-up first) {answers}",
    )


if __name__ == "__main__":
    main(measure)
