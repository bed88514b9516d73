"""Path Plan: a waypoint trajectory in a walled square room that enters some colored boxes in order
and never touches others.

The reference hard-codes 14 environments in its benchmark script and ships no dataset folder, so
csteer defines one in the same style: path_plan_dataset/sample_<i>/question.txt + solution.json,
where solution.json holds the environment (walls, boxes, start, end), the instruction as data
(`visit` in order, `avoid`), the instruction text, and a reference trajectory (`solution`).
The verifier simulates the straight-line trajectory with exact segment/box intersection.
"""

from __future__ import annotations

import heapq
import math
import random
import re
from typing import Any

from csteer.symbench.answers import answer_body
from csteer.symbench.base import Sample, Verdict, register
from csteer.symbench.layout import SampleFolderTask

Box = tuple[float, float, float, float]  # x_start, x_end, y_start, y_end
Point = tuple[float, float]

WALLS: list[Box] = [
    (-1.5, -1.4, -1.5, 1.5),
    (1.4, 1.5, -1.5, 1.5),
    (-1.5, 1.5, -1.5, -1.4),
    (-1.5, 1.5, 1.4, 1.5),
]
COLORS = ["yellow", "red", "green", "blue", "pink", "purple", "orange", "brown", "cyan"]
MAX_WAYPOINTS = 1000
EPS = 1e-9

# complexity -> (boxes in the room, boxes to visit, boxes to avoid)
LEVELS: dict[int, tuple[int, int, int]] = {
    1: (3, 1, 1),
    2: (5, 2, 1),
    3: (6, 2, 2),
    4: (7, 3, 2),
    5: (8, 3, 3),
}


def segment_hits_box(p: Point, q: Point, box: Box) -> tuple[float, float] | None:
    """Parameter interval [t0, t1] of segment p->q inside the closed box, or None (Liang-Barsky)."""
    x0, x1, y0, y1 = box
    t0, t1 = 0.0, 1.0
    dx, dy = q[0] - p[0], q[1] - p[1]
    for d, lo, hi, s in ((dx, x0, x1, p[0]), (dy, y0, y1, p[1])):
        if abs(d) < 1e-15:
            if s < lo - EPS or s > hi + EPS:
                return None
            continue
        a, b = (lo - s) / d, (hi - s) / d
        if a > b:
            a, b = b, a
        t0, t1 = max(t0, a), min(t1, b)
        if t0 > t1 + EPS:
            return None
    return (t0, t1)


def describe(boxes: dict[str, Box]) -> str:
    text = f"First, there are four black colored walls with position {WALLS[0]}"
    for wall in WALLS[1:]:
        text += f", {wall}"
    text += ". Then the boxes are:"
    text += ";".join(f" a {color} colored box {tuple(box)}" for color, box in boxes.items())
    return text + "."


def instruction_text(visit: list[str], avoid: list[str]) -> str:
    text = f"Navigate into the {visit[0]} room"
    for color in visit[1:]:
        text += f", and then go to the {color} room"
    text += "."
    if avoid:
        names = avoid[0] if len(avoid) == 1 else ", ".join(avoid[:-1]) + f" and {avoid[-1]}"
        area = "area" if len(avoid) == 1 else "areas"
        text += f" Remember do not enter the {names} {area} all the time."
    return text


def question_for(boxes: dict[str, Box], start: Point, end: Point, instruction: str) -> str:
    return (
        "I am a mobile robot and I hope you can help me plan the trajectory to fulfill the navigation "
        "instruction. I will give you the position and size of each box in the whole environment and the "
        "instruction is to enter or avoid the box. Each box is of square shape, I will give you "
        "(x_start, x_end, y_start, y_end) to describe the shape of squares/boxes. x_start, x_end denote the "
        "boundary of squares/boxes in x coordinates. y_start, y_end denote the boundary of squares/boxes in "
        "y coordinates.\n\n"
        f"{describe(boxes)}\n\n"
        "During navigation, the trajectory should always not touch the black wall. "
        f"The starting position of the car is {tuple(start)}, the ending position of the car is {tuple(end)}.\n\n"
        f"The instruction is '{instruction}'. The car should fulfill the instruction and in the end stop at "
        "the end position. Could you give me the trajectory to realize the above instruction? Return your "
        "answer with a list of waypoints [(x0, y0), (x1, y1)...] in the format <<<[(x0, y0), (x1, y1), ...]>>>.\n\n"
        "Note that the whole trajectory is acquired by directly connecting the near waypoints with straight "
        "lines. These straight lines should also fulfill the instruction requirements. Particularly check "
        "whether the interpolated straight lines enter into the areas that should avoid.\n\n"
        "Note that entering in the area means the trajectory intersects with the box, including the boundary "
        "of the box. Hence, the trajectory should not intersect with the boundary of the box if the "
        "instruction is to avoid the box.\n"
    )


