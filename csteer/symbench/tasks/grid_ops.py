"""Three small grid tasks that recompute the answer from the question's data: Pooling (max and average,
stride 1; the reference rejected every average-pooling answer), Light Puzzles (buttons toggle lights,
applied round by round) and Matrix Transformation (rotate a letter matrix 90 degrees clockwise).

Layouts: pooling_dataset/, light_puzzles_dataset/, matrix_transformation_dataset/, each
sample_<i>/{question.txt, solution.json}.
"""

from __future__ import annotations

import json
import random
import re
import string
from fractions import Fraction

from csteer.symbench.answers import answer_body, flatten, parse_literal, parse_number
from csteer.symbench.base import Sample, Verdict, register
from csteer.symbench.layout import SampleFolderTask

AVG_TOL = Fraction(1, 100)  # averages may be rounded to two decimals


def _answer_values(body: str) -> list[str] | None:
    """Flat list of the answer's items, from 1,2,3 / [[1,2],[3,4]] / rows on lines."""
    value = parse_literal(body)
    if isinstance(value, list):
        flat = flatten(value)
        return None if flat is None else [str(v) for v in flat]
    parts = [p for p in re.split(r"[\s,;]+", re.sub(r"[\[\]()]", " ", body)) if p]
    return parts or None


def _numbers(body: str) -> list[Fraction] | None:
    items = _answer_values(body)
    if items is None:
        return None
    out = []
    for item in items:
        num = parse_number(item)
        if num is None:
            return None
        out.append(num)
    return out


# ----------------------------------------------------------------------------------------- Pooling


def pool(matrix: list[list[int]], n: int, kind: str) -> list[list[Fraction]]:
    size = len(matrix)
    out = []
    for i in range(size - n + 1):
        row = []
        for j in range(size - n + 1):
            window = [Fraction(matrix[i + a][j + b]) for a in range(n) for b in range(n)]
            row.append(max(window) if kind == "max" else sum(window, Fraction(0)) / len(window))
        out.append(row)
    return out


def pooling_question(matrix: list[list[int]], n: int, kind: str) -> str:
    verb = "finding the maximum value" if kind == "max" else "calculating the average value"
    what = "maximum values" if kind == "max" else "average values"
    rows = "\n".join(", ".join(map(str, r)) for r in matrix)
    return (
        f"In an N*N grid, there are N^2 numbers, with numbers in the same row separated by commas. We define the "
        f'"{kind} pooling" operation: suppose that there is an n*n (n<N) sliding window, which slides from left to '
        f"right or from top to bottom in the matrix, {verb} in each sliding window. Then, the {what} are arranged "
        "according to their original positions to form a new matrix for output.\n"
        f"Now, please perform {kind} pooling on the following matrix by using a {n}*{n} sliding window:\n{rows}\n"
        "For example, <<<0,0,0,0>>> represents a 2D array."
    )


def _json_num(x: Fraction) -> int | float:
    return int(x) if x.denominator == 1 else float(x)


