"""Steering policies as data: who coaches, and how the turns of a run are laid out.

One table, read by the loop, the CLI's choices and the bench's methods; no caller tests policy names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from csteer.errors import UsageError
from csteer.runtime import prompts

Coach = Literal["model", "task", "none"]  # the coach model steers / the task model steers itself / nobody
Plan = Literal["steer", "single", "code-first-rule"]


@dataclass(frozen=True)
class Policy:
    name: str
    coach: Coach
    plan: Plan
    single_guidance: str = ""  # plan "single": what the task model is told for its one attempt
    help: str = ""

    @property
    def steered(self) -> bool:
        """A model reviews every turn (and so the checkers run)."""
        return self.coach != "none"

    @property
    def needs_coach_model(self) -> bool:
        return self.coach == "model"


POLICIES: dict[str, Policy] = {
    p.name: p
    for p in (
        Policy("codesteer", "model", "steer", help="the coach model steers the task model"),
        Policy("self", "task", "steer", help="the task model steers itself (the paper's Symbolic Agent)"),
        Policy(
            "only-question",
            "none",
            "single",
            prompts.ANSWER_FORMAT_HINT,
            help="one answer to the bare question",
        ),
        Policy("all-text", "none", "single", prompts.TEXT_PROMPT, help="one answer in text, no code"),
        Policy("all-code", "none", "single", prompts.CODE_PROMPT, help="one answer as a program"),
        Policy(
            "code-first-rule",
            "none",
            "code-first-rule",
            help="code, code again on failure, then text; no model coaches",
        ),
    )
}
POLICY_NAMES: tuple[str, ...] = tuple(POLICIES)


def get_policy(name: str) -> Policy:
    try:
        return POLICIES[name]
    except KeyError:
        raise UsageError(f"unknown policy {name!r}; choose from {', '.join(POLICY_NAMES)}") from None
