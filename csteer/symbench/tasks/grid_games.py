"""Reversi and 2048: replay the given moves on a small board and report the board after them."""

from __future__ import annotations

import random
import re
from typing import Any

from csteer.symbench.answers import MalformedAnswer, guarded, ints_in
from csteer.symbench.base import Sample, Verdict, register
from csteer.symbench.layout import SampleFolderTask, new_sample_id

# ---------------------------------------------------------------- Reversi

_DIRECTIONS = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc]


def reversi_start(n: int) -> list[list[str]]:
    board = [["*"] * n for _ in range(n)]
    h = n // 2
    board[h - 1][h - 1] = board[h][h] = "1"
    board[h - 1][h] = board[h][h - 1] = "0"
    return board


def reversi_flips(board: list[list[str]], r: int, c: int, colour: str) -> list[tuple[int, int]]:
    n, other, flips = len(board), "1" if colour == "0" else "0", []
    for dr, dc in _DIRECTIONS:
        run, rr, cc = [], r + dr, c + dc
        while 0 <= rr < n and 0 <= cc < n and board[rr][cc] == other:
            run.append((rr, cc))
            rr, cc = rr + dr, cc + dc
        if run and 0 <= rr < n and 0 <= cc < n and board[rr][cc] == colour:
            flips.extend(run)
    return flips


def reversi_play(start: list[list[str]], moves: list[tuple[int, int, str]]) -> list[list[str]]:
    """Apply (row, col, colour) moves, 1-based coordinates as in the question; flips sandwiched pieces."""
    board = [row[:] for row in start]
    for r, c, colour in moves:
        r, c = r - 1, c - 1
        for fr, fc in reversi_flips(board, r, c, colour):
            board[fr][fc] = colour
        board[r][c] = colour
    return board


def _reversi_question(n: int, board: list[list[str]], rounds: list[tuple[int, int, bool]]) -> str:
    lines = "\n".join("".join(row) for row in board)
    listed = "\n".join(
        f"Round {i}: {'Your' + chr(39) + 's' if mine else 'The opponent' + chr(39) + 's'} landing position is ({r},{c})"
        for i, (r, c, mine) in enumerate(rounds, 1)
    )
    empty = ",".join("*" * (n * n))
    return (
        "There is a game similar to Reversi. On an n*n grid (where n is even), four pieces are placed in the center, "
        "two black and two white, arranged diagonally. Black pieces are represented by 0, white pieces by 1, and "
        "empty spaces by *.\nRules:\n1. Two players take turns placing pieces, one playing black and the other "
        "playing white.\n2. Each player places one piece on an empty space during their turn.\n3. After placing a "
        "piece, if there are any of the opponent's pieces between two of the player's pieces (in the same row, "
        "column, or diagonal), those pieces will be flipped to the player's color. That is, 0 becomes 1, or 1 "
        "becomes 0.\nAll coordinates start from the first row and first column, and the coordinate (a, b) "
        f"represents the cell in the a-th row and b-th column.\n\nGiven: n={n}, you play black chess.\n\n"
        f"The previous round of the game was: \n{lines}\n\n{listed}\n\nPlease write down the game situation after "
        "this round based on the situation of the previous round.\n"
        f"For example, <<<{empty}>>> represents the empty grid."
    )


@register
class Reversi(SampleFolderTask):
    id = "reversi"
    paper_name = "Reversi"
    split = "seen"
    description = "Replay Reversi moves on an n*n board and write the resulting board."
    answer_format = "the n*n cells row by row, comma-separated, 0 black, 1 white, * empty"
    data_dirs = ("reversi_dataset",)
    complexities = (1, 2, 3, 4, 5)

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        n = 4 if complexity <= 2 else 6
        while True:
            board, colour, history = reversi_start(n), "0", []
            for _ in range(rng.randint(0, 2) + complexity):
                legal = [
                    (r, c)
                    for r in range(n)
                    for c in range(n)
                    if board[r][c] == "*" and reversi_flips(board, r, c, colour)
                ]
                if not legal:
                    break
                r, c = rng.choice(legal)
                history.append((r + 1, c + 1, colour))
                board = reversi_play(board, [history[-1]])
                colour = "1" if colour == "0" else "0"
            prefix = len(history) - complexity
            if prefix >= 0 and history[prefix][2] == "0":  # the listed rounds start with our (black) move
                break
        start = reversi_play(reversi_start(n), history[:prefix])
        rounds = [(r, c, col == "0") for r, c, col in history[prefix:]]
        final = ",".join(",".join(row) for row in board)
        moves = [[r, c] for r, c, _ in rounds]
        stored = {
            "board_size": n,
            "moves": moves,
            "solution": final,
            "complexity": complexity,
            "start_board": ["".join(row) for row in start],
        }
        meta = {
            "n": n,
            "start": ["".join(row) for row in start],
            "moves": [[r, c, col] for r, c, col in history[prefix:]],
        }
        return Sample(self.id, new_sample_id(rng), _reversi_question(n, start, rounds), stored, meta)

    @guarded
    def verify(self, sample: Sample, content: str) -> Verdict:
        n = sample.meta["n"]
        stray = re.sub(r"[01*\s,;\[\]\"'|]", "", content)
        if stray:
            raise MalformedAnswer(f"unexpected characters {stray[:20]!r}")
        cells = re.findall(r"[01*]", content)
        if len(cells) != n * n:
            raise MalformedAnswer(f"expected {n * n} cells, got {len(cells)}")
        start = [list(row) for row in sample.meta["start"]]
        expected = [c for row in reversi_play(start, [tuple(m) for m in sample.meta["moves"]]) for c in row]
        if cells == expected:
            return Verdict(True, "board matches the replayed moves")
        wrong = [f"({i // n + 1},{i % n + 1})" for i in range(n * n) if cells[i] != expected[i]]
        return Verdict(
            False, f"{len(wrong)} cells differ from the replayed board, e.g. {', '.join(wrong[:5])}"
        )

    def from_stored(self, sample_id: str, question: str, solution: Any) -> Sample:
        n = int(re.search(r"Given: n=(\d+)", question).group(1))  # type: ignore[union-attr]
        me = "0" if "you play black" in question else "1"
        them = "1" if me == "0" else "0"
        moves = [
            [int(r), int(c), me if who == "Your's" else them]
            for who, r, c in re.findall(
                r"Round \d+: (Your's|The opponent's) landing position is \((\d+),(\d+)\)", question
            )
        ]
        # The original questions print the board *after* the listed rounds as "the previous round"; their
        # reference solutions replay the rounds from the opening position. Generated samples store the
        # real starting board in solution.json ("start_board").
        start = solution.get("start_board") or ["".join(row) for row in reversi_start(n)]
        return Sample(self.id, sample_id, question, solution, {"n": n, "start": start, "moves": moves})

    def reference_answer(self, sample: Sample) -> str:
        """The stored reference solution written as an answer."""
        return f"<<<{sample.solution['solution']}>>>"


