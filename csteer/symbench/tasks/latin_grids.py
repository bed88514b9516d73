"""Letter Logic Diagram and Standard Sudoku: complete a partly filled Latin-square grid.

Both verifiers check the rules themselves (givens kept, rows, columns, and the diagonal or 3x3 boxes),
so any valid completion is accepted, not only the stored one.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import Any

from csteer.symbench.answers import MalformedAnswer, guarded
from csteer.symbench.base import Sample, Verdict, register
from csteer.symbench.layout import SampleFolderTask, new_sample_id

Grid = list[list["str | int | None"]]
Cells = Sequence[Sequence["str | int | None"]]  # a grid only read


def _check_givens(grid: Cells, answer: Cells) -> str | None:
    for r, row in enumerate(grid):
        for c, given in enumerate(row):
            if given not in (None, 0) and answer[r][c] != given:
                return f"pre-filled cell ({r}, {c}) = {given} was changed to {answer[r][c]}"
    return None


def _check_lines(answer: Cells, symbols: set) -> str | None:
    for r, row in enumerate(answer):
        if set(row) != symbols:
            return f"row {r} is not a permutation of the symbols"
    for c in range(len(answer)):
        if {row[c] for row in answer} != symbols:
            return f"column {c} is not a permutation of the symbols"
    return None


# ---------------------------------------------------------------- Letter Logic Diagram

_LETTERS = "abcdefg"


def parse_letter_grid(question: str) -> Grid:
    body = question.split("empty cells blank):", 1)[1].split("Return the answer", 1)[0]
    rows = [line.split(",") for line in body.strip().splitlines()]
    return [[cell.strip() or None for cell in row] for row in rows]


def _letter_question(grid: Sequence[Sequence[str | None]]) -> str:
    rows = "\n".join(",".join(cell or "" for cell in row) for row in grid)
    return (
        "Given a 7x7 grid of letters {a..g}, some cells are pre-filled. Fill the rest so that:\n"
        "1) Each row has exactly one of each letter {a..g}.\n"
        "2) Each column has exactly one of each letter {a..g}.\n"
        "3) All cells on the minor diagonal (top-right to bottom-left) contain the same letter.\n\n"
        "Here is the puzzle (each row on its own line, cells separated by commas, empty cells blank):\n\n"
        f"{rows}\n\nReturn the answer with the format:\n<<<\nrow1\nrow2\n...  (7 rows total)\n>>>\n\n"
        "where each row has 7 letters separated by commas.\n"
    )


@register
class LetterLogicDiagram(SampleFolderTask):
    id = "letter_logic_diagram"
    paper_name = "Letter Logic Diagram"
    split = "seen"
    description = "Complete a 7x7 Latin square of letters a-g whose minor diagonal holds one letter."
    answer_format = "7 lines of 7 comma-separated letters"
    data_dirs = ("letter_logic_diagram",)
    complexities = (1, 2, 3, 4, 5)

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        sigma = rng.sample(_LETTERS, 7)
        step = rng.randint(1, 6)  # coprime to 7, so rows and columns stay permutations
        solution = [[sigma[(step * (r + c)) % 7] for c in range(7)] for r in range(7)]
        cells = [(r, c) for r in range(7) for c in range(7)]
        blanks = set(rng.sample(cells, min(45, 10 + 6 * complexity)))
        grid = [[None if (r, c) in blanks else solution[r][c] for c in range(7)] for r in range(7)]
        stored = {"grid": grid, "solution": solution, "complexity": complexity}
        return Sample(self.id, new_sample_id(rng), _letter_question(grid), stored, {"grid": grid})

    @guarded
    def verify(self, sample: Sample, content: str) -> Verdict:
        stray = re.sub(r"[a-gA-G\s,;\[\]\"'|]", "", content)
        if stray:
            raise MalformedAnswer(f"unexpected characters {stray[:20]!r}")
        letters = [ch.lower() for ch in re.findall(r"[a-gA-G]", content)]
        if len(letters) != 49:
            raise MalformedAnswer(f"expected 49 letters, got {len(letters)}")
        answer = [letters[r * 7 : r * 7 + 7] for r in range(7)]
        problem = _check_givens(sample.meta["grid"], answer) or _check_lines(answer, set(_LETTERS))
        if problem is None and len({answer[r][6 - r] for r in range(7)}) != 1:
            problem = "the minor diagonal holds more than one letter"
        return Verdict(
            problem is None, problem or "valid completion: rows, columns, diagonal and givens hold"
        )

    def from_stored(self, sample_id: str, question: str, solution: Any) -> Sample:
        return Sample(self.id, sample_id, question, solution, {"grid": parse_letter_grid(question)})

    def reference_answer(self, sample: Sample) -> str:
        """The stored reference solution written as an answer."""
        return "<<<\n" + "\n".join(",".join(row) for row in sample.solution["solution"]) + "\n>>>"


# ---------------------------------------------------------------- Standard Sudoku


def parse_sudoku(question: str) -> list[list[int]]:
    lines = question.split("\n")[1:10]
    grid = [[int(cell) if cell.strip() else 0 for cell in line.split(",")] for line in lines]
    if len(grid) != 9 or any(len(row) != 9 for row in grid):
        raise ValueError("question holds no 9x9 grid")
    return grid


def _sudoku_question(puzzle: list[list[int]]) -> str:
    rows = "\n".join(",".join(str(v) if v else " " for v in row) for row in puzzle)
    return (
        "Given a 9*9 Sudoku grid, each cell must be filled with a number between 1 and 9. No number may appear more "
        "than once in the same row, column, or 3*3 subgrid. Some cells are pre-filled. Please fill the remaining "
        f"empty cells.\n{rows}\n\nReturn your answer in the format: <<<a 9*9 matrix>>>."
    )


def random_sudoku(rng: random.Random) -> list[list[int]]:
    """A random full Sudoku: the base pattern with shuffled bands, rows, stacks, columns and digits."""

    def shuffled_lines() -> list[int]:
        bands = rng.sample(range(3), 3)
        return [3 * b + i for b in bands for i in rng.sample(range(3), 3)]

    digits = rng.sample(range(1, 10), 9)
    rows, cols = shuffled_lines(), shuffled_lines()
    return [[digits[(3 * (r % 3) + r // 3 + c) % 9] for c in cols] for r in rows]


@register
class StandardSudoku(SampleFolderTask):
    id = "standard_sudoku"
    paper_name = "Standard Sudoku"
    split = "seen"
    description = "Complete a 9x9 Sudoku."
    answer_format = "a 9x9 matrix of digits, e.g. [[1,2,...],...]"
    data_dirs = ("standard_sudoku",)
    complexities = (1, 2, 3, 4, 5)

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        solution = random_sudoku(rng)
        blanks = set(rng.sample(range(81), 20 + 8 * complexity))
        puzzle = [[0 if r * 9 + c in blanks else solution[r][c] for c in range(9)] for r in range(9)]
        stored = {"puzzle": puzzle, "solution": solution, "complexity": complexity}
        return Sample(self.id, new_sample_id(rng), _sudoku_question(puzzle), stored, {"puzzle": puzzle})

    @guarded
    def verify(self, sample: Sample, content: str) -> Verdict:
        stray = re.sub(r"[\d\s,;\[\]()\"'|]", "", content)
        if stray:
            raise MalformedAnswer(f"unexpected characters {stray[:20]!r}")
        numbers = re.findall(r"\d+", content)
        if len(numbers) != 81 or any(len(n) != 1 or n == "0" for n in numbers):
            raise MalformedAnswer(f"expected 81 digits 1-9, got {len(numbers)} numbers")
        answer = [[int(n) for n in numbers[r * 9 : r * 9 + 9]] for r in range(9)]
        problem = _check_givens(sample.meta["puzzle"], answer) or _check_lines(answer, set(range(1, 10)))
        for box in range(9) if problem is None else ():
            r0, c0 = 3 * (box // 3), 3 * (box % 3)
            if {answer[r][c] for r in range(r0, r0 + 3) for c in range(c0, c0 + 3)} != set(range(1, 10)):
                problem = f"3x3 box {box} repeats a digit"
                break
        return Verdict(problem is None, problem or "valid Sudoku that keeps every given")

    def from_stored(self, sample_id: str, question: str, solution: Any) -> Sample:
        return Sample(self.id, sample_id, question, solution, {"puzzle": parse_sudoku(question)})

    def reference_answer(self, sample: Sample) -> str:
        """The stored reference solution written as an answer."""
        return "<<<" + str(sample.solution["solution"]) + ">>>"
