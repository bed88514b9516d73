"""The llama.cpp engine bounds a completion even where llama-cpp-python does not: its max_tokens check is
skipped while the text ends in an unfinished UTF-8 character (a random-weight model made 132 tokens for
max_tokens=12 in tests/quantize/test_coach_8b_builder.py)."""

from __future__ import annotations

import pytest

pytest.importorskip("llama_cpp")


def test_the_cap_stops_after_its_limit_and_not_before() -> None:
    from csteer.engines.llamacpp import _token_cap

    cap = _token_cap(3)
    assert [cap(None, None) for _ in range(5)] == [False, False, False, True, True]


def test_chat_hands_the_cap_to_llama_cpp(monkeypatch: pytest.MonkeyPatch, embedded_gguf) -> None:
    """The cap reaches create_completion at max_tokens + MULTIBYTE_SLACK, and a reply it cut is 'length'."""
    from csteer.engines.llamacpp import MULTIBYTE_SLACK, LlamaCppEngine

    engine = LlamaCppEngine(str(embedded_gguf), kind="base")
    seen = {}
    real = engine.llm.create_completion

    def spy(*args, **kwargs):
        criteria = kwargs["stopping_criteria"]
        seen["limit"] = sum(1 for _ in range(100) if not criteria(None, None))
        out = real(*args, **kwargs)
        out["usage"]["completion_tokens"] = kwargs["max_tokens"] + MULTIBYTE_SLACK  # as the cap cuts it
        out["choices"][0]["finish_reason"] = "stop"  # what llama-cpp-python reports for a criterion
        return out

    monkeypatch.setattr(engine.llm, "create_completion", spy)
    reply = engine.chat([{"role": "user", "content": "Once upon a time"}], max_tokens=5)
    assert seen["limit"] == 5 + MULTIBYTE_SLACK
    assert reply.finish_reason == "length" and reply.usage.completion_tokens == 5 + MULTIBYTE_SLACK
