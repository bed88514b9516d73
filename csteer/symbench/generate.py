"""Deterministic generation of synthesized samples, for `csteer symbench generate` and `csteer bench`.

One seeding rule: sample `index` of a task at a complexity is drawn from its own RNG, derived from
(seed, task, complexity, index, attempt). So a sample never depends on how many were asked for:
`n=10` after `n=4` keeps the first four and adds six (a larger bench run extends its results file).
"""

from __future__ import annotations

import random

from csteer.errors import CsteerError, UsageError
from csteer.symbench.base import Sample, Task, get_task

MAX_REDRAWS = 50  # a generator that repeats itself this often at one index has too few distinct samples


def sample_rng(seed: int, task_id: str, complexity: int, index: int, attempt: int) -> random.Random:
    """The RNG for one draw. A str seed is hashed with SHA-512 by `random`, so this is stable across
    processes and Python versions; the "csteer-bench" prefix is kept so existing bench results files
    keep naming the same samples."""
    return random.Random(f"csteer-bench:{seed}:{task_id}:{complexity}:{index}:{attempt}")


def complexity_for(task: Task, complexity: int | None) -> int:
    """The level to generate at: the task's first one for None; a level it lacks is a UsageError."""
    if complexity is None:
        return task.complexities[0] if task.complexities else 1
    if task.complexities and complexity not in task.complexities:
        levels = ", ".join(str(c) for c in task.complexities)
        raise UsageError(f"{task.id}: --complexity must be one of {levels}, not {complexity}")
    return complexity


def generate_samples(task_id: str, n: int, complexity: int | None = None, seed: int = 0) -> list[Sample]:
    """`n` distinct samples of a synthesized task; the same arguments always give the same samples,
    and the first `k` of them are the samples asked for with `n=k`.

    Samples are told apart by id (generators name samples by content or by the RNG), so a repeated
    puzzle is redrawn rather than written twice.
    """
    task = get_task(task_id)
    if not task.synthesized:
        raise UsageError(f"{task_id} is a fixed dataset; it cannot be generated (load it with --data)")
    if n < 1:
        raise UsageError("--n must be at least 1")
    level = complexity_for(task, complexity)
    samples: list[Sample] = []
    seen: set[str] = set()
    for index in range(n):
        for attempt in range(MAX_REDRAWS):
            sample = task.generate(sample_rng(seed, task.id, level, index, attempt), level)
            if sample.id not in seen:
                break
        else:
            raise CsteerError(
                f"{task_id}: only {len(samples)} distinct samples at complexity {level}; ask for fewer"
            )
        seen.add(sample.id)
        samples.append(sample)
    return samples
