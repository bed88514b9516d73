"""ScriptedEngine: an in-process engine whose replies the test queues, for the loop's logic.

Every call is recorded with its messages and sampling arguments, so a test can assert on exactly what a
model was sent (the fidelity and serving tests do). A reply is a string, or a function of the call for
replies that depend on what was asked. An engine asked for more replies than were queued fails the test
loudly instead of inventing one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from csteer.engines.base import Choice, Completion, Message, Usage

Reply = str | Callable[["Call"], str]


@dataclass(frozen=True)
class Call:
    messages: list[Message]
    max_tokens: int
    temperature: float
    stop: list[str] | None
    grammar: str | None
    seed: int | None
    options: list[str] | None = None  # a choose() call: the options scored
    top_p: float | None = None
    top_k: int | None = None

    @property
    def text(self) -> str:
        """All message contents, joined: handy for routing on what was asked."""
        return "\n".join(m["content"] for m in self.messages)


class ScriptExhausted(AssertionError):
    pass


class ScriptedEngine:
    """An Engine (and, with `choices`, a ScoringEngine) answering from queues the test fills."""

    def __init__(
        self,
        replies: Iterable[Reply] = (),
        *,
        name: str = "scripted",
        kind: str = "instruct",
        n_ctx: int | None = None,
        supports_grammar: bool = False,
        choices: Iterable[int] | None = None,
    ) -> None:
        self.name = name
        self.kind = kind
        self.n_ctx = n_ctx
        self.supports_grammar = supports_grammar
        self.supports_scoring = choices is not None
        self.replies: deque[Reply] = deque(replies)
        self.choices: deque[int] = deque(choices or ())
        self.calls: list[Call] = []
        self.closed = False

    def enqueue(self, *replies: Reply) -> ScriptedEngine:
        self.replies.extend(replies)
        return self

    def enqueue_choices(self, *indices: int) -> ScriptedEngine:
        self.choices.extend(indices)
        return self

    def chat(
        self,
        messages: list[Message],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
        stop: list[str] | None = None,
        grammar: str | None = None,
        seed: int | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
    ) -> Completion:
        call = Call(
            [dict(m) for m in messages],
            max_tokens,
            temperature,
            stop,
            grammar,
            seed,
            top_p=top_p,
            top_k=top_k,
        )
        self.calls.append(call)
        if not self.replies:
            raise ScriptExhausted(f"{self.name}: chat call {len(self.calls)} has no scripted reply left")
        reply = self.replies.popleft()
        text = reply(call) if callable(reply) else reply
        prompt = sum(len(m["content"].split()) for m in messages)
        return Completion(text, Usage(prompt_tokens=prompt, completion_tokens=len(text.split())))

    def choose(self, messages: list[Message], options: list[str]) -> Choice:
        call = Call([dict(m) for m in messages], 0, 0.0, None, None, None, options=list(options))
        self.calls.append(call)
        if not self.choices:
            raise ScriptExhausted(f"{self.name}: choose call has no scripted choice left")
        index = self.choices.popleft()
        logprobs = tuple(0.0 if i == index else -10.0 for i in range(len(options)))
        return Choice(index, logprobs, tokens=sum(len(m["content"].split()) for m in messages))

    def close(self) -> None:
        self.closed = True
