"""The OpenAI wire shapes `csteer serve` speaks: the chat request it accepts, the completion, the stream
chunks and the error object. Plain dicts and one parser; no web framework here, so the shapes are tested
on their own and the warm `csteer ask` and the `llm` plugin read the same names.

Extensions ride in a `csteer` object, which OpenAI clients ignore:
  request   {"csteer": {"policy": ..., "max_turns": ..., "self_check": ..., any RunSettings field not
             fixed at load (LOAD_SETTINGS), "log": true}}  (max_turns, temperature, seed also top level)
  response  {"csteer": Run.to_dict()}: turns, code, checks, tokens, seconds
  stream    progress as `delta.reasoning_content` lines (the field reasoning models use; plain clients
            skip it), the answer as `delta.content`, the run record on the final chunk
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

MODEL_PREFIX = "csteer"  # "csteer" = the server's defaults, "csteer:POLICY" = another policy

# the RunSettings fixed when the server loads its models; every other field may change per request, and
# a warm `csteer ask` uses a server only when these match its own
LOAD_SETTINGS = (
    "model",
    "coach",
    "task_kind",
    "coach_kind",
    "profile",
    "profile_file",
    "code_timeout",
    "n_ctx",
    "threads",
    "gpu_layers",
)


def request_settings() -> dict[str, Any]:
    """The RunSettings fields a request may set, with their defaults (their types are checked here,
    their values by RunSettings itself)."""
    from dataclasses import fields

    from csteer.runtime.settings import RunSettings

    defaults = RunSettings()
    return {f.name: getattr(defaults, f.name) for f in fields(RunSettings) if f.name not in LOAD_SETTINGS}


def _type_ok(value: Any, default: Any) -> bool:
    if value is None:
        return default is None
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if isinstance(default, float):
        return isinstance(value, (int, float))
    if default is None:
        return isinstance(value, (int, float, str))
    return isinstance(value, type(default))


ROLES = ("system", "user", "assistant", "developer", "tool")


class RequestError(Exception):
    """A request the server refuses: its HTTP status and the OpenAI error fields."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        return error_body(self.message, self.type, param=self.param, code=self.code)


def error_body(
    message: str, type: str = "invalid_request_error", *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """OpenAI's error object: {"error": {"message", "type", "param", "code"}}."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


@dataclass(frozen=True)
class ChatRequest:
    model: str
    question: str
    stream: bool = False
    include_usage: bool = False
    settings: dict[str, Any] = field(default_factory=dict)  # RunSettings fields changed for this request
    log: bool = True


def message_text(content: Any, index: int) -> str:
    """A message's text: a string, or the text parts of a content list (images are refused)."""
    param = f"messages[{index}].content"
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if (
                not isinstance(part, dict)
                or part.get("type") != "text"
                or not isinstance(part.get("text"), str)
            ):
                raise RequestError(400, "only text content parts are supported", param=param)
            texts.append(part["text"])
        return "\n".join(texts)
    raise RequestError(400, "content must be a string or a list of text parts", param=param)


def question_of(messages: list[dict[str, str]]) -> str:
    """The question a steered run answers: the last user message, with the earlier messages before it as
    context. A lone user message (plus system messages) is the question itself, word for word, so a warm
    `csteer ask` sends exactly what it would answer in-process."""
    last = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=None)
    if last is None:
        raise RequestError(400, "messages must contain a user message", param="messages")
    question = messages[last]["content"].strip()
    if not question:
        raise RequestError(400, "the last user message is empty", param="messages")
    before = [m for m in messages[:last] if m["content"].strip()]
    system = [m["content"].strip() for m in before if m["role"] in ("system", "developer")]
    turns = [m for m in before if m["role"] not in ("system", "developer")]
    if not system and not turns:
        return question
    parts = []
    if system:
        parts.append("\n\n".join(system))
    if turns:
        lines = "\n".join(f"{m['role']}: {m['content'].strip()}" for m in turns)
        parts.append(f"Earlier conversation:\n{lines}")
    parts.append(f"Question: {question}" if turns else question)
    return "\n\n".join(parts)


