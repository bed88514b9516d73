"""Logical Puzzle: pick K cells with pairwise different numbers from a grid, starting with a given cell,
so that every row and column of the selection meets the constraint (sum <= 4, or product > 0).

Original layout: logic_puzzle_dataset/sample_<i>/{question.txt, solution.json {"grid", "solution",
"complexity", "constraints": {"type"}}}. Rows and columns without a selected cell are unconstrained.
"""

from __future__ import annotations

import math
import random
import re
from typing import Any

from csteer.symbench.answers import answer_body, parse_literal
from csteer.symbench.base import Sample, Verdict, register
from csteer.symbench.layout import SampleFolderTask

LEVELS: dict[int, tuple[int, int, str]] = {
    1: (2, 3, "sum_le_4"),
    2: (3, 4, "product_gt_0"),
    3: (4, 6, "product_gt_0"),
    4: (5, 9, "product_gt_0"),
    5: (6, 12, "product_gt_0"),
}


def parse_question(question: str) -> dict[str, Any]:
    k = re.search(r"you must select (\d+) different numbers", question)
    first = re.search(r"as the first selected number|\((\d+),\s*(\d+)\) as the first", question)
    start = re.search(r"square \((\d+),\s*(\d+)\) as the first selected number", question)
    if not k or not first or not start:
        raise ValueError("cannot read the count or the first selected cell")
    return {"count": int(k.group(1)), "first": [int(start.group(1)), int(start.group(2))]}


def parse_positions(body: str) -> list[tuple[int, int]] | None:
    value = parse_literal(body)
    if isinstance(value, list) and all(isinstance(p, list) and len(p) == 2 for p in value):
        if all(type(x) is int for p in value for x in p):
            return [(p[0], p[1]) for p in value]
        return None
    pairs = re.findall(
        r"\(?\s*(\d{1,9})\s*[ ,]\s*(\d{1,9})\s*\)?", body
    )  # bounded: no quadratic backtracking
    leftover = re.sub(r"\(?\s*\d{1,9}\s*[ ,]\s*\d{1,9}\s*\)?", "", body)
    if not pairs or re.search(r"[^\s,;\[\]]", leftover):
        return None
    return [(int(a), int(b)) for a, b in pairs]


def check(meta: dict[str, Any], cells: list[tuple[int, int]]) -> Verdict:
    grid = meta["grid"]
    n = len(grid)
    if len(cells) != meta["count"]:
        return Verdict(False, f"expected {meta['count']} positions, got {len(cells)}")
    if any(not (0 <= r < n and 0 <= c < len(grid[r])) for r, c in cells):
        return Verdict(False, "a position is outside the grid")
    if len(set(cells)) != len(cells):
        return Verdict(False, "a position is selected twice")
    values = [grid[r][c] for r, c in cells]
    if len(set(values)) != len(values):
        return Verdict(False, "the selected numbers must all be different")
    if tuple(meta["first"]) not in set(cells):
        return Verdict(False, f"the given first cell {tuple(meta['first'])} is not selected")
    kind = meta["constraint"]
    for axis, name in ((0, "row"), (1, "column")):
        groups: dict[int, list[int]] = {}
        for (r, c), v in zip(cells, values, strict=True):
            groups.setdefault((r, c)[axis], []).append(v)
        for idx, vals in sorted(groups.items()):
            if kind == "sum_le_4" and sum(vals) > 4:
                return Verdict(False, f"{name} {idx}: selected sum {sum(vals)} > 4")
            if kind == "product_gt_0" and math.prod(vals) <= 0:
                return Verdict(False, f"{name} {idx}: selected product {math.prod(vals)} is not > 0")
    return Verdict(True, f"{len(cells)} different numbers, every row and column meets {kind}")


def question_for(grid: list[list[int]], count: int, kind: str, first: list[int], lo: int, hi: int) -> str:
    n = len(grid)
    rule = (
        "The sum of the selected numbers in each row and each column should be less than or equal to 4."
        if kind == "sum_le_4"
        else "The product of each row and column of the selected number must be greater than 0."
    )
    rows = "\n".join(", ".join(map(str, r)) for r in grid)
    return (
        f"Given a {n}*{n} grid where each cell contains a number (between {lo} to {hi}), you must select {count} "
        f"different numbers from these cells. {rule} The numbers in the same row are separated by ',', and the "
        "coordinate system uses the top-left cell as the coordinate (1,1), with the horizontal coordinate under the "
        "top-left cell increasing and the vertical coordinate to the right of the top-left cell increasing.\n"
        f"Using the number {grid[first[0]][first[1]]} in the top-rightmost square ({first[0]},{first[1]}) as the "
        f"first selected number\n{rows}\n\n"
        "Return your answer with the format <<<list of selected number positions>>>, where each position is given "
        "as row column (0-based indices). For example, <<<0 3, 1 0, 2 4>>> means numbers selected are at positions "
        "(0,3), (1,0), and (2,4)."
    )


