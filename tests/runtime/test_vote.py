"""Sample and vote, programs that can run, and the evidence gate, with scripted models and the real
sandbox: what is drawn, what is rejected, which answer wins, and when the coach may not return it."""

from __future__ import annotations

import pytest

from csteer.runtime.extract import is_placeholder
from csteer.runtime.loop import SteeringLoop, withheld_because
from csteer.runtime.prompts import CODE_PROMPT
from csteer.runtime.record import Candidate, Turn
from csteer.runtime.sessions import PROGRAM_CLOSE, PROGRAM_OPEN
from csteer.runtime.settings import RunSettings, sandbox_limits
from csteer.runtime.vote import (
    add_missing_imports,
    conform,
    copies_example,
    echoes_question,
    normalise,
    prose_answer,
    screen_program,
    tally,
)
from csteer.sandbox import Sandbox
from tests.scripted import Call, ScriptedEngine

RIGHT = "print(f'<<<{6 * 7}>>>')"
WRONG = "print(f'<<<{6 + 7}>>>')"
BROKEN = "print(f'<<{6 * 7>>>}')"  # the mangled marker the embedded model writes: a syntax error
CRASH = "print(undefined_name)"
TEMPLATE = "print('<<<answer>>>')"
ECHO = "answer = 6\nprint(f'<<<{answer}>>>')"  # a number of the question handed back
UNFORMATTED = "answer = 6 * 7\nprint('<<<{answer}>>>')"  # the f forgotten: prints the template
CHECK_OK = "print('Correct')"
CHECK_WRONG = "print('Wrong: it is 13')"


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox(sandbox_limits(10))


def base_task(programs: list[str], check: str = CHECK_OK) -> ScriptedEngine:
    """A base task model: program bodies in order for code turns; `check` for self-checks."""
    queue = list(programs)

    def reply(call: Call) -> str:
        if "Check:" in call.text.rsplit("Question:", 1)[-1]:
            return f"```python\n{check}\n```"
        if not call.text.endswith(PROGRAM_OPEN):  # a text turn
            return "Six sevens make 42. <<<42>>>"
        return queue.pop(0)

    return ScriptedEngine([reply] * 40, kind="base", name="task")


def loop(task: ScriptedEngine, coach: ScriptedEngine, sandbox: Sandbox, **settings: object) -> SteeringLoop:
    return SteeringLoop(task, coach, sandbox, RunSettings(policy="codesteer", **settings))  # type: ignore[arg-type]


def program_calls(task: ScriptedEngine) -> list[Call]:
    return [c for c in task.calls if c.text.endswith(PROGRAM_OPEN)]


def test_the_answer_most_candidates_agree_on_wins(sandbox: Sandbox) -> None:
    task = base_task([BROKEN, UNFORMATTED, WRONG, RIGHT, RIGHT, RIGHT])
    coach = ScriptedEngine(kind="base", choices=[0, 0], name="coach")  # Code, then Return Answer
    run = loop(task, coach, sandbox, candidates=3, seed=7).run("What is 6 * 7?")
    assert run.answer == "42" and run.stop_reason == "return_answer"
    turn = run.turns[0]
    assert [c.answer for c in turn.candidates] == [None, None, "13", "42", "42"]
    assert "template" in turn.candidates[1].reason
    assert turn.candidates[0].status == "rejected" and "does not parse" in turn.candidates[0].reason
    assert turn.agreement == pytest.approx(2 / 3)
    assert turn.code == RIGHT  # the turn shows a program that voted for the winner
    calls = program_calls(task)
    assert len(calls) == 5  # three votes wanted; the unparsable and the template draws were replaced
    # the first draw is the run's own (greedy), the others sampled with distinct fixed seeds
    assert calls[0].temperature == 0.0 and all(c.temperature > 0 for c in calls[1:])
    assert len({c.seed for c in calls}) == 5
    # the program turn is handed the opening fence and stops at the closing one
    assert all(c.stop is not None and PROGRAM_CLOSE in c.stop for c in calls)
    record = run.to_dict()["turns"][0]
    assert record["candidates"][2] == {"answer": "13", "status": "ok", "reason": "", "code": WRONG}


