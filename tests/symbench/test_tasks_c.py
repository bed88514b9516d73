"""Part-C SymBench tasks: stored reference solutions, generated samples, perturbed and malformed answers."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csteer.symbench.base import Sample, Task, all_tasks

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "symbench" / "dataset_gather"

PART_C = [
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
    return [f"<<<{o}>>>" for o in out]


# ---------------------------------------------------------------- every task

@pytest.mark.parametrize("task_id", PART_C)
def test_task_is_registered_with_paper_name(task_id: str) -> None:
    import csv

    task = _task(task_id)
    names = {row["task"] for row in csv.DictReader((DATA.parent.parent / "symbench-table1.csv").open())}
    assert task.paper_name in names
    assert task.description and task.answer_format and task.data_dirs


@pytest.mark.skipif(not DATA.is_dir(), reason="original SymBench data not present")
@pytest.mark.parametrize("task_id", PART_C)
def test_stored_reference_solutions_are_accepted(task_id: str) -> None:
    task = _task(task_id)
    samples = list(task.load_dir(DATA))
    assert len(samples) >= 50
    verdicts = {s.id: task.verify(s, task.reference_answer(s)) for s in samples}
    rejected = {sid: v.reason for sid, v in verdicts.items() if not v.correct}
    assert set(rejected) <= KNOWN_WRONG.get(task_id, set()), rejected
    assert len(samples) - len(rejected) >= 0.99 * len(samples)


@pytest.mark.parametrize("task_id", PART_C)
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


@pytest.mark.parametrize("task_id", PART_C)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), pick=st.integers(0, 100))
def test_perturbed_answers_are_rejected(task_id: str, seed: int, pick: int) -> None:
    task = _task(task_id)
    rng = random.Random(seed)
    sample = task.generate(rng, task.complexities[pick % len(task.complexities)])
    for wrong in PERTURB.get(task_id, _default_perturb)(task, sample):
        verdict = task.verify(sample, wrong)
        assert not verdict.correct, (wrong, verdict.reason)
        assert verdict.reason


@pytest.mark.parametrize("task_id", PART_C)
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
    return ["<<<\n" + "\n".join(",".join(r) for r in rows) + "\n>>>"] + _flip_answer(task.reference_answer(sample))[:3]


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
    empty = Sample(sample.task, sample.id, sample.question, sample.solution, {"puzzle": [[0] * 9 for _ in range(9)]})
    assert task.verify(empty, f"<<<{swapped}>>>").correct


def test_eight_queens_accepts_only_the_new_queens() -> None:
    task = _task("eight_queens")
    for seed in range(20):
        sample = task.generate(random.Random(seed), 3)
        placed = {tuple(p) for p in sample.solution["placed_queens"]}
        if placed:
            break
    new = [q for q in sample.solution["solution"] if tuple(q) not in placed]
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

    rules = ["If the string ends with 'aa', replace it with 'cc'.", "If the string prefix is 'c', remove the first character."]
    assert run_rules("ccaa", rules) == ["ccaa", "cccc", "ccc", "cc", "c", ""]
