"""The steering loop: CodeSteer's protocol, one turn record at a time.

    turn 0   the coach chooses code or text for the question; the task model answers
    turn k   the task model's program runs in the sandbox; the symbolic checker scores it; the task model
             checks its own answer with a program; the coach reads the labelled report and either guides
             the next attempt or stops (Return Answer / Terminate)
    answer   the latest answer: the program's output when it ran code, else the text's <<<answer>>>

Baseline policies (the paper's comparisons) use the same engines, sandbox and answer extraction; which
of these a run follows is read off its Policy (csteer.runtime.policies), never off its name.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from csteer.engines.base import Engine
from csteer.errors import UsageError
from csteer.runtime import answer_kind, prompts, shots, vote
from csteer.runtime.actions import Action, ActionKind
from csteer.runtime.checkers import (
    interpret_check_output,
    reference_check_feedback,
    reference_execution,
    reference_summary,
    symbolic_check,
)
from csteer.runtime.clock import PhaseClock
from csteer.runtime.extract import final_answer, is_placeholder, python_code
from csteer.runtime.profile_data import resolve_sampling
from csteer.runtime.record import Candidate, Run, SelfCheck, SymbolicReport, Turn
from csteer.runtime.sessions import RETRY_KINDS, REVIEW_KINDS, CoachDecision, CoachSession, TaskSession, clip
from csteer.runtime.settings import RunSettings
from csteer.runtime.vote import screen_program
from csteer.sandbox import Result, Sandbox

RESPONSE_CLIP = 6000  # characters of a task reply shown to the coach
OUTPUT_CLIP = 2000  # characters of program output shown to the coach
VOTE_TEMPERATURE = 0.4  # sampled candidates after the first (greedy) draw (0.7 drew mostly broken programs)
VOTE_WORKERS = 2  # candidate programs running at once in the warm pool
UNANIMOUS_VOTES = 3  # this many samples agreeing, none against: no self-check (unanimous)
AGREEMENT_TO_RETURN = 0.5  # below this share of the votes the answer is not returned while turns are left
NO_ANSWER_TURNS = 3  # voted turns running without one answer that end a run (retry_kinds varies them)

TraceFn = Callable[[str], None]


@dataclass(frozen=True)
class Step:
    """What the task model is asked to do in one attempt, and the coach decision behind it."""

    action: Action
    label: str  # as the turn record shows it: "Code", "Guide", "Code (rule)", "-" ...
    coach_text: str = ""
    coach_tokens: int = 0

    @classmethod
    def from_decision(cls, decision: CoachDecision) -> Step:
        return cls(decision.action, _label(decision.action), decision.text, decision.tokens)

    @classmethod
    def by_rule(cls, action: Action) -> Step:
        return cls(action, f"{_label(action)} (rule)")


class SteeringLoop:
    def __init__(
        self,
        task: Engine,
        coach: Engine | None,
        sandbox: Sandbox,
        settings: RunSettings | None = None,
        profile: prompts.CoachProfile | None = None,
        trace: TraceFn | None = None,
    ) -> None:
        self.task = task
        self.settings = settings or RunSettings()
        self.policy = self.settings.policy_def
        if self.policy.coach == "task":
            coach = task
        if self.policy.steered and coach is None:
            raise UsageError(f"policy {self.policy.name!r} needs a coach model")
        self.coach = coach if self.policy.steered else None
        self.profile = (profile or default_profile(self.coach)) if self.coach else None
        # a trained interface (codesteer-v1): the coach is shown the reference's own feedback
        p = self.profile
        self.interface = p.interface if p is not None and p.feedback == "reference" else None
        self.sandbox = sandbox
        self.trace = trace or (lambda _msg: None)
        self.candidates = self.settings.candidates or 1
        self.clock = PhaseClock()  # the current run's; run() starts a new one

    # --- one question ---------------------------------------------------------------------------------
    def run(self, question: str) -> Run:
        question = question.strip()
        if not question:
            raise UsageError("no question given")
        cfg = self.settings
        run = Run(
            question=question,
            policy=self.policy.name,
            task_model=self.task.name,
            coach_model=self.coach.name if self.coach else None,
        )
        start = time.perf_counter()
        self.clock = PhaseClock()
        session = TaskSession(self.task, question, cfg.task_max_tokens, cfg.temperature, cfg.seed)
        if self.interface is not None:
            session.first_layout = self.interface.layout["task_first"]
        try:
            if self.policy.plan == "steer":
                self._steer(run, session)
            elif self.policy.plan == "code-first-rule":
                self._code_first_rule(run, session)
            else:
                self._attempt(run, session, 0, Step(Action("guide", self.policy.single_guidance), "-"))
                run.stop_reason = "single_turn"
        finally:
            run.seconds = time.perf_counter() - start
            run.task_tokens = sum(t.task_tokens for t in run.turns)
            run.coach_tokens = sum(t.coach_tokens for t in run.turns)
            run.phases = self.clock.totals()
            if self.profile is not None and self.profile.final_answer == "last-turn":
                run.answer = run.turns[-1].answer if run.turns else None  # as the reference: the last one
            else:
                run.answer = next((t.answer for t in reversed(run.turns) if t.answer is not None), None)
        return run

    def _steer(self, run: Run, session: TaskSession) -> None:
        assert self.coach is not None and self.profile is not None
        cfg = self.settings
        sampling = resolve_sampling(
            self.profile.sampling,
            temperature=cfg.coach_temperature,
            top_p=cfg.coach_top_p,
            top_k=cfg.coach_top_k,
            fallback_temperature=cfg.temperature,
        )
        assert sampling.temperature is not None
        coach = CoachSession(
            self.coach,
            self.profile,
            run.question,
            cfg.coach_max_tokens,
            sampling.temperature,
            cfg.seed,
            top_p=sampling.top_p,
            top_k=sampling.top_k,
        )
        with self.clock.phase("coach"):
            decision = coach.first()
        if decision.action.stops:  # a stop before any attempt means: let the model answer once
            decision.action = Action("code")
        turn = self._attempt(run, session, 0, Step.from_decision(decision))
        for index in range(1, cfg.max_turns + 1):
            if self.interface is not None and cfg.self_check:
                with self.clock.phase("check"):
                    self._reference_check(session, turn)  # every reviewed turn, over the whole response
            if self.profile.evidence_gate:
                turn.withheld = withheld_because(turn, run.question)
                if self.candidates > 1 and (repeated := repetition_stop(run.turns)) is not None:
                    run.stop_reason = repeated
                    return
            kinds = retry_kinds(run.turns) if turn.withheld else REVIEW_KINDS
            with self.clock.phase("coach"):
                decision = coach.review(*self._report(turn), kinds=kinds)
            if turn.withheld and decision.action.kind in ("code", "text") and not decision.action.guidance:
                # the retry names what went wrong, then asks as usual
                standard = prompts.guidance_text(decision.action.kind)
                decision.action = Action(
                    decision.action.kind, f"The previous attempt {turn.withheld}. {standard}"
                )
            self.trace(f"turn {index}: coach -> {decision.action}")
            if decision.action.stops:
                run.stop_reason = decision.action.kind
                turn.coach_tokens += decision.tokens
                return
            turn = self._attempt(run, session, index, Step.from_decision(decision))
        run.stop_reason = "max_turns"

    def _code_first_rule(self, run: Run, session: TaskSession) -> None:
        """Baseline: code first; retry code once on failure; then text. No model coaches."""
        turn = self._attempt(run, session, 0, Step.by_rule(Action("code")))
        for index in range(1, self.settings.max_turns + 1):
            if turn.answer is not None and not turn.failed:
                run.stop_reason = "return_answer"
                return
            action = Action("code") if index < 2 else Action("text")
            turn = self._attempt(run, session, index, Step.by_rule(action))
        run.stop_reason = "max_turns"

    # --- one attempt of the task model ---------------------------------------------------------------
    def _attempt(self, run: Run, session: TaskSession, index: int, step: Step) -> Turn:
        started = time.perf_counter()
        guidance = prompts.guidance_text(step.action.kind, step.action.guidance)
        self.trace(f"turn {index}: {step.label}")
        turn = Turn(
            index=index,
            coach_action=step.label,
            guidance=guidance,
            coach_text=step.coach_text,
            coach_tokens=step.coach_tokens,
        )
        # a coach asked for code: the reply is held to a program (not under a trained interface, whose
        # coach learned from the task model's free replies)
        program = step.action.kind == "code" and self.policy.steered and self.interface is None
        if self.candidates > 1 and step.action.kind in ("code", "text"):
            self._vote(session, guidance, program, turn)
        else:
            with self.clock.phase("draft"):
                reply = session.draft(guidance, program=program)
            session.record(guidance, reply.text)
            turn.task_text, turn.task_tokens = reply.text, reply.usage.total_tokens
            turn.code = python_code(reply.text)
            if turn.code is not None:
                with self.clock.phase("sandbox"):
                    turn.execution = self.sandbox.run(turn.code)
            output = turn.execution.stdout if turn.execution else None
            turn.answer = final_answer(reply.text, output, session.question)
        if turn.execution is not None:
            self.trace(
                f"turn {index}: ran code -> {turn.execution.status} ({turn.execution.duration_s:.2f}s)"
            )
        if turn.code is not None and self.settings.symbolic_check:
            report = symbolic_check(turn.code)
            turn.symbolic = SymbolicReport(report.score, report.summary(), report.hard_coded)
        answer_check = self.policy.steered and self.interface is None  # trained coach: _reference_check
        if self.settings.self_check and turn.answer is not None and answer_check and not unanimous(turn):
            with self.clock.phase("check"):
                turn.self_check, check_tokens = self._self_check(session, turn.answer)
            turn.task_tokens += check_tokens
            self.trace(f"turn {index}: self-check -> {turn.self_check.verdict[:80]!r}")
        self.trace(f"turn {index}: answer = {turn.answer!r}")
        turn.seconds = time.perf_counter() - started
        run.turns.append(turn)
        return turn

    def _try(self, text: str, program: bool, question: str) -> tuple[Candidate, Result | None]:
        """Run one reply's program (if any) and read its answer (_read), then reject an answer of the
        wrong kind for the question (a date for "how many days ..."): whatever its value, it must not
        vote."""
        candidate, result = self._read(text, program, question)
        if candidate.answer is not None and (why := answer_kind.mismatch(candidate.answer, question)):
            candidate = Candidate(None, "rejected", why, candidate.code)
        return candidate, result

    def _read(self, text: str, program: bool, question: str) -> tuple[Candidate, Result | None]:
        """One reply's candidate. program=True: the reply had to be a program; one that is missing, does
        not parse, only hands back a value of the question, or (base task models, which are shown
        examples) copies an example's numbers or words is rejected unrun, and one that prints the format
        placeholder with no value beside it is rejected after the run."""
        code = python_code(text)
        if program and (why := screen_program(code)) is not None:
            if (said := vote.prose_answer(code, question)) is not None:  # answered in a sentence
                return Candidate(vote.conform(said, question), "text", "", code), None
            return Candidate(None, "rejected", why, code), None
        if program and code is not None:
            if self.task.kind == "base":
                examples = [shot.question for shot in shots.select(question)]
                if (why := vote.copies_example(code, question, examples)) is not None:
                    return Candidate(None, "rejected", why, code), None
            if (why := vote.echoes_question(code, question)) is not None:
                return Candidate(None, "rejected", why, code), None
            code = vote.add_missing_imports(code)
        if code is None:
            answer = final_answer(text, None, question)
            if answer is None or is_placeholder(answer, question):
                return Candidate(None, "text", "no marked answer in the text"), None
            return Candidate(vote.conform(answer, question), "text"), None
        with self.clock.phase("sandbox"):
            result = self.sandbox.run(code)
        answer = final_answer(text, result.stdout, question)
        if result.status != "ok":
            return Candidate(None, result.status, _last_line(result.stderr, result.status, 200), code), result
        if answer is None:
            return Candidate(None, result.status, "no answer in the output", code), result
        if is_placeholder(answer, question):  # `print("<<<answer>>>")`, no value beside it
            return Candidate(None, "rejected", "copies the answer template literally", code), result
        return Candidate(vote.conform(answer, question), result.status, "", code), result

    def _vote(self, session: TaskSession, guidance: str, program: bool, turn: Turn) -> None:
        """Sample and vote: draw candidates in rounds until `candidates` of them answer or one answer
        holds a majority of that many, at most twice as many draws (as many when none has answered).
        Each round draws the fewest that could settle the vote, and runs each program in the warm pool
        while the next is drafted; the decisions fall between rounds, so a seeded run draws the same
        candidates every time. The first draw is the run's own (greedy by default), the rest are
        sampled with fixed seeds."""
        cfg, wanted = self.settings, self.candidates
        majority = wanted // 2 + 1
        seed0 = (cfg.seed or 0) + 1000 * turn.index
        drawn: list[tuple[str, Future[tuple[Candidate, Result | None]]]] = []
        with ThreadPoolExecutor(max_workers=VOTE_WORKERS) as pool:
            while len(drawn) < 2 * wanted:
                done = [future.result()[0] for _, future in drawn]
                _, top, votes = vote.tally(done)
                if votes >= wanted or top >= majority:
                    break
                if len(drawn) >= wanted and votes == 0:  # as many draws as asked, not one vote: more of
                    break  # the same prompt will not do better; the coach retries with the failure named
                batch = min(max(1, min(majority - top, wanted - votes)), 2 * wanted - len(drawn))
                for _ in range(batch):
                    first = not drawn
                    with self.clock.phase("draft"):
                        reply = session.draft(
                            guidance,
                            program=program,
                            temperature=cfg.temperature if first else max(cfg.temperature, VOTE_TEMPERATURE),
                            seed=seed0 + len(drawn),
                        )
                    turn.task_tokens += reply.usage.total_tokens
                    drawn.append((reply.text, pool.submit(self._try, reply.text, program, session.question)))
        results = [(text, *future.result()) for text, future in drawn]
        turn.candidates = [candidate for _, candidate, _ in results]
        winner, top, votes = vote.tally(turn.candidates)
        turn.agreement = top / votes if votes else 0.0
        # the turn shows the first candidate that voted for the winner (the first draw when none voted)
        text, chosen, result = next(
            (
                r
                for r in results
                if winner is not None
                and r[1].answer is not None
                and vote.normalise(r[1].answer) == vote.normalise(winner)
            ),
            results[0],
        )
        session.record(guidance, text)
        turn.task_text, turn.code, turn.execution, turn.answer = text, chosen.code, result, winner
        self.trace(f"turn {turn.index}: {len(drawn)} candidates, {top} of {votes} votes for {winner!r}")

    def _self_check(self, session: TaskSession, answer: str) -> tuple[SelfCheck, int]:
        reply = session.write_check(answer)
        code = python_code(reply.text)
        if code is None:
            return SelfCheck("The checker wrote no checking code.", None, "no-code"), reply.usage.total_tokens
        result = self.sandbox.run(code)
        verdict, correct = interpret_check_output(result.stdout, result.stderr, result.status, answer)
        return SelfCheck(verdict, correct, result.status), reply.usage.total_tokens

    def _reference_check(self, session: TaskSession, turn: Turn) -> None:
        """The trained coach's checking agent: the task model writes checking code for the whole response
        as the coach sees it (execution result included), whether or not an answer was extracted; the
        sandbox runs it; the feedback is framed as the reference frames it."""
        assert self.interface is not None
        cfg, iface = self.settings, self.interface
        shown = self._shown_response(turn)
        if self.task.kind == "base":  # a base model cannot follow the instruction: its few-shot checker
            reply = session.write_check(shown)
        else:
            content = iface.fill(
                "check_request", checker=iface.texts["checker"], question=session.question, response=shown
            )
            reply = self.task.chat(
                [{"role": "user", "content": content}],
                max_tokens=cfg.task_max_tokens,
                temperature=0.0,
                seed=cfg.seed,
            )
        code = python_code(reply.text)
        result = self.sandbox.run(code) if code is not None else None
        verdict = reference_check_feedback(result, iface, turn.index, cfg.code_timeout)
        correct = None
        if result is not None:
            correct = interpret_check_output(result.stdout, result.stderr, result.status)[1]
        turn.self_check = SelfCheck(verdict, correct, result.status if result is not None else "no-code")
        turn.task_tokens += reply.usage.total_tokens
        self.trace(f"turn {turn.index}: self-check -> {verdict[:80]!r}")

    def _shown_response(self, turn: Turn) -> str:
        """The task model's response with its execution result, as the trained coach is shown it."""
        assert self.interface is not None
        if turn.execution is None:
            return turn.task_text
        timeout = self.settings.code_timeout
        return turn.task_text + reference_execution(turn.execution, self.interface, turn.index, timeout)

    def _report(self, turn: Turn) -> tuple[str, str, str | None, str]:
        """The labelled parts for the coach, and the one-line brief for base-model coaches."""
        if self.interface is not None:  # the trained interface: unclipped, the reference's framing
            check = turn.self_check.verdict if turn.self_check else self.interface.layout["check_off"]
            complexity = None
            if turn.code is not None and self.settings.symbolic_check:
                complexity = reference_summary(turn.code).text
            return self._shown_response(turn), check, complexity, _brief(turn)
        response = clip(turn.task_text, RESPONSE_CLIP)
        if turn.execution is not None:
            response += prompts.EXECUTION_TEMPLATE.format(
                stdout=clip(turn.execution.stdout, OUTPUT_CLIP),
                stderr=clip(turn.execution.stderr, OUTPUT_CLIP),
            )
        check = turn.self_check.verdict if turn.self_check else "(self-answer check off)"
        complexity = turn.symbolic.summary if turn.symbolic else None
        return response, check, complexity, _brief(turn)


