"""Pattern Recognition: find the bottom-right corner of the square (side >= 3) of one repeated character."""

from __future__ import annotations

import random
import string
from typing import Any

from csteer.symbench.answers import MalformedAnswer, guarded, ints_in
from csteer.symbench.base import Sample, Verdict, register
from csteer.symbench.layout import SampleFolderTask, new_sample_id

_INTRO = (
    "Given a character matrix, your task is to identify the positions of all squares with a length of at least 3 "
    "and output the row and column numbers of the bottom-right corner of these squares. The squares are composed "
    "of the same character, and each side has a length of at least 3.\n\nIf the matrix is\n\n"
)
_OUTRO = (
    "\n\nPlease provide the row and column of the bottom-right vertex of the square in the character matrix with a "
    "side length of at least 3 (the answer is unique). Notice: All coordinates start from 0.  \n\n"
    "Your answer should be in the format <<<[row, column]>>>."
)


def parse_matrix(question: str) -> list[list[str]]:
    body = question.split("If the matrix is", 1)[1].split("Please provide", 1)[0]
    return [line.split() for line in body.strip().splitlines() if line.strip()]


def square_corners(matrix: list[list[str]]) -> set[tuple[int, int]]:
    """Bottom-right corners of the maximal one-character squares with side >= 3.

    A square inside a bigger one-character square is not an answer (its corner is not "the" square's).
    """
    rows, cols = len(matrix), len(matrix[0]) if matrix else 0
    side = [[0] * cols for _ in range(rows)]  # side of the largest uniform square ending at (r, c)
    for r in range(rows):
        for c in range(cols):
            side[r][c] = 1
            if r and c and matrix[r][c] == matrix[r - 1][c] == matrix[r][c - 1] == matrix[r - 1][c - 1]:
                side[r][c] = 1 + min(side[r - 1][c], side[r][c - 1], side[r - 1][c - 1])
    squares = [(r, c, side[r][c]) for r in range(rows) for c in range(cols) if side[r][c] >= 3]

    def inside(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
        (r, c, k), (r2, c2, k2) = a, b
        return k2 > k and r2 >= r and c2 >= c and r2 - k2 <= r - k and c2 - k2 <= c - k

    return {(r, c) for (r, c, k) in squares if not any(inside((r, c, k), other) for other in squares)}


@register
class PatternRecognition(SampleFolderTask):
    id = "pattern_recognition"
    paper_name = "Pattern Recognition"
    split = "seen"
    description = "Locate the bottom-right corner of the one-character square (side >= 3) in a letter matrix."
    answer_format = "[row, column] (0-based)"
    data_dirs = ("pattern_recognition",)
    complexities = (1, 2, 3, 4, 5)

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        rows = 5 + complexity + rng.randint(0, 2)
        cols = 5 + complexity + rng.randint(0, 3)
        side = rng.randint(3, min(3 + complexity // 2, rows, cols))
        while True:
            matrix = [[rng.choice(string.ascii_uppercase) for _ in range(cols)] for _ in range(rows)]
            top, left, ch = (
                rng.randint(0, rows - side),
                rng.randint(0, cols - side),
                rng.choice(string.ascii_uppercase),
            )
            for r in range(top, top + side):
                for c in range(left, left + side):
                    matrix[r][c] = ch
            corner = (top + side - 1, left + side - 1)
            if square_corners(matrix) == {corner}:
                break
        question = _INTRO + "\n".join(" ".join(row) for row in matrix) + _OUTRO
        solution = {"row": corner[0], "column": corner[1], "complexity": complexity}
        return Sample(self.id, new_sample_id(rng), question, solution, {"matrix": matrix})

    @guarded
    def verify(self, sample: Sample, content: str) -> Verdict:
        values = ints_in(content)
        if len(values) != 2:
            raise MalformedAnswer(f"expected [row, column], got {len(values)} numbers")
        answer = (values[0], values[1])
        corners = square_corners(sample.meta["matrix"])
        if answer in corners:
            return Verdict(True, f"({answer[0]}, {answer[1]}) is the bottom-right corner of a square")
        return Verdict(
            False, f"({answer[0]}, {answer[1]}) is not a square's corner; expected one of {sorted(corners)}"
        )

    def from_stored(self, sample_id: str, question: str, solution: Any) -> Sample:
        return Sample(self.id, sample_id, question, solution, {"matrix": parse_matrix(question)})

    def reference_answer(self, sample: Sample) -> str:
        """The stored reference solution written as an answer."""
        return f"<<<[{sample.solution['row']}, {sample.solution['column']}]>>>"
