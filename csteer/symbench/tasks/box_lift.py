"""BoxLift: assign lifters (alone or combined) to lift every box within a step limit.

Original layout: BoxLift_dataset/BoxLift_<boxes>_<lifters>/BoxLift<i>/BoxLift.json = {"boxes", "lifters"}.
The files hold no solution; the step limit the question states is the step count of a fixed greedy
plan (heaviest box first, lifters taken in order), and that greedy plan is our reference solution.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from csteer.fileio import atomic_write_text
from csteer.symbench.answers import answer_body, parse_literal
from csteer.symbench.base import Sample, Task, Verdict, register
from csteer.symbench.layout import natural_key, next_sample_dir

# complexity -> (boxes, lifters, min box, max box, min capacity, max capacity), as the reference's sets
LEVELS: dict[int, tuple[int, int, int, int, int, int]] = {
    1: (10, 3, 10, 100, 40, 80),
    2: (15, 4, 20, 200, 30, 120),
    3: (20, 5, 30, 300, 40, 160),
    4: (25, 6, 40, 400, 50, 200),
}
MAX_STEPS_IN_ANSWER = 500

Plan = list[list[tuple[int, list[int]]]]


def greedy_plan(boxes: list[int], lifters: list[int]) -> Plan:
    """Heaviest remaining box first; each box takes lifters in index order until strong enough."""
    if max(boxes, default=0) > sum(lifters):
        raise ValueError("a box is heavier than all lifters together")
    remaining = sorted(boxes, reverse=True)
    plan: Plan = []
    while remaining:
        free = list(range(len(lifters)))
        step: list[tuple[int, list[int]]] = []
        i = 0
        while i < len(remaining) and free:
            box = remaining[i]
            if sum(lifters[j] for j in free) >= box:
                used, strength = [], 0
                for j in free:
                    used.append(j)
                    strength += lifters[j]
                    if strength >= box:
                        break
                free = [j for j in free if j not in used]
                step.append((box, used))
                remaining.pop(i)
            else:
                i += 1
        plan.append(step)
    return plan


def format_plan(plan: Plan) -> str:
    return "\n".join(f"Step {k}: {[(w, idx) for w, idx in step]}" for k, step in enumerate(plan, 1))


def question_for(boxes: list[int], lifters: list[int], max_steps: int) -> str:
    return f"""Task: BoxLift

You are given a list of boxes with the following weights: {boxes}
And a list of lifters with the following maximum lifting capacities: {lifters}

Your task is to assign the lifters to lift all the boxes in multiple steps, following these rules:
1. Multiple boxes can be lifted in each step.
2. Each lifter can only lift one box at a time.
3. Each lifting agent can be used only once in each step.
4. Multiple lifters can combine together to lift one box if the box is too heavy for a single lifter.
5. Try to lift all the boxes using the minimum number of steps possible.
6. You need to lift all the boxes in less than or equal to {max_steps} steps.

Please provide your solution in the following format:
Step 1: [(Box weight, [Lifter indices]), (Box weight, [Lifter indices]), ...]
Step 2: [(Box weight, [Lifter indices]), (Box weight, [Lifter indices]), ...]
...

For example:
Step 1: [(50, [0, 2]), (30, [1]), (20, [3])]
This means in Step 1, lifters 0 and 2 are lifting a box weighing 50, lifter 1 is lifting a box weighing 30, and lifter 3 is lifting a box weighing 20.

Surround the answer with <<<content>>>.

For example, <<<Step 1: [(50, [0, 2]), (30, [1]), (20, [3])]\\nStep 2: [(40, [0, 1]), (20, [2]), (20, [3])]\\nStep 3:...>>>

Ensure all boxes are lifted and provide the most efficient solution possible.

