"""Typed records of a steering run: what the CLI prints, the log stores and the bench writes.

`Run.to_dict()` is the one serialised form (`csteer ask --json`, the run log, the serve extension);
nested records become plain dicts there, with the same keys as their fields.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from csteer.sandbox import Result


@dataclass(frozen=True)
class SymbolicReport:
    """What the symbolic checker said of a turn's program."""

    score: float
    summary: str  # the labelled text shown to the coach
    hard_coded: bool


@dataclass(frozen=True)
class SelfCheck:
    """The self-answer checker's verdict on a turn's answer."""

    verdict: str  # what the checking program printed (or why there was none)
    correct: bool | None  # None: no verdict could be drawn
    status: str  # the checking program's sandbox status, or "no-code"


@dataclass(frozen=True)
class Candidate:
    """One sampled attempt of a voting turn: the answer it casts, or why it casts none."""

    answer: str | None  # None: no vote
    status: str  # the program's sandbox status, "text" for a text reply, "rejected" when never run
    reason: str = ""  # why it casts no vote ("does not parse: ...", "no answer in the output", ...)
    code: str | None = None


@dataclass
class Turn:
    index: int
    coach_action: str  # "Code", "Text", "Guide", "Return Answer", "Terminate" or "-" (no coach)
    guidance: str  # what the task model was told this turn
    task_text: str = ""
    code: str | None = None
    execution: Result | None = None  # the program's sandbox result, when the reply held code
    answer: str | None = None
    symbolic: SymbolicReport | None = None
    self_check: SelfCheck | None = None
    # sample and vote: every candidate drawn, and the share of the votes the answer won (None: one draw)
    candidates: list[Candidate] = field(default_factory=list)
    agreement: float | None = None
    # why the coach could not return this turn's answer (the evidence gate), None when it could
    withheld: str | None = None
    coach_text: str = ""  # the coach's raw reply (or the scored option)
    coach_tokens: int = 0
    task_tokens: int = 0
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        """The program did not run cleanly, or the self-check found the answer wrong."""
        return (self.execution is not None and self.execution.status != "ok") or (
            self.self_check is not None and self.self_check.correct is False
        )


@dataclass
class Run:
    question: str
    policy: str
    task_model: str
    coach_model: str | None
    answer: str | None = None
    # "return_answer", "terminate", "max_turns", "single_turn", "coach_invalid"; the evidence gate's
    # "repeated_answer" (twice, nothing against it), "no_progress" (three turns running) and
    # "no_answer" (three voted turns running without one answer)
    stop_reason: str = ""
    turns: list[Turn] = field(default_factory=list)
    task_tokens: int = 0
    coach_tokens: int = 0
    seconds: float = 0.0
    # seconds per phase (csteer.runtime.clock.PHASES: load, coach, draft, sandbox, check); sandbox runs
    # overlap drafting, so these can add up to more than `seconds`. "load" is set by callers that load
    phases: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
