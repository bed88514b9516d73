"""`csteer bench`: run SymBench methods into a resumable results file; `csteer bench report` summarizes it."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from csteer.cli.common import handle_errors, model_options, run_settings

CONTEXT = {"help_option_names": ["-h", "--help"]}


@click.group(invoke_without_command=True, context_settings=CONTEXT)
@click.option(
    "--tasks",
    default="all",
    show_default=True,
    metavar="LIST",
    help="Task ids (comma separated), or all, seen, unseen.",
)
@click.option(
    "--method",
    "methods",
    default="codesteer",
    show_default=True,
    metavar="M[,M...]",
    help="codesteer, self, only-question, all-text, all-code, code-first-rule (comma separated).",
)
@model_options
@click.option("--samples", type=int, default=10, show_default=True, help="Samples per task.")
@click.option(
    "--complexity",
    type=int,
    default=None,
    help="Complexity level of generated samples (default: each task's first).",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of sample generation and sampling."
)
@click.option(
    "--concurrency",
    type=int,
    default=1,
    show_default=True,
    help="Questions in flight against remote/server engines.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Results JSONL (appended; a re-run resumes).",
)
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    default=None,
    help="Load samples from a dataset_gather-style folder instead of generating.",
)
@click.option(
    "--ablate",
    default=None,
    metavar="LIST",
    help="Extra variants without checkers: symbolic-check,self-check.",
)
@click.option("--retry-errors", is_flag=True, help="Run again the samples whose latest record is an error.")
@click.option(
    "--ray",
    "ray_address",
    is_flag=False,
    flag_value="local",
    default=None,
    metavar="[ADDRESS]",
    help="Run the samples on Ray actors: a cluster's address (auto, HOST:PORT, ray://HOST:PORT), "
    "or none to start a local Ray on 127.0.0.1 (extra csteer[ray]).",
)
@click.option(
    "--ray-actors",
    type=int,
    default=None,
    metavar="N",
    help="Actors, each with its own models and sandbox pool (default: as many as the cluster's CPUs allow).",
)
@click.option("--ray-cpus", type=float, default=1.0, show_default=True, help="CPUs each actor reserves.")
@click.option(
    "--ray-gpus",
    type=float,
    default=None,
    help="GPUs each actor reserves (default: 1 for an in-process model on a cluster with GPUs, else 0).",
)
@click.option("--ray-memory", default=None, metavar="SIZE", help="Memory each actor reserves, e.g. 4GB.")
@click.option(
    "--ray-tries",
    type=int,
    default=3,
    show_default=True,
    help="Dead workers one sample may cost before it is recorded as an error.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run's summary as JSON instead of the table.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no table at the end.")
@click.pass_context
@handle_errors
def bench(ctx: click.Context, **options: Any) -> None:
    """Run SymBench tasks with one or more methods; results go to --out, one JSON line per sample.

    A run killed at any moment resumes when started again with the same arguments: samples already
    in the file are skipped. The table of the whole file is printed at the end.

    \b
    Examples:
      csteer bench --tasks number_multiply,letters --method all-code,codesteer --samples 5 --out r.jsonl
      csteer bench --tasks unseen -m openai:qwen@http://127.0.0.1:8080/v1 --concurrency 8 --out r.jsonl
      csteer bench report r.jsonl --html r.html --png r.png

    Exit codes: 0 done, 1 some samples errored (see --retry-errors) or a runtime failure,
    2 usage error, 130 interrupted (what finished is saved).
    """
    if ctx.invoked_subcommand is not None:
        return
    from csteer.errors import CsteerError, UsageError

    if options["out"] is None:
        raise UsageError("--out FILE is required (the results file; a re-run with the same file resumes)")
    summary = _run(options)
    if summary.stopped:
        click.echo(f"csteer: interrupted; {summary.written} record(s) saved to {options['out']}", err=True)
        sys.exit(130)
    if summary.errors:
        raise CsteerError(
            f"{summary.errors} sample(s) failed with an error (see the `error` field); "
            "--retry-errors runs them again"
        )


def _run(options: dict[str, Any]) -> Any:
    from csteer.bench.runner import BenchConfig, BenchRunner

    run = run_settings(options, seed=options["seed"])
    config = BenchConfig(
        out=options["out"],
        run=run,
        tasks=options["tasks"],
        methods=options["methods"],
        samples=options["samples"],
        complexity=options["complexity"],
        seed=options["seed"],
        concurrency=options["concurrency"],
        data=options["data"],
        ablate=options["ablate"],
        retry_errors=options["retry_errors"],
    )
    quiet = options["quiet"]
    from csteer.bench.progress import ProgressObserver

    notify = lambda msg: click.echo(msg, err=True)  # noqa: E731
    observer = ProgressObserver(enabled=not quiet)
    runner = _ray_runner(options, config, notify, observer) or BenchRunner(
        config, notify=notify, observer=observer
    )
    started = time.perf_counter()
    # with --json stdout is the summary alone: what libraries print meanwhile (Ray's notes of dead
    # workers, from its own thread) goes to stderr
    quiet_stdout = contextlib.redirect_stdout(sys.stderr) if options["as_json"] else contextlib.nullcontext()
    try:
        with quiet_stdout:
            summary = runner.run()
    finally:
        observer.close()
    click.echo(
        f"csteer: {summary.written} new record(s) in {config.out} ({summary.correct} correct, "
        f"{summary.errors} errors); {summary.already_done} already done",
        err=True,
    )
    if options["as_json"]:
        from csteer.bench.runner import summary_dict

        data = {**summary_dict(summary), "out": str(config.out)}
        data["wall_seconds"] = round(time.perf_counter() - started, 3)
        cluster = getattr(runner, "cluster", None)
        data["ray"] = cluster.to_dict() if cluster is not None else None
        click.echo(json.dumps(data, indent=2))
        return summary
    if not quiet and not summary.stopped:
        from csteer.bench.report import build_report, render_table

        _console().print(render_table(build_report(config.out)))
    return summary


def _ray_runner(options: dict[str, Any], config: Any, notify: Any, observer: Any) -> Any:
    """The Ray runner when --ray is given (None otherwise); --ray-* options without it are an error."""
    from csteer.errors import UsageError

    names = ("ray_actors", "ray_gpus", "ray_memory")
    if options["ray_address"] is None:
        given = [n for n in names if options[n] is not None]
        given += [n for n, d in (("ray_cpus", 1.0), ("ray_tries", 3)) if options[n] != d]
        if given:
            raise UsageError(f"--{given[0].replace('_', '-')} needs --ray")
        return None
    from csteer.bench.ray_runner import RayBenchRunner, RayOptions, parse_memory

    ray_options = RayOptions(
        address=options["ray_address"],
        actors=options["ray_actors"],
        cpus=options["ray_cpus"],
        gpus=options["ray_gpus"],
        memory=parse_memory(options["ray_memory"]) if options["ray_memory"] else None,
        tries=options["ray_tries"],
    )
    return RayBenchRunner(config, ray_options, notify=notify, observer=observer)


def _console() -> Any:
    """stdout console; when piped, wide enough that the table is never squeezed into 80 columns."""
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=240)


@bench.command("report", context_settings=CONTEXT)
@click.argument("results", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write an HTML report.",
)
@click.option(
    "--png",
    "png_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write a bar chart of accuracy.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of a table.")
@handle_errors
def report(results: Path, html_path: Path | None, png_path: Path | None, as_json: bool) -> None:
    """Summarize RESULTS: accuracy per task and method, average, Ave.Norm, cost, the paper's numbers.

    \b
    Examples:
      csteer bench report r.jsonl
      csteer bench report r.jsonl --html r.html --png r.png
      csteer bench report r.jsonl --json | jq '.methods'
    """
    import json

    from csteer.bench.report import build_report, render_html, render_table

    summary = build_report(results)
    png = None
    if png_path is not None or html_path is not None:
        from csteer.bench.chart import chart_png

        png = chart_png(summary)
    from csteer.fileio import atomic_write_bytes

    if png_path is not None:
        atomic_write_bytes(png_path, png or b"")
    if html_path is not None:
        atomic_write_bytes(html_path, render_html(summary, png).encode("utf-8"))
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False))
    else:
        console = _console()
        console.print(render_table(summary))
        for note in summary.notes:
            console.print(f"[dim]note: {note}[/dim]", highlight=False)
    for label, path in (("HTML", html_path), ("chart", png_path)):
        if path is not None:
            click.echo(f"csteer: wrote {label} to {path}", err=True)
