"""The fixed datasets: BBH (option letters, yes/no), GSM-Hard (1e-3 relative), MATH (symbolic)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from csteer.symbench.base import Sample, get_task
from csteer.symbench.loader import load_samples
from csteer.symbench.tasks.math_dataset import check_math, last_boxed

DATE_INPUT = (
    "Today is Christmas Eve of 1937. What is the date tomorrow in MM/DD/YYYY?\nOptions:\n"
    "(A) 12/11/1937\n(B) 12/25/1937\n(C) 01/04/1938\n(D) 12/04/1937\n(E) 12/25/2006\n(F) 07/25/1937"
)
MALFORMED = [
    "",
    "<<<>>>",
    "x" * 200_000,
    "<<<" + "(" * 5000 + ">>>",
    "<<<__import__('os').system('id')>>>",
    "<<<\x00>>>",
]


def _bbh_root(tmp_path: Path) -> Path:
    bbh = tmp_path / "BIG-Bench-Hard" / "bbh"
    bbh.mkdir(parents=True)
    examples = {
        "date_understanding.json": [{"input": DATE_INPUT, "target": "(B)"}],
        "web_of_lies.json": [
            {"input": "Question: Sherrie tells the truth. Does Sherrie tell the truth?", "target": "Yes"}
        ],
        "navigate.json": [
            {"input": "Take 1 step forward. Take 1 step backward.\nOptions:\n- Yes\n- No", "target": "Yes"}
        ],
        "logical_deduction_seven_objects.json": [{"input": "...\nOptions:\n(A) a\n(B) b", "target": "(A)"}],
    }
    for name, rows in examples.items():
        (bbh / name).write_text(json.dumps({"canary": "x", "examples": rows}))
    return tmp_path


def test_bbh_loads_every_file(tmp_path: Path) -> None:
    found = load_samples(_bbh_root(tmp_path))
    assert {k: len(v) for k, v in found.items()} == {
        "date_understanding": 1,
        "web_of_lies": 1,
        "navigation": 1,
        "logical_deduction": 1,
    }
    assert found["date_understanding"][0].id == "date_understanding/0"
    assert "<<<" in found["date_understanding"][0].question


@pytest.mark.parametrize(
    ("answer", "correct"),
    [
        ("<<<(B)>>>", True),
        ("<<<B>>>", True),
        ("B)", True),
        ("b", True),
        ("The answer is (B).", True),
        ("<<<(B) 12/25/1937>>>", True),
        ("<<<12/25/1937>>>", True),  # the option's text alone
        ("<<<(A)>>>", False),
        ("<<<(B) 12/11/1937>>>", False),  # letter and text disagree
        ("<<<(G)>>>", False),  # not an option
        ("<<<12/26/1937>>>", False),
        ("<<<B or C>>>", False),
    ],
)
def test_option_letters(tmp_path: Path, answer: str, correct: bool) -> None:
    task = get_task("date_understanding")
    sample = next(task.load_dir(_bbh_root(tmp_path)))
    verdict = task.verify(sample, answer)
    assert verdict.correct is correct, verdict.reason
    assert verdict.reason


@pytest.mark.parametrize(
    ("answer", "correct"),
    [
        ("<<<Yes>>>", True),
        ("yes.", True),
        ("Answer: YES", True),
        ("<<<No>>>", False),
        ("Yes, no", False),
        ("True", False),
    ],
)
def test_yes_no(tmp_path: Path, answer: str, correct: bool) -> None:
    task = get_task("web_of_lies")
    sample = next(task.load_dir(_bbh_root(tmp_path)))
    assert task.verify(sample, answer).correct is correct


@pytest.mark.parametrize("task_id", ["date_understanding", "web_of_lies", "navigation", "logical_deduction"])
def test_bbh_malformed_answers(tmp_path: Path, task_id: str) -> None:
    task = get_task(task_id)
    sample = next(task.load_dir(_bbh_root(tmp_path)))
    for answer in MALFORMED:
        verdict = task.verify(sample, answer)
        assert not verdict.correct and verdict.reason


GSM = get_task("gsm_hard")


def _gsm(target: float) -> Sample:
    return Sample("gsm_hard", "gsmhardv2/0", "q", str(target), {"target": target})


@pytest.mark.parametrize(
    ("target", "answer", "correct"),
    [
        (-9867630.0, "<<<-9867630>>>", True),
        (-9867630.0, "<<<-9,867,630.00>>>", True),
        (-9867630.0, "<<<-9867000>>>", True),  # within 1e-3 relative
        (-9867630.0, "<<<-9857000>>>", False),  # 1.08e-3 off
        (-9867630.0, "<<<9867630>>>", False),
        (3244047.0999999996, "<<<$3244047.1>>>", True),
        (14053029.666666666, "<<<14053029.67 dollars>>>", True),
        (0.0, "<<<0>>>", True),
        (0.0, "<<<0.0001>>>", False),
        (125.0, "<<<125 or 126>>>", False),  # two numbers: ambiguous
        (125.0, "<<<x = 125>>>", True),
        (125.0, "<<<1000/8>>>", True),
        (1.0, "<<<" + "9" * 5000 + ">>>", False),
    ],
)
def test_gsm_hard_numeric_tolerance(target: float, answer: str, correct: bool) -> None:
    verdict = GSM.verify(_gsm(target), answer)
    assert verdict.correct is correct, verdict.reason


def test_gsm_hard_malformed() -> None:
    for answer in MALFORMED:
        verdict = GSM.verify(_gsm(5.0), answer)
        assert not verdict.correct and verdict.reason


def test_gsm_hard_loads_jsonl(tmp_path: Path) -> None:
    (tmp_path / "gsmhardv2.jsonl").write_text(
        json.dumps({"input": "How many?", "code": "x", "target": 7.0}) + "\n\n"
    )
    (sample,) = load_samples(tmp_path)["gsm_hard"]
    assert sample.solution == "7" and sample.id == "gsmhardv2/0"
    assert GSM.verify(sample, GSM.reference_answer(sample)).correct


def test_last_boxed_balances_braces() -> None:
    assert last_boxed(r"so \boxed{\frac{1}{2}} and then \boxed{\dfrac{a}{b^{2}}}.") == r"\dfrac{a}{b^{2}}"
    assert last_boxed("no box") is None
    assert last_boxed(r"\boxed{unclosed") is None


@pytest.mark.parametrize(
    ("gold", "answer", "correct"),
    [
        ("(18, -18)", "(18,-18)", True),
        ("(18, -18)", "(-18, 18)", False),
        (r"\frac{3}{4}", "3/4", True),
        (r"\frac{3}{4}", "0.75", True),
        (r"\frac{3}{4}", "0.7504", True),  # the reference's 1e-3 relative rule
        (r"\frac{3}{4}", "0.76", False),
        (r"5\sqrt{13}", "5*sqrt(13)", True),
        (r"5\sqrt{13}", r"\sqrt{325}", True),
        (r"5\sqrt{13}", "18.0278", True),
        (r"5\sqrt{13}", r"5\sqrt{12}", False),
        ("10", r"10\text{ inches}", True),
        ("10", r"\boxed{10}", True),
        ("10", "$10$", True),
        (r"\text{(C)}", "(C)", True),
        (r"\text{(C)}", "(D)", False),
        (r"30^\circ.", "30", True),
        (r"\dfrac{1}{29,\!322,\!216}", "1/29322216", True),
        (r"AB=12+12\sqrt{3}", r"12+12\sqrt{3}", True),
        (r"AB=12+12\sqrt{3}", r"12\sqrt{3}", False),
        (r"178\%", "178", True),
        ("1", "__import__('os').system('echo pwned')", False),
    ],
)
def test_math_equivalence(gold: str, answer: str, correct: bool) -> None:
    verdict = check_math(gold, f"<<<{answer}>>>")
    assert verdict.correct is correct, verdict.reason
    assert verdict.reason


def test_math_malformed() -> None:
    for answer in [*MALFORMED, "<<<" + r"\frac{" * 400 + ">>>", "<<<}}}{{{>>>"]:
        verdict = check_math(r"\frac{1}{2}", answer)
        assert not verdict.correct and verdict.reason


def test_math_sample_without_a_boxed_answer_is_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "MATH" / "train" / "geometry"
    folder.mkdir(parents=True)
    (folder / "3.json").write_text(
        json.dumps({"problem": "p", "level": "Level 1", "type": "Geometry", "solution": "no box"})
    )
    task = get_task("math_geometry")
    (sample,) = task.load_dir(tmp_path)
    assert sample.id == "MATH/train/geometry/3" and sample.solution is None
    assert task.reference_answer(sample) is None
    assert not task.verify(sample, "<<<1>>>").correct


def test_fixed_datasets_load_in_full(symbench_data: Path) -> None:
    found = load_samples(
        symbench_data,
        [
            "date_understanding",
            "web_of_lies",
            "logical_deduction",
            "navigation",
            "gsm_hard",
            "math_geometry",
            "math_counting_probability",
        ],
    )
    sizes = {k: len(v) for k, v in found.items()}
    assert sizes == {
        "date_understanding": 250,
        "web_of_lies": 250,
        "logical_deduction": 250,
        "navigation": 250,
        "gsm_hard": 1319,
        "math_geometry": 640,
        "math_counting_probability": 587,
    }
    # every MATH reference answer is readable by the symbolic checker (not only by text equality)
    from csteer.symbench.tasks.math_dataset import _parse, gold_alternatives

    for task_id in ("math_geometry", "math_counting_probability"):
        for sample in found[task_id]:
            assert any(_parse(g) for g in gold_alternatives(sample.solution)), sample.id