def test_a_settled_vote_stops_drawing(sandbox: Sandbox) -> None:
    task = base_task([RIGHT] * 5)
    coach = ScriptedEngine(kind="base", choices=[0, 0], name="coach")
    run = loop(task, coach, sandbox, candidates=5).run("What is 6 * 7?")
    assert run.answer == "42"
    assert len(program_calls(task)) == 3  # three of five agreeing is a majority no draw can change


def test_draws_are_bounded_and_a_turn_without_votes_is_withheld(sandbox: Sandbox) -> None:
    task = base_task([TEMPLATE, ECHO] + [RIGHT] * 4)
    coach = ScriptedEngine(kind="base", choices=[0, 0, 0], name="coach")  # Code, (Code), Return Answer
    run = loop(task, coach, sandbox, candidates=2, max_turns=2).run("What is 6 * 7?")
    first = run.turns[0]
    assert len(first.candidates) == 2  # as many draws as votes wanted and not one vote: the turn gives up
    assert [c.status for c in first.candidates] == ["rejected", "rejected"]
    assert "template" in first.candidates[0].reason
    assert "hands back 6 from the question" in first.candidates[1].reason
    reason = (
        "gave no answer (2 attempts: copies the answer template literally; "
        "hands back 6 from the question instead of computing the answer)"
    )
    assert first.answer is None and first.withheld == reason
    # the coach could only choose a retry: its options had no Return Answer, and the retry names why
    options = coach.calls[1].options
    assert options is not None and not any("Return Answer" in o for o in options)
    assert run.turns[1].guidance == f"The previous attempt {reason}. {CODE_PROMPT}"
    assert run.answer == "42" and run.stop_reason == "return_answer"


def test_draws_go_on_while_short_of_a_majority(sandbox: Sandbox) -> None:
    task = base_task([TEMPLATE, RIGHT, CRASH, ECHO, RIGHT, RIGHT])
    coach = ScriptedEngine(kind="base", choices=[0, 0], name="coach")
    run = loop(task, coach, sandbox, candidates=3, max_turns=1).run("What is 6 * 7?")
    first = run.turns[0]
    # two agreeing votes settle three wanted; the failed draws in between are replaced, not counted
    assert len(first.candidates) == 5 and first.answer == "42" and first.agreement == 1.0
    assert "NameError" in first.candidates[2].reason


def test_a_checked_wrong_answer_is_not_returned_while_turns_are_left(sandbox: Sandbox) -> None:
    task = base_task([RIGHT] * 10, check=CHECK_WRONG)
    coach = ScriptedEngine(kind="base", choices=[0] * 6, name="coach")  # always the first option
    run = loop(task, coach, sandbox, candidates=1, max_turns=2).run("What is 6 * 7?")
    judged = "was judged wrong by the checker (Wrong: it is 13)"
    assert [t.withheld for t in run.turns] == [judged, judged, None]  # the last turn is not reviewed
    assert run.stop_reason == "max_turns" and len(run.turns) == 3


def test_the_gate_names_each_kind_of_failure() -> None:
    def turn(**fields: object) -> Turn:
        return Turn(index=0, coach_action="Code", guidance="", **fields)  # type: ignore[arg-type]

    assert withheld_because(turn(answer="42")) is None
    assert withheld_because(turn()) == "gave no answer"
    split = [Candidate("1", "ok"), Candidate("2", "ok"), Candidate("3", "ok")]
    disputed = withheld_because(turn(answer="1", candidates=split, agreement=1 / 3))
    assert disputed == "gave answers that disagree (1 of 3 agree on '1')"
    agreed = [Candidate("1", "ok"), Candidate("1", "ok"), Candidate("3", "ok")]
    assert withheld_because(turn(answer="1", candidates=agreed, agreement=2 / 3)) is None
    wrong_kind = withheld_because(turn(answer="Tuesday"), "How many days are in a week?")
    assert wrong_kind == "answers 'Tuesday', not a number as the question asks"


