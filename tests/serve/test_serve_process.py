"""A real `csteer serve` process with the embedded model on a free loopback port, the official openai SDK
as client, the real `csteer ask` next to it. Every server is killed in a finally."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run_csteer
from tests.serve.support import ServeProcess, run_llm, start_serve

pytestmark = pytest.mark.slow

QUESTION = "What is 48271 * 91433?"
ANSWER = "4413562343"
KEY = "test-key-16"


def client(server: ServeProcess, key: str = KEY, timeout: float = 300) -> Any:
    from openai import OpenAI

    return OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0, timeout=timeout)


def ask_messages(text: str = QUESTION) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, embedded_gguf: Path) -> Path:
    """One CSTEER_HOME for the module's server and asks (the embedded model hard-linked in)."""
    from tests.helpers import home_with_embedded

    return home_with_embedded(tmp_path_factory.mktemp("serve-home"), embedded_gguf)


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[ServeProcess]:
    """The module's server: an API key, and room for one waiting request past the running one."""
    proc = start_serve(home, ["--api-key", KEY, "--queue", "1"])
    try:
        yield proc
    finally:
        proc.stop(signal.SIGKILL if proc.proc.poll() is None else signal.SIGTERM)


@pytest.fixture(scope="module")
def in_process(home: Path) -> subprocess.CompletedProcess[str]:
    """`csteer ask --no-server` on the question: what every served answer must equal."""
    return run_csteer(["ask", "--no-server", "--no-log", QUESTION], home, timeout=600)


def test_plain_and_streamed_answers_equal_csteer_ask(
    server: ServeProcess, in_process: subprocess.CompletedProcess[str]
) -> None:
    assert in_process.returncode == 0, in_process.stderr
    assert in_process.stdout.strip() == ANSWER
    reply = client(server).chat.completions.create(model="csteer", messages=ask_messages())
    assert reply.choices[0].message.content == in_process.stdout.strip()
    record = reply.model_extra["csteer"]
    assert record["answer"] == ANSWER and record["turns"] and record["seconds"] > 0
    assert record["turns"][0]["code"]  # the run record carries the program

    stream = client(server).chat.completions.create(model="csteer", messages=ask_messages(), stream=True)
    chunks = list(stream)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    progress = [(c.choices[0].delta.model_extra or {}).get("reasoning_content") for c in chunks if c.choices]
    assert content == in_process.stdout.strip()
    assert any(p and p.startswith("turn 0:") for p in progress)  # turns as they happened, before the answer
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_two_concurrent_clients_and_a_full_queue(server: ServeProcess) -> None:
    """--queue 1: two requests fit (one runs, one waits), a third at the same time gets 429."""
    import openai

    started = threading.Barrier(3, timeout=120)

    def streamed() -> str:
        stream = client(server).chat.completions.create(model="csteer", messages=ask_messages(), stream=True)
        text = ""
        for i, c in enumerate(stream):
            if i == 0:
                started.wait()  # accepted: the role chunk came
            text += (c.choices[0].delta.content or "") if c.choices else ""
        return text

    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(streamed), pool.submit(streamed)]
        started.wait()
        with pytest.raises(openai.RateLimitError) as err:
            client(server).chat.completions.create(model="csteer", messages=ask_messages())
        assert err.value.status_code == 429
        assert err.value.body["type"] == "rate_limit_error"  # type: ignore[index]
        assert [f.result(timeout=600) for f in futures] == [ANSWER, ANSWER]


