"""bench_concurrency: `csteer bench` wall time with --concurrency 1 / --concurrency 4 against
llama-cpp-python's OpenAI-compatible server on loopback (the embedded model, all-code, same samples).
Reported, no fixed goal: one llama.cpp server decodes one request at a time, so concurrency mostly
overlaps sandbox runs and HTTP round trips; a batching server (vLLM) gains more."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.common import main, result
from benchmarks.models import embedded_path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("llama_cpp.server exited at start")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("llama_cpp.server did not come up")


def measure(quick: bool) -> dict[str, Any]:
    path = embedded_path()
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
            "--model_alias",
            "gemma",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/v1"
    samples = 4 if quick else 8
    try:
        _wait(f"{base}/models", server)
        walls: dict[int, list[float]] = {1: [], 4: []}
        with tempfile.TemporaryDirectory() as tmp:
            reps = 2 if quick else 4
            for rep in range(reps):
                for k in (1, 4) if rep % 2 == 0 else (4, 1):  # alternate which runs first
                    out = Path(tmp) / f"r{rep}-k{k}.jsonl"
                    cmd = [
                        sys.executable,
                        "-m",
                        "csteer",
                        "bench",
                        "--tasks",
                        "number_multiply",
                        "--method",
                        "all-code",
                        "--samples",
                        str(samples),
                        "--seed",
                        "3",
                        "-m",
                        f"openai:gemma@{base}",
                        "--task-kind",
                        "base",
                        "--concurrency",
                        str(k),
                        "--out",
                        str(out),
                        "-q",
                    ]
                    start = time.perf_counter()
                    subprocess.run(
                        cmd, check=True, capture_output=True, env={**os.environ, "OPENAI_API_KEY": "none"}
                    )
                    walls[k].append(time.perf_counter() - start)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return result(
        "bench_concurrency",
        walls[1],
        walls[4],
        "s",
        None,
        "--concurrency 1 (wall)",
        "--concurrency 4 (wall)",
        note=f"{samples} number_multiply samples, all-code, llama_cpp.server",
    )


if __name__ == "__main__":
    main(measure)
