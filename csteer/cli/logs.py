"""`csteer logs`: browse the run log of past `csteer ask` runs."""

from __future__ import annotations

import json

import click

from csteer.cli.common import handle_errors
from csteer.errors import UsageError


@click.group()
def logs() -> None:
    """Browse the log of past `csteer ask` runs (SQLite in the data dir)."""


def _one_line(text: str | None, width: int) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


@logs.command("list")
@click.option("-n", "count", type=click.IntRange(min=1), default=20, show_default=True, help="How many runs.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list (newest first).")
@handle_errors
def list_cmd(count: int, as_json: bool) -> None:
    """Show the most recent runs, newest first."""
    from csteer.runlog import list_runs

    runs = list_runs(count)
    if as_json:
        click.echo(json.dumps(runs, indent=2, ensure_ascii=False))
        return
    if not runs:
        click.echo("no runs logged yet")
        return
    for run in runs:
        seconds = f"{run['seconds']:.1f}s" if run.get("seconds") is not None else "-"
        status = run.get("exit_status")
        click.echo(
            f"{run['id']:>5}  {run['created_at'][:19]}  exit={status if status is not None else '-'}  "
            f"{seconds:>7}  {_one_line(run['question'], 50)!s:<50}  -> {_one_line(run.get('answer'), 30)}"
        )


@logs.command("show")
@click.argument("run_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the whole record as JSON.")
@handle_errors
def show_cmd(run_id: int, as_json: bool) -> None:
    """Show one run: question, models, policy, every turn and the answer."""
    from csteer.runlog import get_run

    run = get_run(run_id)
    if run is None:
        raise UsageError(f"no run with id {run_id}; see `csteer logs list`")
    if as_json:
        click.echo(json.dumps(run, indent=2, ensure_ascii=False))
        return
    turns = run.pop("turns")
    question, answer = run.pop("question"), run.pop("answer")
    for key, value in run.items():
        if value is not None:
            click.echo(f"{key:>13}: {f'{value:.2f}' if isinstance(value, float) else value}")
    click.echo(f"\nquestion:\n  {question}")
    for i, turn in enumerate(turns):
        click.echo(f"\nturn {i}:")
        text = json.dumps(turn, indent=2, ensure_ascii=False) if not isinstance(turn, str) else turn
        click.echo("\n".join("  " + line for line in text.splitlines()))
    click.echo(f"\nanswer:\n  {answer}")