def test_refusals_have_the_openai_error_shape(server: ServeProcess) -> None:
    import urllib.error
    import urllib.request

    import openai

    with pytest.raises(openai.AuthenticationError) as auth:
        client(server, key="wrong").chat.completions.create(model="csteer", messages=ask_messages())
    assert auth.value.status_code == 401
    with pytest.raises(openai.NotFoundError) as unknown:
        client(server).chat.completions.create(model="gpt-17", messages=ask_messages())
    assert unknown.value.body["code"] == "model_not_found"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError):
        client(server).chat.completions.create(model="csteer", messages=[])

    def raw(body: bytes) -> tuple[int, dict[str, Any]]:
        req = urllib.request.Request(
            f"{server.url}/v1/chat/completions",
            data=body,
            headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    for body, status in (
        (b'{"model": "csteer", "messages": [', 400),
        (b'{"model": "csteer"}', 400),
        (json.dumps({"model": "csteer", "messages": ask_messages("x" * (2 << 20))}).encode(), 413),
    ):
        got, reply = raw(body)
        assert got == status
        assert set(reply["error"]) >= {"message", "type", "param", "code"}
    models = [m.id for m in client(server).models.list()]
    assert "csteer" in models and "csteer:all-code" in models


AUDIT = """
import sys
try:
    from csteer.cli.main import cli
    cli()
finally:
    loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('llama_cpp', 'onnxruntime')
                    or m == 'csteer.engines.llamacpp')
    print('LOADED=' + ','.join(loaded), file=sys.stderr)
"""


def audited_ask(home: Path, args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    import os

    proc = subprocess.run(
        [sys.executable, "-c", AUDIT, "ask", *args],
        input="",
        capture_output=True,
        text=True,
        env={**os.environ, "CSTEER_HOME": str(home), **(env or {})},
        timeout=600,
    )
    loaded = next(line for line in proc.stderr.splitlines() if line.startswith("LOADED="))
    return proc.returncode, proc.stdout, loaded.removeprefix("LOADED=")


def drop_timings(value: Any) -> Any:
    if isinstance(value, dict):
        timings = (
            "seconds",
            "duration_s",
            "phases",
        )  # phases: seconds per phase (a served run loads nothing)
        return {k: drop_timings(v) for k, v in value.items() if k not in timings}
    if isinstance(value, list):
        return [drop_timings(v) for v in value]
    return value


def test_csteer_ask_uses_the_server_without_loading_a_model(server: ServeProcess, home: Path) -> None:
    env = {"CSTEER_SERVER": server.url, "CSTEER_API_KEY": KEY}
    rc, out, loaded = audited_ask(home, ["--no-log", QUESTION], env)
    assert (rc, out) == (0, ANSWER + "\n")
    assert loaded == ""  # no engine, no llama_cpp: the answer came from the server
    rc_json, out_json, loaded = audited_ask(home, ["--json", "--no-log", QUESTION], env)
    assert rc_json == 0 and loaded == ""
    rc_local, out_local, loaded_local = audited_ask(
        home, ["--json", "--no-log", "--no-server", QUESTION], env
    )
    assert rc_local == 0 and "llama_cpp" in loaded_local  # the negative control: in-process loads it
    assert drop_timings(json.loads(out_json)) == drop_timings(json.loads(out_local))
    # a server with other model settings is not used: the ask answers in-process, same output
    rc, out, loaded = audited_ask(home, ["--no-log", "--n-ctx", "4096", QUESTION], env)
    assert (rc, out) == (0, ANSWER + "\n") and "llama_cpp" in loaded
    # a usage error is the same one line and exit code either way
    warm = run_csteer(["ask", "--max-turns", "-1", "x"], home, env=env)
    cold = run_csteer(["ask", "--no-server", "--max-turns", "-1", "x"], home, env=env)
    assert (warm.returncode, warm.stderr) == (cold.returncode, cold.stderr) == (2, cold.stderr)


def runs_db(home: Path) -> Path:
    return home / "runs.db"


def test_ctrl_c_during_a_stream_exits_cleanly_and_loses_nothing(home: Path) -> None:
    import openai

    proc = start_serve(home, ["--grace", "1"])
    try:
        before = count_served(home)
        done = client(proc).chat.completions.create(model="csteer", messages=ask_messages())
        assert done.choices[0].message.content == ANSWER
        stream = client(proc).chat.completions.create(model="csteer", messages=ask_messages(), stream=True)
        for c in stream:
            if c.choices and (c.choices[0].delta.model_extra or {}).get("reasoning_content"):
                break  # the run is in flight
        sent = time.monotonic()
        proc.proc.send_signal(signal.SIGINT)
        # the stream ends, with the answer (the run finished within --grace) or an error event (it was
        # cancelled): the client is not left hanging
        try:
            list(stream)
        except openai.APIError as err:
            assert "cancelled" in str(err) or "shutting down" in str(err)
        assert proc.proc.wait(30) == 0
        assert time.monotonic() - sent < 15, proc.output()
        assert "Traceback" not in proc.output(), proc.output()
    finally:
        proc.stop(signal.SIGKILL)
    with sqlite3.connect(runs_db(home)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert count_served(home) >= before + 1  # the finished run was logged

    again = start_serve(home)
    try:
        reply = client(again).chat.completions.create(model="csteer", messages=ask_messages())
        assert reply.choices[0].message.content == ANSWER
        assert again.stop(signal.SIGTERM) == 0
    finally:
        again.stop(signal.SIGKILL)


def count_served(home: Path) -> int:
    if not runs_db(home).exists():
        return 0
    with sqlite3.connect(runs_db(home)) as conn:
        return int(
            conn.execute('SELECT COUNT(*) FROM runs WHERE extra LIKE \'%"via": "serve"%\'').fetchone()[0]
        )


def test_llm_through_a_running_server(server: ServeProcess, home: Path, tmp_path: Path) -> None:
    pytest.importorskip("llm")
    llm_home = tmp_path / "llm"
    served = count_served(home)
    out = run_llm(
        ["-m", "csteer", "-o", "server", server.url, QUESTION], home, llm_home, {"CSTEER_API_KEY": KEY}
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ANSWER
    assert count_served(home) == served + 1  # the server ran it (and logged it)
    logs = run_llm(["logs", "-n", "1", "--json"], home, llm_home)
    assert json.loads(logs.stdout)[0]["response_json"]["answer"] == ANSWER
