"""A client of `csteer serve` for csteer's own warm paths: `csteer ask` and the `llm` plugin.

Standard library only (urllib), so a warm `csteer ask` imports neither the openai SDK nor any engine.
`find_server` says whether a server that loaded the same models is up (GET /health, short timeouts);
`ask_server` runs one question there and returns the run record (`Run.to_dict()`), streaming the
progress lines to `trace` when one is given.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from csteer.errors import CsteerError, UsageError
from csteer.runtime.settings import RunSettings
from csteer.serve.openai_shapes import LOAD_SETTINGS, MODEL_PREFIX

DEFAULT_URL = "http://127.0.0.1:8765"
SERVER_ENV = "CSTEER_SERVER"
API_KEY_ENV = "CSTEER_API_KEY"
PROBE_TIMEOUT_S = 0.5


class ServerBusy(CsteerError):
    """The server's queue is full (HTTP 429)."""


@dataclass(frozen=True)
class Server:
    url: str  # base URL without /v1
    explicit: bool  # named by --server or CSTEER_SERVER (not the default address)
    health: dict[str, Any]


def base_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        url = f"http://{url}"
    return url.removesuffix("/v1")


def server_address(explicit: str | None = None) -> tuple[str, bool]:
    """The address to try: --server URL, else $CSTEER_SERVER, else the default; and whether it was named."""
    named = explicit or os.environ.get(SERVER_ENV) or None
    return base_url(named or DEFAULT_URL), named is not None


def _get(url: str, timeout: float) -> dict[str, Any]:
    key = os.environ.get(API_KEY_ENV)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as resp:
        data: dict[str, Any] = json.loads(resp.read())
        return data


def find_server(explicit: str | None = None, timeout: float = PROBE_TIMEOUT_S) -> Server | None:
    """The `csteer serve` at the address, when one answers /health; None otherwise."""
    url, named = server_address(explicit)
    try:
        health = _get(f"{url}/health", timeout)
    except (OSError, ValueError):
        return None
    if health.get("status") != "ok" or MODEL_PREFIX not in health.get("models", ()):
        return None
    return Server(url, named, health)


def mismatch(server: Server, settings: RunSettings) -> str | None:
    """Why the server cannot answer for `settings` (other models loaded), or None when it can."""
    from csteer import paths

    home = server.health.get("home")
    if home is not None and home != str(paths.home()):
        return f"it uses CSTEER_HOME {home}, this ask {paths.home()}"
    theirs = server.health.get("settings") or {}
    ours = asdict(settings)
    for name in LOAD_SETTINGS:
        if name in ours and theirs.get(name, ours[name]) != ours[name]:
            return f"it runs {name}={theirs.get(name)!r}, this ask {name}={ours[name]!r}"
    return None


def request_body(question: str, settings: RunSettings, *, log: bool, stream: bool) -> dict[str, Any]:
    """A chat request for `question` under `settings`: every setting not fixed at load goes in `csteer`."""
    ext = {k: v for k, v in asdict(settings).items() if k not in LOAD_SETTINGS}
    ext["log"] = log
    return {
        "model": MODEL_PREFIX,
        "messages": [{"role": "user", "content": question}],
        "stream": stream,
        "csteer": ext,
    }


def ask_server(
    url: str,
    question: str,
    settings: RunSettings,
    *,
    log: bool = True,
    trace: Callable[[str], None] | None = None,
    api_key: str | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """One steered run on the server at `url`: its run record. Errors come back as csteer's own:
    a refused request as UsageError (exit 2), a full queue as ServerBusy, anything else CsteerError."""
    body = json.dumps(request_body(question, settings, log=log, stream=trace is not None)).encode()
    headers = {"Content-Type": "application/json"}
    key = api_key or os.environ.get(API_KEY_ENV)
    if key:
        headers["Authorization"] = f"Bearer {key}"
    req = urllib.request.Request(
        f"{base_url(url)}/v1/chat/completions", data=body, headers=headers, method="POST"
    )
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as err:
        raise _error(err.code, _error_body(err)) from None
    except OSError as err:
        raise CsteerError(f"csteer serve at {url} is unreachable: {err}") from None
    with resp:
        if trace is None:
            data: dict[str, Any] = json.loads(resp.read())
            return _record(data)
        return _read_stream(resp, trace)


def _read_stream(resp: Any, trace: Callable[[str], None]) -> dict[str, Any]:
    record: dict[str, Any] | None = None
    for raw in resp:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line.startswith("data: "):
            continue
        payload = line[len("data: ") :]
        if payload == "[DONE]":
            break
        event = json.loads(payload)
        if "error" in event:
            raise _error(500, event)
        for choice in event.get("choices") or ():
            step = (choice.get("delta") or {}).get("reasoning_content")
            if step:
                trace(step.rstrip("\n"))
        if isinstance(event.get("csteer"), dict):
            record = event["csteer"]
    if record is None:
        raise CsteerError("csteer serve ended the stream without a run record")
    return record


def _record(data: dict[str, Any]) -> dict[str, Any]:
    record = data.get("csteer")
    if not isinstance(record, dict):
        raise CsteerError("the server's reply has no csteer run record (is it csteer serve?)")
    return record


def _error_body(err: urllib.error.HTTPError) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(err.read())
        return data
    except ValueError:
        return {}


def _error(status: int, body: dict[str, Any]) -> CsteerError:
    found = body.get("error")
    error: dict[str, Any] = found if isinstance(found, dict) else {}
    message = str(error.get("message") or f"HTTP {status}")
    code = error.get("code")
    if status == 429:
        return ServerBusy(message)
    if status == 401:
        return CsteerError(f"csteer serve refused the API key (set {API_KEY_ENV}): {message}")
    if code == "usage_error" or (400 <= status < 500 and status != 404):
        return UsageError(message)
    return CsteerError(message)


def warm_run(
    question: str,
    settings: RunSettings,
    *,
    server: str | None = None,
    log: bool = True,
    trace: Callable[[str], None] | None = None,
    notify: Callable[[str], None] | None = None,
) -> dict[str, Any] | None:
    """The run record from a running `csteer serve` that loaded the same models, or None when there is
    none to use (the caller then runs in-process). A server that was named (--server, CSTEER_SERVER) and
    cannot be used says why on `notify`; the default address is tried silently."""
    found = find_server(server)
    say = notify if notify is not None and (trace is not None or server_address(server)[1]) else None
    if found is None:
        if say and server_address(server)[1]:
            say(f"csteer: no csteer serve at {server_address(server)[0]}; answering in-process")
        return None
    reason = mismatch(found, settings)
    if reason is None and settings.max_turns > int(found.health.get("max_turns_cap", settings.max_turns)):
        reason = f"it caps max_turns at {found.health.get('max_turns_cap')}"
    if reason is None and log and found.health.get("log") is False:
        reason = "it does not write the run log (started with --no-log)"
    if reason is not None:
        if say:
            say(f"csteer: not using csteer serve at {found.url}: {reason}; answering in-process")
        return None
    try:
        return ask_server(found.url, question, settings, log=log, trace=trace)
    except ServerBusy:
        if notify:
            notify(f"csteer: csteer serve at {found.url} is busy; answering in-process")
        return None
