"""`csteer serve`: steering behind an OpenAI-compatible endpoint, models loaded once."""

from __future__ import annotations

from typing import Any

import click

from csteer.cli.common import handle_errors, model_options, policy_option, run_settings


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@model_options
@policy_option("Policy of model `csteer` (`csteer:POLICY` selects another per request).")
@click.option("--no-symbolic-check", is_flag=True, help="Default off for the complexity report.")
@click.option("--no-self-check", is_flag=True, help="Default off for the self-answer checker.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default).")
@click.option("--port", type=int, default=8765, show_default=True, help="Port to bind (0: any free port).")
@click.option(
    "--api-key",
    envvar="CSTEER_API_KEY",
    default=None,
    help="Require `Authorization: Bearer KEY` on /v1 (env CSTEER_API_KEY).",
)
@click.option(
    "--allow-model",
    "allow_models",
    multiple=True,
    metavar="SPEC",
    help="Also serve this task-model spec as model id SPEC (loaded at start; repeatable).",
)
@click.option(
    "--queue", "max_queue", type=int, default=8, show_default=True, help="Requests that may wait per model."
)
@click.option(
    "--workers", type=int, default=4, show_default=True, help="Concurrent runs when every model is remote."
)
@click.option("--max-body", type=int, default=1 << 20, show_default=True, help="Largest request body, bytes.")
@click.option(
    "--max-turns-cap", type=int, default=10, show_default=True, help="Most max_turns a request may ask."
)
@click.option(
    "--grace",
    "grace_s",
    type=float,
    default=5.0,
    show_default=True,
    help="Seconds runs get to finish on shutdown.",
)
@click.option("--no-log", is_flag=True, help="Do not append served runs to the run log.")
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="warning",
    show_default=True,
    help="uvicorn's log level (info shows each request).",
)
@handle_errors
def serve(
    policy: str,
    no_symbolic_check: bool,
    no_self_check: bool,
    host: str,
    port: int,
    api_key: str | None,
    allow_models: tuple[str, ...],
    max_queue: int,
    workers: int,
    max_body: int,
    max_turns_cap: int,
    grace_s: float,
    no_log: bool,
    log_level: str,
    **model: Any,
) -> None:
    """Serve steered answers on an OpenAI-compatible API (POST /v1/chat/completions).

    \b
    Examples:
      csteer serve                               # http://127.0.0.1:8765/v1, model "csteer"
      curl -s localhost:8765/v1/chat/completions \\
        -d '{"model":"csteer","messages":[{"role":"user","content":"What is 48271 * 91433?"}]}'
      echo "What is 48271 * 91433?" | csteer ask   # uses the running server
      csteer serve --api-key "$KEY" --host 0.0.0.0 --allow-model ollama:qwen2.5:7b

    Stops cleanly on SIGTERM or Ctrl-C.
    """
    from csteer.serve.server import ServeOptions
    from csteer.serve.server import serve as run_server

    settings = run_settings(
        model, policy=policy, symbolic_check=not no_symbolic_check, self_check=not no_self_check
    )
    options = ServeOptions(
        host=host,
        port=port,
        api_key=api_key,
        allow_models=allow_models,
        max_queue=max_queue,
        workers=workers,
        max_body=max_body,
        max_turns_cap=max_turns_cap,
        grace_s=grace_s,
        log=not no_log,
        log_level=log_level,
    )
    run_server(settings, options, notify=lambda msg: click.echo(msg, err=True))
