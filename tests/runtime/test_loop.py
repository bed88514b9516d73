"""The steering loop's control flow with ScriptedEngines: what each policy sends, runs and stops on.

The real sandbox runs the programs; only the models are scripted. What goes over a wire is tested with
the engines themselves (tests/engines).
"""

from __future__ import annotations

import pytest

from csteer.errors import UsageError
from csteer.runtime.loop import SteeringLoop
from csteer.runtime.policies import POLICIES, POLICY_NAMES, get_policy
from csteer.runtime.settings import RunSettings, sandbox_limits
from csteer.sandbox import Sandbox
from tests.scripted import Call, ScriptedEngine, ScriptExhausted

PROGRAM = "Sure.\n```python\nprint(f'<<<{6 * 7}>>>')\n```"
CHECKER = "```python\nprint('Correct' if 6 * 7 == 42 else 'Wrong')\n```"


def task_replies(call: Call) -> str:
    """The task model: a checking program when asked to check, else the program."""
    return CHECKER if "checks whether the answer is correct" in call.text else PROGRAM


def task_engine(turns: int = 20) -> ScriptedEngine:
    return ScriptedEngine([task_replies] * turns, name="task")


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox(sandbox_limits(10))


def test_codesteer_returns_the_checked_answer(sandbox: Sandbox) -> None:
    task = task_engine()
    coach = ScriptedEngine(["Code fits. <<<Code>>>", "Verified. <<<Return Answer>>>"], name="coach")
    run = SteeringLoop(task, coach, sandbox, RunSettings(policy="codesteer")).run("What is 6 * 7?")
    assert run.answer == "42"
    assert run.stop_reason == "return_answer"
    assert [t.coach_action for t in run.turns] == ["Code"]
    turn = run.turns[0]
    assert turn.execution is not None and turn.execution.status == "ok"
    assert turn.self_check is not None and turn.self_check.correct is True
    assert turn.symbolic is not None and "Complexity score" in turn.symbolic.summary
    # the coach saw the program's output and the checker's verdict in its review message
    review = coach.calls[1].messages[-1]["content"]
    assert "<<<42>>>" in review and "Correct" in review
    # the record serialises with the same keys as before (the CLI's --json, the run log)
    record = run.to_dict()["turns"][0]
    assert record["execution"]["status"] == "ok" and record["self_check"]["correct"] is True
    # where the seconds went: every phase this run had, none it did not; the serial ones within the run
    phases = run.to_dict()["phases"]
    assert set(phases) == {"coach", "draft", "sandbox", "check"}
    assert phases["sandbox"] > 0 and phases["check"] > 0  # real programs (the models are scripted)
    assert phases["coach"] + phases["draft"] + phases["check"] <= run.seconds


def test_guidance_reaches_task_model_and_max_turns_bounds(sandbox: Sandbox) -> None:
    guidance = "Use a loop over range(100) to double check."
    task = task_engine()
    coach = ScriptedEngine(["<<<Code>>>"] + [f"<<<{guidance}>>>"] * 10, name="coach")
    settings = RunSettings(policy="codesteer", max_turns=2, self_check=False)
    run = SteeringLoop(task, coach, sandbox, settings).run("What is 6 * 7?")
    assert run.stop_reason == "max_turns"
    assert len(run.turns) == 3  # turn 0 + 2 review turns
    assert len(coach.calls) == 3  # the last answer is never reviewed
    assert run.turns[1].guidance == guidance
    last = task.calls[-1].messages
    assert guidance in last[-1]["content"]
    # the task model's history grows; the question appears only in its first message
    assert last[0]["content"].startswith("What is 6 * 7?")
    assert sum("What is 6 * 7?" in m["content"] for m in last) == 1


def test_terminate_in_prose_does_not_stop(sandbox: Sandbox) -> None:
    replies = [
        "<<<Code>>>",
        "Keep going, otherwise Terminate would be premature. <<<Code>>>",
        "<<<Terminate>>>",
    ]
    coach = ScriptedEngine(replies, name="coach")
    run = SteeringLoop(task_engine(), coach, sandbox, RunSettings(max_turns=5, self_check=False)).run("6*7?")
    assert run.stop_reason == "terminate"
    assert len(run.turns) == 2
    assert run.answer == "42"


@pytest.mark.parametrize("policy", ["only-question", "all-code", "all-text", "code-first-rule"])
def test_baselines_answer_in_one_turn_without_a_coach(sandbox: Sandbox, policy: str) -> None:
    task = task_engine()
    run = SteeringLoop(task, None, sandbox, RunSettings(policy=policy)).run("What is 6 * 7?")
    assert run.answer == "42"
    assert len(run.turns) == 1 and len(task.calls) == 1  # no self-check outside steered policies
    assert run.coach_model is None and run.turns[0].self_check is None
    expected = get_policy(policy).single_guidance
    if expected:
        assert expected in task.calls[0].messages[0]["content"]


