"""Eight Queens (N queens): complete a board with pre-placed queens and blocked cells.

The verifier checks the real constraints the reference skipped: every pre-placed queen is kept,
no queen stands on an X, the board holds exactly N queens, and no two attack each other.
"""

from __future__ import annotations

import random
import re
from typing import Any

from csteer.symbench.answers import MalformedAnswer, guarded, ints_in
from csteer.symbench.base import Sample, Verdict, register
from csteer.symbench.layout import SampleFolderTask, new_sample_id

_SIZES = {1: 8, 2: 8, 3: 10, 4: 12, 5: 14}


def parse_board(question: str) -> list[str]:
    size = int(re.search(r"Given an (\d+)\*\d+ grid", question).group(1))  # type: ignore[union-attr]
    board = re.findall(rf"^[01X]{{{size}}}$", question, re.M)
    if len(board) != size:
        raise ValueError(f"question holds {len(board)} board rows, expected {size}")
    return board


def _question(board: list[str]) -> str:
    n = len(board)
    total = "eight" if n == 8 else str(n)
    return (
        f"Given an {n}*{n} grid, cells marked with 1 have a queen placed, and cells marked with 0 are empty. "
        f"A total of {total} queens need to be placed such that no two queens can attack each other, meaning no two "
        "queens can be in the same row, column, or diagonal. Additionally, positions marked with X are not allowed "
        "for placing queens. Please help me complete the placement of the remaining queens on the partially filled "
        "board.\n\n"
        + "\n".join(board)
        + "\n\nReturn your answer with the format <<<list of queen positions>>>, "
        "where each position is given as row column (0-based indices). For example, <<<0 3, 1 0, 2 4>>> means queens "
        "are placed at positions (0,3), (1,0), and (2,4)."
    )


def random_queens(rng: random.Random, n: int) -> list[tuple[int, int]]:
    """A random solution of the n-queens problem (backtracking over shuffled columns)."""
    cols: list[int] = []

    def place(row: int) -> bool:
        if row == n:
            return True
        for c in rng.sample(range(n), n):
            if all(c != pc and abs(c - pc) != row - pr for pr, pc in enumerate(cols)):
                cols.append(c)
                if place(row + 1):
                    return True
                cols.pop()
        return False

    place(0)
    return list(enumerate(cols))


def check_queens(board: list[str], queens: set[tuple[int, int]]) -> str | None:
    """None when `queens` completes `board`, else the first violated rule."""
    n = len(board)
    for r, row in enumerate(board):
        for c, cell in enumerate(row):
            if cell == "1" and (r, c) not in queens:
                return f"pre-placed queen ({r}, {c}) is missing"
    for r, c in queens:
        if not (0 <= r < n and 0 <= c < n):
            return f"({r}, {c}) is off the {n}x{n} board"
        if board[r][c] == "X":
            return f"({r}, {c}) is a blocked cell"
    if len(queens) != n:
        return f"the board holds {len(queens)} queens, expected {n}"
    ordered = sorted(queens)
    for i, (r1, c1) in enumerate(ordered):
        for r2, c2 in ordered[i + 1 :]:
            if r1 == r2 or c1 == c2 or abs(r1 - r2) == abs(c1 - c2):
                return f"queens ({r1}, {c1}) and ({r2}, {c2}) attack each other"
    return None


@register
class EightQueens(SampleFolderTask):
    id = "eight_queens"
    paper_name = "Eight Queen"
    split = "unseen"
    description = "Place N non-attacking queens, keeping the pre-placed ones and avoiding blocked cells."
    answer_format = "queen positions as 'row col' pairs, e.g. 0 3, 1 0, 2 4"
    data_dirs = ("eight_queens_dataset", "eight_queens_dataset_varied_complexity")
    complexities = (1, 2, 3, 4, 5)

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        n = _SIZES.get(complexity, 8)
        solution = random_queens(rng, n)
        placed = rng.sample(solution, rng.randint(0, min(3, complexity)))
        free = [(r, c) for r in range(n) for c in range(n) if (r, c) not in solution]
        blocked = rng.sample(free, rng.randint(0, complexity))
        board = [
            "".join("1" if (r, c) in placed else "X" if (r, c) in blocked else "0" for c in range(n))
            for r in range(n)
        ]
        ordered = placed + [q for q in solution if q not in placed]
        stored = {
            "board_size": n,
            "initial_board": board,
            "blocked_positions": [list(b) for b in blocked],
            "placed_queens": [list(p) for p in placed],
            "solution": [list(q) for q in ordered],
            "complexity": complexity,
        }
        return Sample(self.id, new_sample_id(rng), _question(board), stored, {"board": board})

    @guarded
    def verify(self, sample: Sample, content: str) -> Verdict:
        values = ints_in(content)
        if not values or len(values) % 2:
            raise MalformedAnswer("expected 'row col' pairs")
        listed = [(values[i], values[i + 1]) for i in range(0, len(values), 2)]
        queens = set(listed)
        if len(queens) != len(listed):
            return Verdict(False, "a position is listed twice")
        board = sample.meta["board"]
        # answers may list only the new queens; the pre-placed ones then count as given
        if len(queens) < len(board):
            queens |= {(r, c) for r, row in enumerate(board) for c, cell in enumerate(row) if cell == "1"}
        problem = check_queens(board, queens)
        return Verdict(
            problem is None, problem or f"{len(board)} non-attacking queens, givens kept, no blocked cell"
        )

    def from_stored(self, sample_id: str, question: str, solution: Any) -> Sample:
        return Sample(self.id, sample_id, question, solution, {"board": parse_board(question)})

    def reference_answer(self, sample: Sample) -> str:
        """The stored reference solution written as an answer."""
        return "<<<" + ", ".join(f"{r} {c}" for r, c in sample.solution["solution"]) + ">>>"
