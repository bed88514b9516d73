"""Blocksworld: move top blocks between a fixed set of stacks until the goal stacks are reached.

Original layout: Blocksworld_dataset/<blocks>_<initial stacks>_<goal stacks>_<i>/blocksworld_task.txt with
"Initial State:" and "Goal State:" sections of lines "stackK: A B" (bottom to top). Stacks missing from
the goal must end empty. No stored solution: the reference plan is a shortest plan found by BFS.
"""

from __future__ import annotations

import random
import re
import string
from collections import deque
from collections.abc import Iterator
from pathlib import Path

from csteer.fileio import atomic_write_text
from csteer.symbench.answers import answer_body
from csteer.symbench.base import Sample, Task, Verdict, register
from csteer.symbench.layout import natural_key, next_sample_dir

Stacks = dict[str, list[str]]
MAX_MOVES = 500
# complexity -> (blocks, stacks); the reference's sets use 2..4 blocks on 3..5 stacks
LEVELS: dict[int, tuple[int, int]] = {1: (2, 3), 2: (3, 4), 3: (4, 5), 4: (5, 5), 5: (6, 5)}


def parse_task(text: str) -> tuple[Stacks, Stacks]:
    initial: Stacks = {}
    goal: Stacks = {}
    current = initial
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("Initial State"):
            current = initial
        elif line.startswith("Goal State"):
            current = goal
        elif re.match(r"^stack\d+\s*:", line):
            name, _, blocks = line.partition(":")
            current[name.strip()] = blocks.split()
    return initial, goal


def task_text(initial: Stacks, goal: Stacks) -> str:
    lines = ["Initial State:"] + [f"{k}: {' '.join(v)}" for k, v in initial.items()]
    lines += ["", "Goal State:"] + [f"{k}: {' '.join(v)}" for k, v in goal.items()]
    return "\n".join(lines) + "\n"


def question_for(initial: Stacks, goal: Stacks) -> str:
    text = "Blocksworld Task:\n\nInitial State:\n"
    text += "".join(f"{k}: {' '.join(v)}\n" for k, v in initial.items())
    text += "\nGoal State:\n" + "".join(f"{k}: {' '.join(v)}\n" for k, v in goal.items())
    text += (
        "\nPlease provide a series of moves to reach the goal state. You can only move one block at a time. "
        "And that box should be the top box of the stack. Note that from the left to the right in each stack is "
        "the order from the bottom to the top of boxes. For example, in stack A B C D, A is the bottom box and D "
        "is the top box so that you can only move D in this case. ***Be careful that you can only pick up the "
        "top box in each stack. Check this rule before your move!***. \nEach move should be in the format: "
        "'Move [block] from [source] to [destination]'. You cannot create new stacks but only move among the "
        "existing stacks. Separate each move with a newline. Surround the answer with <<<content>>>. Answer with "
        "the required format like the example: <<<Move B from 2 to 3\nMove A from 1 to 2\nMove C from 3 to 1>>>\n"
        "Each action should be separated by separate line. Your answer: \n"
    )
    return text


def _goal_reached(state: Stacks, goal: Stacks) -> bool:
    return {k: v for k, v in state.items() if v} == {k: v for k, v in goal.items() if v}


def solve(initial: Stacks, goal: Stacks) -> list[str]:
    """A shortest move list (BFS over states)."""
    names = list(initial)
    start = tuple(tuple(initial[n]) for n in names)
    target = {k: tuple(v) for k, v in goal.items() if v}
    prev: dict[tuple, tuple[tuple, str] | None] = {start: None}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        if {n: s for n, s in zip(names, state, strict=True) if s} == target:
            moves = []
            while (step := prev[state]) is not None:
                state, move = step
                moves.append(move)
            return moves[::-1]
        for i, src in enumerate(state):
            if not src:
                continue
            for j in range(len(state)):
                if i == j:
                    continue
                nxt = list(state)
                nxt[i] = src[:-1]
                nxt[j] = state[j] + (src[-1],)
                key = tuple(nxt)
                if key not in prev:
                    prev[key] = (state, f"Move {src[-1]} from {names[i][5:]} to {names[j][5:]}")
                    queue.append(key)
    raise ValueError("goal unreachable")