Your answer:
"""


def parse_steps(body: str) -> list[Any] | str:
    """The list of assignments of each `Step k:` line, or a reason string."""
    chunks = re.split(r"(?i)\bstep\s*\d+\s*:", body.replace("\\n", "\n"))
    if len(chunks) < 2 or chunks[0].strip():
        return "expected lines 'Step k: [(weight, [lifters]), ...]'"
    if len(chunks) - 1 > MAX_STEPS_IN_ANSWER:
        return f"too many steps ({len(chunks) - 1})"
    steps = []
    for k, chunk in enumerate(chunks[1:], 1):
        value = parse_literal(chunk.strip().rstrip(",;"))
        if not isinstance(value, list):
            return f"step {k}: not a list of (weight, [lifters]) pairs"
        steps.append(value)
    return steps


def check_plan(boxes: list[int], lifters: list[int], max_steps: int, steps: list[Any]) -> Verdict:
    if len(steps) > max_steps:
        return Verdict(False, f"{len(steps)} steps exceed the limit of {max_steps}")
    remaining = Counter(boxes)
    for k, step in enumerate(steps, 1):
        used: set[int] = set()
        for item in step:
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[1], list)):
                return Verdict(False, f"step {k}: {item!r} is not (weight, [lifters])")
            weight, idx = item
            if type(weight) is not int or any(type(i) is not int for i in idx) or not idx:
                return Verdict(False, f"step {k}: weight and lifter indices must be integers")
            if remaining[weight] <= 0:
                return Verdict(False, f"step {k}: no unlifted box of weight {weight}")
            if any(i < 0 or i >= len(lifters) for i in idx):
                return Verdict(False, f"step {k}: lifter index out of range in {idx}")
            if len(set(idx)) != len(idx) or used & set(idx):
                return Verdict(False, f"step {k}: a lifter is used more than once")
            if sum(lifters[i] for i in idx) < weight:
                return Verdict(False, f"step {k}: lifters {idx} cannot lift {weight}")
            used |= set(idx)
            remaining[weight] -= 1
    left = sorted(remaining.elements())
    if left:
        return Verdict(False, f"boxes not lifted: {left}")
    return Verdict(True, f"all {len(boxes)} boxes lifted in {len(steps)} <= {max_steps} steps")


def _sample(task_id: str, sample_id: str, boxes: list[int], lifters: list[int], extra: dict) -> Sample:
    plan = greedy_plan(boxes, lifters)
    meta = {"boxes": boxes, "lifters": lifters, "max_steps": len(plan), **extra}
    return Sample(task_id, sample_id, question_for(boxes, lifters, len(plan)), format_plan(plan), meta)


@register
class BoxLift(Task):
    id = "box_lift"
    paper_name = "BoxLift"
    split = "seen"
    description = (
        "Assign lifters with given capacities to lift all boxes in at most the stated number of steps."
    )
    answer_format = "lines 'Step k: [(weight, [lifter indices]), ...]' inside <<<...>>>"
    data_dirs = ("BoxLift_dataset",)
    complexities = (1, 2, 3, 4)

    def verify(self, sample: Sample, answer_text: str) -> Verdict:
        body = answer_body(answer_text)
        if isinstance(body, Verdict):
            return body
        steps = parse_steps(body)
        if isinstance(steps, str):
            return Verdict(False, steps)
        m = sample.meta
        return check_plan(m["boxes"], m["lifters"], m["max_steps"], steps)

    def load_dir(self, root: Path) -> Iterator[Sample]:
        base = Path(root) / self.data_dirs[0]
        if not base.is_dir():
            return
        for path in sorted(base.glob("BoxLift_*/BoxLift*/BoxLift.json"), key=lambda p: natural_key(str(p))):
            data = json.loads(path.read_text(encoding="utf-8"))
            sample_id = f"{path.parent.parent.name}/{path.parent.name}"
            yield _sample(self.id, sample_id, data["boxes"], data["lifters"], {})

    def write_sample(self, sample: Sample, out_dir: Path) -> Path:
        m = sample.meta
        base = Path(out_dir) / self.data_dirs[0] / f"BoxLift_{len(m['boxes'])}_{len(m['lifters'])}"
        folder = next_sample_dir(base, "BoxLift")
        atomic_write_text(folder / "BoxLift.json", json.dumps({"boxes": m["boxes"], "lifters": m["lifters"]}))
        return folder

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        nb, nl, bmin, bmax, lmin, lmax = LEVELS.get(complexity, LEVELS[1])
        while True:
            boxes = [rng.randint(bmin, bmax) for _ in range(nb)]
            lifters = [rng.randint(lmin, lmax) for _ in range(nl)]
            if max(boxes) <= sum(lifters):
                return _sample(self.id, f"gen_{nb}_{nl}_{rng.randrange(10**9)}", boxes, lifters, {})
