"""Helpers for tests that run the real CLI in a subprocess."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_csteer(
    args: list[str],
    home: Path,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "CSTEER_HOME": str(home), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "csteer", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )


def home_with_embedded(home: Path, embedded_gguf: Path) -> Path:
    """Make `home` a CSTEER_HOME holding the embedded model, hard-linked (no 250 MB copy) with its stamp."""
    target = home / "models" / "embedded" / embedded_gguf.name
    target.parent.mkdir(parents=True)
    try:
        os.link(embedded_gguf, target)
    except OSError:
        shutil.copy2(embedded_gguf, target)
    stamp = embedded_gguf.with_name(embedded_gguf.name + ".verified.json")
    if stamp.exists():
        # the stamp records mtime/size, which a hard link shares
        shutil.copy2(stamp, target.with_name(stamp.name))
    return home


def start_llama_server(gguf: Path, port: int, *extra: str) -> subprocess.Popen[bytes]:
    """llama-cpp-python's own OpenAI-compatible server for `gguf` on 127.0.0.1:`port`, returned once its
    /v1/models answers (the test fails when it exits or does not come up within two minutes)."""
    import time
    import urllib.request

    import pytest

    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1"]
        + ["--port", str(port), "--n_ctx", "4096", *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail("llama_cpp.server exited at start")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2):
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    pytest.fail("llama_cpp.server did not come up")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after ten seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
