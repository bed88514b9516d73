"""The steering loop: CodeSteer's protocol, one turn record at a time.

    turn 0   the coach chooses code or text for the question; the task model answers
    turn k   the task model's program runs in the sandbox; the symbolic checker scores it; the task model
             checks its own answer with a program; the coach reads the labelled report and either guides
             the next attempt or stops (Return Answer / Terminate)
    answer   the latest answer: the program's output when it ran code, else the text's <<<answer>>>

Baseline policies (the paper's comparisons) use the same engines, sandbox and answer extraction.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from csteer.errors import UsageError
from csteer.runtime import prompts
from csteer.runtime.actions import Action
from csteer.runtime.checkers import interpret_check_output, symbolic_check
from csteer.engines.base import Engine
from csteer.runtime.extract import final_answer, python_code
from csteer.runtime.record import Run, Turn
from csteer.sandbox import Sandbox
from csteer.runtime.sessions import CoachSession, TaskSession, clip

POLICIES = ("codesteer", "self", "only-question", "all-text", "all-code", "code-first-rule")
RESPONSE_CLIP = 6000  # characters of a task reply shown to the coach
OUTPUT_CLIP = 2000  # characters of program output shown to the coach


@dataclass
class LoopConfig:
    policy: str = "codesteer"
    max_turns: int = 5
    symbolic_check: bool = True
    self_check: bool = True
    temperature: float = 0.0
    seed: int | None = None
    task_max_tokens: int = 1500
    coach_max_tokens: int = 1024

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise UsageError(f"unknown policy {self.policy!r}; choose from {', '.join(POLICIES)}")
        if self.max_turns < 0:
            raise UsageError(f"--max-turns must be >= 0, got {self.max_turns}")


TraceFn = Callable[[str], None]


class SteeringLoop:
    def __init__(
        self,
        task: Engine,
        coach: Engine | None,
        sandbox: Sandbox,
        config: LoopConfig | None = None,
        profile: prompts.CoachProfile | None = None,
        trace: TraceFn | None = None,
    ) -> None:
        self.task = task
        self.config = config or LoopConfig()
        policy = self.config.policy
        if policy == "self":
            coach = task
        if policy in ("codesteer", "self") and coach is None:
            raise UsageError(f"policy {policy!r} needs a coach model")
        self.coach = coach if policy in ("codesteer", "self") else None
        self.profile = profile or default_profile(self.coach) if self.coach else None
        self.sandbox = sandbox
        self.trace = trace or (lambda _msg: None)

    # --- one question ---------------------------------------------------------------------------------
    def run(self, question: str) -> Run:
        question = question.strip()
        if not question:
            raise UsageError("no question given")
        cfg = self.config
        run = Run(
            question=question,
            policy=cfg.policy,
            task_model=self.task.name,
            coach_model=self.coach.name if self.coach else None,
        )
        start = time.perf_counter()
        session = TaskSession(self.task, question, cfg.task_max_tokens, cfg.temperature, cfg.seed)
        try:
            if cfg.policy in ("codesteer", "self"):
                self._steer(run, session)
            elif cfg.policy == "code-first-rule":
                self._code_first_rule(run, session)
            else:
                guidance = {
                    "only-question": prompts.ANSWER_FORMAT_HINT,
                    "all-text": prompts.TEXT_PROMPT,
                    "all-code": prompts.CODE_PROMPT,
                }[cfg.policy]
                self._attempt(run, session, 0, Action("guide", guidance), "", "-", 0)
                run.stop_reason = "single_turn"
        finally:
            run.seconds = time.perf_counter() - start
            run.task_tokens = sum(t.task_tokens for t in run.turns)
            run.coach_tokens = sum(t.coach_tokens for t in run.turns)
            run.answer = next((t.answer for t in reversed(run.turns) if t.answer is not None), None)
        return run

    def _steer(self, run: Run, session: TaskSession) -> None:
        assert self.coach is not None and self.profile is not None
        cfg = self.config
        coach = CoachSession(
            self.coach, self.profile, run.question, cfg.coach_max_tokens, cfg.temperature, cfg.seed
        )
        decision = coach.first()
        if decision.action.stops:  # a stop before any attempt means: let the model answer once
            decision.action = Action("code")
        turn = self._attempt(
            run, session, 0, decision.action, decision.text, _label(decision.action), decision.tokens
        )
        for index in range(1, cfg.max_turns + 1):
            decision = coach.review(*self._report(turn))
            self.trace(f"turn {index}: coach -> {decision.action}")
            if decision.action.stops:
                run.stop_reason = decision.action.kind
                turn.coach_tokens += decision.tokens
                return
            turn = self._attempt(
                run, session, index, decision.action, decision.text, _label(decision.action), decision.tokens
            )
        run.stop_reason = "max_turns"

    def _code_first_rule(self, run: Run, session: TaskSession) -> None:
        """Baseline: code first; retry code once on failure; then text. No model coaches."""
        turn = self._attempt(run, session, 0, Action("code"), "", "Code (rule)", 0)
        for index in range(1, self.config.max_turns + 1):
            if turn.answer is not None and not _failed(turn):
                run.stop_reason = "return_answer"
                return
            action = Action("code") if index < 2 else Action("text")
            turn = self._attempt(run, session, index, action, "", f"{_label(action)} (rule)", 0)
        run.stop_reason = "max_turns"

    # --- one attempt of the task model ---------------------------------------------------------------
    def _attempt(
        self,
        run: Run,
        session: TaskSession,
        index: int,
        action: Action,
        coach_text: str,
        label: str,
        coach_tokens: int,
    ) -> Turn:
        started = time.perf_counter()
        guidance = prompts.guidance_text(action.kind, action.guidance)
        self.trace(f"turn {index}: {label}")
        reply = session.respond(guidance)
        turn = Turn(
            index=index,
            coach_action=label,
            guidance=guidance,
            task_text=reply.text,
            coach_text=coach_text,
            coach_tokens=coach_tokens,
            task_tokens=reply.usage.total_tokens,
        )
        turn.code = python_code(reply.text)
        stdout = None
        if turn.code is not None:
            result = self.sandbox.run(turn.code)
            turn.execution = result.to_dict()
            stdout = result.stdout
            self.trace(f"turn {index}: ran code -> {result.status} ({result.duration_s:.2f}s)")
            if self.config.symbolic_check:
                report = symbolic_check(turn.code)
                turn.symbolic = {
                    "score": report.score,
                    "summary": report.summary(),
                    "hard_coded": report.hard_coded,
                }
        turn.answer = final_answer(reply.text, stdout)
        if self.config.self_check and turn.answer is not None and self.config.policy in ("codesteer", "self"):
            turn.self_check, check_tokens = self._self_check(session, turn.answer)
            turn.task_tokens += check_tokens
            self.trace(f"turn {index}: self-check -> {turn.self_check['verdict'][:80]!r}")
        self.trace(f"turn {index}: answer = {turn.answer!r}")
        turn.seconds = time.perf_counter() - started
        run.turns.append(turn)
        return turn

    def _self_check(self, session: TaskSession, answer: str) -> tuple[dict[str, object], int]:
        reply = session.write_check(answer)
        code = python_code(reply.text)
        if code is None:
            return {
                "verdict": "The checker wrote no checking code.",
                "correct": None,
                "status": "no-code",
            }, reply.usage.total_tokens
        result = self.sandbox.run(code)
        verdict, correct = interpret_check_output(result.stdout, result.stderr, result.status, answer)
        return {"verdict": verdict, "correct": correct, "status": result.status}, reply.usage.total_tokens

    def _report(self, turn: Turn) -> tuple[str, str, str | None, str]:
        """The labelled parts for the coach, and the one-line brief for base-model coaches."""
        response = clip(turn.task_text, RESPONSE_CLIP)
        if turn.execution is not None:
            response += prompts.EXECUTION_TEMPLATE.format(
                stdout=clip(turn.execution["stdout"], OUTPUT_CLIP),
                stderr=clip(turn.execution["stderr"], OUTPUT_CLIP),
            )
        check = turn.self_check["verdict"] if turn.self_check else "(self-answer check off)"
        complexity = turn.symbolic["summary"] if turn.symbolic else None
        return response, str(check), complexity, _brief(turn)


def _label(action: Action) -> str:
    return {
        "code": "Code",
        "text": "Text",
        "guide": "Guide",
        "return_answer": "Return Answer",
        "terminate": "Terminate",
    }[action.kind]


def _failed(turn: Turn) -> bool:
    return (turn.execution is not None and turn.execution["status"] != "ok") or (
        turn.self_check is not None and turn.self_check.get("correct") is False
    )


def _brief(turn: Turn) -> str:
    """What a base-model coach sees: answer, where it came from, and the checker's verdict."""
    if turn.execution is not None and turn.execution["status"] != "ok":
        err = (turn.execution["stderr"].strip().splitlines() or [turn.execution["status"]])[-1]
        seen = f"Answer: none (program failed: {err[:120]})"
    elif turn.answer is None:
        seen = "Answer: none"
    else:
        source = "from program output" if turn.execution is not None else "from text"
        if turn.symbolic and turn.symbolic.get("hard_coded"):
            source += ", hard-coded, no search"
        seen = f"Answer: {turn.answer[:200]} ({source})"
    verdict = turn.self_check["verdict"] if turn.self_check else "not checked"
    return f"{seen}\nChecker: {str(verdict).splitlines()[0][:200] if verdict else 'not checked'}"


def default_profile(coach: Engine | None) -> prompts.CoachProfile:
    """base models get the few-shot profile; others the self-steering one unless told otherwise."""
    if coach is not None and coach.kind == "base":
        return prompts.PROFILES["base-fewshot"]
    return prompts.PROFILES["self"]