def test_code_first_rule_retries_code_then_text(sandbox: Sandbox) -> None:
    broken = "```python\nprint(1 / 0)\n```"
    task = ScriptedEngine([broken, broken, "It is 42. <<<42>>>"], name="task")
    run = SteeringLoop(task, None, sandbox, RunSettings(policy="code-first-rule")).run("6*7?")
    assert [t.coach_action for t in run.turns] == ["Code (rule)", "Code (rule)", "Text (rule)"]
    assert run.turns[0].execution is not None and run.turns[0].execution.status == "error"
    assert run.turns[0].failed and not run.turns[2].failed
    assert run.answer == "42" and run.stop_reason == "return_answer"


def test_self_policy_steers_with_the_task_model(sandbox: Sandbox) -> None:
    def reply(call: Call) -> str:
        if call.messages[0]["role"] == "system":  # the self profile's steering conversation
            return "<<<Code>>>" if len(call.messages) == 2 else "<<<Return Answer>>>"
        return task_replies(call)

    task = ScriptedEngine([reply] * 10, name="task")
    run = SteeringLoop(task, None, sandbox, RunSettings(policy="self")).run("What is 6 * 7?")
    assert run.coach_model == "task" and run.answer == "42"
    assert run.stop_reason == "return_answer"


def test_a_stop_before_any_attempt_still_gets_one_answer(sandbox: Sandbox) -> None:
    coach = ScriptedEngine(["<<<Terminate>>>", "<<<Return Answer>>>"], name="coach")
    run = SteeringLoop(task_engine(), coach, sandbox, RunSettings(self_check=False)).run("6*7?")
    assert [t.coach_action for t in run.turns] == ["Code"] and run.answer == "42"


def test_base_coach_decides_by_scoring(sandbox: Sandbox) -> None:
    """A scoring coach on the few-shot profile: every decision is a choose() over the allowed markers."""
    coach = ScriptedEngine(kind="base", choices=[0, 0], name="coach")  # Code, then Return Answer
    run = SteeringLoop(task_engine(), coach, sandbox, RunSettings(self_check=False)).run("6*7?")
    assert run.answer == "42" and run.stop_reason == "return_answer"
    options = [c.options for c in coach.calls]
    assert options[0] and "<<<Code>>>" in options[0][0] and "Return Answer" in (options[1] or [""])[0]


def test_grammar_only_for_engines_that_support_it(sandbox: Sandbox) -> None:
    plain = ScriptedEngine(["<<<Code>>>", "<<<Return Answer>>>"], name="coach")
    SteeringLoop(task_engine(), plain, sandbox, RunSettings(self_check=False)).run("6*7?")
    assert all(c.grammar is None for c in plain.calls)
    constrained = ScriptedEngine(
        ["<<<Code>>>", "<<<Return Answer>>>"], name="coach", supports_grammar=True, choices=[]
    )
    SteeringLoop(task_engine(), constrained, sandbox, RunSettings(self_check=False)).run("6*7?")
    assert all(c.grammar for c in constrained.calls)


def test_sampling_arguments_reach_the_engines(sandbox: Sandbox) -> None:
    task = task_engine()
    coach = ScriptedEngine(["<<<Code>>>", "<<<Return Answer>>>"], name="coach")
    settings = RunSettings(temperature=0.7, seed=11, self_check=False, task_max_tokens=321)
    SteeringLoop(task, coach, sandbox, settings).run("6*7?")
    assert {(c.temperature, c.seed) for c in task.calls + coach.calls} == {(0.7, 11)}
    assert task.calls[0].max_tokens == 321


def test_an_engine_out_of_replies_fails_loudly(sandbox: Sandbox) -> None:
    coach = ScriptedEngine(["<<<Code>>>"], name="coach")
    with pytest.raises(ScriptExhausted):
        SteeringLoop(task_engine(), coach, sandbox, RunSettings(self_check=False)).run("6*7?")


def test_policy_table() -> None:
    assert POLICY_NAMES == ("codesteer", "self", "only-question", "all-text", "all-code", "code-first-rule")
    assert [p.name for p in POLICIES.values() if p.needs_coach_model] == ["codesteer"]
    assert {p.name for p in POLICIES.values() if p.steered} == {"codesteer", "self"}
    with pytest.raises(UsageError, match="unknown policy 'nope'"):
        get_policy("nope")


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"policy": "nope"}, "unknown policy"),
        ({"max_turns": -1}, "--max-turns must be >= 0, got -1"),
        ({"code_timeout": 0}, "--timeout must be positive"),
        ({"n_ctx": 100}, "--n-ctx must be at least 512"),
        ({"profile": "nope"}, "unknown profile"),
        ({"task_kind": "chat"}, "--task-kind must be one of"),
        ({"threads": 0}, "--threads must be at least 1"),
        ({"temperature": -1.0}, "--temperature must be >= 0"),
    ],
)
def test_run_settings_are_validated_once(changes: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        RunSettings(**changes)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match=message):
        RunSettings().with_changes(**changes)


def test_one_limits_rule() -> None:
    assert RunSettings(code_timeout=10).limits() == sandbox_limits(10)
    assert sandbox_limits(10).cpu_s == 11 and sandbox_limits(0.5).cpu_s == 1
    assert sandbox_limits(2.5, memory_mb=256).memory_mb == 256