def test_an_answer_of_the_wrong_kind_does_not_vote_and_is_not_returned(sandbox: Sandbox) -> None:
    # "how many" answered with a date (date.today()) twice: both rejected after the run, the number wins
    date = "import datetime\nanswer = datetime.date(2026, 12, 7)\nprint(f'<<<{answer}>>>')"
    seven = "answer = 7\nprint(f'<<<{answer}>>>')"
    task = base_task([date, date, seven, seven])
    coach = ScriptedEngine(kind="base", choices=[0, 0], name="coach")
    run = loop(task, coach, sandbox, candidates=3, max_turns=1).run("How many days are in a week?")
    first = run.turns[0]
    assert [c.answer for c in first.candidates] == [None, None, "7", "7"]
    assert first.candidates[0].status == "rejected"
    assert first.candidates[0].reason == "answers '2026-12-07', not a number as the question asks"
    assert run.answer == "7"
    # one greedy attempt (no vote): the answer stands in the record, but the gate withholds it
    task = base_task([date, seven])
    coach = ScriptedEngine(kind="base", choices=[0, 0, 0], name="coach")
    run = loop(task, coach, sandbox, candidates=1, max_turns=1, self_check=False).run(
        "How many days are in a week?"
    )
    assert run.turns[0].answer == "2026-12-07"
    assert run.turns[0].withheld == "answers '2026-12-07', not a number as the question asks"
    assert run.answer == "7" and len(run.turns) == 2


def test_three_voted_turns_without_an_answer_end_the_run(sandbox: Sandbox) -> None:
    # every program crashes and every text reply marks nothing: code and text both tried, then it stops
    def never(call: Call) -> str:
        return CRASH if call.text.endswith(PROGRAM_OPEN) else "I am not sure."

    task = ScriptedEngine([never] * 60, kind="base", name="task")
    coach = ScriptedEngine(kind="base", choices=[0] * 10, name="coach")  # the first option each time
    run = loop(task, coach, sandbox, candidates=2, max_turns=5).run("What is 6 * 7?")
    assert run.answer is None and run.stop_reason == "no_answer" and len(run.turns) == 3
    assert {t.coach_action for t in run.turns} == {"Code", "Text"}
    # one greedy attempt per turn (no vote): the coach alone decides, up to max_turns
    task = ScriptedEngine([never] * 60, kind="base", name="task")
    coach = ScriptedEngine(kind="base", choices=[0] * 10, name="coach")
    run = loop(task, coach, sandbox, candidates=1, max_turns=3, self_check=False).run("What is 6 * 7?")
    assert run.answer is None and run.stop_reason == "max_turns" and len(run.turns) == 4


def test_screen_and_tally_rules() -> None:
    assert screen_program(None) == "no program in the reply"
    assert screen_program("for x in") is not None and "parse" in str(screen_program("for x in"))
    assert screen_program(TEMPLATE) is None  # it runs: a value printed beside the placeholder is read
    assert screen_program(RIGHT) is None
    assert is_placeholder("{answer}") and is_placeholder(" answer ") and not is_placeholder("42")
    assert normalise(" 1,3 , 5 ") == normalise("1, 3, 5") and normalise("25.0") == normalise("25")
    assert normalise("Paris.") == normalise("paris") and normalise("12") != normalise("21")
    votes = [Candidate("13", "ok"), Candidate("42", "ok"), Candidate(None, "error"), Candidate("42.0", "ok")]
    assert tally(votes) == ("42", 2, 3)
    assert tally([Candidate("a", "ok"), Candidate("b", "ok")])[0] == "a"  # a tie goes to the first draw


def test_one_candidate_is_the_single_greedy_attempt(sandbox: Sandbox) -> None:
    task = base_task([RIGHT])
    coach = ScriptedEngine(kind="base", choices=[0, 0], name="coach")
    run = loop(task, coach, sandbox, candidates=1, self_check=False).run("What is 6 * 7?")
    assert run.answer == "42" and run.turns[0].candidates == [] and run.turns[0].agreement is None
    assert len(program_calls(task)) == 1


