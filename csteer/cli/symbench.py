"""`csteer symbench`: list the tasks, generate samples, verify one answer, selfcheck a dataset.

Thin wrappers: the work is done by csteer.symbench (loader, generate, selfcheck, hf).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from csteer.cli.common import handle_errors
from csteer.errors import UsageError

DATA_ENV = "CSTEER_SYMBENCH_DATA"


@click.group()
def symbench() -> None:
    """List, generate, verify and selfcheck SymBench tasks.

    \b
    Examples:
      csteer symbench list
      csteer symbench generate number_multiply --n 5 --complexity 6 --seed 1 --out data/
      csteer symbench verify number_multiply --sample data/number_multiply/digit_8_8/sample_x --answer 42
      csteer symbench selfcheck --data ../shared/symbench/dataset_gather --json
    """


@symbench.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
@handle_errors
def list_tasks(as_json: bool) -> None:
    """List the registered tasks: id, split, synthesized or fixed, description."""
    from csteer.symbench.base import all_tasks

    tasks = sorted(all_tasks().values(), key=lambda t: (t.split != "seen", t.id))
    rows = [
        {
            "id": t.id,
            "paper_name": t.paper_name,
            "split": t.split,
            "kind": "synthesized" if t.synthesized else "fixed",
            "complexities": list(t.complexities),
            "description": t.description,
            "answer_format": t.answer_format,
        }
        for t in tasks
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"SymBench tasks ({len(rows)})")
    for column in ("id", "split", "kind", "description"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(str(row["id"]), str(row["split"]), str(row["kind"]), str(row["description"]))
    Console().print(table)


@symbench.command()
@click.argument("task")
@click.option("--n", "n", type=int, default=10, show_default=True, help="How many samples.")
@click.option("--complexity", type=int, default=None, help="Complexity level (default: the task's first).")
@click.option("--seed", type=int, default=0, show_default=True, help="RNG seed; same seed, same samples.")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Dataset root to write into (original dataset_gather layout).",
)
@handle_errors
def generate(task: str, n: int, complexity: int | None, seed: int, out: Path) -> None:
    """Generate N samples of a synthesized TASK into OUT, readable by --data OUT."""
    from csteer.symbench.generate import generate_samples
    from csteer.symbench.loader import write_samples

    samples = generate_samples(task, n, complexity, seed)
    try:
        folders = write_samples(task, samples, out)
    except OSError as exc:
        raise UsageError(f"cannot write under {str(out)!r}: {exc.strerror or exc}") from exc
    for folder in folders:
        click.echo(str(folder))
    click.echo(f"wrote {len(folders)} {task} samples under {out}", err=True)


@symbench.command()
@click.argument("task")
@click.option(
    "--sample",
    "sample_path",
    type=click.Path(exists=True, path_type=Path),
    required=True,
    help="The sample's folder or file; with --id, the dataset root.",
)
@click.option(
    "--id",
    "sample_id",
    default=None,
    help="Sample id within the task (as selfcheck prints it), e.g. date_understanding/12.",
)
@click.option("--answer", required=True, help="The answer text to check ('-' reads standard input).")
@handle_errors
def verify(task: str, sample_path: Path, sample_id: str | None, answer: str) -> None:
    """Verify ANSWER for one sample of TASK; exit 0 if correct, 1 if not.

    \b
    csteer symbench verify letters --sample data/Letters/Letters_dataset_min_length_5_max_length_10/a_1_1 \\
        --answer "<<<Count: 1, Positions: [3]>>>"
    csteer symbench verify date_understanding --sample data/ --id date_understanding/12 --answer "(B)"
    """
    from csteer.symbench.base import get_task
    from csteer.symbench.locate import find_sample

    if answer == "-":
        answer = sys.stdin.read()
    task_obj = get_task(task)
    sample = find_sample(task_obj, sample_path, sample_id)
    verdict = task_obj.verify(sample, answer)
    click.echo(f"{'correct' if verdict.correct else 'incorrect'}: {verdict.reason}")
    sys.exit(0 if verdict.correct else 1)


@symbench.command()
@click.option(
    "--data",
    "data",
    type=click.Path(path_type=Path),
    envvar=DATA_ENV,
    default=None,
    help=f"Dataset root in the original layout (or ${DATA_ENV}).",
)
@click.option("--hf", "use_hf", is_flag=True, help="Use the Hugging Face copy (yongchao98/SymBench, cached).")
@click.option("--task", "task_ids", multiple=True, help="Only these tasks (repeatable).")
@click.option(
    "--json", "as_json", is_flag=True, help="Print JSON: {tasks: [{task, total, accepted, rejected}]}."
)
@handle_errors
def selfcheck(data: Path | None, use_hf: bool, task_ids: tuple[str, ...], as_json: bool) -> None:
    """Verify every stored reference solution under --data with its task's verifier."""
    from csteer.symbench.selfcheck import selfcheck as run_selfcheck

    if use_hf:
        from csteer.symbench.hf import hf_dataset_root

        data = hf_dataset_root()
    if data is None:
        raise UsageError(f"give --data DIR (or set ${DATA_ENV}) or --hf")
    reports = _with_progress(lambda progress: run_selfcheck(data, list(task_ids) or None, progress))
    if as_json:
        click.echo(json.dumps({"tasks": [r.to_json() for r in reports]}, indent=2))
        return
    _print_reports(reports)


def _with_progress(run: Callable[[Any], Any]) -> Any:
    """Run `run(progress_callback)` with a progress bar on stderr (only when stderr is a terminal)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(stderr=True)
    if not console.is_terminal:
        return run(None)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console, transient=True
    ) as bar:
        bars: dict[str, Any] = {}

        def progress(task_id: str, done: int, total: int) -> None:
            if task_id not in bars:
                bars[task_id] = bar.add_task(task_id, total=total)
            bar.update(bars[task_id], completed=done)

        return run(progress)


def _print_reports(reports: Any) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    if not reports:
        console.print("no SymBench samples recognised under that folder")
        return
    table = Table(title="SymBench selfcheck: stored reference solutions")
    for column, justify in (("task", "left"), ("total", "right"), ("accepted", "right"), ("%", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for r in reports:
        share = f"{100 * r.accepted / r.total:.1f}" if r.total else "-"
        table.add_row(r.task, str(r.total), str(r.accepted), share)
    console.print(table)
    for r in reports:
        for sample, reason in r.rejected:
            console.print(
                f"[bold]{escape(r.task)}[/bold] {escape(sample)}: {escape(reason)}", highlight=False
            )
