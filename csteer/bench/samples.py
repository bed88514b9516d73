"""Which tasks a bench run covers and which samples it asks.

Generated samples are derived one by one from (seed, task, complexity, index), so a sample never
depends on how many were asked for: `--samples 10` after `--samples 4` keeps the first four and adds six.
Loaded samples (--data) are shuffled with a seeded RNG per task and the first N are taken, same idea.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from csteer.errors import CsteerError, UsageError
from csteer.symbench.base import Sample, Task, all_tasks, get_task

SPLITS = ("all", "seen", "unseen")
MAX_REDRAWS = 50  # a generator that repeats itself this often at one index has too few distinct samples


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


def _rng(seed: int, task_id: str, complexity: int, index: int, attempt: int) -> random.Random:
    # a str seed is hashed with SHA-512 by `random`, so this is stable across processes and versions
    return random.Random(f"csteer-bench:{seed}:{task_id}:{complexity}:{index}:{attempt}")


def complexity_for(task: Task, complexity: int | None) -> int:
    if complexity is None:
        return task.complexities[0] if task.complexities else 1
    if task.complexities and complexity not in task.complexities:
        levels = ", ".join(str(c) for c in task.complexities)
        raise UsageError(f"{task.id}: --complexity must be one of {levels}, not {complexity}")
    return complexity


def generated_samples(task: Task, n: int, complexity: int | None, seed: int) -> list[Sample]:
    level = complexity_for(task, complexity)
    samples: list[Sample] = []
    seen: set[str] = set()
    for index in range(n):
        for attempt in range(MAX_REDRAWS):
            sample = task.generate(_rng(seed, task.id, level, index, attempt), level)
            if sample.id not in seen:
                break
        else:
            raise CsteerError(
                f"{task.id}: only {len(samples)} distinct samples at complexity {level}; ask for fewer"
            )
        seen.add(sample.id)
        samples.append(sample)
    return samples


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
            samples, problem = generated_samples(task, n, level, seed), None
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