_PAIR = re.compile(
    r"[(\[]\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*,\s*"
    r"([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*[)\]]"
)


def parse_waypoints(body: str) -> list[Point] | None:
    """Waypoints written as (x, y) or [x, y] pairs; None when the text holds anything else."""
    pairs = _PAIR.findall(body)
    leftover = _PAIR.sub("", body)
    if not pairs or re.search(r"[^\s,\[\]()]", leftover):
        return None
    return [(float(x), float(y)) for x, y in pairs]


def check_trajectory(meta: dict[str, Any], points: list[Point]) -> Verdict:
    boxes = {c: tuple(b) for c, b in meta["boxes"].items()}
    start, end = tuple(meta["start"]), tuple(meta["end"])
    if not all(math.isfinite(v) for p in points for v in p):
        return Verdict(False, "waypoints must be finite numbers")
    # the car starts at start and stops at end: the legs to them are part of the trajectory
    if math.dist(points[0], start) > 1e-6:
        points = [start, *points]
    if math.dist(points[-1], end) > 1e-6:
        points = [*points, end]
    segments = list(zip(points, points[1:], strict=False)) or [(points[0], points[0])]
    for i, (p, q) in enumerate(segments):
        for wall in WALLS:
            if segment_hits_box(p, q, wall):
                return Verdict(False, f"segment {i} {p}->{q} touches a wall")
        for color in meta["avoid"]:
            if segment_hits_box(p, q, boxes[color]):
                return Verdict(False, f"segment {i} {p}->{q} enters the {color} box it must avoid")
    # the visits must happen in order: earliest entry into each box after the previous entry
    seg, t = 0, 0.0
    for color in meta["visit"]:
        found = None
        for j in range(seg, len(segments)):
            hit = segment_hits_box(*segments[j], boxes[color])
            if hit and (j > seg or hit[1] >= t - EPS):
                found = (j, max(hit[0], t) if j == seg else hit[0])
                break
        if found is None:
            return Verdict(False, f"the trajectory does not enter the {color} box (in the instructed order)")
        seg, t = found
    return Verdict(
        True, f"{len(points)} waypoints: visits {meta['visit']} in order, avoids {meta['avoid']}, no wall"
    )


def _free(x: float, y: float, blocked: list[Box], margin: float) -> bool:
    return all(
        not (b[0] - margin <= x <= b[1] + margin and b[2] - margin <= y <= b[3] + margin) for b in blocked
    )


def plan(meta: dict[str, Any], step: float = 0.05) -> list[Point] | None:
    """A valid trajectory by grid A* between the mandatory points, then line-of-sight shortcuts."""
    boxes = {c: tuple(b) for c, b in meta["boxes"].items()}
    blocked = WALLS + [boxes[c] for c in meta["avoid"]]
    n = int(round(3.0 / step))

    def cell_xy(c: tuple[int, int]) -> Point:
        return (round(-1.5 + c[0] * step, 6), round(-1.5 + c[1] * step, 6))

    def to_cell(p: Point) -> tuple[int, int]:
        return (int(round((p[0] + 1.5) / step)), int(round((p[1] + 1.5) / step)))

    def ok_segment(p: Point, q: Point) -> bool:
        return not any(segment_hits_box(p, q, b) for b in blocked)

    def astar(a: Point, b: Point) -> list[Point] | None:
        sa, sb = to_cell(a), to_cell(b)
        dist = {sa: 0.0}
        heap = [(0.0, sa)]
        prev: dict[tuple[int, int], tuple[int, int]] = {}
        while heap:
            _, cur = heapq.heappop(heap)
            if cur == sb:
                path = [cur]
                while path[-1] in prev:
                    path.append(prev[path[-1]])
                return [a, *[cell_xy(c) for c in reversed(path[1:-1])], b]
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    nxt = (cur[0] + dx, cur[1] + dy)
                    if (dx, dy) == (0, 0) or not (0 <= nxt[0] <= n and 0 <= nxt[1] <= n):
                        continue
                    xy = cell_xy(nxt)
                    if nxt != sb and not _free(*xy, blocked, 0.03):
                        continue
                    nd = dist[cur] + math.hypot(dx, dy)
                    if nd < dist.get(nxt, math.inf):
                        dist[nxt], prev[nxt] = nd, cur
                        heapq.heappush(heap, (nd + math.dist(nxt, sb), nxt))
        return None

    stops: list[Point] = [tuple(meta["start"])]
    for color in meta["visit"]:
        b = boxes[color]
        stops.append((round((b[0] + b[1]) / 2, 6), round((b[2] + b[3]) / 2, 6)))
    stops.append(tuple(meta["end"]))
    route: list[Point] = [stops[0]]
    for a, b in zip(stops, stops[1:], strict=False):
        leg = astar(a, b)
        if leg is None or any(not ok_segment(p, q) for p, q in zip(leg, leg[1:], strict=False)):
            return None
        i = 0  # shortcut: from each kept point jump to the farthest point still in sight
        while i < len(leg) - 1:
            j = len(leg) - 1
            while j > i + 1 and not ok_segment(leg[i], leg[j]):
                j -= 1
            route.append(leg[j])
            i = j
    return [(round(x, 4), round(y, 4)) for x, y in route]


