"""Plain-data records of a steering run: what the CLI prints, the log stores and the bench writes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Turn:
    index: int
    coach_action: str  # "Code", "Text", "Guide", "Return Answer", "Terminate" or "-" (no coach)
    guidance: str  # what the task model was told this turn
    task_text: str = ""
    code: str | None = None
    execution: dict[str, Any] | None = None  # sandbox Result as a dict
    answer: str | None = None
    symbolic: dict[str, Any] | None = None  # {"score", "summary", "hard_coded"}
    self_check: dict[str, Any] | None = None  # {"verdict", "correct", "status"}
    coach_text: str = ""  # the coach's raw reply (or the scored option)
    coach_tokens: int = 0
    task_tokens: int = 0
    seconds: float = 0.0


@dataclass
class Run:
    question: str
    policy: str
    task_model: str
    coach_model: str | None
    answer: str | None = None
    stop_reason: str = ""  # "return_answer", "terminate", "max_turns", "single_turn", "coach_invalid"
    turns: list[Turn] = field(default_factory=list)
    task_tokens: int = 0
    coach_tokens: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
