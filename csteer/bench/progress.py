"""Progress on stderr: a rich bar with ETA and running accuracy on a terminal, one line per sample otherwise."""

from __future__ import annotations

import sys
from typing import Any

from csteer.bench.runner import Observer, Summary


class ProgressObserver(Observer):
    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.done = 0
        self.correct = 0
        self.errors = 0
        self.total = 0
        self._progress: Any = None
        self._bar: Any = None

    def start(self, summary: Summary) -> None:
        self.total = summary.todo
        if not self.enabled:
            return
        if summary.already_done:
            print(
                f"csteer: resuming: {summary.already_done} of {summary.planned} already done", file=sys.stderr
            )
        if not summary.todo or not sys.stderr.isatty():
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]bench"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("acc {task.fields[acc]}"),
            TextColumn("{task.fields[err]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._progress.start()
        self._bar = self._progress.add_task("bench", total=summary.todo, acc="-", err="")

    def record(self, record: dict[str, Any]) -> None:
        self.done += 1
        self.correct += record.get("correct") is True
        self.errors += bool(record.get("error"))
        accuracy = f"{100.0 * self.correct / self.done:.1f}%"
        if self._progress is not None:
            err = f"[red]{self.errors} err" if self.errors else ""
            self._progress.update(self._bar, advance=1, acc=accuracy, err=err)
        elif self.enabled:
            outcome = (
                f"error: {record['error']}"
                if record.get("error")
                else ("correct" if record.get("correct") else f"wrong ({record.get('reason')})")
            )
            print(
                f"csteer: [{self.done}/{self.total}] {record['task']} {record['method']} "
                f"{record['sample_id']}: {outcome} (acc {accuracy})",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
