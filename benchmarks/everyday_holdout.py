"""everyday_holdout: the `everyday` case on tests/data/everyday-holdout.jsonl, 30 questions written after
the few-shot pool and never tuned on, so the margin over only-question is not one of resemblance.

`python -m benchmarks everyday_holdout` (all questions) or `--quick` (every fourth question).
"""

from __future__ import annotations

from typing import Any

from benchmarks.common import main
from benchmarks.everyday import QUESTIONS
from benchmarks.everyday import measure as measure_set

HOLDOUT = QUESTIONS.with_name("everyday-holdout.jsonl")


def measure(quick: bool) -> dict[str, Any]:
    return measure_set(quick, HOLDOUT, "everyday_holdout")


if __name__ == "__main__":
    main(measure)
