"""The app's logic over real HTTP (uvicorn in a thread), with ScriptedEngines for the models: shapes,
errors, auth, limits, the bounded queue, one run at a time per local model, and cancellation."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.serve.support import ScriptedAssembly

QUESTION = "What is 6 * 7?"


def post(url: str, body: bytes | dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json", **(headers or {})}, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def chat(url: str, content: str = QUESTION, **extra: Any) -> tuple[int, Any]:
    return post(
        f"{url}/chat/completions",
        {"model": "csteer", "messages": [{"role": "user", "content": content}], **extra},
    )


def assert_openai_error(body: Any) -> None:
    assert set(body) == {"error"}
    assert {"message", "type", "param", "code"} <= set(body["error"])
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert "Traceback" not in body["error"]["message"]


def test_completion_shape_and_the_run_record(scripted_server: Any) -> None:
    url, _ = scripted_server(ScriptedAssembly())
    status, body = chat(url)
    assert status == 200
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "42"}
    assert body["choices"][0]["finish_reason"] == "stop"
    run = body["csteer"]
    assert run["answer"] == "42" and run["question"] == QUESTION and run["policy"] == "only-question"
    assert run["turns"][0]["task_text"] == "The answer is <<<42>>>"
    assert body["usage"]["total_tokens"] == run["task_tokens"] + run["coach_tokens"]


def test_the_openai_sdk_reads_both_forms(scripted_server: Any) -> None:
    from openai import OpenAI

    url, _ = scripted_server(ScriptedAssembly())
    client = OpenAI(base_url=url, api_key="none", max_retries=0, timeout=30)
    reply = client.chat.completions.create(model="csteer", messages=[{"role": "user", "content": QUESTION}])
    assert reply.choices[0].message.content == "42"
    assert reply.model_extra and reply.model_extra["csteer"]["answer"] == "42"
    chunks = list(
        client.chat.completions.create(
            model="csteer:only-question",
            messages=[{"role": "user", "content": QUESTION}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "42"
    progress = "".join(
        (c.choices[0].delta.model_extra or {}).get("reasoning_content", "") for c in chunks if c.choices
    )
    assert "turn 0" in progress and "answer = '42'" in progress
    final = [c for c in chunks if c.choices and c.choices[0].finish_reason == "stop"]
    assert final and final[0].model_extra["csteer"]["answer"] == "42"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
    models = [m.id for m in client.models.list()]
    assert models[0] == "csteer" and "csteer:codesteer" in models and "csteer:self" in models


def test_policy_model_ids_and_request_settings_reach_the_run(scripted_server: Any) -> None:
    url, _ = scripted_server(ScriptedAssembly())
    status, body = post(
        f"{url}/chat/completions",
        {
            "model": "csteer:all-text",
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": QUESTION}],
            "csteer": {"self_check": False, "log": False},
        },
    )
    assert status == 200, body
    assert body["csteer"]["policy"] == "all-text"
    assert body["csteer"]["question"] == f"Be brief.\n\n{QUESTION}"


def test_earlier_messages_are_context_for_the_last_user_message(scripted_server: Any) -> None:
    url, _ = scripted_server(ScriptedAssembly())
    messages = [
        {"role": "user", "content": "Remember 6."},
        {"role": "assistant", "content": "OK."},
        {"role": "user", "content": [{"type": "text", "text": QUESTION}]},
    ]
    status, body = post(f"{url}/chat/completions", {"model": "csteer", "messages": messages})
    assert status == 200
    assert (
        body["csteer"]["question"]
        == f"Earlier conversation:\nuser: Remember 6.\nassistant: OK.\n\nQuestion: {QUESTION}"
    )


@pytest.mark.parametrize(
    "body, status, param",
    [
        (b"{not json", 400, None),
        (b"[1, 2]", 400, None),
        ({"model": "csteer"}, 400, "messages"),
        ({"model": "csteer", "messages": []}, 400, "messages"),
        ({"model": "csteer", "messages": [{"role": "assistant", "content": "hi"}]}, 400, "messages"),
        ({"model": "csteer", "messages": [{"role": "wizard", "content": "hi"}]}, 400, "messages[0]"),
        ({"model": "nope", "messages": [{"role": "user", "content": "hi"}]}, 404, "model"),
        (
            {"model": "csteer", "messages": [{"role": "user", "content": "hi"}], "max_turns": 99},
            400,
            "max_turns",
        ),
        (
            {"model": "csteer", "messages": [{"role": "user", "content": "hi"}], "max_turns": "2"},
            400,
            "max_turns",
        ),
        (
            {"model": "csteer", "messages": [{"role": "user", "content": "hi"}], "csteer": {"policy": "x"}},
            400,
            None,
        ),
        (
            {"model": "csteer", "messages": [{"role": "user", "content": "hi"}], "csteer": {"rm": 1}},
            400,
            "csteer.rm",
        ),
        ({"model": "csteer", "messages": [{"role": "user", "content": "hi"}], "temperature": -1}, 400, None),
    ],
)
def test_bad_requests_get_the_openai_error_shape(
    scripted_server: Any, body: Any, status: int, param: str | None
) -> None:
    url, _ = scripted_server(ScriptedAssembly())
    got, reply = post(f"{url}/chat/completions", body)
    assert got == status, reply
    assert_openai_error(reply)
    assert reply["error"]["param"] == param


def test_oversized_body_unknown_route_and_method(scripted_server: Any) -> None:
    url, _ = scripted_server(ScriptedAssembly(), max_body=2048)
    got, reply = chat(url, "x" * 5000)
    assert got == 413
    assert_openai_error(reply)
    got, reply = post(f"{url}/nothing/here", {})
    assert got == 404
    assert_openai_error(reply)
    try:
        urllib.request.urlopen(f"{url}/chat/completions", timeout=10)
    except urllib.error.HTTPError as err:
        assert err.code == 405
        assert_openai_error(json.loads(err.read()))


def test_api_key(scripted_server: Any) -> None:
    url, _ = scripted_server(ScriptedAssembly(), api_key="s3cret")
    body = {"model": "csteer", "messages": [{"role": "user", "content": QUESTION}]}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
        got, reply = post(f"{url}/chat/completions", body, headers)
        assert got == 401
        assert_openai_error(reply)
        assert reply["error"]["code"] == "invalid_api_key"
    got, reply = post(f"{url}/chat/completions", body, {"Authorization": "Bearer s3cret"})
    assert got == 200 and reply["choices"][0]["message"]["content"] == "42"
    health = url.removesuffix("/v1") + "/health"
    with urllib.request.urlopen(health, timeout=10) as resp:
        body = json.loads(resp.read())
    assert body["auth"] is True and "settings" not in body  # open, but says no more without the key
    req = urllib.request.Request(health, headers={"Authorization": "Bearer s3cret"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert json.loads(resp.read())["settings"]["model"] == "embedded"


def test_one_run_at_a_time_per_local_model_and_a_full_queue_gets_429(scripted_server: Any) -> None:
    gate = threading.Event()
    assembly = ScriptedAssembly(lambda q: re.search(r"say (\w+)", q).group(1), gate=gate)  # type: ignore[union-attr]
    url, service = scripted_server(assembly, max_queue=1)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(chat, url, "say a")
        assert assembly.started.acquire(timeout=20)  # the first runs (blocked on the gate)
        second = pool.submit(chat, url, "say b")
        deadline = time.monotonic() + 20
        while service.lanes[0].stats()["waiting"] < 1:  # the second waits in the queue
            assert time.monotonic() < deadline
            time.sleep(0.02)
        got, reply = chat(url, "say c")
        assert got == 429
        assert_openai_error(reply)
        assert reply["error"]["type"] == "rate_limit_error"
        gate.set()
        assert first.result(30)[1]["choices"][0]["message"]["content"] == "a"
        assert second.result(30)[1]["choices"][0]["message"]["content"] == "b"
    assert assembly.max_active == 1
    assert chat(url, "say d")[0] == 200  # the queue drained


def test_remote_only_setups_run_concurrently(scripted_server: Any) -> None:
    assembly = ScriptedAssembly(local=())
    gate = assembly.gate = threading.Event()
    url, _ = scripted_server(assembly)
    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(chat, url) for _ in range(3)]
        for _ in range(3):
            assert assembly.started.acquire(timeout=20)
        gate.set()
        assert [f.result(30)[0] for f in futures] == [200] * 3
    assert assembly.max_active == 3


def test_a_client_that_disconnects_cancels_its_run(scripted_server: Any) -> None:
    gate = threading.Event()
    assembly = ScriptedAssembly(gate=gate)
    url, service = scripted_server(assembly)
    body = json.dumps(
        {"model": "csteer", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
    )
    req = urllib.request.Request(f"{url}/chat/completions", data=body.encode(), method="POST")
    resp = urllib.request.urlopen(req, timeout=30)
    assert resp.readline().startswith(b"data: ")  # the role chunk: accepted
    assert assembly.started.acquire(timeout=20)
    job = next(iter(service.jobs))
    resp.close()  # the client goes away while the model is busy
    deadline = time.monotonic() + 10
    while not job.cancelled.is_set():
        assert time.monotonic() < deadline, "the disconnect did not cancel the run"
        time.sleep(0.05)
    gate.set()  # the reply returns; the run stops at its next step instead of finishing
    job.future.exception(timeout=10)
    assert type(job.future.exception()).__name__ == "Cancelled"
    assert chat(url)[0] == 200


def test_service_close_cancels_queued_work(scripted_server: Any) -> None:
    gate = threading.Event()
    assembly = ScriptedAssembly(gate=gate)
    url, service = scripted_server(assembly)
    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(chat, url) for _ in range(2)]
        assert assembly.started.acquire(timeout=20)
        while len(service.jobs) < 2:
            time.sleep(0.02)
        closer = pool.submit(service.close, 10)
        time.sleep(0.2)
        gate.set()
        assert closer.result(20) is True
        statuses = sorted(f.result(20)[0] for f in futures)
    assert statuses == [503, 503]  # both runs were cancelled, neither got a half answer
    got, reply = chat(url)
    assert got == 503 and reply["error"]["code"] == "shutting_down"