def test_an_approach_withheld_twice_in_a_row_is_not_offered_a_third_time() -> None:
    from csteer.runtime.loop import retry_kinds

    def turn(action: str, withheld: str | None) -> Turn:
        return Turn(index=0, coach_action=action, guidance="", withheld=withheld)

    assert retry_kinds([turn("Code", "gave no answer")]) == ("code", "text")
    assert retry_kinds([turn("Code", "x"), turn("Code", "y")]) == ("text",)
    assert retry_kinds([turn("Text", "x"), turn("Text", "y")]) == ("code",)
    assert retry_kinds([turn("Code", "x"), turn("Text", "y")]) == ("code", "text")
    assert retry_kinds([turn("Code", None), turn("Code", "y")]) == ("code", "text")


def test_repeated_answers_end_a_voting_run(sandbox: Sandbox) -> None:
    # the coach would go on choosing Code for ever; the same answer twice, unopposed, is returned
    task = base_task([RIGHT] * 20)
    coach = ScriptedEngine(kind="base", choices=[0] + [1] * 10, name="coach")  # Code, then always Code
    run = loop(task, coach, sandbox, candidates=2, max_turns=5).run("What is 6 * 7?")
    assert run.stop_reason == "repeated_answer" and len(run.turns) == 2 and run.answer == "42"
    # checked wrong every time: retried (the gate), and stopped when a third turn brings the same answer
    task = base_task([RIGHT] * 20, check=CHECK_WRONG)
    coach = ScriptedEngine(kind="base", choices=[0] * 10, name="coach")
    run = loop(task, coach, sandbox, candidates=2, max_turns=5).run("What is 6 * 7?")
    assert run.stop_reason == "no_progress" and len(run.turns) == 3 and run.answer == "42"
    # one greedy attempt per turn (no vote): the coach alone decides when to stop
    task = base_task([RIGHT] * 20)
    coach = ScriptedEngine(kind="base", choices=[0] + [1] * 10, name="coach")
    run = loop(task, coach, sandbox, candidates=1, max_turns=3, self_check=False).run("What is 6 * 7?")
    assert run.stop_reason == "max_turns" and len(run.turns) == 4


def test_a_missing_standard_import_is_added_and_nothing_else_changes() -> None:
    assert add_missing_imports("answer = math.gcd(84, 126)") == "import math\nanswer = math.gcd(84, 126)"
    fixed = add_missing_imports("x = statistics.median([1, 2]) + datetime.date(2000, 1, 1).year")
    assert fixed.splitlines()[:2] == ["import datetime", "import statistics"]
    for unchanged in (
        "import math\nanswer = math.pi",
        "from math import gcd\nanswer = gcd(4, 6)",
        "def f(math):\n    return math.pi",  # a parameter named like the module
        "os.system('ls')",  # not a module it adds
        "for x in",  # does not parse: left to the screen
    ):
        assert add_missing_imports(unchanged) == unchanged


def test_a_program_copied_from_an_example_is_recognised() -> None:
    examples = ["What is 4!?", "Reverse the word drawer."]
    assert copies_example("import math\nanswer = math.factorial(4)", "What is 7!?", examples) is not None
    assert copies_example("answer = 'drawer'[::-1]", "Reverse the string stressed.", examples) is not None
    # the question's own numbers and words, and structural constants, are not copies
    assert copies_example("import math\nanswer = math.factorial(7)", "What is 7!?", examples) is None
    assert copies_example("answer = 'stressed'[::-1]", "Reverse the string stressed.", examples) is None
    assert copies_example("answer = sum(range(1, 4 + 1))", "Add the numbers from 1 to 4.", examples) is None
    assert copies_example("answer = int(10 ** 0.5) + 2", "What is 10?", examples) is None


def test_true_and_false_become_yes_and_no_only_when_asked_so() -> None:
    assert conform("True", "Is 97 a prime number? Answer yes or no.") == "yes"
    assert conform("False", "Is 2023 a leap year? Answer yes or no.") == "no"
    assert conform("True", "Is the statement true?") == "True"
    assert conform("42", "Answer yes or no: how old?") == "42"


