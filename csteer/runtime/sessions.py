"""The two conversations of a steering run: the task model's and the coach's.

Each keeps its own history (the task model never sees the coach's conversation). Both trim old turns to a
character budget derived from the engine's context, so turn cost stays flat instead of overflowing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from csteer.engines.base import Completion, Engine, Message, as_scoring
from csteer.runtime import prompts, shots
from csteer.runtime.actions import (
    MARKERS,
    Action,
    ActionKind,
    ActionParseError,
    action_grammar,
    parse_action,
    reference_action,
)

CHARS_PER_TOKEN = 3  # conservative estimate for budgeting before tokenization
DEFAULT_REMOTE_CTX = 32_768
OMITTED = "[earlier turns omitted to fit the context]"
# a program reply: the fence a base model is handed, the one it stops at, and the grammar for engines
# that constrain decoding (no backtick inside the block, so the block cannot end early or run on)
BASE_REPLY_TOKENS = 400
BASE_PROGRAM_TOKENS = 192
PROGRAM_OPEN = "```python\n"
PROGRAM_CLOSE = "\n```"
_ASSIGNS_ANSWER = re.compile(r"^answer\s*=", re.MULTILINE)
PROGRAM_GRAMMAR = 'root ::= "```python\\n" [^`]+ "\\n```"'


def char_budget(engine: Engine, reserve_tokens: int) -> int:
    n_ctx = engine.n_ctx or DEFAULT_REMOTE_CTX
    return max(2_000, (n_ctx - reserve_tokens) * CHARS_PER_TOKEN)


def clip(text: str, limit: int) -> str:
    """Keep the head and tail of a long text (errors and final prints live at the end)."""
    if len(text) <= limit:
        return text
    head = limit // 3
    return text[:head] + f"\n...[{len(text) - limit} characters cut]...\n" + text[-(limit - head) :]


def fit_messages(messages: list[Message], budget: int) -> list[Message]:
    """Drop the oldest (assistant, user) turn pairs after the first user message until the history fits
    `budget` characters. Roles keep alternating; the first message notes the omission."""
    fixed = [m for m in messages[:1] if m["role"] == "system"]
    body = messages[len(fixed) :]
    if sum(len(m["content"]) for m in messages) <= budget or len(body) <= 2:
        return messages
    first, rest = body[0], body[1:]
    while len(rest) > 2 and sum(len(m["content"]) for m in [*fixed, first, *rest]) > budget:
        rest = rest[2:]
    if len(rest) == len(body) - 1:
        return messages
    first = {"role": first["role"], "content": f"{first['content']}\n\n{OMITTED}"}
    return [*fixed, first, *rest]


@dataclass
class TaskSession:
    engine: Engine
    question: str
    max_tokens: int = 1500
    temperature: float = 0.0
    seed: int | None = None
    messages: list[Message] = field(default_factory=list)
    base_turns: list[tuple[str, str]] = field(default_factory=list)  # (guidance, response) for base models
    # the first message of a chat task model ({question}, {guidance}); the trained codesteer-v1 profile
    # puts its coach's reply first, with no separator
    first_layout: str = "{question}\n\n{guidance}"

    def respond(self, guidance: str) -> Completion:
        reply = self.draft(guidance)
        self.record(guidance, reply.text)
        return reply

    def draft(
        self,
        guidance: str,
        *,
        program: bool = False,
        temperature: float | None = None,
        seed: int | None = None,
    ) -> Completion:
        """One reply to `guidance` after the history so far, not yet part of it (`record` adds it).

        program=True: the reply must be a Python block. A base model is handed the opening fence and
        stops at the closing one; an engine that decodes under a grammar is held to one block; a remote
        chat model is only asked (it cannot be constrained from here)."""
        temperature = self.temperature if temperature is None else temperature
        seed = self.seed if seed is None else seed
        if self.engine.kind == "base":
            return self._draft_base(guidance, program, temperature, seed)
        messages = [*self.messages, {"role": "user", "content": self._user_content(guidance)}]
        budget = char_budget(self.engine, self.max_tokens)
        grammar = PROGRAM_GRAMMAR if program and self.engine.supports_grammar else None
        return self.engine.chat(
            fit_messages(messages, budget),
            max_tokens=self.max_tokens,
            temperature=temperature,
            seed=seed,
            grammar=grammar,
        )

    def record(self, guidance: str, text: str) -> None:
        """Make a drafted reply to `guidance` part of the conversation."""
        if self.engine.kind == "base":
            self.base_turns.append((guidance, text))
            return
        self.messages.append({"role": "user", "content": self._user_content(guidance)})
        self.messages.append({"role": "assistant", "content": text})

    def _user_content(self, guidance: str) -> str:
        """The next user message of a chat task model: the question leads only the first."""
        if self.messages:
            return guidance
        return self.first_layout.format(question=self.question, guidance=guidance)

    def _draft_base(self, guidance: str, program: bool, temperature: float, seed: int | None) -> Completion:
        budget = char_budget(self.engine, self.max_tokens)
        turns = list(self.base_turns)
        while turns and len(prompts.task_transcript(self.question, turns, guidance)) > budget:
            turns = turns[1:]
        prompt = prompts.task_transcript(self.question, turns, guidance)
        prefix = PROGRAM_OPEN if program else ""
        reply = self.engine.chat(
            [{"role": "user", "content": prompt + prefix}],
            # base models ramble: a program or an answer is short, and a block that never closes would
            # otherwise run on for hundreds of tokens per candidate. A program ends where the examples'
            # programs end, at the marker line (a small model otherwise repeats it or writes on)
            max_tokens=min(self.max_tokens, BASE_PROGRAM_TOKENS if program else BASE_REPLY_TOKENS),
            temperature=temperature,
            # the program's own stops first: an OpenAI-compatible server takes only the first four
            stop=([PROGRAM_CLOSE, shots.MARKER_LINE] if program else [shots.MARKER_LINE])
            + prompts.TASK_STOPS,
            seed=seed,
        )
        if not program:
            return replace(reply, text=_close_stopped_program(reply.text))
        body = reply.text.rstrip()
        if "<<<" not in body and _ASSIGNS_ANSWER.search(body):  # stopped at the marker line: put it back
            body += "\n" + shots.MARKER_LINE
        return replace(reply, text=f"{prefix}{body}{PROGRAM_CLOSE}")

    def write_check(self, answer: str) -> Completion:
        """Ask for answer-checking code in a fresh context (the self-answer checker)."""
        if self.engine.kind == "base":
            return self.engine.chat(
                [{"role": "user", "content": prompts.check_transcript(self.question, answer)}],
                max_tokens=BASE_PROGRAM_TOKENS,  # a check is a short program too
                temperature=0.0,
                stop=prompts.CHECK_STOPS,
                seed=self.seed,
            )
        content = prompts.SELF_CHECK_PROMPT.format(question=self.question, answer=answer)
        return self.engine.chat(
            [{"role": "user", "content": content}],
            max_tokens=self.max_tokens,
            temperature=0.0,
            seed=self.seed,
        )


def _close_stopped_program(text: str) -> str:
    """A free reply that stopped at the marker line inside a program it opened: the line and the closing
    fence put back (a reply without an open program is returned as it is)."""
    opened = text.rfind(PROGRAM_OPEN)
    if opened < 0 or "```" in text[opened + len(PROGRAM_OPEN) :]:
        return text
    body = text.rstrip()
    if "<<<" in body[opened:] or not _ASSIGNS_ANSWER.search(body[opened:]):
        return text
    return f"{body}\n{shots.MARKER_LINE}{PROGRAM_CLOSE}"


FIRST_KINDS: tuple[ActionKind, ...] = ("code", "text")
REVIEW_KINDS: tuple[ActionKind, ...] = ("return_answer", "code", "text", "terminate")
RETRY_KINDS: tuple[ActionKind, ...] = ("code", "text")  # the evidence gate withheld the answer


@dataclass
class CoachDecision:
    action: Action
    text: str  # the raw reply, or the chosen option
    tokens: int


@dataclass
class CoachSession:
    """The steering model's side of the conversation."""

    engine: Engine
    profile: prompts.CoachProfile
    question: str
    max_tokens: int = 1024
    temperature: float = 0.0
    seed: int | None = None
    top_p: float | None = None  # None: the engine's default
    top_k: int | None = None
    messages: list[Message] = field(default_factory=list)
    base_reviews: list[tuple[str, str]] = field(default_factory=list)  # (decision marker, what it saw)
    _pending_seen: str | None = None

    def first(self) -> CoachDecision:
        if self.profile.completion_style:
            return self._decide_base(FIRST_KINDS)
        self.messages = self.profile.first_turn(self.question)
        return self._decide_chat(FIRST_KINDS, first=True)

    def review(
        self,
        response: str,
        check: str,
        complexity: str | None,
        brief: str,
        kinds: tuple[ActionKind, ...] = REVIEW_KINDS,
    ) -> CoachDecision:
        """`response`, `check`, `complexity`: the labelled parts; `brief`: the one-line view for base
        coaches; `kinds`: the actions the coach may choose from."""
        if self.profile.completion_style:
            self._pending_seen = brief
            return self._decide_base(kinds)
        self.messages.append(
            {"role": "user", "content": self.profile.review_message(response, check, complexity)}
        )
        return self._decide_chat(kinds, first=False)

    def _decide_base(self, kinds: tuple[ActionKind, ...]) -> CoachDecision:
        prompt = prompts.coach_transcript(self.question, self.base_reviews, self._pending_seen)
        messages: list[Message] = [{"role": "user", "content": prompt}]
        options = [" " + MARKERS[k] for k in kinds]
        scorer = as_scoring(self.engine)
        if scorer is not None:
            choice = scorer.choose(messages, options)
            text, tokens = options[choice.index].strip(), choice.tokens
        else:  # a base model behind a server: free completion, strictly parsed
            reply = self.engine.chat(messages, max_tokens=12, temperature=0.0, stop=["\n"], seed=self.seed)
            text, tokens = reply.text.strip(), reply.usage.total_tokens
        action = _keyword_action(text, kinds)
        self.base_reviews.append((MARKERS[action.kind], self._pending_seen or ""))
        self._pending_seen = None
        return CoachDecision(action, text, tokens)

    def _decide_chat(self, kinds: tuple[ActionKind, ...], first: bool) -> CoachDecision:
        budget = char_budget(self.engine, self.max_tokens)
        grammar = None
        if self.engine.supports_grammar and self.profile.grammar:
            # prose, then exactly one marker: a valid action whatever the model's size
            grammar = action_grammar(kinds, self.profile.allow_guidance, prose_before=1200)
        reply = self.engine.chat(
            fit_messages(self.messages, budget),
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            grammar=grammar,
            seed=self.seed,
            top_p=self.top_p,
            top_k=self.top_k,
        )
        self.messages.append({"role": "assistant", "content": reply.text})  # kept raw, as trained
        if self.profile.replies == "reference" and self.profile.interface is not None:
            texts = self.profile.interface.texts
            action = reference_action(
                reply.text, first=first, code_prompt=texts["code"], text_prompt=texts["text"]
            )
            return CoachDecision(action, reply.text, reply.usage.total_tokens)
        try:
            action = parse_action(reply.text)
        except ActionParseError:
            action = Action("terminate") if not reply.text.strip() else Action("guide", reply.text.strip())
        if action.kind not in kinds and action.kind != "guide":
            # e.g. "Return Answer" before any answer exists: treat as the nearest allowed action
            action = Action("code") if "code" in kinds else Action("terminate")
        return CoachDecision(action, reply.text, reply.usage.total_tokens)


def _keyword_action(text: str, kinds: tuple[ActionKind, ...]) -> Action:
    try:
        action = parse_action(text)
    except ActionParseError:
        return Action(kinds[0])
    return action if action.kind in kinds else Action(kinds[0])
