"""The one protocol every model engine implements, local or remote."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": "..."}
Notify = Callable[[str], None]


def notify_stderr(message: str) -> None:
    print(message, file=sys.stderr)


@dataclass(frozen=True)
class EngineOptions:
    """How an engine is loaded and run; the same for every engine (remote ones ignore the local knobs)."""

    n_ctx: int = 8192
    gpu_layers: int | None = None  # None = all layers when the build can offload
    threads: int | None = None  # None = chosen from physical cores
    timeout_s: float = 120.0
    max_retries: int = 3
    verbose: bool = False
    # where an engine reports notes and warnings (the CLI: one line on stderr); not a setting
    notify: Notify = field(default=notify_stderr, compare=False, repr=False)


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # prompt tokens actually evaluated (the rest came from a reused KV prefix); local engines only
    evaluated_prompt_tokens: int | None = None

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Timing:
    seconds: float = 0.0
    prompt_seconds: float | None = None
    decode_seconds: float | None = None


@dataclass(frozen=True)
class Completion:
    text: str
    usage: Usage = field(default_factory=Usage)
    timing: Timing = field(default_factory=Timing)
    finish_reason: str | None = None


@dataclass(frozen=True)
class Choice:
    """Result of scoring a closed set of options (constrained steering decisions)."""

    index: int
    logprobs: tuple[float, ...]  # total log-probability of each option under the model
    tokens: int = 0  # prompt + option tokens the model read (for cost accounting)


@runtime_checkable
class Engine(Protocol):
    """A chat model.

    `chat` generates a reply. `kind` is "base" (needs few-shot completion prompts) or "instruct".
    `name` is what logs and reports show. The capabilities tell callers what an engine can do, so no
    caller tests names or attributes:
      n_ctx              context size in tokens, None when the engine cannot know (a remote server)
      supports_grammar   `chat(grammar=GBNF)` constrains decoding (llama.cpp); others ignore it
      supports_scoring   the engine is a ScoringEngine (`choose`)
    """

    name: str
    kind: str

    @property
    def n_ctx(self) -> int | None: ...

    @property
    def supports_grammar(self) -> bool: ...

    @property
    def supports_scoring(self) -> bool: ...

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
    ) -> Completion: ...

    def close(self) -> None: ...


@runtime_checkable
class ScoringEngine(Engine, Protocol):
    """A local engine that can also score fixed continuations: the coach's constrained choice.

    `choose(messages, options)` returns the option the model itself rates most likely after the
    prompt, with the log-probability of each. Local coaches (GGUF, ONNX) implement it so a small
    model always yields a valid action, decided by the model's own scores rather than keyword rules.
    """

    def choose(self, messages: list[Message], options: list[str]) -> Choice: ...


def as_scoring(engine: Engine) -> ScoringEngine | None:
    """The engine as a ScoringEngine when it declares the capability, else None."""
    if engine.supports_scoring and isinstance(engine, ScoringEngine):
        return engine
    return None
