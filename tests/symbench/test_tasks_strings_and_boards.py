"""SymBench's string, board and counting tasks (string insertion/deletion/synthesis/splitting,
cryptanalysis, synthesis decomposition; Sudoku, letter logic diagram, eight queens, Reversi, 2048,
pattern recognition; combinatorial calculation, permutations): stored reference solutions, generated
samples, perturbed and malformed answers."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import csteer.symbench.paper
from csteer.symbench.base import Sample, Task, all_tasks

STRING_AND_BOARD_TASKS = [
    "pattern_recognition",
    "string_insertion",
    "letter_logic_diagram",
    "string_deletion_modification",
    "string_synthesis",
    "reversi",
    "standard_sudoku",
    "eight_queens",
    "cryptanalysis",
    "string_splitting",
    "combinatorial_calculation",
    "synthesis_decomposition",
    "game_2048",
    "permutations_combinations",
]
# stored reference solutions known to be wrong, per task: sample id -> reason (see docs/SYMBENCH.md)
KNOWN_WRONG: dict[str, set[str]] = {}

MALFORMED = [
    "",
    "<<<>>>",
    "   ",
    "x" * 200_000,
    "<<<" + "[" * 5000 + "]" * 5000 + ">>>",
    "<<<__import__('os').system('rm -rf /')>>>",
    "<<<eval(input())>>>",
    "<<<[[[[1, [2, [3]]]]], {'a': None}]>>>",
    "<<<" + "9" * 5000 + ">>>",
    "<<<\x00\x01\x02>>>",
    "<<<1e309>>>",
]


def _task(task_id: str) -> Task:
    return all_tasks()[task_id]


def _flip_answer(answer: str) -> list[str]:
    """Generic perturbations of a correct answer text: change one symbol inside the marks."""
    body = re.search(r"<<<(.*)>>>", answer, re.S)
    assert body is not None
    inner = body.group(1)
    out = []
    for i, ch in enumerate(inner):
        if ch.isdigit():
            out.append(inner[:i] + str((int(ch) + 1) % 10) + inner[i + 1 :])
        elif ch.isalpha():
            repl = "b" if ch.lower() == "a" else "a"
            out.append(inner[:i] + (repl.upper() if ch.isupper() else repl) + inner[i + 1 :])
        if len(out) >= 12:
            break
    assert out, f"no digit or letter to change in {answer!r}: the perturbation test would pass vacuously"
    return [f"<<<{o}>>>" for o in out]


# ---------------------------------------------------------------- every task


@pytest.mark.parametrize("task_id", STRING_AND_BOARD_TASKS)
def test_task_is_registered_with_paper_name(task_id: str) -> None:

    task = _task(task_id)
    # the copy shipped in the package (the shared folder may not sit beside the checkout)
    names = set(csteer.symbench.paper.paper_table())
    assert task.paper_name in names
    assert task.description and task.answer_format and task.data_dirs


@pytest.mark.parametrize("task_id", STRING_AND_BOARD_TASKS)
def test_stored_reference_solutions_are_accepted(task_id: str, symbench_data: Path) -> None:
    task = _task(task_id)
    samples = list(task.load_dir(symbench_data))
    assert len(samples) >= 50
    verdicts = {s.id: task.verify(s, task.reference_answer(s)) for s in samples}
    rejected = {sid: v.reason for sid, v in verdicts.items() if not v.correct}
    assert set(rejected) <= KNOWN_WRONG.get(task_id, set()), rejected
    assert len(samples) - len(rejected) >= 0.99 * len(samples)


@pytest.mark.parametrize("task_id", STRING_AND_BOARD_TASKS)
def test_generated_samples_round_trip_and_accept_their_solution(task_id: str, tmp_path: Path) -> None:
    task = _task(task_id)
    rng = random.Random(7)
    for complexity in task.complexities:
        sample = task.generate(rng, complexity)
        verdict = task.verify(sample, task.reference_answer(sample))
        assert verdict.correct, (complexity, verdict.reason)
        folder = task.write_sample(sample, tmp_path)
        assert folder.is_dir()
    loaded = list(task.load_dir(tmp_path))
    assert len(loaded) == len(task.complexities)
    for sample in loaded:
        assert task.verify(sample, task.reference_answer(sample)).correct


@pytest.mark.parametrize("task_id", STRING_AND_BOARD_TASKS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), pick=st.integers(0, 100))
def test_perturbed_answers_are_rejected(task_id: str, seed: int, pick: int) -> None:
    task = _task(task_id)
    rng = random.Random(seed)
    sample = task.generate(rng, task.complexities[pick % len(task.complexities)])
    perturbed = PERTURB.get(task_id, _default_perturb)(task, sample)
    assert perturbed, "no wrong answer to reject: the test would pass vacuously"
    for wrong in perturbed:
        verdict = task.verify(sample, wrong)
        assert not verdict.correct, (wrong, verdict.reason)
        assert verdict.reason


@pytest.mark.parametrize("task_id", STRING_AND_BOARD_TASKS)
@pytest.mark.parametrize("answer", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_answers_are_rejected_with_a_reason(task_id: str, answer: str) -> None:
    task = _task(task_id)
    sample = task.generate(random.Random(3), task.complexities[0])
    verdict = task.verify(sample, answer)
    assert verdict.correct is False
    assert verdict.reason


def _default_perturb(task: Task, sample: Sample) -> list[str]:
    return _flip_answer(task.reference_answer(sample))


# ---------------------------------------------------------------- task-specific perturbations
# Perturbations that could still be valid answers (several solutions exist) are filtered by the constraint
# itself: a changed cell in a Latin square breaks its row, so a single changed symbol is always wrong.


def _queens_perturb(task: Task, sample: Sample) -> list[str]:
    queens = [tuple(q) for q in sample.solution["solution"]]
    n = sample.solution["board_size"]
    out = ["<<<" + ", ".join(f"{r} {c}" for r, c in queens[:-1]) + ">>>"]  # one queen short
    r, c = queens[-1]
    out.append("<<<" + ", ".join(f"{a} {b}" for a, b in queens[:-1]) + f", {r} {(c + 1) % n}>>>")
    placed = {tuple(p) for p in sample.solution["placed_queens"]}
    if placed:  # a valid N-queens board that moves a pre-placed queen is wrong
        shifted = [(a, n - 1 - b) for a, b in queens]
        if set(shifted) != set(queens) and not placed <= set(shifted):
            out.append("<<<" + ", ".join(f"{a} {b}" for a, b in shifted) + ">>>")
    return out


def _letters_perturb(task: Task, sample: Sample) -> list[str]:
    rows = [list(r) for r in sample.solution["solution"]]
    rows[0][0], rows[0][1] = rows[0][1], rows[0][0]  # breaks columns (and maybe a given)
    return ["<<<\n" + "\n".join(",".join(r) for r in rows) + "\n>>>"] + _flip_answer(
        task.reference_answer(sample)
    )[:3]


PERTURB: dict[str, Callable[[Task, Sample], list[str]]] = {
    "eight_queens": _queens_perturb,
    "letter_logic_diagram": _letters_perturb,
}


# ---------------------------------------------------------------- task-specific behaviour


def test_sudoku_accepts_any_valid_completion_but_not_changed_givens() -> None:
    task = _task("standard_sudoku")
    sample = task.generate(random.Random(11), 5)
    solution = sample.solution["solution"]
    swapped = [[{1: 2, 2: 1}.get(v, v) for v in row] for row in solution]  # relabel digits: still a Sudoku
    verdict = task.verify(sample, f"<<<{swapped}>>>")
    assert not verdict.correct and "pre-filled" in verdict.reason
    empty = Sample(
        sample.task, sample.id, sample.question, sample.solution, {"puzzle": [[0] * 9 for _ in range(9)]}
    )
    assert task.verify(empty, f"<<<{swapped}>>>").correct


def test_eight_queens_accepts_only_the_new_queens() -> None:
    task = _task("eight_queens")
    for seed in range(20):
        sample = task.generate(random.Random(seed), 3)
        placed = {tuple(p) for p in sample.solution["placed_queens"]}
        if placed:
            break
    assert placed, "no generated board with pre-placed queens: nothing to test"
    new = [q for q in sample.solution["solution"] if tuple(q) not in placed]
    assert 0 < len(new) < len(sample.solution["solution"])
    assert task.verify(sample, "<<<" + ", ".join(f"{r} {c}" for r, c in new) + ">>>").correct


def test_pattern_recognition_rejects_a_corner_inside_the_square() -> None:
    task = _task("pattern_recognition")
    sample = task.generate(random.Random(5), 5)
    r, c = sample.solution["row"], sample.solution["column"]
    assert task.verify(sample, f"<<<[{r}, {c}]>>>").correct
    assert not task.verify(sample, f"<<<[{r - 1}, {c - 1}]>>>").correct
    assert task.verify(sample, f"answer: <<< ({r}, {c}) >>>").correct


def test_string_deletion_follows_first_applicable_rule() -> None:
    from csteer.symbench.tasks.string_rewriting import run_rules

    rules = [
        "If the string ends with 'aa', replace it with 'cc'.",
        "If the string prefix is 'c', remove the first character.",
    ]
    assert run_rules("ccaa", rules) == ["ccaa", "cccc", "ccc", "cc", "c", ""]


def test_count_lists_are_compared_as_lists_not_concatenated_strings() -> None:
    task = _task("string_synthesis")
    sample = task.generate(random.Random(2), 3)
    counts = sample.solution["final_counts"]
    assert task.verify(sample, "<<<" + " ".join(map(str, counts)) + ">>>").correct
    assert task.verify(sample, "<<<" + str(counts) + ">>>").correct
    # the digits run together are ambiguous ("1 10" vs "11 0") and must not pass
    assert not task.verify(sample, "<<<" + "".join(map(str, counts)) + ">>>").correct
    assert not task.verify(sample, "<<<" + " ".join(map(str, counts[:-1])) + ">>>").correct
    splitting = _task("string_splitting")
    s2 = splitting.generate(random.Random(2), 3)
    expected = s2.solution["expected_answer"]
    assert splitting.verify(s2, "<<<" + ", ".join(expected) + ">>>").correct
    assert (
        not splitting.verify(s2, "<<<" + ", ".join(expected[1:] + expected[:1]) + ">>>").correct
        or len(set(expected)) == 1
    )


def test_combinatorial_calculation_parses_and_never_evals() -> None:
    task = _task("combinatorial_calculation")
    sample = Sample("combinatorial_calculation", "t", "", None, {"numbers": [7, 1, 4], "target": 10})
    assert task.verify(sample, "<<<[7, -, 1, +, 4]>>>").correct
    assert task.verify(sample, "<<<7 - 1 + 4>>>").correct
    assert task.verify(sample, '<<<["7", "-", "1", "+", "4"]>>>').correct
    assert not task.verify(sample, "<<<[4, +, 7, -, 1]>>>").correct  # reordered numbers
    assert not task.verify(sample, "<<<[7, +, 1, +, 4]>>>").correct  # 12
    assert not task.verify(
        sample, "<<<[7, /, (, 1, -, 1, ), +, 4]>>>"
    ).correct  # division by zero, and 1 twice
    sample2 = Sample("combinatorial_calculation", "t", "", None, {"numbers": [1, 3, 2], "target": 1})
    verdict = task.verify(
        sample2, "<<<[1, /, 3, *, (, 2, +, 1, )]>>>"
    )  # exact: 1/3*3 == 1 only with fractions
    assert not verdict.correct and "numbers" in verdict.reason
    assert task.verify(Sample("c", "t", "", None, {"numbers": [1, 3, 3], "target": 1}), "<<<1/3*3>>>").correct
    for bad in [
        "<<<__import__('os')>>>",
        "<<<7 ** 1 + 4>>>",
        "<<<(7-1+4>>>",
        "<<<7 - 1 + 4)>>>",
        "<<<[7, 1, 4]>>>",
    ]:
        verdict = task.verify(sample, bad)
        assert not verdict.correct and verdict.reason


def test_permutations_require_a_full_permutation() -> None:
    task = _task("permutations_combinations")
    sample = task.generate(random.Random(4), 2)
    order = sample.solution["correct_solution"]
    assert task.verify(sample, str(order)).correct
    assert not task.verify(sample, "<<<" + str(order[:-1]) + ">>>").correct
    assert not task.verify(sample, "<<<" + str(order[:-1] + order[:1]) + ">>>").correct
    assert not task.verify(sample, "<<<" + str(order + ["Z"]) + ">>>").correct


def test_permutations_accept_any_arrangement_that_meets_the_constraints() -> None:
    task = _task("permutations_combinations")
    items = ["A", "B", "C", "D"]
    constraints = [["left_of", "A", "B"], ["not_at", "C", "1"]]
    sample = Sample("permutations_combinations", "t", "", None, {"items": items, "constraints": constraints})
    assert task.verify(sample, '<<<["A", "B", "C", "D"]>>>').correct
    assert task.verify(sample, '<<<["D", "A", "C", "B"]>>>').correct
    assert not task.verify(sample, '<<<["C", "A", "B", "D"]>>>').correct


def test_cryptanalysis_checks_every_condition() -> None:
    from csteer.symbench.tasks.cryptanalysis import feedback

    task = _task("cryptanalysis")
    assert feedback("38TA", "53FA") == (
        "one number is correct but in the wrong position; one number is incorrect and too large; "
        "one letter is correct and in the correct position; one letter is incorrect and too late in the alphabet"
    )
    sample = task.generate(random.Random(9), 3)
    answer = sample.solution["answer"]
    assert task.verify(sample, f"<<<{answer}>>>").correct
    assert task.verify(sample, "<<<" + "".join(answer) + ">>>").correct
    assert not task.verify(sample, f"<<<{[answer[1], answer[0], answer[2], answer[3]]}>>>").correct
    assert not task.verify(sample, '<<<["1", "1", "A", "B"]>>>').correct


def test_reversi_replays_moves_with_flips() -> None:
    from csteer.symbench.tasks.grid_games import reversi_play, reversi_start

    board = reversi_play(reversi_start(4), [(3, 4, "0")])
    assert ["".join(r) for r in board] == ["****", "*10*", "*000", "****"]
    board = reversi_play(board, [(4, 4, "1")])  # flips (3,3) along the diagonal from (2,2)
    assert ["".join(r) for r in board] == ["****", "*10*", "*010", "***1"]


def test_2048_merges_and_stops() -> None:
    from csteer.symbench.tasks.grid_games import slide_number

    assert slide_number([[0, 16], [4, 2]], (0, 1), "dl") == [[16, 0], [4, 2]]
    assert slide_number([[2, 2], [0, 0]], (0, 1), "ll") == [[4, 0], [0, 0]]
    assert slide_number([[0, 16], [16, 8]], (0, 1), "rr") == [[0, 16], [16, 8]]