def _label(action: Action) -> str:
    return {
        "code": "Code",
        "text": "Text",
        "guide": "Guide",
        "return_answer": "Return Answer",
        "terminate": "Terminate",
    }[action.kind]


def withheld_because(turn: Turn, question: str = "") -> str | None:
    """The evidence gate: why this turn's answer must not be returned while turns are left (None: it
    may be). The same rule for every question; the --json record shows the reason."""
    if turn.execution is not None and turn.execution.status == "policy" and turn.answer is None:
        return f"was rejected by the sandbox policy ({_last_line(turn.execution.stderr, 'policy')})"
    if turn.execution is not None and turn.execution.status != "ok" and turn.answer is None:
        return f"failed ({_last_line(turn.execution.stderr, turn.execution.status)})"
    if turn.answer is None:
        reasons = Counter(c.reason[:100] for c in turn.candidates if c.reason)
        if reasons:  # the retry's guidance names what went wrong, most frequent first
            said = "; ".join(reason for reason, _ in reasons.most_common(3))
            return f"gave no answer ({len(turn.candidates)} attempts: {said})"
        return "gave no answer"
    if (wrong_kind := answer_kind.mismatch(turn.answer, question)) is not None:
        return wrong_kind
    if turn.agreement is not None and turn.agreement < AGREEMENT_TO_RETURN:
        _, agreeing, votes = vote.tally(turn.candidates)
        return f"gave answers that disagree ({agreeing} of {votes} agree on {turn.answer[:60]!r})"
    if turn.self_check is not None and turn.self_check.correct is False:
        return f"was judged wrong by the checker ({_last_line(turn.self_check.verdict, 'wrong')})"
    return None


