"""Deterministic generation of synthesized samples: one seeded RNG stream per call."""

from __future__ import annotations

import random

from csteer.errors import CsteerError, UsageError
from csteer.symbench.base import Sample, get_task

MAX_TRIES_PER_SAMPLE = 50  # redraws allowed when a generator repeats a sample


def generate_samples(task_id: str, n: int, complexity: int | None = None, seed: int = 0) -> list[Sample]:
    """`n` distinct samples of a synthesized task; the same arguments always give the same samples.

    Samples are told apart by id (generators name samples by content or by the RNG), so a repeated
    puzzle is redrawn rather than written twice.
    """
    task = get_task(task_id)
    if not task.synthesized:
        raise UsageError(f"{task_id} is a fixed dataset; it cannot be generated (load it with --data)")
    if n < 1:
        raise UsageError("--n must be at least 1")
    if complexity is None:
        complexity = task.complexities[0] if task.complexities else 1
    if task.complexities and complexity not in task.complexities:
        raise UsageError(f"{task_id}: complexity must be one of {list(task.complexities)}, not {complexity}")
    rng = random.Random(seed)
    samples: dict[str, Sample] = {}
    tries = 0
    while len(samples) < n:
        tries += 1
        if tries > n * MAX_TRIES_PER_SAMPLE:
            raise CsteerError(
                f"{task_id}: only {len(samples)} distinct samples at complexity {complexity} "
                f"after {tries - 1} draws; ask for fewer"
            )
        sample = task.generate(rng, complexity)
        samples.setdefault(sample.id, sample)
    return list(samples.values())