def parse_chat_request(data: Any, *, max_turns_cap: int) -> ChatRequest:
    """Validate a decoded /v1/chat/completions body; RequestError (400) names the offending field."""
    if not isinstance(data, dict):
        raise RequestError(400, "the request body must be a JSON object")
    model = data.get("model", MODEL_PREFIX)
    if not isinstance(model, str) or not model:
        raise RequestError(400, "model must be a non-empty string", param="model")
    raw = data.get("messages")
    if not isinstance(raw, list) or not raw:
        raise RequestError(400, "messages must be a non-empty list", param="messages")
    messages = []
    for i, m in enumerate(raw):
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            raise RequestError(
                400, f"messages[{i}] needs a role of {', '.join(ROLES)}", param=f"messages[{i}]"
            )
        messages.append({"role": str(m["role"]), "content": message_text(m.get("content"), i)})
    stream = data.get("stream", False)
    if not isinstance(stream, bool):
        raise RequestError(400, "stream must be a boolean", param="stream")
    stream_options = data.get("stream_options") or {}
    if not isinstance(stream_options, dict):
        raise RequestError(400, "stream_options must be an object", param="stream_options")
    ext = data.get("csteer") or {}
    if not isinstance(ext, dict):
        raise RequestError(400, "csteer must be an object", param="csteer")
    allowed = request_settings()
    settings: dict[str, Any] = {}
    for name in ("max_turns", "temperature", "seed"):
        if data.get(name) is not None:
            settings[name] = data[name]
    for name, value in ext.items():
        if name == "log":
            continue
        if name in LOAD_SETTINGS:
            raise RequestError(
                400, f"{name} is fixed when the server starts (csteer serve --help)", param=f"csteer.{name}"
            )
        if name not in allowed:
            raise RequestError(400, f"unknown csteer option {name!r}", param=f"csteer.{name}")
        settings[name] = value
    for name, value in settings.items():
        if not _type_ok(value, allowed[name]):
            raise RequestError(400, f"{name} has the wrong type", param=name)
    turns = settings.get("max_turns")
    if turns is not None and not 0 <= turns <= max_turns_cap:
        raise RequestError(400, f"max_turns must be between 0 and {max_turns_cap}", param="max_turns")
    log = ext.get("log", True)
    if not isinstance(log, bool):
        raise RequestError(400, "csteer.log must be a boolean", param="csteer.log")
    return ChatRequest(
        model=model,
        question=question_of(messages),
        stream=stream,
        include_usage=bool(stream_options.get("include_usage")),
        settings=settings,
        log=log,
    )


def completion_id() -> str:
    return f"chatcmpl-csteer-{uuid.uuid4().hex[:24]}"


def usage(run: dict[str, Any]) -> dict[str, int]:
    """OpenAI's usage for a steered run: every token both models read or wrote, counted as completion
    tokens (the run record splits them by model: task_tokens, coach_tokens)."""
    total = int(run.get("task_tokens") or 0) + int(run.get("coach_tokens") or 0)
    return {"prompt_tokens": 0, "completion_tokens": total, "total_tokens": total}


def completion(cid: str, model: str, created: int, run: dict[str, Any]) -> dict[str, Any]:
    """A chat.completion whose content is the run's final answer ("" when the loop found none)."""
    return {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": run.get("answer") or ""},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": usage(run),
        "csteer": run,
    }


def chunk(
    cid: str,
    model: str,
    created: int,
    delta: dict[str, Any] | None,
    finish_reason: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One chat.completion.chunk; `delta=None` gives the usage-only chunk (no choices)."""
    body: dict[str, Any] = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": []
        if delta is None
        else [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
    }
    body.update(extra)
    return body


def sse(data: dict[str, Any] | str) -> bytes:
    """One Server-Sent Event: `data: <json>` and a blank line."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {text}\n\n".encode()


DONE = sse("[DONE]")


def models_list(ids: list[str], created: int | None = None) -> dict[str, Any]:
    created = created or int(time.time())
    return {
        "object": "list",
        "data": [{"id": i, "object": "model", "created": created, "owned_by": "csteer"} for i in ids],
    }
