"""The SymBench framework: registry, every task's round trip (generate -> write -> load -> verify),
malformed answers, the paper table, the synthesized tasks number_multiply and letters."""

from __future__ import annotations

import dataclasses
import math
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csteer.errors import CsteerError, UsageError
from csteer.symbench.base import Sample, Task, all_tasks, get_task
from csteer.symbench.generate import generate_samples
from csteer.symbench.loader import load_samples, write_samples
from csteer.symbench.paper import paper_row, paper_row_for_name, paper_table

TASKS = all_tasks()
SYNTHESIZED = sorted(t.id for t in TASKS.values() if t.synthesized)

MALFORMED = [
    "",
    "<<<>>>",
    "   \n\t",
    "x" * 200_000,
    "<<<" + "[" * 5000 + "]" * 5000 + ">>>",
    "<<<" + "(" * 3000 + ">>>",
    "<<<{'a': [1, {'b': (2, [3, {4}])}]}>>>",
    "<<<__import__('os').system('echo pwned')>>>",
    '<<<eval("1+1")>>>',
    "<<<; rm -rf / #>>>",
    "<<<\x00\x01\x02>>>",
    "<<<\\frac{" * 400 + ">>>",
    "<<<1e99999>>>",
    "<<<NaN>>>",
    "<<<" + "9" * 50_000 + ">>>",
]


def test_registry_ids_are_unique_snake_case_and_complete() -> None:
    for task_id, task in TASKS.items():
        assert task.id == task_id
        assert task_id.replace("_", "").isalnum() and task_id == task_id.lower()
        assert task.split in ("seen", "unseen")
        assert task.description and task.answer_format and task.paper_name
        assert task.data_dirs, f"{task_id} names no data folder"


def test_my_tasks_are_registered_with_the_papers_split() -> None:
    expected = {
        "number_multiply": ("unseen", True),
        "letters": ("unseen", True),
        "date_understanding": ("seen", False),
        "web_of_lies": ("seen", False),
        "logical_deduction": ("seen", False),
        "navigation": ("seen", False),
        "gsm_hard": ("seen", False),
        "math_geometry": ("seen", False),
        "math_counting_probability": ("seen", False),
    }
    for task_id, (split, synthesized) in expected.items():
        task = get_task(task_id)
        assert (task.split, task.synthesized) == (split, synthesized)


def test_unknown_task_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        get_task("no_such_task")


@pytest.mark.parametrize("task_id", sorted(TASKS))
def test_every_task_maps_to_a_paper_row_with_the_same_split(task_id: str) -> None:
    row = paper_row(task_id)
    assert row is not None, f"{task_id}: paper_name {TASKS[task_id].paper_name!r} matches no Table 1 row"
    assert row.split == TASKS[task_id].split


def test_paper_table_has_37_rows_and_known_values() -> None:
    table = paper_table()
    assert len(table) == 37
    assert sum(r.split == "unseen" for r in table.values()) == 9
    assert table["Game 24"].scores["gpt4o_codesteer"] == 93
    assert table["Letters"].split == "unseen"  # fixed from the extraction artifact "Unseen:* Letters"
    row = table["Number Multiply"]
    assert row.best == 100 and row.normalized("o1") == pytest.approx(0.43)


def test_paper_names_match_abbreviated_rows() -> None:
    assert paper_row_for_name("Constrained Linear Arrangement").name == "Cons. Linear Arrange."
    assert paper_row_for_name("Permutations and Combinations").name == "Permut. and Combina."
    assert paper_row_for_name("Eight Queens").name == "Eight Queen"
    assert paper_row_for_name("Chess") is None


# --- every synthesized task: generate -> write_sample -> load_dir -> verify ---


def _complexities(task: Task) -> list[int]:
    # the easiest level only: this test is about the layout; each task's own tests vary complexity
    return list(task.complexities[:1]) or [1]


@pytest.mark.parametrize("task_id", SYNTHESIZED)
def test_round_trip_through_the_original_layout(task_id: str, tmp_path: Path) -> None:
    task = TASKS[task_id]
    for complexity in _complexities(task):
        samples = generate_samples(task_id, 3, complexity, seed=7)
        assert len({s.id for s in samples}) == 3
        for sample in samples:
            answer = task.reference_answer(sample)
            assert answer is not None, f"{task_id}: generated sample has no solution"
            verdict = task.verify(sample, answer)
            assert verdict.correct, f"{task_id} c={complexity}: own solution rejected: {verdict.reason}"
        write_samples(task_id, samples, tmp_path / str(complexity))
        loaded = load_samples(tmp_path / str(complexity), [task_id]).get(task_id, [])
        assert len(loaded) == 3, f"{task_id}: wrote 3 samples, loaded {len(loaded)}"
        assert sorted(s.question for s in loaded) == sorted(s.question for s in samples)
        for sample in loaded:
            verdict = task.verify(sample, task.reference_answer(sample))
            assert verdict.correct, f"{task_id}: loaded solution rejected: {verdict.reason}"


@pytest.mark.parametrize("task_id", SYNTHESIZED)
def test_generation_is_deterministic_for_a_seed(task_id: str) -> None:
    first = generate_samples(task_id, 2, None, seed=3)
    again = generate_samples(task_id, 2, None, seed=3)
    assert [(s.id, s.question) for s in first] == [(s.id, s.question) for s in again]


