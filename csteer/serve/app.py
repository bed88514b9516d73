"""The ASGI app of `csteer serve` (FastAPI): /v1/chat/completions, /v1/models, /health.

`create_app(service)` takes a Service (csteer.serve.service), so tests build one on ScriptedEngines and
drive the app in-process. Every refusal is OpenAI's error JSON with a 4xx; a failure inside a run is a
500 with one line, never a traceback. The body is read here with a size cap, parsed by
openai_shapes.parse_chat_request, and the run waits in its lane's worker thread while this side watches
for the client going away (which cancels the run).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException

from csteer import __version__
from csteer.errors import CsteerError, UsageError
from csteer.runtime.record import Run
from csteer.serve import openai_shapes as shapes
from csteer.serve.openai_shapes import RequestError
from csteer.serve.service import Cancelled, Job, Service

log = logging.getLogger("csteer.serve")

MAX_BODY = 1 << 20  # bytes of a request body
MAX_TURNS_CAP = 10  # the most review turns a request may ask for
POLL_S = 0.25
DRAIN_FACTOR = 16  # an oversized body is read and dropped up to this many times the cap, then refused  # how often a waiting request checks that its client is still there


def create_app(
    service: Service,
    *,
    api_key: str | None = None,
    max_body: int = MAX_BODY,
    max_turns_cap: int = MAX_TURNS_CAP,
    close_timeout: float = 10.0,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        yield
        # uvicorn has drained (or cancelled) the requests; stop the workers
        await asyncio.to_thread(service.close, close_timeout)

    app = FastAPI(
        title="csteer",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.service = service

    def error(err: RequestError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if err.status == 401 else None
        return JSONResponse(err.body(), status_code=err.status, headers=headers)

    @app.exception_handler(RequestError)
    async def _request_error(_request: Request, err: RequestError) -> JSONResponse:
        return error(err)

    @app.exception_handler(HTTPException)
    async def _http_error(_request: Request, err: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(err.status_code)
        return error(RequestError(err.status_code, str(err.detail), code=code))

    @app.exception_handler(Exception)
    async def _internal(_request: Request, err: Exception) -> JSONResponse:
        log.exception("csteer serve: request failed")
        return error(RequestError(500, f"internal error: {type(err).__name__}", type="server_error"))

    def authorize(request: Request) -> None:
        if api_key is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), api_key.encode()):
            raise RequestError(401, "invalid API key: send Authorization: Bearer KEY", code="invalid_api_key")

    async def read_json(request: Request) -> Any:
        """The JSON body, at most `max_body` bytes. A larger body is still read (and dropped) up to
        DRAIN_FACTOR times the cap, so the client can read the 413 instead of a reset connection."""
        too_large = RequestError(413, f"the request body is over {max_body} bytes", code="request_too_large")
        drain_limit = max_body * DRAIN_FACTOR
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > drain_limit:
            raise too_large
        body = bytearray()
        size = 0
        async for part in request.stream():
            size += len(part)
            if size <= max_body:
                body += part
            elif size > drain_limit:
                break
        if size > max_body:
            raise too_large
        try:
            return json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise RequestError(400, f"the body is not valid JSON: {err}", code="invalid_json") from None

    @app.get("/health")
    async def health(request: Request) -> dict[str, Any]:
        try:
            authorize(request)
        except RequestError:  # open to all, but the details (models, settings, paths) only with the key
            return {
                "status": "shutting_down" if service.closing else "ok",
                "version": __version__,
                "auth": True,
            }
        return {
            **service.health(),
            "version": __version__,
            "auth": api_key is not None,
            "log": service.log,
            "max_turns_cap": max_turns_cap,
        }

    @app.get("/v1/models")
    async def models(request: Request) -> dict[str, Any]:
        authorize(request)
        return shapes.models_list(service.model_ids)

    @app.get("/v1/models/{model_id:path}")
    async def model(model_id: str, request: Request) -> dict[str, Any]:
        authorize(request)
        if model_id not in service.setups:
            raise RequestError(
                404, f"the model {model_id!r} does not exist", param="model", code="model_not_found"
            )
        data: dict[str, Any] = shapes.models_list([model_id])["data"][0]
        return data

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        authorize(request)
        chat_request = shapes.parse_chat_request(await read_json(request), max_turns_cap=max_turns_cap)
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[str] = asyncio.Queue()

        def progress(message: str) -> None:  # called in the worker thread
            loop.call_soon_threadsafe(events.put_nowait, message)

        job = service.submit(chat_request, progress if chat_request.stream else None)
        cid, created = shapes.completion_id(), int(time.time())
        if chat_request.stream:
            stream = _stream(job, events, request, chat_request, cid, created)
            headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
            return StreamingResponse(stream, media_type="text/event-stream", headers=headers)
        try:
            run = await _wait(job, request)
        finally:
            job.cancel()  # a no-op once the run is over; stops it when this request was cancelled
        if run is None:  # the client went away; nobody reads this
            return JSONResponse(shapes.error_body("client disconnected"), status_code=499)
        return shapes.completion(cid, chat_request.model, created, run.to_dict())

    return app


async def _wait(job: Job, request: Request) -> Run | None:
    """The job's run, or None when the client disconnected first (the job is then cancelled)."""
    future = asyncio.wrap_future(job.future)
    while True:
        done, _ = await asyncio.wait({future}, timeout=POLL_S)
        if done:
            return _result(future)
        if await request.is_disconnected():
            job.cancel()
            future.add_done_callback(_retrieve)
            return None