_MOVE = re.compile(r"^move\s+(\S+)\s+from\s+(?:stack\s*)?(\S+)\s+to\s+(?:stack\s*)?(\S+?)\.?$", re.I)


def simulate(initial: Stacks, goal: Stacks, body: str) -> Verdict:
    lines = [ln.strip().strip(",;") for ln in body.replace("\\n", "\n").splitlines() if ln.strip()]
    if len(lines) > MAX_MOVES:
        return Verdict(False, f"too many moves ({len(lines)})")
    state = {k: list(v) for k, v in initial.items()}
    for k, line in enumerate(lines, 1):
        m = _MOVE.match(re.sub(r"^\d+[.)]\s*", "", line))
        if not m:
            return Verdict(False, f"move {k}: expected 'Move X from S to D', got {line[:60]!r}")
        block, src, dst = m.group(1), "stack" + m.group(2), "stack" + m.group(3)
        if src not in state or dst not in state:
            return Verdict(False, f"move {k}: unknown stack in {line!r}")
        if not state[src] or state[src][-1] != block:
            return Verdict(False, f"move {k}: {block} is not on top of {src}")
        if src == dst:
            return Verdict(False, f"move {k}: source and destination are the same stack")
        state[dst].append(state[src].pop())
    if not _goal_reached(state, goal):
        return Verdict(False, f"final state {state} is not the goal state")
    return Verdict(True, f"goal reached in {len(lines)} moves")


def _sample(task_id: str, sample_id: str, initial: Stacks, goal: Stacks, extra: dict) -> Sample:
    meta = {"initial": initial, "goal": goal, **extra}
    return Sample(task_id, sample_id, question_for(initial, goal), "\n".join(solve(initial, goal)), meta)


@register
class Blocksworld(Task):
    id = "blocksworld"
    paper_name = "Blocksworld"
    split = "seen"
    description = "Move top blocks between existing stacks to reach the goal configuration."
    answer_format = "one 'Move X from S to D' per line inside <<<...>>>"
    data_dirs = ("Blocksworld_dataset",)
    complexities = (1, 2, 3, 4, 5)

    def verify(self, sample: Sample, answer_text: str) -> Verdict:
        body = answer_body(answer_text)
        if isinstance(body, Verdict):
            return body
        return simulate(sample.meta["initial"], sample.meta["goal"], body)

    def load_dir(self, root: Path) -> Iterator[Sample]:
        base = Path(root) / self.data_dirs[0]
        if not base.is_dir():
            return
        for path in sorted(base.glob("*/blocksworld_task.txt"), key=lambda p: natural_key(str(p))):
            initial, goal = parse_task(path.read_text(encoding="utf-8"))
            yield _sample(self.id, path.parent.name, initial, goal, {})

    def write_sample(self, sample: Sample, out_dir: Path) -> Path:
        initial, goal = sample.meta["initial"], sample.meta["goal"]
        blocks = sum(len(v) for v in initial.values())
        base = Path(out_dir) / self.data_dirs[0]
        folder = next_sample_dir(base, f"{blocks}_{len(initial)}_{sum(1 for v in goal.values() if v)}_")
        atomic_write_text(folder / "blocksworld_task.txt", task_text(initial, goal))
        return folder

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        n_blocks, n_stacks = LEVELS.get(complexity, LEVELS[2])
        blocks = list(string.ascii_uppercase[:n_blocks])

        def scatter() -> Stacks:
            stacks: Stacks = {f"stack{i + 1}": [] for i in range(n_stacks)}
            for b in rng.sample(blocks, n_blocks):
                stacks[f"stack{rng.randint(1, n_stacks)}"].append(b)
            return stacks

        initial = scatter()
        goal = scatter()
        while _goal_reached(initial, goal):
            goal = scatter()
        return _sample(
            self.id,
            f"gen_{n_blocks}_{n_stacks}_{rng.randrange(10**9)}",
            initial,
            goal,
            {"complexity": complexity},
        )