@register
class PathPlan(SampleFolderTask):
    id = "path_plan"
    paper_name = "Path Plan"
    split = "seen"
    description = (
        "Plan a straight-line waypoint trajectory that visits colored boxes in order and avoids others."
    )
    answer_format = "a list of waypoints, e.g. <<<[(-1.3, -1.3), (0.45, 1.0), (1.3, 1.3)]>>>"
    data_dirs = ("path_plan_dataset",)
    folder_name_ids = True
    solution_key = "solution"
    complexities = (1, 2, 3, 4, 5)

    def verify(self, sample: Sample, answer_text: str) -> Verdict:
        body = answer_body(answer_text)
        if isinstance(body, Verdict):
            return body
        points = parse_waypoints(body)
        if points is None:
            return Verdict(False, "expected a list of (x, y) waypoints")
        if len(points) > MAX_WAYPOINTS:
            return Verdict(False, f"too many waypoints ({len(points)} > {MAX_WAYPOINTS})")
        return check_trajectory(sample.meta, points)

    def reference_answer(self, sample: Sample) -> str | None:
        if not sample.solution:
            return None
        return "<<<[" + ", ".join(f"({x}, {y})" for x, y in sample.solution) + "]>>>"

    def from_stored(self, sample_id: str, question: str, data: Any) -> Sample:
        meta = {k: data[k] for k in ("boxes", "start", "end", "visit", "avoid", "instruction")}
        meta["complexity"] = data.get("complexity")
        return Sample(self.id, sample_id, question, data.get("solution"), meta)

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        n_boxes, n_visit, n_avoid = LEVELS.get(complexity, LEVELS[2])
        while True:
            boxes = _random_boxes(rng, n_boxes)
            if boxes is None:
                continue
            colors = list(boxes)
            rng.shuffle(colors)
            visit, avoid = colors[:n_visit], colors[n_visit : n_visit + n_avoid]
            corners = [(-1.3, -1.3), (1.3, -1.3), (-1.3, 1.3), (1.3, 1.3)]
            start, end = rng.sample(corners, 2)
            if any(_free(*p, list(boxes.values()), 0.05) is False for p in (start, end)):
                continue
            instruction = instruction_text(visit, avoid)
            meta = {
                "boxes": {c: list(b) for c, b in boxes.items()},
                "start": list(start),
                "end": list(end),
                "visit": visit,
                "avoid": avoid,
                "instruction": instruction,
                "complexity": complexity,
            }
            route = plan(meta)
            if route is None or not check_trajectory(meta, route).correct:
                continue
            return Sample(
                task=self.id,
                id=f"gen_{complexity}_{rng.randrange(10**9)}",
                question=question_for(boxes, start, end, instruction),
                solution=[list(p) for p in route],
                meta=meta,
            )


def _random_boxes(rng: random.Random, count: int) -> dict[str, Box] | None:
    """Non-overlapping boxes with gaps of at least 0.15 so a path can pass between them."""
    boxes: dict[str, Box] = {}
    colors = rng.sample(COLORS, count)
    for color in colors:
        for _ in range(200):
            w, h = rng.choice([0.3, 0.4, 0.5, 0.6]), rng.choice([0.3, 0.4, 0.5, 0.6])
            x0 = round(rng.uniform(-1.2, 1.2 - w), 1)
            y0 = round(rng.uniform(-1.2, 1.2 - h), 1)
            box = (x0, round(x0 + w, 1), y0, round(y0 + h, 1))
            if all(
                box[1] + 0.15 <= o[0]
                or o[1] + 0.15 <= box[0]
                or box[3] + 0.15 <= o[2]
                or o[3] + 0.15 <= box[2]
                for o in boxes.values()
            ):
                boxes[color] = box
                break
        else:
            return None
    return boxes
