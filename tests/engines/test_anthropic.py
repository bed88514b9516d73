"""The anthropic engine and the steering loop's control flow, against a local Messages API server."""

from __future__ import annotations

from typing import Any

import pytest

from csteer.engines import EngineOptions
from csteer.engines.anthropic_engine import AnthropicEngine
from csteer.errors import CsteerError
from csteer.runtime.loop import SteeringLoop
from csteer.runtime.settings import RunSettings
from csteer.sandbox import Sandbox
from tests.anthropic_fake import FakeAnthropic

PROGRAM = "Sure.\n```python\nprint(f'<<<{6 * 7}>>>')\n```"


def _text(body: dict[str, Any]) -> str:
    return "\n".join(m["content"] for m in body["messages"])


def scripted(coach_replies: list[str]):  # type: ignore[no-untyped-def]
    """Coach requests get the next scripted reply; task requests a program; check requests a checker."""
    replies = iter(coach_replies)

    def reply(body: dict[str, Any]) -> str:
        text = _text(body)
        if "TaskLLM" in text or "steer" in body.get("system", ""):
            return next(replies)
        if "checks whether the answer is correct" in text:
            return "```python\nprint('Correct' if 6 * 7 == 42 else 'Wrong')\n```"
        return PROGRAM

    return reply


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")


def _engine(url: str, monkeypatch: pytest.MonkeyPatch) -> AnthropicEngine:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
    return AnthropicEngine("claude-test", EngineOptions(max_retries=1, timeout_s=10))


def test_codesteer_loop_over_messages_api(env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeAnthropic(scripted(["Code fits. <<<Code>>>", "Verified. <<<Return Answer>>>"])) as fake:
        engine = _engine(fake.url, monkeypatch)
        loop = SteeringLoop(engine, engine, Sandbox(), RunSettings(policy="codesteer"))
        run = loop.run("What is 6 * 7?")
    assert run.answer == "42"
    assert run.stop_reason == "return_answer"
    assert [t.coach_action for t in run.turns] == ["Code"]
    assert run.turns[0].self_check and run.turns[0].self_check.correct is True
    # wire format: system prompt outside messages, model and max_tokens set, key sent
    coach_first = next(r for r in fake.requests if "TaskLLM" in _text(r))
    assert coach_first["model"] == "claude-test" and coach_first["max_tokens"] > 0
    assert all(m["role"] in ("user", "assistant") for r in fake.requests for m in r["messages"])
    auth = fake.headers[0].get("x-api-key") or fake.headers[0].get("authorization", "")
    assert auth.endswith("test-key")
    assert "anthropic-version" in fake.headers[0]
    # the review message carries the labelled parts in the released weights' order
    review = fake.requests[[i for i, r in enumerate(fake.requests) if "TaskLLM" in _text(r)][1]]
    text = review["messages"][-1]["content"]
    labels = [
        "The response from TaskLLM is:",
        "The execution result from the generated code is:",
        "The feedback from the checking agent is:",
        "The summary of generated code complexity is:",
        "<<<guidance prompt content>>>",
    ]
    positions = [text.index(label) for label in labels]
    assert positions == sorted(positions)


def test_guidance_reaches_task_model_and_max_turns_bounds(env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    guidance = "Use a loop over range(100) to double check."
    with FakeAnthropic(scripted(["<<<Code>>>"] + [f"<<<{guidance}>>>"] * 10)) as fake:
        engine = _engine(fake.url, monkeypatch)
        loop = SteeringLoop(
            engine, engine, Sandbox(), RunSettings(policy="codesteer", max_turns=2, self_check=False)
        )
        run = loop.run("What is 6 * 7?")
    assert run.stop_reason == "max_turns"
    assert len(run.turns) == 3  # turn 0 + 2 review turns
    assert run.turns[1].guidance == guidance
    task_requests = [r for r in fake.requests if "TaskLLM" not in _text(r)]
    assert guidance in task_requests[-1]["messages"][-1]["content"]
    # the task model's history grows; the question appears only in its first message
    assert task_requests[-1]["messages"][0]["content"].startswith("What is 6 * 7?")
    assert sum("What is 6 * 7?" in m["content"] for m in task_requests[-1]["messages"]) == 1


def test_terminate_in_prose_does_not_stop(env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    replies = [
        "<<<Code>>>",
        "Keep going, otherwise Terminate would be premature. <<<Code>>>",
        "<<<Terminate>>>",
    ]
    with FakeAnthropic(scripted(replies)) as fake:
        engine = _engine(fake.url, monkeypatch)
        run = SteeringLoop(engine, engine, Sandbox(), RunSettings(max_turns=5, self_check=False)).run("6*7?")
    assert run.stop_reason == "terminate"
    assert len(run.turns) == 2
    assert run.answer == "42"


@pytest.mark.parametrize(
    ("status", "needle"),
    [(401, "rejected the key"), (404, "no model"), (500, "HTTP 500"), (529, "HTTP 529")],
)
def test_http_errors_become_one_line(
    env: None, monkeypatch: pytest.MonkeyPatch, status: int, needle: str
) -> None:
    err = {"type": "error", "error": {"type": "api_error", "message": "boom"}}
    with FakeAnthropic(lambda body: (status, err)) as fake:
        engine = _engine(fake.url, monkeypatch)
        with pytest.raises(CsteerError, match=needle):
            engine.chat([{"role": "user", "content": "hi"}])
    if status >= 500:  # retried with backoff, bounded
        assert len(fake.requests) == 2


def test_unreachable(env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _engine("http://127.0.0.1:9", monkeypatch)
    with pytest.raises(CsteerError, match="cannot reach"):
        engine.chat([{"role": "user", "content": "hi"}])


def test_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(CsteerError, match="ANTHROPIC_API_KEY"):
        AnthropicEngine("claude-test")


def test_baselines_single_turn(env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeAnthropic(scripted([])) as fake:
        engine = _engine(fake.url, monkeypatch)
        for policy in ("only-question", "all-code", "all-text", "code-first-rule"):
            run = SteeringLoop(engine, None, Sandbox(), RunSettings(policy=policy)).run("What is 6 * 7?")
            assert run.answer == "42", policy
            assert len(run.turns) == 1
            assert run.coach_model is None