@register
class Pooling(SampleFolderTask):
    id = "pooling"
    paper_name = "Pooling"
    split = "seen"
    description = "Apply max or average pooling with an n*n sliding window (stride 1) to a matrix."
    answer_format = "the pooled matrix row by row, e.g. <<<1,2,3,4>>> or <<<[[1,2],[3,4]]>>>"
    data_dirs = ("pooling_dataset",)
    folder_name_ids = True
    solution_key = "solution"
    complexities = (1, 2, 3, 4)

    def verify(self, sample: Sample, answer_text: str) -> Verdict:
        body = answer_body(answer_text)
        if isinstance(body, Verdict):
            return body
        got = _numbers(body)
        if got is None:
            return Verdict(False, "expected a list of numbers")
        m = sample.meta
        want = [x for row in pool(m["matrix"], m["window_size"], m["pooling_type"]) for x in row]
        if len(got) != len(want):
            return Verdict(False, f"expected {len(want)} values, got {len(got)}")
        tol = 0 if m["pooling_type"] == "max" else AVG_TOL
        for k, (g, w) in enumerate(zip(got, want, strict=True)):
            if abs(g - w) > tol:
                return Verdict(False, f"value {k + 1} is {float(g):g}, expected {float(w):g}")
        return Verdict(
            True, f"{m['pooling_type']} pooling with a {m['window_size']}x{m['window_size']} window matches"
        )

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        size = complexity + 2
        n = rng.choice([2, 3]) if size > 3 else 2
        kind = rng.choice(["max", "average"])
        matrix = [[rng.randint(-10, 20) for _ in range(size)] for _ in range(size)]
        solution = [[_json_num(x) for x in row] for row in pool(matrix, n, kind)]
        meta = {"matrix": matrix, "window_size": n, "pooling_type": kind, "complexity": complexity}
        return Sample(
            self.id,
            f"gen_{complexity}_{rng.randrange(10**9)}",
            pooling_question(matrix, n, kind),
            solution,
            meta,
        )

    def reference_answer(self, sample: Sample) -> str | None:
        return None if sample.solution is None else f"<<<{json.dumps(sample.solution)}>>>"


# ------------------------------------------------------------------------------------ Light Puzzles


def press(state: list[list[int]], buttons: dict[str, list], operations: list[str]) -> list[int]:
    grid = [list(r) for r in state]
    for op in operations:
        for r, c in buttons[op]:
            grid[int(r) - 1][int(c) - 1] ^= 1
    return [x for row in grid for x in row]


def light_question(n: int, state: list[list[int]], buttons: dict[str, list], operations: list[str]) -> str:
    grid = "\n".join("".join(map(str, r)) for r in state)
    lines = "\n".join(
        f"Button {b} controls the lights at " + ", ".join(json.dumps([str(r), str(c)]) for r, c in cells)
        for b, cells in buttons.items()
    )
    rounds = "\n".join(f"Round {i}: Button {op}" for i, op in enumerate(operations, 1))
    return (
        "There is an n*n grid with some lights randomly distributed. A lit light is represented by 1, and an unlit "
        "light is represented by 0. There are some buttons which can change the state of the lights in certain "
        "positions when they are pressed, like turning some lights on or off. Different buttons may control the "
        "state of the same light.\n"
        f"Given n={n} and the number of buttons={len(buttons)}, the initial network is:\n{grid}\n\n{lines}\n\n"
        f"{rounds}\n\nPlease write the result after all rounds of operation based on the lights controlled by the "
        f"button.\nFor example, <<<{','.join(['0'] * n * n)}>>> represents a fully unlit light network."
    )


