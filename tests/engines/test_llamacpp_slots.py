"""The llama.cpp engine's KV slot store with the real embedded model: conversations that alternate on one
context are swapped back in, and a full store never loses the slot about to be restored."""

from __future__ import annotations

from pathlib import Path

import pytest

from csteer.engines.base import EngineOptions
from csteer.engines.llamacpp import MAX_SLOTS, LlamaCppEngine

pytestmark = pytest.mark.slow

TOPICS = ["rivers of Europe", "prime numbers", "baking bread", "the moon landing", "chess openings", "jazz"]


def _prompt(topic: str, turn: int) -> list[dict[str, str]]:
    text = f"A long note about {topic}. " * 6 + f"Turn {turn}: say one word about {topic}."
    return [{"role": "user", "content": text}]


def test_restoring_the_oldest_slot_of_a_full_store(embedded_gguf: Path) -> None:
    engine = LlamaCppEngine(str(embedded_gguf), EngineOptions(n_ctx=2048, threads=2))
    try:
        # one conversation more than the store holds, then the oldest again: its slot is both the one to
        # restore and the one that saving the live context would evict
        for topic in TOPICS[: MAX_SLOTS + 1]:
            engine.chat(_prompt(topic, 0), max_tokens=1)
        assert len(engine._slots) == MAX_SLOTS
        first = engine.chat(_prompt(TOPICS[0], 0), max_tokens=1)
        prompt_tokens = first.usage.prompt_tokens
        assert first.usage.evaluated_prompt_tokens is not None
        assert first.usage.evaluated_prompt_tokens < prompt_tokens // 2  # the saved prefix was reused
        assert len(engine._slots) <= MAX_SLOTS
        # and the answer is the same as on a fresh context
        again = engine.chat(_prompt(TOPICS[1], 0), max_tokens=4)
        fresh = LlamaCppEngine(str(embedded_gguf), EngineOptions(n_ctx=2048, threads=2))
        try:
            assert fresh.chat(_prompt(TOPICS[1], 0), max_tokens=4).text == again.text
        finally:
            fresh.close()
    finally:
        engine.close()


def test_redrafting_one_prompt_keeps_the_other_conversations_slot(embedded_gguf: Path) -> None:
    """Sample and vote drafts one prompt several times: each draft overwrites only the last one's reply,
    which is not worth a slot; the coach's conversation must survive any number of them."""
    engine = LlamaCppEngine(str(embedded_gguf), EngineOptions(n_ctx=2048, threads=2))
    try:
        coach = _prompt(TOPICS[0], 0)
        engine.chat(coach, max_tokens=1)
        for seed in range(MAX_SLOTS + 2):  # more drafts than the store has slots
            engine.chat(_prompt(TOPICS[1], 0), max_tokens=24, temperature=0.8, seed=seed)
        assert len(engine._slots) == 1  # the coach's, not one per discarded draft
        grown = [{"role": "user", "content": coach[0]["content"] + " And one more word."}]
        again = engine.chat(grown, max_tokens=1)
        assert again.usage.evaluated_prompt_tokens is not None
        assert again.usage.evaluated_prompt_tokens < again.usage.prompt_tokens // 4
    finally:
        engine.close()
