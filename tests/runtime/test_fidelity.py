"""Golden tests: the codesteer-v1 profile drives the trained coach exactly on the reference's interface.

Scripted models, the real sandbox. For each trajectory the coach's messages and what the task model
receives are compared, whole, with the reference's layout (benchmark/run_Logic_Game_CodeSteer_test.py,
llama branch; generation_models.py), filled with csteer's wording or with a test-written prompt.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from csteer.runtime import prompts
from csteer.runtime.assemble import coach_profile
from csteer.runtime.checkers import reference_summary
from csteer.runtime.loop import SteeringLoop
from csteer.runtime.settings import RunSettings, sandbox_limits
from csteer.sandbox import Sandbox, SandboxError
from tests.scripted import Call, ScriptedEngine

V1 = prompts.PROFILES["codesteer-v1"]
TEXTS = V1.interface.texts if V1.interface else {}
Q = "What is 6 * 7?"
PROGRAM = "Sure.\n```python\nprint(f'<<<{6 * 7}>>>')\n```"
CHECKER = "```python\nprint('Correct')\n```"
CLOSING = "The final returned guidance prompt should be of the format <<<guidance prompt content>>>."
TRAINED_PY = '''"""A stand-in for CodeSteer's prompt.py, written by the test."""
code_text_choice_prompt = f"""CHOICE: answer <<<Code>>> or <<<Text>>>.
"""
with_COT_code_output_prompt = """CODE PROMPT"""
text_output_prompt = """TEXT PROMPT"""
Code_checker_prompt = f"""CHECKER PROMPT"""
decision_prompt = """unused"""
'''


def is_check(call: Call) -> bool:
    return "Your checking code:" in call.text


def task_engine(*replies: str, checker: str = CHECKER) -> ScriptedEngine:
    """Task replies in order; every checking request gets `checker`."""
    queue = list(replies)

    def reply(call: Call) -> str:
        return checker if is_check(call) else queue.pop(0)

    return ScriptedEngine([reply] * 20, name="task")


def review(response: str, check: str, summary: str | None) -> str:
    complexity = f"The summary of generated code complexity is: {summary}\n\n" if summary is not None else ""
    return (
        f"The response from TaskLLM is: {response}\n\nThe feedback from the checking agent is:\n{check}\n\n"
        f"{complexity}{CLOSING}"
    )


def execution(stdout: str, stderr: str) -> str:
    return f"\nThe execution result from the generated code is:\noutput: {stdout}, errors: {stderr}"


def check_request(checker: str, response: str) -> str:
    return f"{checker}\nThe question is:\n{Q}\nThe response is:\n{response}\nYour checking code:\n"


def task_turns(task: ScriptedEngine) -> list[Call]:
    return [c for c in task.calls if not is_check(c)]


def warm(sandbox: Sandbox) -> Sandbox:
    """Start the warm worker before a test's clock matters (a cold start on a busy machine is slow)."""
    try:
        sandbox.run("pass")
    except SandboxError:
        sandbox.run("pass")
    return sandbox


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return warm(Sandbox(sandbox_limits(10)))


def run_v1(task: ScriptedEngine, coach: ScriptedEngine, sandbox: Sandbox, profile=V1, **settings):  # type: ignore[no-untyped-def]
    return SteeringLoop(task, coach, sandbox, RunSettings(**settings), profile=profile).run(Q)


def test_code_trajectory_and_return_answer_in_prose(sandbox: Sandbox) -> None:
    first = "This needs exact arithmetic, so code is the safer choice.\n<<<Code>>>"
    coach = ScriptedEngine(
        [first, "The program and the checker agree. Return Answer: verified"], name="coach"
    )
    task = task_engine(PROGRAM)
    run = run_v1(task, coach, sandbox, code_timeout=2)
    assert run.answer == "42" and run.stop_reason == "return_answer"

    choice = TEXTS["choice"]
    assert coach.calls[0].messages == [{"role": "user", "content": choice + Q}]
    shown = PROGRAM + execution("<<<42>>>\n", "")
    expected_review = review(shown, "output: Correct\n", reference_summary("print(f'<<<{6 * 7}>>>')").text)
    assert coach.calls[1].messages == [
        {"role": "user", "content": choice + Q},
        {"role": "assistant", "content": first},  # the raw reply, kept as its turn
        {"role": "user", "content": expected_review},
    ]
    # the task model's first message: the coach's raw reply, then the question, no separator
    assert task_turns(task)[0].messages == [{"role": "user", "content": first + Q}]
    # the checking agent saw the whole response with its execution result
    checks = [c for c in task.calls if is_check(c)]
    assert [c.messages for c in checks] == [
        [{"role": "user", "content": check_request(TEXTS["checker"], shown)}]
    ]
    # decoding: the coach sampled as trained, free text; the task model greedy with 2000 tokens
    assert {(c.temperature, c.top_p, c.top_k, c.max_tokens, c.grammar) for c in coach.calls} == {
        (0.95, 0.7, 50, 1024, None)
    }
    assert {(c.temperature, c.max_tokens) for c in task.calls} == {(0.0, 2000)}


def test_text_trajectory_has_no_execution_or_summary(sandbox: Sandbox) -> None:
    first = "Plain reasoning suffices. <<<Text>>>"
    answer = "6 times 7 is 42. <<<42>>>"
    coach = ScriptedEngine([first, "Double-check in text. <<<Text>>>"], name="coach")
    task = task_engine(answer, "Still 42. <<<42>>>")
    run = run_v1(task, coach, sandbox, max_turns=1)
    assert [t.coach_action for t in run.turns] == ["Text", "Text"]
    assert coach.calls[1].messages[-1]["content"] == review(answer, "output: Correct\n", None)
    # <<<Text>>> becomes the standard text prompt, sent alone as the next user message
    assert task_turns(task)[1].messages[-1] == {"role": "user", "content": TEXTS["text"]}
    assert len(coach.calls) == 2  # the last answer is never reviewed
    assert run.answer == "42" and run.stop_reason == "max_turns"


def test_timeout_is_reported_in_errors() -> None:
    spin = "```python\nwhile True:\n    pass\n```"
    coach = ScriptedEngine(["<<<Code>>>", "Terminate"], name="coach")
    task = task_engine(spin)
    run = run_v1(task, coach, warm(Sandbox(sandbox_limits(1))), code_timeout=1)
    result = run.turns[0].execution
    assert result is not None and result.status == "timeout"
    timeout = "\nTimeoutExpired: Command '['python3', 'code_1_0.py']' timed out after 1 seconds"
    shown = spin + execution(result.stdout, result.stderr + timeout)
    assert coach.calls[1].messages[-1]["content"].startswith(f"The response from TaskLLM is: {shown}\n\n")
    assert run.stop_reason == "terminate" and run.answer is None


def test_crash_without_answer_is_still_checked_and_guidance_goes_verbatim(sandbox: Sandbox) -> None:
    crash = "```python\nprint(1 / 0)\n```"
    guidance = "The division fails. Compute 6 * 7 and print it in the format <<<answer>>>."
    coach = ScriptedEngine(["<<<Code>>>", guidance], name="coach")
    no_code_checker = "I cannot write a check for this."
    task = task_engine(PROGRAM, crash, checker=no_code_checker)
    run = run_v1(task, coach, sandbox, max_turns=1)
    # the inner <<<answer>>> is no marker to cut at: the task model is sent the reply as written
    assert task_turns(task)[1].messages[-1] == {"role": "user", "content": guidance}
    assert run.turns[1].guidance == guidance and run.turns[1].coach_action == "Guide"
    # the last turn's answer, even though an earlier turn had one
    assert run.turns[0].answer == "42" and run.turns[1].answer is None and run.answer is None
    # the checker ran on the first turn's whole response; no code -> the reference's errors line
    check = coach.calls[1].messages[-1]["content"].split("The feedback from the checking agent is:\n")[1]
    assert check.startswith("errors: \nPrevious attempt failed to generate code. Please try again.\n\n")


def test_crash_feedback_carries_the_traceback(sandbox: Sandbox) -> None:
    crash = "```python\nprint(1 / 0)\n```"
    coach = ScriptedEngine(["<<<Code>>>", "Return Answer"], name="coach")
    failing_checker = "```python\nimport sys\nprint('Wrong')\nsys.stderr.write('bad\\n')\n```"
    task = task_engine(crash, checker=failing_checker)
    run = run_v1(task, coach, sandbox)
    result = run.turns[0].execution
    assert result is not None and result.status == "error" and "ZeroDivisionError" in result.stderr
    shown = crash + execution("", result.stderr)
    summary = reference_summary("print(1 / 0)").text
    assert coach.calls[1].messages[-1]["content"] == review(shown, "output: Wrong\n\nerrors: bad\n", summary)
    # no answer was extracted, yet the checking agent was asked, over the whole response
    assert [c.messages[0]["content"] for c in task.calls if is_check(c)] == [
        check_request(TEXTS["checker"], shown)
    ]


def test_stop_words_match_anywhere_and_code_wins(sandbox: Sandbox) -> None:
    """The reference's order: <<<Code>>> / <<<Text>>> first, then Return Answer / Terminate anywhere."""
    coach = ScriptedEngine(
        ["<<<Code>>>", "Do not Terminate yet: <<<Code>>>", "otherwise Terminate"], name="coach"
    )
    task = task_engine(PROGRAM, PROGRAM)
    run = run_v1(task, coach, sandbox)
    assert [t.coach_action for t in run.turns] == ["Code", "Code"]
    assert task_turns(task)[1].messages[-1] == {"role": "user", "content": TEXTS["code"]}
    assert run.stop_reason == "terminate"


def test_checker_off_and_sampling_overrides(sandbox: Sandbox) -> None:
    coach = ScriptedEngine(["<<<Code>>>", "Return Answer"], name="coach")
    task = task_engine(PROGRAM)
    settings = {"self_check": False, "coach_temperature": 0.0, "coach_top_k": 1, "seed": 5}
    run_v1(task, coach, sandbox, **settings)
    assert not [c for c in task.calls if is_check(c)]
    assert "The feedback from the checking agent is:\n(self-answer check off)\n\n" in coach.calls[1].text
    assert {(c.temperature, c.top_p, c.top_k, c.seed) for c in coach.calls} == {(0.0, 0.7, 1, 5)}


def test_a_test_written_prompt_file_gives_the_trained_texts(sandbox: Sandbox, tmp_path: Path) -> None:
    prompt_py = tmp_path / "prompt.py"
    prompt_py.write_text(TRAINED_PY, encoding="utf-8")
    coach = ScriptedEngine(["Code. <<<Code>>>", "Again <<<Code>>>", "Return Answer"], name="coach")
    profile = coach_profile("codesteer-v1", None, coach, profile_file=str(prompt_py))
    assert profile.interface is not None and profile.interface.trained
    assert str(prompt_py) in profile.source
    task = task_engine(PROGRAM, PROGRAM)
    run_v1(task, coach, sandbox, profile=profile)
    assert coach.calls[0].messages[0]["content"] == "CHOICE: answer <<<Code>>> or <<<Text>>>.\n" + Q
    assert task_turns(task)[1].messages[-1]["content"] == "CODE PROMPT"
    checks = [c.messages[0]["content"] for c in task.calls if is_check(c)]
    assert checks and all(c.startswith("CHECKER PROMPT\nThe question is:\n") for c in checks)


def test_other_profiles_keep_csteer_interface(sandbox: Sandbox) -> None:
    """self: system message, strict parser (prose Terminate is guidance), the answer-only check."""
    coach = ScriptedEngine(
        ["<<<Code>>>", "otherwise Terminate <<<Code>>>", "<<<Return Answer>>>"], name="coach"
    )
    task = ScriptedEngine(
        [lambda c: CHECKER if "checks whether the answer is correct" in c.text else PROGRAM] * 10, name="task"
    )
    run = SteeringLoop(task, coach, sandbox, RunSettings(), profile=prompts.PROFILES["self"]).run(Q)
    assert coach.calls[0].messages[0]["role"] == "system"
    assert run.stop_reason == "return_answer" and len(run.turns) == 2
    assert all(c.top_p is None and c.top_k is None and c.temperature == 0.0 for c in coach.calls)
    assert task.calls[0].messages[0]["content"].startswith(Q)
