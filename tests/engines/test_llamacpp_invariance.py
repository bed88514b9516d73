"""A prompt's logits do not depend on what the context held before it (llamacpp module docstring).

With the embedded Gemma 3 (a 512-token sliding window) a coach's Code/Text choice moved by up to 0.37
nats with the process's history: a saved state longer than the window, restored and reused for a
shorter prefix, left holes in the window layers, and repacked weights gave a token other logits when a
decode call was cut elsewhere. These tests compare every score with a fresh engine's."""

from __future__ import annotations

from pathlib import Path

import pytest

from csteer.engines.base import EngineOptions, Message
from csteer.engines.llamacpp import MIN_CALL, LlamaCppEngine, _calls
from csteer.runtime import prompts

pytestmark = pytest.mark.slow

OPTIONS = [" <<<Code>>>", " <<<Text>>>"]


def _coach(question: str) -> list[Message]:
    return [{"role": "user", "content": prompts.coach_transcript(question, [], None)}]


def _engine(path: Path) -> LlamaCppEngine:
    return LlamaCppEngine(str(path), EngineOptions(n_ctx=4096, threads=2))


@pytest.fixture(scope="module")
def engine(embedded_gguf: Path):
    engine = _engine(embedded_gguf)
    yield engine
    engine.close()


def test_the_window_is_what_the_tests_below_cross(engine: LlamaCppEngine) -> None:
    prompt = engine.tokenize(engine.render(_coach("How many days are there from March 1 to April 15?"))[0])
    assert engine._n_swa == 512 and len(prompt) > engine._n_swa


def test_a_choice_scores_the_same_whatever_came_before(embedded_gguf: Path, engine: LlamaCppEngine) -> None:
    target = _coach("What is the capital of Japan?")
    fresh = _engine(embedded_gguf)
    try:
        expected = fresh.choose(target, OPTIONS).logprobs
    finally:
        fresh.close()
    # a longer coach transcript that shares the few-shot header, then a task prompt that swaps it out
    # into a slot; the target then restores that slot for the shared header
    engine.choose(_coach("How many days are there from March 1, 2024 to April 15, 2024?"), OPTIONS)
    engine.chat(
        [{"role": "user", "content": prompts.task_transcript("What is 9 * 7?", [], "Go.")}], max_tokens=8
    )
    assert engine.choose(target, OPTIONS).logprobs == expected
    # and again straight after itself (the whole prompt cached), and after a sampled draft
    assert engine.choose(target, OPTIONS).logprobs == expected
    engine.chat(target, max_tokens=16, temperature=0.8, seed=3)
    assert engine.choose(target, OPTIONS).logprobs == expected


def test_a_greedy_draft_is_the_same_whatever_came_before(embedded_gguf: Path, engine: LlamaCppEngine) -> None:
    task = [
        {"role": "user", "content": prompts.task_transcript("What is 12 factorial?", [], prompts.CODE_PROMPT)}
    ]
    fresh = _engine(embedded_gguf)
    try:
        expected = fresh.chat(task, max_tokens=48).text
    finally:
        fresh.close()
    for question in ("How many vowels are in the word umbrella?", "What is 17 * 23?"):
        other = prompts.task_transcript(question, [], prompts.CODE_PROMPT)
        engine.chat([{"role": "user", "content": other}], max_tokens=24)
        engine.choose(_coach(question), OPTIONS)
    assert engine.chat(task, max_tokens=48).text == expected
    assert engine.chat(task, max_tokens=48).text == expected  # fully cached: still no short call


def test_a_long_reply_does_not_spoil_its_prompts_slot(embedded_gguf: Path) -> None:
    """A short prompt whose reply ran past the window: its slot is saved for the prompt's cells only (a
    state holding the reply too would be longer than the window, and restoring it loses early cells)."""
    counting = "Count from one to five hundred: one, two, three, four, five, six, seven,"
    target = [{"role": "user", "content": counting + " eight, nine, ten"}]
    fresh = _engine(embedded_gguf)
    try:
        expected = fresh.choose(target, OPTIONS).logprobs
    finally:
        fresh.close()
    engine = _engine(embedded_gguf)
    try:
        reply = engine.chat([{"role": "user", "content": counting}], max_tokens=600, stop=["\n\n\n\n"])
        assert reply.usage.prompt_tokens + reply.usage.completion_tokens > engine._n_swa  # past the window
        engine.choose(
            _coach("What is 2 + 2?"), OPTIONS
        )  # another conversation: the first one's slot is saved
        assert engine.choose(target, OPTIONS).logprobs == expected
    finally:
        engine.close()


@pytest.mark.parametrize(
    ("start", "end"), [(0, 1025), (0, 513), (0, 519), (7, 520), (100, 101 + 512), (0, 30)]
)
def test_no_short_decode_call(start: int, end: int) -> None:
    calls = list(_calls(start, end, 512))
    assert calls[0][0] == start and calls[-1][1] == end
    assert all(b - a >= MIN_CALL and b - a <= 512 for a, b in calls)
    assert all(calls[i][1] == calls[i + 1][0] for i in range(len(calls) - 1))
