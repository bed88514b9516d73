"""Support for the server tests: an Assembly-like setup on ScriptedEngines, a real uvicorn on a loopback
port in a thread (so concurrency, streaming and disconnects are real HTTP), and a real `csteer serve`
process for the tests with the embedded model."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from csteer.runtime.loop import SteeringLoop
from csteer.runtime.settings import RunSettings
from tests.helpers import free_port
from tests.scripted import ScriptedEngine


class NoSandbox:
    """The scripted replies hold no code: a test whose run reaches the sandbox is wrong."""

    def run(self, code: str) -> Any:
        raise AssertionError(f"unexpected sandbox run: {code[:60]!r}")


class ScriptedAssembly:
    """What csteer.serve.service needs of an Assembly, on a ScriptedEngine task model.

    The task model answers "<<<ANSWER>>>" where ANSWER is `answer(question)`; `gate`, when set, makes
    every reply wait for it (a run that stays in flight until the test lets it go)."""

    def __init__(
        self,
        answer: Callable[[str], str] = lambda q: "42",
        *,
        local: tuple[str, ...] = ("embedded",),
        gate: threading.Event | None = None,
        settings: RunSettings | None = None,
    ) -> None:
        self.settings = settings or RunSettings(policy="only-question", max_turns=2)
        self._local = list(local)
        self.gate = gate
        self.started = threading.Semaphore(0)  # released once per reply begun
        self.questions: list[str] = []
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

        def reply(call: Any) -> str:
            with self._lock:
                self.active += 1
                self.max_active = max(self.max_active, self.active)
            self.started.release()
            try:
                if self.gate is not None and not self.gate.wait(30):
                    raise AssertionError("the test never opened the gate")
                question = call.messages[-1]["content"]
                return f"The answer is <<<{answer(question)}>>>"
            finally:
                with self._lock:
                    self.active -= 1

        self.reply = reply

    @property
    def local_models(self) -> list[str]:
        return self._local

    def loop(self, settings: RunSettings | None = None, trace: Any = None) -> SteeringLoop:
        task = ScriptedEngine([self.reply] * 10, name="scripted-task")
        return SteeringLoop(task, None, NoSandbox(), settings or self.settings, trace=trace)  # type: ignore[arg-type]


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """`app` behind a real uvicorn on 127.0.0.1 in a thread; yields the base URL (…/v1)."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(20)


# --- a real `csteer serve` process -----------------------------------------------------------------------
class ServeProcess:
    def __init__(self, proc: subprocess.Popen[str], port: int, log_path: Path) -> None:
        self.proc = proc
        self.port = port
        self.log_path = log_path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode


def start_serve(
    home: Path, args: list[str] = (), port: int | None = None, timeout: float = 120
) -> ServeProcess:  # type: ignore[assignment]
    """`csteer serve` in its own process with CSTEER_HOME=home; returns once /health answers."""
    port = port or free_port()
    log_path = home / f"serve-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    out = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "csteer", "serve", "--port", str(port), *args],
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "CSTEER_HOME": str(home)},
    )
    out.close()
    server = ServeProcess(proc, port, log_path)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"csteer serve exited {proc.returncode}:\n{server.output()}")
        try:
            with urllib.request.urlopen(f"{server.url}/health", timeout=2):
                return server
        except OSError:
            if time.monotonic() > deadline:
                server.stop(signal.SIGKILL)
                raise RuntimeError(f"csteer serve did not come up:\n{server.output()}") from None
            time.sleep(0.25)


def run_llm(
    args: list[str], home: Path, llm_home: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "CSTEER_HOME": str(home), "LLM_USER_PATH": str(llm_home), **(env or {})}
    full.pop("CSTEER_SERVER", None)
    full.pop("LLM_LOAD_PLUGINS", None)
    return subprocess.run(
        [sys.executable, "-m", "llm", *args], input="", capture_output=True, text=True, env=full, timeout=600
    )