@register
class LightPuzzles(SampleFolderTask):
    id = "light_puzzles"
    paper_name = "Light Puzzles"
    split = "seen"
    description = "Apply button presses that toggle lights on an n*n grid and report the final grid."
    answer_format = "the n*n lights row by row as 0/1, e.g. <<<0,1,1,0>>>"
    data_dirs = ("light_puzzles_dataset",)
    folder_name_ids = True
    solution_key = "solution"
    complexities = (1, 2, 3, 4)

    def verify(self, sample: Sample, answer_text: str) -> Verdict:
        body = answer_body(answer_text)
        if isinstance(body, Verdict):
            return body
        items = _answer_values(body)
        if items is not None and len(items) == 1 and re.fullmatch(r"[01]+", items[0]):
            items = list(items[0])  # "0110..." written without separators
        if items is None or any(x not in ("0", "1") for x in items):
            return Verdict(False, "expected a list of 0/1 values")
        m = sample.meta
        want = press(m["initial_state"], m["buttons"], m["operations"])
        got = [int(x) for x in items]
        if len(got) != len(want):
            return Verdict(False, f"expected {len(want)} lights, got {len(got)}")
        wrong = [k for k, (g, w) in enumerate(zip(got, want, strict=True)) if g != w]
        if wrong:
            return Verdict(
                False,
                f"{len(wrong)} lights differ (first at row {wrong[0] // m['n'] + 1}, column {wrong[0] % m['n'] + 1})",
            )
        return Verdict(True, "final light grid matches")

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        n = 2 + complexity
        names = string.ascii_uppercase[: 1 + complexity]
        state = [[rng.randint(0, 1) for _ in range(n)] for _ in range(n)]
        cells = [[r, c] for r in range(1, n + 1) for c in range(1, n + 1)]
        buttons = {b: rng.sample(cells, rng.randint(1, len(cells) // 2)) for b in names}
        operations = [rng.choice(names) for _ in range(complexity + 1)]
        meta = {
            "n": n,
            "initial_state": state,
            "buttons": buttons,
            "operations": operations,
            "complexity": complexity,
        }
        return Sample(
            self.id,
            f"gen_{complexity}_{rng.randrange(10**9)}",
            light_question(n, state, buttons, operations),
            press(state, buttons, operations),
            meta,
        )

    def reference_answer(self, sample: Sample) -> str | None:
        return None if sample.solution is None else "<<<" + ",".join(map(str, sample.solution)) + ">>>"


# ----------------------------------------------------------------------------- Matrix Transformation


def rotate_cw(matrix: list[list[str]]) -> list[list[str]]:
    return [list(row) for row in zip(*matrix[::-1], strict=True)]


def matrix_question(matrix: list[list[str]]) -> str:
    rows = "\n".join(" ".join(r) for r in matrix)
    return (
        "Given a 2D array of strings, which represents a letter matrix. Your task is to rotate this matrix 90 "
        f"degrees clockwise and output the result.\nIf the matrix is \n{rows}.\nWhat is the result?\n"
        "Return your answer with format <<<list of values and symbols>>>, For example, <<<A,B,C,D>>> represents a "
        "2D array."
    )


@register
class MatrixTransformation(SampleFolderTask):
    id = "matrix_transformation"
    paper_name = "Matrix Transformation"
    split = "seen"
    description = "Rotate a letter matrix 90 degrees clockwise."
    answer_format = "the rotated matrix row by row, e.g. <<<A,B,C,D>>>"
    data_dirs = ("matrix_transformation_dataset",)
    folder_name_ids = True
    solution_key = "solution"
    complexities = (1, 2, 3, 4, 5)

    def verify(self, sample: Sample, answer_text: str) -> Verdict:
        body = answer_body(answer_text)
        if isinstance(body, Verdict):
            return body
        items = _answer_values(body)
        if items is None:
            return Verdict(False, "expected a list of matrix entries")
        want = [x for row in rotate_cw(sample.meta["matrix"]) for x in row]
        got = [x.strip().strip("'\"") for x in items]
        if len(got) != len(want):
            return Verdict(False, f"expected {len(want)} entries, got {len(got)}")
        if got != want:
            k = next(i for i, (g, w) in enumerate(zip(got, want, strict=True)) if g != w)
            return Verdict(False, f"entry {k + 1} is {got[k]!r}, expected {want[k]!r}")
        return Verdict(True, "rotated matrix matches")

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        rows, cols = complexity + 1, complexity + 1 + rng.randint(0, 1)
        symbols = string.ascii_uppercase + ("!@#$%&*" if complexity >= 4 else "")
        matrix = [[rng.choice(symbols) for _ in range(cols)] for _ in range(rows)]
        solution = rotate_cw(matrix)
        meta = {
            "matrix": matrix,
            "formatted_solution": ",".join(x for r in solution for x in r),
            "complexity": complexity,
        }
        return Sample(
            self.id, f"gen_{complexity}_{rng.randrange(10**9)}", matrix_question(matrix), solution, meta
        )

    def reference_answer(self, sample: Sample) -> str | None:
        return (
            None
            if sample.solution is None
            else "<<<" + ",".join(x for r in sample.solution for x in r) + ">>>"
        )