@pytest.mark.parametrize("task_id", SYNTHESIZED)
def test_malformed_answers_are_rejected_with_a_reason(task_id: str) -> None:
    task = TASKS[task_id]
    sample = task.generate(random.Random(1), task.complexities[0] if task.complexities else 1)
    for answer in MALFORMED:
        verdict = task.verify(sample, answer)
        assert verdict.correct is False and verdict.reason, f"{task_id} accepted {answer[:40]!r}"


def test_fixed_datasets_cannot_be_generated() -> None:
    with pytest.raises(UsageError):
        generate_samples("gsm_hard", 1)


def test_generate_rejects_bad_arguments() -> None:
    with pytest.raises(UsageError):
        generate_samples("number_multiply", 0)
    with pytest.raises(UsageError):
        generate_samples("number_multiply", 1, complexity=99)


def test_generate_gives_up_when_the_space_is_too_small() -> None:
    # a generator that always yields the same sample must not loop forever
    class Constant(Task):
        id = "constant_probe"
        paper_name = "Game 24"
        split = "seen"
        description = answer_format = "x"
        data_dirs = ("x",)

        def generate(self, rng: random.Random, complexity: int) -> Sample:
            return Sample(self.id, "same", "q", "a")

    from csteer.symbench import base

    base._REGISTRY["constant_probe"] = Constant()
    try:
        with pytest.raises(CsteerError, match="distinct samples"):
            generate_samples("constant_probe", 2, 1)
    finally:
        del base._REGISTRY["constant_probe"]


def test_load_samples_skips_absent_tasks_and_rejects_missing_root(tmp_path: Path) -> None:
    assert load_samples(tmp_path) == {}
    with pytest.raises(UsageError):
        load_samples(tmp_path / "nope")


def test_load_samples_reports_a_corrupt_task(tmp_path: Path) -> None:
    folder = tmp_path / "number_multiply" / "digit_2_2" / "sample_0"
    folder.mkdir(parents=True)
    (folder / "input_value_list.txt").write_text("[1, 2")
    with pytest.raises(CsteerError, match="number_multiply"):
        load_samples(tmp_path, ["number_multiply"])
    errors: list[str] = []
    assert load_samples(tmp_path, ["number_multiply"], on_error=lambda t, e: errors.append(t)) == {}
    assert errors == ["number_multiply"]


# --- Number Multiply ---

NM = get_task("number_multiply")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), complexity=st.sampled_from(list(NM.complexities)))
def test_number_multiply_accepts_its_product_and_rejects_perturbations(seed: int, complexity: int) -> None:
    sample = NM.generate(random.Random(seed), complexity)
    product = math.prod(sample.meta["factors"])
    assert sample.solution == str(product)
    assert NM.verify(sample, f"<<<{product}>>>").correct
    assert NM.verify(sample, f"The answer is <<<{product:,}>>>").correct
    for wrong in (product + 1, product - 1, -product, product * 10, int(str(abs(product))[:-1] or 0)):
        verdict = NM.verify(sample, f"<<<{wrong}>>>")
        assert not verdict.correct and "not the product" in verdict.reason


def test_number_multiply_factors_have_the_stated_digits() -> None:
    from csteer.symbench.tasks.number_multiply import LEVELS

    rng = random.Random(5)
    for complexity, digits in LEVELS.items():
        for _ in range(20):
            factors = NM.generate(rng, complexity).meta["factors"]
            assert [len(str(abs(f))) for f in factors] == list(digits)
            assert all(abs(f) > 1 for f in factors)


def test_number_multiply_is_exact_not_a_substring_test() -> None:
    sample = NM.generate(random.Random(0), 2)
    product = math.prod(sample.meta["factors"])
    # the reference accepted any text containing the product
    assert not NM.verify(sample, f"<<<{product}1>>>").correct
    assert not NM.verify(sample, f"<<<{product} or {product + 1}>>>").correct
    assert not NM.verify(sample, f"<<<{product}.5>>>").correct


# --- Letters ---

LETTERS = get_task("letters")


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32), complexity=st.sampled_from(list(LETTERS.complexities)))
def test_letters_accepts_its_answer_and_rejects_perturbations(seed: int, complexity: int) -> None:
    from csteer.symbench.tasks.letters import LEVELS

    sample = LETTERS.generate(random.Random(seed), complexity)
    word, letter = sample.meta["word"], sample.meta["letter"]
    low, high, counts = LEVELS[complexity]
    assert low <= len(word) <= high and word.count(letter) in counts
    positions = [i + 1 for i, c in enumerate(word) if c == letter]
    good = f"<<<Count: {len(positions)}, Positions: {positions}>>>"
    assert LETTERS.verify(sample, good).correct
    assert LETTERS.verify(
        sample, f"<<<count:{len(positions)} positions:({', '.join(map(str, positions[::-1]))})>>>"
    ).correct
    shifted = [p + 1 for p in positions]
    assert not LETTERS.verify(
        sample, f"<<<Count: {len(positions)}, Positions: {shifted}>>>"
    ).correct  # 0-based slip
    assert not LETTERS.verify(sample, f"<<<Count: {len(positions) + 1}, Positions: {positions}>>>").correct
    assert not LETTERS.verify(sample, f"<<<Count: {len(positions)}, Positions: {positions[:-1]}>>>").correct
    doubled = positions + positions[:1]
    assert not LETTERS.verify(sample, f"<<<Count: {len(positions)}, Positions: {doubled}>>>").correct


def test_letters_rejects_two_answers() -> None:
    sample = dataclasses.replace(LETTERS.generate(random.Random(2), 1))
    good = sample.solution
    verdict = LETTERS.verify(sample, f"<<<{good}; Count: 0, Positions: []>>>")
    assert not verdict.correct and "more than one" in verdict.reason
