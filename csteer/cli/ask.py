"""`csteer ask`: answer one question with a steered task model. Only the answer goes to stdout."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from csteer.cli.common import handle_errors, model_options, policy_option, run_settings


def read_question(words: tuple[str, ...]) -> str:
    """Piped stdin comes first, then the argument text (like `llm`): `cat data | csteer ask "summarize"`."""
    parts = []
    if not sys.stdin.isatty():
        piped = sys.stdin.read()
        if piped.strip():
            parts.append(piped.strip())
    if words:
        parts.append(" ".join(words).strip())
    return "\n\n".join(p for p in parts if p)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("question", nargs=-1)
@model_options
@policy_option("codesteer: the coach steers; self: the task model steers itself; the rest are baselines.")
@click.option("--seed", type=int, default=None, help="Sampling seed (reproducible runs).")
@click.option(
    "--no-symbolic-check", is_flag=True, help="Do not send the code complexity report to the coach."
)
@click.option("--no-self-check", is_flag=True, help="Do not run the self-answer checker.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the whole run as JSON instead of just the answer."
)
@click.option("-v", "--verbose", is_flag=True, help="Trace turns, actions, code and checks on stderr.")
@click.option("--no-log", is_flag=True, help="Do not append this run to the run log.")
@click.option(
    "--server",
    metavar="URL",
    default=None,
    help="Ask this `csteer serve` (default: $CSTEER_SERVER, else http://127.0.0.1:8765 when one is up "
    "with the same model settings).",
)
@click.option("--no-server", is_flag=True, help="Always answer in-process, even when a server is up.")
@handle_errors
def ask(
    question: tuple[str, ...],
    policy: str,
    seed: int | None,
    no_symbolic_check: bool,
    no_self_check: bool,
    as_json: bool,
    verbose: bool,
    no_log: bool,
    server: str | None,
    no_server: bool,
    **model: Any,
) -> None:
    """Answer QUESTION with a task model steered between code and text.

    \b
    Examples:
      echo "What is 48271 * 91433?" | csteer ask
      csteer ask --json "What is 3 * 41?"
      csteer ask -m ollama:qwen2.5:7b --coach embedded "How many r's are in strawberry?"
      OPENAI_BASE_URL=http://127.0.0.1:8080/v1 csteer ask -m openai:local --task-kind base "2**40?"

    Exit codes: 0 answered, 1 runtime failure, 2 usage error, 3 no answer, 130 interrupted.
    """
    from csteer.errors import NoAnswerError, UsageError
    from csteer.runtime.ask import answer_question

    text = read_question(question)
    if not text:
        raise UsageError("no question: pass it as an argument or pipe it on stdin")
    settings = run_settings(
        model,
        policy=policy,
        seed=seed,
        symbolic_check=not no_symbolic_check,
        self_check=not no_self_check,
    )
    trace = (lambda msg: click.echo(f"csteer: {msg}", err=True)) if verbose else None
    notify = lambda msg: click.echo(msg, err=True)  # noqa: E731
    record = None  # the run as Run.to_dict(): from a warm `csteer serve` when one fits, else in-process
    if not no_server:
        from csteer.serve.client import warm_run

        record = warm_run(text, settings, server=server, log=not no_log, trace=trace, notify=notify)
    if record is None:
        record = answer_question(text, settings, trace=trace, notify=notify, log=not no_log).to_dict()
    if as_json:
        click.echo(json.dumps(record, indent=2, ensure_ascii=False))
    elif record["answer"] is not None:
        click.echo(record["answer"])
    if record["answer"] is None:
        stop = record["stop_reason"] or "none"
        raise NoAnswerError(f"no answer after {len(record['turns'])} turn(s) (stop: {stop})")
