"""The per-question few-shot examples of base task models: everyday questions only, never a question of
the everyday test set or of SymBench, chosen the same way every time."""

from __future__ import annotations

import ast
from pathlib import Path

from csteer.bench.everyday import load
from csteer.runtime import prompts, shots
from csteer.sandbox import Sandbox

EVERYDAY = Path(__file__).resolve().parents[1] / "data" / "everyday.jsonl"
HOLDOUT = EVERYDAY.with_name("everyday-holdout.jsonl")


def test_the_pool_holds_no_question_of_the_everyday_sets() -> None:
    asked = {q.question.lower().strip() for q in load(EVERYDAY) + load(HOLDOUT)}
    assert len(asked) >= 70
    assert not asked & {s.question.lower().strip() for s in shots.POOL}


def test_the_pool_holds_no_symbench_question() -> None:
    from csteer.symbench.base import all_tasks
    from csteer.symbench.generate import generate_samples

    pool = [s.question.lower().rstrip("?.") for s in shots.POOL]
    texts = [
        sample.question.lower()
        for name, task in all_tasks().items()
        if task.synthesized
        for sample in generate_samples(name, 3, None, 0)
    ]
    originals = Path(__file__).resolve().parents[2].parent / "shared" / "symbench" / "dataset_gather"
    if originals.is_dir():  # the original samples, where this checkout has them
        texts += [
            f.read_text(errors="replace").lower()
            for f in originals.rglob("*.json")
            if f.stat().st_size < 2**20
        ]
    assert len(texts) > 50
    for text in texts:
        assert not [q for q in pool if q in text]


def test_every_example_program_runs_and_prints_its_answer() -> None:
    sandbox = Sandbox()
    for shot in shots.POOL:
        if shot.code is None:
            assert shot.text.rstrip().endswith(">>>"), shot.question
            continue
        code = shot.response().removeprefix("```python\n").removesuffix("\n```")
        ast.parse(code)
        result = sandbox.run(code)
        assert result.status == "ok" and result.stdout.startswith("<<<"), (shot.question, result)


def test_selection_is_closest_last_with_both_formats_and_stable() -> None:
    chosen = shots.select("What is the capital of Peru?")
    assert chosen[-1].question == "What is the capital of Italy?"
    assert any(s.is_code for s in chosen) and any(not s.is_code for s in chosen)
    # the two capital examples, and one code example to keep that format in view; nothing unrelated
    assert [s.question for s in chosen if not s.is_code] == [
        "What is the capital city of Canada?",
        "What is the capital of Italy?",
    ]
    assert len(chosen) == 3
    assert (
        len(shots.select("How many days are between May 2, 2020 and May 9, 2020?")) == shots.SHOTS_PER_PROMPT
    )
    assert shots.select("What is the capital of Peru?") == chosen
    # a question like none of them still gets both formats
    odd = shots.select("Zyx qwv?")
    assert any(s.is_code for s in odd) and any(not s.is_code for s in odd)


def test_a_sign_meets_the_word_for_it() -> None:
    # "12!" and "12 factorial" ask the same thing, so they are shown the same examples
    by_sign = [s.question for s in shots.select("What is 12!?")]
    by_word = [s.question for s in shots.select("What is 12 factorial?")]
    assert by_sign == by_word and {"What is 4!?", "What is 6 factorial?"} <= set(by_word)
    by_percent = {s.question for s in shots.select("What is 40 percent of 90?")}
    assert {"What is 20% of 150?", "What is 8 percent of 50?"} <= by_percent


def test_the_transcripts_carry_the_chosen_examples() -> None:
    question = "What is the capital of Peru?"
    task = prompts.task_transcript(question, [], prompts.CODE_PROMPT)
    assert "Question: What is the capital of Italy?" in task
    closest = task.rindex("Question: What is the capital of Italy?")
    code_examples = [s for s in shots.select(question) if s.is_code]
    assert code_examples and all(task.index(f"Question: {s.question}") < closest for s in code_examples)
    coach = prompts.coach_transcript(question, [], None)
    assert "Question: What is the capital of Italy?\nDecision: <<<Text>>>" in coach
    assert coach.endswith(f"Question: {question}\nDecision:")


def test_the_coach_sees_as_many_code_as_text_examples_closest_last() -> None:
    chosen = shots.select_for_choice("What is the capital of Peru?")
    assert sum(s.is_code for s in chosen) == sum(not s.is_code for s in chosen) == shots.CHOICE_SHOTS_PER_KIND
    assert "capital" in chosen[-1].question  # the closest example decides last
    # a number in the question is a word shared with every example that names one: a bare product
    # ("3 * 41" has no other word) ends on a computation, not on a fact
    bare = shots.select_for_choice("What is 3 * 41?")
    assert bare[-1].is_code and any(ch.isdigit() for ch in bare[-1].question)
    assert shots.select_for_choice("What is 3 * 41?") == bare  # stable