def unanimous(turn: Turn) -> bool:
    """At least UNANIMOUS_VOTES independent samples, every one reaching the same answer: stronger evidence
    than a small model's checking program, which is skipped (a generation and a run saved)."""
    _, top, votes = vote.tally(turn.candidates)
    return votes >= UNANIMOUS_VOTES and top == votes


def repetition_stop(turns: list[Turn]) -> str | None:
    """Voted attempts that keep reaching one answer cannot be moved by more of the same: an answer
    reached twice with nothing against it is returned ("repeated_answer"), three times ends the run
    ("no_progress"); NO_ANSWER_TURNS voted turns running in which not one draw answered, code and text
    both tried, end it too ("no_answer": in the measured runs no later turn answered right). None: go on."""
    if same_answer(turns, 2) and not turns[-1].withheld:
        return "repeated_answer"
    if same_answer(turns, 3):
        return "no_progress"
    last = turns[-NO_ANSWER_TURNS:]
    if len(last) == NO_ANSWER_TURNS and all(t.answer is None for t in last):
        return "no_answer"
    return None


def same_answer(turns: list[Turn], count: int) -> bool:
    """The last `count` turns all answered, and the same answer."""
    last = turns[-count:]
    if len(last) < count or any(t.answer is None for t in last):
        return False
    return len({vote.normalise(t.answer or "") for t in last}) == 1