# ---------------------------------------------------------------- 2048

_STEPS = {"u": (-1, 0), "d": (1, 0), "l": (0, -1), "r": (0, 1)}


def slide_number(grid: list[list[int]], start: tuple[int, int], moves: str) -> list[list[int]]:
    """Move the number at `start` one cell per move; it merges with an equal number, stops at a different one."""
    grid = [row[:] for row in grid]
    r, c = start
    n = len(grid)
    for move in moves:
        dr, dc = _STEPS[move]
        tr, tc = r + dr, c + dc
        if not (0 <= tr < n and 0 <= tc < n) or grid[r][c] == 0:
            continue
        if grid[tr][tc] == 0:
            grid[tr][tc], grid[r][c] = grid[r][c], 0
        elif grid[tr][tc] == grid[r][c]:
            grid[tr][tc], grid[r][c] = 2 * grid[r][c], 0
        else:
            continue
        r, c = tr, tc
    return grid


def _game_question(grid: list[list[int]], start: tuple[int, int], moves: str) -> str:
    n = len(grid)
    rows = "\n".join(", ".join(map(str, row)) for row in grid)
    return (
        f"In an {n}x{n} grid, there are several squares containing powers of 2. We define the '2048' game: The numbers "
        "in the grid can move in any direction. When they encounter a number that is the same power of 2, they can "
        "combine to form a larger number that is the next power of 2. For example: 2 meets 2 -> 4; 4 meets 4 -> 8; "
        "16 meets 16 -> 32. When they encounter a different number, they remain unchanged.\n"
        "u: represents moving up one step\nd: represents moving down one step\nl: represents moving left one step\n"
        "r: represents moving right one step\n\n"
        f"Now, in the following matrix, move the number in position ({start[0] + 1}, {start[1] + 1}) using the "
        f"sequence '{moves}':\n{rows}\n\nWhat is the matrix after moving?\nReturn your answer with format <<<matrix>>>."
    )


@register
class Game2048(SampleFolderTask):
    id = "game_2048"
    paper_name = "2048"
    split = "unseen"
    description = "Move one number of a 2048 grid along a move sequence, merging equal numbers."
    answer_format = "the matrix, rows on lines or as a nested list"
    data_dirs = ("2048_dataset",)
    complexities = (1, 2, 3, 4, 5)

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        n = min(5, complexity + 1)
        grid = [[rng.choice([0, 0, 2, 2, 4, 8, 16, 32]) for _ in range(n)] for _ in range(n)]
        start = (rng.randrange(n), rng.randrange(n))
        if grid[start[0]][start[1]] == 0:
            grid[start[0]][start[1]] = rng.choice([2, 4, 8])
        moves = "".join(rng.choice("udlr") for _ in range(complexity + 1))
        final = slide_number(grid, start, moves)
        stored = {
            "grid": grid,
            "moves": moves,
            "start_pos": list(start),
            "solution": "\n".join(", ".join(map(str, row)) for row in final),
            "complexity": complexity,
        }
        meta = {"grid": grid, "start": list(start), "moves": moves}
        return Sample(self.id, new_sample_id(rng), _game_question(grid, start, moves), stored, meta)

    @guarded
    def verify(self, sample: Sample, content: str) -> Verdict:
        grid = sample.meta["grid"]
        n = len(grid)
        values = ints_in(content)
        if len(values) != n * n:
            raise MalformedAnswer(f"expected {n * n} numbers, got {len(values)}")
        expected = slide_number(grid, tuple(sample.meta["start"]), sample.meta["moves"])
        flat = [v for row in expected for v in row]
        if values == flat:
            return Verdict(True, "matrix matches the replayed moves")
        return Verdict(False, f"expected {expected}, got {[values[i * n : i * n + n] for i in range(n)]}")

    def from_stored(self, sample_id: str, question: str, solution: Any) -> Sample:
        m = re.search(
            r"position \((\d+), (\d+)\) using the sequence '([udlr]*)':\n(.*?)\n\nWhat is", question, re.S
        )
        r, c, moves, body = m.groups()  # type: ignore[union-attr]
        grid = [[int(v) for v in line.split(",")] for line in body.strip().splitlines()]
        meta = {"grid": grid, "start": [int(r) - 1, int(c) - 1], "moves": moves}
        return Sample(self.id, sample_id, question, solution, meta)

    def reference_answer(self, sample: Sample) -> str:
        """The stored reference solution written as an answer."""
        return f"<<<{sample.solution['solution']}>>>"
