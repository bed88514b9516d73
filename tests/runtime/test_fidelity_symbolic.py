"""The reference-compatible symbolic summary equals the reference's own output on fixed programs.

data/reference_symbolic.json holds, for programs written for this test, the text and score that the
reference's symbolic_code_check.py (commit 2a7750d of yongchao98/CodeSteer-v1.0) produced once, with the
runner's `<= 2` note appended. The trained coach was shown exactly these texts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from csteer.runtime.checkers import TRIVIAL_NOTE, reference_summary, symbolic_check

GOLDEN = json.loads((Path(__file__).parent / "data" / "reference_symbolic.json").read_text(encoding="utf-8"))


def test_enough_fixed_programs() -> None:
    assert len(GOLDEN) >= 6


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_summary_equals_the_reference(name: str) -> None:
    case = GOLDEN[name]
    summary = reference_summary(case["code"])
    assert summary.text == case["summary"]
    assert summary.score == case["score"]


def test_scale_differs_from_the_ast_checker() -> None:
    """A Game-24 search: 5.25 on the reference's scale, 8.25 on csteer's AST one (other profiles)."""
    code = GOLDEN["game24_search"]["code"]
    assert reference_summary(code).score == 5.25
    assert symbolic_check(code).score == 8.25


def test_note_at_two_or_below() -> None:
    assert reference_summary("for i in range(3):\n    print(i)\n").text.endswith(TRIVIAL_NOTE)  # score 1.0
    two = "x = 1\nif x:\n    print(x)\nelse:\n    print(0)\n"  # if + else = 2.0: noted (<= 2)
    assert reference_summary(two).score == 2.0 and reference_summary(two).text.endswith(TRIVIAL_NOTE)
    assert not reference_summary(GOLDEN["two_loops"]["code"]).text.endswith(TRIVIAL_NOTE)  # 2.25