def retry_kinds(turns: list[Turn]) -> tuple[ActionKind, ...]:
    """What the coach may choose after a withheld answer: code or text, but not the approach that was
    withheld twice in a row just now (a third identical attempt would fail the same way)."""
    if len(turns) >= 2 and all(t.withheld for t in turns[-2:]):
        kinds = {t.coach_action.split()[0].lower() for t in turns[-2:]}
        if len(kinds) == 1 and (kind := kinds.pop()) in RETRY_KINDS:
            return tuple(k for k in RETRY_KINDS if k != kind)
    return RETRY_KINDS


def _last_line(text: str, fallback: str, limit: int = 160) -> str:
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    return (lines[-1] if lines else fallback)[:limit]


def _brief(turn: Turn) -> str:
    """What a base-model coach sees: answer, where it came from, and the checker's verdict."""
    if turn.execution is not None and turn.execution.status != "ok":
        err = (turn.execution.stderr.strip().splitlines() or [turn.execution.status])[-1]
        seen = f"Answer: none (program failed: {err[:120]})"
    elif turn.answer is None:
        seen = "Answer: none"
    else:
        source = "from program output" if turn.execution is not None else "from text"
        if turn.agreement is not None:
            _, agreeing, votes = vote.tally(turn.candidates)
            source += f", {agreeing} of {votes} attempts agree"
        if turn.symbolic and turn.symbolic.hard_coded:
            source += ", hard-coded, no search"
        seen = f"Answer: {turn.answer[:200]} ({source})"
    if turn.self_check:
        verdict = turn.self_check.verdict.splitlines()[0][:200] if turn.self_check.verdict else "not checked"
    else:
        verdict = "not needed, every attempt agrees" if unanimous(turn) else "not checked"
    return f"{seen}\nChecker: {verdict}"


def default_profile(coach: Engine | None) -> prompts.CoachProfile:
    """base models get the few-shot profile; others the self-steering one unless told otherwise."""
    if coach is not None and coach.kind == "base":
        return prompts.PROFILES["base-fewshot"]
    return prompts.PROFILES["self"]