def _result(future: asyncio.Future[Run]) -> Run:
    """The run, or the RequestError that tells the client why there is none."""
    try:
        return future.result()
    except Cancelled:
        raise RequestError(
            503, "the run was cancelled: the server is shutting down", type="server_error", code="cancelled"
        ) from None
    except UsageError as err:
        raise RequestError(400, str(err), code="usage_error") from None
    except CsteerError as err:
        raise RequestError(500, str(err), type="server_error", code="runtime_error") from None
    except Exception as err:  # noqa: BLE001 - a bug in a run: one line to the client, the trace to the log
        log.error("csteer serve: a run failed", exc_info=err)
        raise RequestError(500, f"internal error: {type(err).__name__}: {err}", type="server_error") from None


async def _stream(
    job: Job,
    events: asyncio.Queue[str],
    request: Request,
    chat_request: shapes.ChatRequest,
    cid: str,
    created: int,
) -> AsyncIterator[bytes]:
    """SSE: the role chunk at once, a reasoning_content line per step, the answer, the record, [DONE]."""
    model = chat_request.model

    def chunk(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> bytes:
        return shapes.sse(shapes.chunk(cid, model, created, delta, finish, **extra))

    future = asyncio.wrap_future(job.future)
    getter: asyncio.Task[str] | None = None
    try:
        yield chunk({"role": "assistant", "content": ""})
        while not future.done():
            if getter is None:
                getter = asyncio.ensure_future(events.get())
            waiting: set[asyncio.Future[Any]] = {future, getter}
            done, _ = await asyncio.wait(waiting, timeout=POLL_S, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                yield chunk({"reasoning_content": getter.result() + "\n"})
                getter = None
            elif not done and await request.is_disconnected():
                job.cancel()
                return
        while not events.empty():
            yield chunk({"reasoning_content": events.get_nowait() + "\n"})
        try:
            run = _result(future)
        except RequestError as err:
            yield shapes.sse(err.body())
            yield shapes.DONE
            return
        record = run.to_dict()
        if run.answer:
            yield chunk({"content": run.answer})
        yield chunk({}, "stop", csteer=record)
        if chat_request.include_usage:
            yield chunk(None, usage=shapes.usage(record))
        yield shapes.DONE
    finally:
        if getter is not None:
            getter.cancel()
        job.cancel()
        future.add_done_callback(_retrieve)


def _retrieve(future: asyncio.Future[Run]) -> None:
    """Mark a run nobody waits for any more as seen (no 'exception was never retrieved' warning)."""
    if not future.cancelled():
        future.exception()