def test_a_base_program_ends_at_the_marker_line() -> None:
    from csteer.runtime.sessions import TaskSession
    from csteer.runtime.shots import MARKER_LINE

    # the engine stopped at the marker line (a stop string is not part of the text): it is put back
    task = ScriptedEngine(["answer = 6 * 7\n", "x = 6 * 7\nprint(x)\n"], kind="base")
    session = TaskSession(task, "What is 6 * 7?")
    drafted = session.draft(CODE_PROMPT, program=True)
    assert MARKER_LINE in (task.calls[0].stop or []) and PROGRAM_CLOSE in (task.calls[0].stop or [])
    assert drafted.text == f"{PROGRAM_OPEN}answer = 6 * 7\n{MARKER_LINE}{PROGRAM_CLOSE}"
    # a program that prints its own way and assigns no `answer` is left as written
    other = session.draft(CODE_PROMPT, program=True)
    assert other.text == f"{PROGRAM_OPEN}x = 6 * 7\nprint(x){PROGRAM_CLOSE}"


def test_a_free_reply_that_stopped_inside_its_program_is_closed() -> None:
    from csteer.runtime.sessions import TaskSession
    from csteer.runtime.shots import MARKER_LINE

    replies = ["```python\nanswer = 6 * 7\n", "It is 42. <<<42>>>", "```python\nx = 1\n"]
    task = ScriptedEngine(replies, kind="base")
    session = TaskSession(task, "What is 6 * 7?")
    stopped = session.draft(CODE_PROMPT)
    assert MARKER_LINE in (task.calls[0].stop or [])
    assert stopped.text == f"```python\nanswer = 6 * 7\n{MARKER_LINE}{PROGRAM_CLOSE}"
    assert session.draft(CODE_PROMPT).text == "It is 42. <<<42>>>"  # a text reply: as it came
    assert session.draft(CODE_PROMPT).text == "```python\nx = 1\n"  # no answer assigned: as it came


def test_a_program_that_hands_back_the_questions_own_value_is_an_echo() -> None:
    assert echoes_question("import math\nanswer = 10", "What is 10 factorial?") is not None
    assert echoes_question("answer = 'stressed'", "Reverse the string stressed.") is not None
    assert echoes_question("answer = 1764.0", "What is the square root of 1764?") is not None
    # computed, or a constant the question does not name (a fact the model knows): not an echo
    assert echoes_question("import math\nanswer = math.factorial(10)", "What is 10 factorial?") is None
    assert echoes_question("answer = 'stressed'[::-1]", "Reverse the string stressed.") is None
    assert echoes_question("answer = 7", "How many days are in a week?") is None
    assert echoes_question("answer = 10\nanswer += 1", "What is 10 plus 1?") is None
    assert echoes_question("print(10)", "What is 10 factorial?") is None  # no `answer`: not judged here


def test_a_sentence_written_for_a_program_votes_as_a_text_answer(sandbox: Sandbox) -> None:
    """A small model asked for code on a fact question writes the fact as a sentence inside the code
    fence: not a program, but its marked answer is the model's text answer and votes as one."""
    said = "gold's symbol comes from the Latin aurum. <<<Au>>>"
    task = base_task([said, "answer = 79\nprint(f'<<<{answer}>>>')", said, said])
    coach = ScriptedEngine(kind="base", choices=[0, 0], name="coach")  # Code, then Return Answer
    run = loop(task, coach, sandbox, candidates=3).run("What is the chemical symbol for gold?")
    assert run.answer == "Au"
    votes = run.turns[0].candidates
    assert [(c.answer, c.status) for c in votes] == [("Au", "text"), ("79", "ok"), ("Au", "text")]
    assert votes[0].code is not None and votes[0].reason == ""


def test_what_a_sentence_answer_is_not() -> None:
    question = "What is 10 factorial?"
    assert prose_answer("ten factorial is big. <<<3628800>>>", question) == "3628800"
    assert prose_answer("answer = 10\nprint(f'<<<{answer}>>>')", question) is None  # a program
    assert prose_answer("10 factorial is <<<10>>>", question) is None  # the question's own value
    assert prose_answer("it's <<<answer>>>", question) is None  # the template
    assert prose_answer("it's <<<{math.factorial(10)}>>>", question) is None  # a fragment of code
    assert prose_answer("it's a big number", question) is None  # nothing marked
    assert prose_answer(None, question) is None
