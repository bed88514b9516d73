"""Which tasks a bench run covers and which samples it asks.

Generated samples come from `csteer.symbench.generate` (one RNG per sample index, so `--samples 10`
after `--samples 4` keeps the first four and adds six). Loaded samples (--data) are shuffled with a
seeded RNG per task and the first N are taken, same idea.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from csteer.errors import UsageError
from csteer.symbench.base import Sample, Task, all_tasks, get_task
from csteer.symbench.generate import complexity_for, generate_samples

SPLITS = ("all", "seen", "unseen")


@dataclass(frozen=True)
class TaskPlan:
    task: Task
    complexity: int | None  # the level generated at; None for loaded samples
    samples: list[Sample]


@dataclass(frozen=True)
class TaskSelection:
    tasks: list[Task]
    explicit: bool  # named one by one (problems are errors) rather than through all/seen/unseen


def select_tasks(text: str) -> TaskSelection:
    text = (text or "").strip()
    if not text:
        raise UsageError("--tasks names no task")
    if text in SPLITS:
        tasks = [t for t in all_tasks().values() if text == "all" or t.split == text]
        return TaskSelection(tasks, explicit=False)
    ids = list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    return TaskSelection([get_task(task_id) for task_id in ids], explicit=True)


def loaded_samples(task: Task, root: Path, n: int, seed: int) -> list[Sample]:
    from csteer.symbench.loader import load_task

    samples = sorted(load_task(task, root), key=lambda s: s.id)
    random.Random(f"csteer-bench:{seed}:{task.id}").shuffle(samples)
    return samples[:n]


Notify = Callable[[str], None]


def plan_samples(
    selection: TaskSelection,
    n: int,
    complexity: int | None,
    seed: int,
    data: Path | None,
    notify: Notify,
) -> list[TaskPlan]:
    """The samples to ask, per task. Tasks that cannot be served are errors when named explicitly,
    and skipped with a note when they came in through all/seen/unseen."""
    if n < 1:
        raise UsageError("--samples must be at least 1")
    if data is not None:
        from csteer.symbench.loader import check_root

        data = check_root(data)
    planned: list[TaskPlan] = []
    for task in selection.tasks:
        level: int | None = None
        if data is not None:
            samples = loaded_samples(task, data, n, seed)
            problem = None if samples else f"{task.id}: no samples under {data}"
        elif not task.synthesized:
            samples, problem = [], f"{task.id} is a fixed dataset; pass --data DIR to load it"
        else:
            level = complexity_for(task, complexity if selection.explicit else _clamp(task, complexity))
            samples, problem = generate_samples(task.id, n, level, seed), None
        if problem:
            if selection.explicit:
                raise UsageError(problem)
            notify(f"csteer: skipping {problem}")
            continue
        planned.append(TaskPlan(task, level, samples))
    if not planned:
        raise UsageError("no task has samples to run")
    return planned


def _clamp(task: Task, complexity: int | None) -> int | None:
    """For all/seen/unseen, a complexity beyond a task's range uses its nearest level."""
    if complexity is None or not task.complexities or complexity in task.complexities:
        return complexity
    return min(task.complexities, key=lambda c: (abs(c - complexity), c))
