"""Start `csteer serve`: load the models once, bind (127.0.0.1 unless told otherwise), serve until a signal.

Shutdown on SIGTERM or Ctrl-C: uvicorn stops accepting connections; runs in flight get `grace_s` seconds
to finish, then they are cancelled at their next step (a streaming client gets an error event and
[DONE]); the workers end, then the process exits 0. Every finished run was logged by its worker in one
SQLite transaction, so the run log loses nothing. A second Ctrl-C exits at once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from types import FrameType
from typing import Any

from csteer.engines.base import Notify, notify_stderr
from csteer.errors import CsteerError, UsageError
from csteer.runtime.settings import RunSettings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


@dataclass(frozen=True)
class ServeOptions:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    api_key: str | None = None
    allow_models: tuple[str, ...] = ()
    max_queue: int = 8  # waiting requests per lane, past the running ones
    workers: int = 4  # concurrent runs on a lane whose models are all remote
    max_body: int = 1 << 20
    max_turns_cap: int = 10
    grace_s: float = 5.0  # seconds in-flight runs get to finish on shutdown
    log: bool = True
    log_level: str = "warning"

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise UsageError(f"--port must be 0..65535, got {self.port}")
        if self.max_queue < 0 or self.workers < 1:
            raise UsageError("--queue must be >= 0 and --workers >= 1")
        if self.max_body < 1024:
            raise UsageError("--max-body must be at least 1024 bytes")
        if self.max_turns_cap < 0 or self.grace_s < 0:
            raise UsageError("--max-turns-cap and --grace must be >= 0")
        if self.api_key is not None and not self.api_key.strip():
            raise UsageError("--api-key must not be empty")


def serve(settings: RunSettings, options: ServeOptions, notify: Notify | None = None) -> None:
    """Load, bind, serve until SIGTERM/SIGINT, shut down cleanly."""
    try:
        import uvicorn
    except ImportError as err:
        raise CsteerError("csteer serve needs the server extra: pip install 'csteer[server]'") from err
    from csteer.serve.app import create_app
    from csteer.serve.service import Service

    notify = notify or notify_stderr
    if settings.max_turns > options.max_turns_cap:
        raise UsageError(f"--max-turns {settings.max_turns} is over --max-turns-cap {options.max_turns_cap}")
    service = Service.load(
        settings,
        options.allow_models,
        notify=notify,
        remote_workers=options.workers,
        max_queue=options.max_queue,
        log=options.log,
    )
    app = create_app(
        service,
        api_key=options.api_key,
        max_body=options.max_body,
        max_turns_cap=options.max_turns_cap,
        close_timeout=options.grace_s + 10,
    )
    config = uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        log_level=options.log_level,
        access_log=options.log_level in ("info", "debug", "trace"),
        timeout_graceful_shutdown=int(options.grace_s) + 10,
        lifespan="on",
    )
    server = _Server(config, service, options.grace_s, notify)
    server.run()
    if server.started_ok is False:
        raise CsteerError(f"could not serve on {options.host}:{options.port} (is the port in use?)")


class _Server:
    """uvicorn.Server with csteer's shutdown: a grace period, then the runs in flight are cancelled."""

    def __init__(self, config: Any, service: Any, grace_s: float, notify: Notify) -> None:
        import uvicorn

        outer = self

        class Server(uvicorn.Server):
            def handle_exit(self, sig: int, frame: FrameType | None) -> None:
                first = not self.should_exit
                super().handle_exit(sig, frame)
                # exit with 0 after a clean shutdown instead of re-raising the signal
                getattr(self, "_captured_signals", []).clear()
                if first:
                    outer._begin_shutdown()

            async def startup(self, sockets: Any = None) -> None:
                await super().startup(sockets)
                if self.started:
                    host, port = config.host, config.port
                    for server in self.servers:
                        for sock in server.sockets:
                            port = sock.getsockname()[1]
                    notify(
                        f"csteer: serving {', '.join(service.model_ids[:3])}, ... on http://{host}:{port}/v1"
                    )

        self.server = Server(config)
        self.service = service
        self.grace_s = grace_s
        self.notify = notify
        self.started_ok: bool | None = None

    def _begin_shutdown(self) -> None:
        in_flight = len(self.service.jobs)
        self.service.closing = True
        if in_flight:
            self.notify(
                f"csteer: shutting down: {in_flight} run(s) in flight get {self.grace_s:g}s to finish"
            )
        timer = threading.Timer(self.grace_s, self.service.cancel_all)
        timer.daemon = True
        timer.start()

    def run(self) -> None:
        self.server.run()
        self.started_ok = bool(self.server.started)