@register
class LogicPuzzle(SampleFolderTask):
    id = "logic_puzzle"
    paper_name = "Logical Puzzle"
    split = "seen"
    description = (
        "Select K grid cells with different numbers so each row/column selection meets a sum or product rule."
    )
    answer_format = "positions as 'row column' pairs, e.g. <<<0 3, 1 0, 2 4>>>"
    data_dirs = ("logic_puzzle_dataset",)
    folder_name_ids = True
    complexities = (1, 2, 3, 4, 5)

    def from_stored(self, sample_id: str, question: str, data: Any) -> Sample:
        meta = {
            **parse_question(question),
            "grid": data["grid"],
            "constraint": data["constraints"]["type"],
            "complexity": data.get("complexity"),
        }
        return Sample(self.id, sample_id, question, data.get("solution"), meta)

    def to_stored(self, sample: Sample) -> Any:
        m = sample.meta
        return {
            "grid": m["grid"],
            "solution": sample.solution,
            "complexity": m.get("complexity"),
            "constraints": {"type": m["constraint"]},
        }

    def reference_answer(self, sample: Sample) -> str | None:
        return (
            None
            if sample.solution is None
            else "<<<" + ", ".join(f"{r} {c}" for r, c in sample.solution) + ">>>"
        )

    def verify(self, sample: Sample, answer_text: str) -> Verdict:
        body = answer_body(answer_text)
        if isinstance(body, Verdict):
            return body
        cells = parse_positions(body)
        if cells is None:
            return Verdict(False, "expected positions as 'row column' pairs")
        return check(sample.meta, cells)

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        n, count, kind = LEVELS.get(complexity, LEVELS[2])
        lo, hi = (1, 3) if kind == "sum_le_4" else (-2 * n, 2 * n)
        first = [0, n - 1]
        while True:
            grid = [
                [rng.choice([x for x in range(lo, hi + 1) if x != 0]) for _ in range(n)] for _ in range(n)
            ]
            if kind == "product_gt_0":
                # plant a solution: distinct positive numbers on chosen cells (products are then > 0)
                others = [(r, c) for r in range(n) for c in range(n) if [r, c] != first]
                chosen: list[tuple[int, int]] = [(first[0], first[1]), *rng.sample(others, count - 1)]
                for (r, c), v in zip(chosen, rng.sample(range(1, hi + 1), count), strict=True):
                    grid[r][c] = v
            meta = {
                "grid": grid,
                "count": count,
                "first": first,
                "constraint": kind,
                "complexity": complexity,
            }
            if kind == "product_gt_0":
                found = chosen if check(meta, chosen).correct else None
            else:
                found = _search(meta, rng)
            if found:
                return Sample(
                    self.id,
                    f"gen_{complexity}_{rng.randrange(10**9)}",
                    question_for(grid, count, kind, first, lo, hi),
                    [list(p) for p in found],
                    meta,
                )


def _search(meta: dict[str, Any], rng: random.Random, budget: int = 20000) -> list[tuple[int, int]] | None:
    """Depth-first search for a valid selection (random cell order, bounded effort)."""
    grid, n = meta["grid"], len(meta["grid"])
    cells = [(r, c) for r in range(n) for c in range(n) if [r, c] != meta["first"]]
    rng.shuffle(cells)
    steps = 0

    def ok_partial(sel: list[tuple[int, int]]) -> bool:
        if meta["constraint"] != "sum_le_4":
            return True
        for axis in (0, 1):
            sums: dict[int, int] = {}
            for p in sel:
                sums[p[axis]] = sums.get(p[axis], 0) + grid[p[0]][p[1]]
            if any(s > 4 for s in sums.values()):
                return False
        return True

    def rec(sel: list[tuple[int, int]], i: int) -> list[tuple[int, int]] | None:
        nonlocal steps
        steps += 1
        if steps > budget:
            return None
        if len(sel) == meta["count"]:
            return sel if check(meta, sel).correct else None
        for j in range(i, len(cells)):
            p = cells[j]
            if grid[p[0]][p[1]] in {grid[r][c] for r, c in sel}:
                continue
            nxt = [*sel, p]
            if ok_partial(nxt):
                found = rec(nxt, j + 1)
                if found:
                    return found
        return None

    return rec([tuple(meta["first"])], 0)
