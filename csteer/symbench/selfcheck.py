"""Selfcheck: verify every stored reference solution with its task's verifier.

A rejected reference is either a verifier bug or a wrong stored solution; the known wrong ones are
listed with reasons in docs/SYMBENCH.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from csteer.symbench.base import Sample, Task
from csteer.symbench.loader import check_root, load_task, resolve_tasks

# progress(task id, samples done, samples of that task)
Progress = Callable[[str, int, int], None]


@dataclass
class TaskReport:
    task: str
    total: int
    accepted: int
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (sample id, reason)

    def to_json(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "total": self.total,
            "accepted": self.accepted,
            "rejected": [{"sample": sample, "reason": reason} for sample, reason in self.rejected],
        }


def check_sample(task: Task, sample: Sample) -> tuple[bool, str]:
    """(accepted, reason) for one sample's stored solution; a verifier that raises is a rejection."""
    try:
        answer = task.reference_answer(sample)
    except Exception as exc:  # noqa: BLE001  (report any task bug as a rejection, keep checking)
        return False, f"cannot format the stored solution: {type(exc).__name__}: {exc}"
    if answer is None:
        return False, "no stored reference solution"
    try:
        verdict = task.verify(sample, answer)
    except Exception as exc:  # noqa: BLE001
        return False, f"verifier raised {type(exc).__name__}: {exc}"
    return verdict.correct, verdict.reason


def selfcheck(
    root: Path, task_ids: list[str] | None = None, progress: Progress | None = None
) -> list[TaskReport]:
    """One report per task that has samples under `root` (tasks without data are left out)."""
    root = check_root(root)
    reports: list[TaskReport] = []
    for task_id, task in resolve_tasks(task_ids).items():
        try:
            samples = load_task(task, root)
        except Exception as exc:  # noqa: BLE001  (one unreadable task must not hide the others)
            reports.append(TaskReport(task_id, 0, 0, [("*", f"loading failed: {exc}")]))
            continue
        if not samples:
            continue
        report = TaskReport(task_id, len(samples), 0)
        for done, sample in enumerate(samples, 1):
            ok, reason = check_sample(task, sample)
            if ok:
                report.accepted += 1
            else:
                report.rejected.append((sample.id, reason))
            if progress is not None:
                progress(task_id, done, len(samples))
        reports.append(report)
    return reports
