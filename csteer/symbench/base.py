"""The contract every SymBench task implements.

A task module defines one subclass of `Task` per task and registers it with `@register`.
Synthesized tasks implement `generate`; every task implements `verify` and the loader for its
folder in the original SymBench layout (`load_dir`) and, where it is synthesized, `write_sample`
so generated data round-trips through the loader.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

Split = Literal["seen", "unseen"]


@dataclass(frozen=True)
class Sample:
    task: str  # registry id, e.g. "game24"
    id: str  # unique within the task, e.g. "sample_12" or the original folder's relative path
    question: str  # the full prompt text shown to the model
    solution: Any = None  # the reference solution, JSON-able (None when the layout has none)
    meta: dict[str, Any] = field(default_factory=dict)  # what the verifier needs (puzzle data, params)


@dataclass(frozen=True)
class Verdict:
    correct: bool
    reason: str  # always set, also when correct ("matches 4413562343")


class Task:
    """Base class. Subclasses set the class attributes and override the methods they support."""

    id: ClassVar[str]  # snake_case registry id
    paper_name: ClassVar[str]  # name as in the paper / symbench-table1.csv ("Game 24")
    split: ClassVar[Split]
    description: ClassVar[str]
    answer_format: ClassVar[str]  # what the answer inside <<<...>>> must look like
    synthesized: ClassVar[bool] = True
    # folder names under dataset_gather/ this task reads (original layout)
    data_dirs: ClassVar[tuple[str, ...]] = ()
    # default and allowed complexity levels for generate()
    complexities: ClassVar[tuple[int, ...]] = (1, 2, 3)

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        raise NotImplementedError(f"{self.id} is a fixed dataset; it cannot be generated")

    def verify(self, sample: Sample, answer_text: str) -> Verdict:
        raise NotImplementedError

    def load_dir(self, root: Path) -> Iterator[Sample]:
        """Yield the samples of this task found under `root` (a dataset_gather-style folder)."""
        raise NotImplementedError

    def write_sample(self, sample: Sample, out_dir: Path) -> Path:
        """Write `sample` in the original layout under `out_dir`; return the sample's folder."""
        raise NotImplementedError

    # Optional hook (added after the first contract; overriding it is optional).
    def reference_answer(self, sample: Sample) -> str | None:
        """The stored reference solution written as a model's answer, for `verify`.

        `csteer symbench selfcheck` and the round-trip tests feed this text to `verify`, so it must be
        in the form `answer_format` describes. The default wraps a string solution as `<<<solution>>>`
        and anything else as `<<<json>>>`; override it when `sample.solution` is stored in another
        shape (a dict of several fields, a list the answer writes differently, ...).
        None when the sample has no reference solution.
        """
        solution = sample.solution
        if solution is None:
            return None
        if isinstance(solution, str):
            return f"<<<{solution}>>>"
        return f"<<<{json.dumps(solution)}>>>"


_REGISTRY: dict[str, Task] = {}


def register(cls: type[Task]) -> type[Task]:
    if cls.id in _REGISTRY:
        raise ValueError(f"duplicate SymBench task id {cls.id!r}")
    _REGISTRY[cls.id] = cls()
    return cls


def all_tasks() -> dict[str, Task]:
    """All registered tasks, importing the task modules on first use."""
    from csteer.symbench import tasks  # noqa: F401  (import registers the tasks)

    return dict(_REGISTRY)


def get_task(task_id: str) -> Task:
    tasks = all_tasks()
    if task_id not in tasks:
        from csteer.errors import UsageError

        raise UsageError(f"unknown SymBench task {task_id!r}; see `csteer symbench list`")
    return tasks[task_id]
