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
    from csteer.engines import llamacpp

    engine = llamacpp.LlamaCppEngine(str(embedded_gguf), kind="base")
    limits: list[int] = []
    real_cap, real_completion = llamacpp._token_cap, engine.llm.create_completion

    def recording_cap(limit: int):
        limits.append(limit)
        return real_cap(limit)

    def cut_by_the_cap(*args, **kwargs):
        out = real_completion(*args, **kwargs)
        out["usage"]["completion_tokens"] = kwargs["max_tokens"] + llamacpp.MULTIBYTE_SLACK
        out["choices"][0]["finish_reason"] = "stop"  # what llama-cpp-python reports for a criterion
        return out

    monkeypatch.setattr(llamacpp, "_token_cap", recording_cap)
    monkeypatch.setattr(engine.llm, "create_completion", cut_by_the_cap)
    reply = engine.chat([{"role": "user", "content": "Once upon a time"}], max_tokens=5)
    assert limits == [5 + llamacpp.MULTIBYTE_SLACK]
    assert reply.finish_reason == "length" and reply.usage.completion_tokens == 5 + llamacpp.MULTIBYTE_SLACK
