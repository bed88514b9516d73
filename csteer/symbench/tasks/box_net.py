"""BoxNet: agents on a grid (one per square) move colored boxes to same-colored targets.

Original layout: BoxNet1_dataset/env_pg_state_<rows>_<cols>/pg_state<i>/pg_state<i>.json, a dict
"<row+0.5>_<col+0.5>" -> items ("box_red", "target_red", ...). No stored solution: the reference
plan comes from our own planner. The verifier simulates the plan step by step: every action must be
legal in the state at the start of its step (the reference silently skipped illegal actions), one
action per agent per step, and at the end every box must be matched to a target.
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

COLORS = ["blue", "red", "green", "purple", "orange"]
LEVELS: dict[int, tuple[int, int]] = {1: (1, 2), 2: (2, 2), 3: (2, 4), 4: (4, 4), 5: (4, 8)}
MAX_PLAN_STEPS = 300

State = dict[str, list[str]]


def _key(r: float, c: float) -> str:
    return f"{r}_{c}"


def _coords(key: str) -> tuple[float, float]:
    r, c = key.split("_")
    return float(r), float(c)


def _neighbors(key: str, rows: int, cols: int) -> list[list[float]]:
    r, c = _coords(key)
    out = []
    for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        if 0 < r + dr < rows and 0 < c + dc < cols:
            out.append([r + dr, c + dc])
    return out


def question_for(state: State, rows: int, cols: int) -> str:
    lines = []
    for i in range(rows):
        for j in range(cols):
            key = _key(i + 0.5, j + 0.5)
            items = state.get(key, [])
            actions = []
            for box in (x for x in items if x.startswith("box_")):
                actions += [f"move({box}, square{n})" for n in _neighbors(key, rows, cols)]
                if "target_" + box[4:] in items:
                    actions.append(f"move({box}, target_{box[4:]})")
            lines.append(
                f"Agent[{i + 0.5}, {j + 0.5}]: I am in square[{i + 0.5}, {j + 0.5}], I can observe {items}, "
                f"I can do {actions}"
            )
    listing = "\n".join(lines)
    return (
        "You are a central planner tasked with directing agents in a grid-like field to move colored boxes to "
        "their corresponding color-coded targets. Each agent occupies a 1x1 square and can only interact with "
        "objects within its square. Agents can move a box to an adjacent square or directly to a target square "
        "of the same color. A square may contain multiple boxes and targets.\n\n"
        "The squares are identified by their center coordinates (e.g., square[0.5, 0.5]). Actions are formatted "
        "as: move(box_color, destination), where box_color is the color of the box and destination is either a "
        "target of the same color or an adjacent square.\n\n"
        "Your objective is to create a sequence of action plans that instructs each agent to match all boxes to "
        "their color-coded targets in the most efficient manner.\n\n"
        "Please adhere to the following rules when specifying your action plan:\n"
        "1. **Single Action per Agent**: Assign only one action to each agent at a time. However, the final "
        "answer should be a list of action plans for multiple steps.\n"
        "2. **Unique Agent Keys**: Use unique keys for each agent in the JSON format action plan. The key should "
        'be the agent\'s coordinates in the format "Agent[x, y]".\n'
        "3. **Prioritize Matching Boxes to Targets**: Always prioritize actions that will match a box to its "
        "target over moving a box to an adjacent square.\n"
        "4. **Sequential Action Planning**: The whole returned answer should be a list of action plans for "
        "multiple steps, do not just return one step plan.\n"
        "5. **Clear Formatting**: Ensure the action plan is clearly formatted in JSON, with each agent's action "
        "specified as a key-value pair.\n"
        "6. **Conflict Resolution**: Ensure that no two agents are assigned actions that would interfere with "
        "each other.\n"
        "7. **Optimize Efficiency**: Aim to minimize the number of moves required to match all boxes with "
        "their targets.\n\n"
        "Here is the format for your action plan:\n"
        '```json\n[{"Agent[0.5, 0.5]":"move(box_blue, square[0.5, 1.5])", "Agent[1.5, 0.5]":"move(box_red, '
        'target_red)"}, {"Agent[0.5, 1.5]":"move(box_blue, target_blue)", "Agent[2.5, 0.5]":"move...}, {...}...]\n'
        "```\nInclude an agent in the action plan only if it has a task to perform next.\n"
        "Surround the answer with <<<content>>>.\n\n"
        f"The current left boxes and agents are:\n{listing}\n\n"
        'Please respond in the format: <<<list of action dictionary>>>, such as <<<[{"Agent[0.5, 0.5]":"move('
        'box_blue, square[0.5, 1.5])", "Agent[1.5, 0.5]":"move...}, {"Agent[0.5, 1.5]":"move(box_blue, '
        'target_blue)"}, {...}...]>>>.\n\nYour answer:\n'
    )


_NUM = r"([+-]?\d+(?:\.\d+)?)"
_AGENT = re.compile(rf"^\s*agent\s*\[\s*{_NUM}\s*,\s*{_NUM}\s*\]\s*$", re.I)
_MOVE = re.compile(
    rf"^\s*move\s*\(\s*(box_[a-z]+)\s*,\s*(?:(target_[a-z]+)|square\s*\[\s*{_NUM}\s*,\s*{_NUM}\s*\])\s*\)\s*$",
    re.I,
)


def simulate(state: State, rows: int, cols: int, plan: Any) -> Verdict:
    if not isinstance(plan, list):
        return Verdict(False, "expected a JSON list of action dictionaries")
    if len(plan) > MAX_PLAN_STEPS:
        return Verdict(False, f"plan has {len(plan)} steps (> {MAX_PLAN_STEPS})")
    cur = {k: list(v) for k, v in state.items()}
    for k, step in enumerate(plan, 1):
        if not isinstance(step, dict):
            return Verdict(False, f"step {k} is not a dictionary of agent actions")
        moved: list[tuple[str, str]] = []
        taken: Counter = Counter()
        for agent, action in step.items():
            am = _AGENT.match(str(agent))
            mm = _MOVE.match(action) if isinstance(action, str) else None
            if not am or not mm:
                return Verdict(False, f"step {k}: cannot read {agent!r}: {action!r}")
            square = _key(float(am.group(1)), float(am.group(2)))
            if square not in cur:
                return Verdict(False, f"step {k}: no agent at {agent}")
            box, target = mm.group(1).lower(), mm.group(2)
            taken[(square, box)] += 1
            if cur[square].count(box) < taken[(square, box)]:
                return Verdict(False, f"step {k}: {agent} has no {box} to move")
            if target:
                target = target.lower()
                if target[7:] != box[4:]:
                    return Verdict(False, f"step {k}: {box} cannot go to {target}")
                taken[(square, target)] += 1
                if cur[square].count(target) < taken[(square, target)]:
                    return Verdict(False, f"step {k}: no {target} in square of {agent}")
                moved.append((square, box))
                moved.append((square, target))
            else:
                dest = _key(float(mm.group(3)), float(mm.group(4)))
                if dest not in cur:
                    return Verdict(False, f"step {k}: square {dest} is outside the grid")
                r, c = _coords(square)
                dr, dc = _coords(dest)
                if abs(r - dr) + abs(c - dc) != 1:
                    return Verdict(False, f"step {k}: {agent} can only move a box to an adjacent square")
                moved.append((square, box))
                moved.append(("+" + dest, box))
        for square, item in moved:
            if square.startswith("+"):
                cur[square[1:]].append(item)
            else:
                cur[square].remove(item)
    left = sorted(x for items in cur.values() for x in items if x.startswith("box_"))
    if left:
        return Verdict(False, f"{len(left)} boxes not matched after the plan: {left[:10]}")
    return Verdict(True, f"all boxes matched in {len(plan)} steps")


def plan_for(state: State) -> list[dict[str, str]]:
    """Pair each box with a same-colored target (nearest first), then walk boxes there step by step."""
    boxes: list[dict[str, Any]] = []
    free_targets: dict[str, list[tuple[float, float]]] = {}
    for key, items in state.items():
        for item in items:
            if item.startswith("target_"):
                free_targets.setdefault(item[7:], []).append(_coords(key))
    for key, items in sorted(state.items()):
        for item in items:
            if item.startswith("box_"):
                boxes.append({"color": item[4:], "pos": _coords(key)})
    for box in sorted(boxes, key=lambda b: b["pos"] not in free_targets.get(b["color"], [])):
        options = free_targets.get(box["color"], [])
        if not options:
            raise ValueError(f"no target for box_{box['color']}")
        best = min(options, key=lambda t: abs(t[0] - box["pos"][0]) + abs(t[1] - box["pos"][1]))
        options.remove(best)
        box["dest"] = best
    plan: list[dict[str, str]] = []
    while boxes:
        step: dict[str, str] = {}
        busy: set[tuple[float, float]] = set()
        done = []
        for box in sorted(boxes, key=lambda b: b["pos"] != b["dest"]):  # matches first
            pos = box["pos"]
            if pos in busy:
                continue
            agent = f"Agent[{pos[0]}, {pos[1]}]"
            if pos == box["dest"]:
                step[agent] = f"move(box_{box['color']}, target_{box['color']})"
                done.append(box)
            else:
                r, c = pos
                tr, tc = box["dest"]
                nxt = (r + (1 if tr > r else -1), c) if tr != r else (r, c + (1 if tc > c else -1))
                step[agent] = f"move(box_{box['color']}, square[{nxt[0]}, {nxt[1]}])"
                box["pos"] = nxt
            busy.add(pos)
        boxes = [
            b for b in boxes if not any(b is d for d in done)
        ]  # identity: equal dicts are distinct boxes
        plan.append(step)
    return plan


def _sample(task_id: str, sample_id: str, state: State, rows: int, cols: int) -> Sample:
    meta = {"state": state, "rows": rows, "cols": cols}
    return Sample(task_id, sample_id, question_for(state, rows, cols), plan_for(state), meta)


@register
class BoxNet(Task):
    id = "box_net"
    paper_name = "BoxNet"
    split = "seen"
    description = (
        "Plan per-step agent actions on a grid that move every colored box onto a same-colored target."
    )
    answer_format = 'a JSON list of steps, e.g. <<<[{"Agent[0.5, 0.5]":"move(box_blue, target_blue)"}]>>>'
    data_dirs = ("BoxNet1_dataset",)
    complexities = (1, 2, 3, 4, 5)

    def verify(self, sample: Sample, answer_text: str) -> Verdict:
        body = answer_body(answer_text)
        if isinstance(body, Verdict):
            return body
        plan = parse_literal(body)
        m = sample.meta
        return simulate(m["state"], m["rows"], m["cols"], plan)

    def load_dir(self, root: Path) -> Iterator[Sample]:
        base = Path(root) / self.data_dirs[0]
        if not base.is_dir():
            return
        for path in sorted(
            base.glob("env_pg_state_*_*/pg_state*/pg_state*.json"), key=lambda p: natural_key(str(p))
        ):
            rows, cols = (int(x) for x in path.parent.parent.name.split("_")[-2:])
            state = json.loads(path.read_text(encoding="utf-8"))
            yield _sample(self.id, f"{path.parent.parent.name}/{path.parent.name}", state, rows, cols)

    def write_sample(self, sample: Sample, out_dir: Path) -> Path:
        m = sample.meta
        base = Path(out_dir) / self.data_dirs[0] / f"env_pg_state_{m['rows']}_{m['cols']}"
        folder = next_sample_dir(base, "pg_state")
        atomic_write_text(folder / f"{folder.name}.json", json.dumps(m["state"]))
        return folder

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        rows, cols = LEVELS.get(complexity, LEVELS[2])
        keys = [_key(i + 0.5, j + 0.5) for i in range(rows) for j in range(cols)]
        state: State = {k: [] for k in keys}
        for color in rng.sample(COLORS, rng.randint(2, len(COLORS))):
            for _ in range(rng.randint(1, max(1, rows * cols // 2))):
                state[rng.choice(keys)].append(f"box_{color}")
                state[rng.choice(keys)].append(f"target_{color}")
        return _sample(self.id, f"gen_{rows}_{cols}_{rng.randrange(10**9)}", state, rows, cols)
