"""Explicit engine specs, name resolution, and the capabilities every engine declares."""

from __future__ import annotations

from pathlib import Path

import pytest

from csteer.engines import EngineSpec, as_scoring, parse_explicit
from csteer.engines.anthropic_engine import AnthropicEngine
from csteer.engines.llamacpp import LlamaCppEngine
from csteer.engines.onnx import OnnxEngine
from csteer.engines.openai_compat import OpenAIEngine
from csteer.errors import UsageError
from csteer.models.resolve import resolve
from tests.scripted import ScriptedEngine


@pytest.mark.parametrize(
    "text, expected",
    [
        ("gguf:/m/a.gguf", EngineSpec("gguf", "/m/a.gguf")),
        ("/m/b.gguf", EngineSpec("gguf", "/m/b.gguf")),
        ("onnx:/m/dir", EngineSpec("onnx", "/m/dir")),
        ("openai:gpt-4o", EngineSpec("openai", "gpt-4o")),
        ("openai:qwen@http://127.0.0.1:8080/v1", EngineSpec("openai", "qwen", "http://127.0.0.1:8080/v1")),
        ("anthropic:claude-x", EngineSpec("anthropic", "claude-x")),
    ],
)
def test_explicit_specs(text: str, expected: EngineSpec) -> None:
    assert parse_explicit(text) == expected


def test_ollama_uses_its_local_v1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_BASE_URL", raising=False)
    assert parse_explicit("ollama:qwen2.5:7b") == EngineSpec(
        "openai", "qwen2.5:7b", "http://127.0.0.1:11434/v1"
    )


def test_names_are_not_explicit_specs() -> None:
    assert parse_explicit("embedded") is None and parse_explicit("my-model") is None


@pytest.mark.parametrize(
    "text, message",
    [("", "empty model spec"), ("gguf:", "names no model"), ("openai:m@", "empty base URL")],
)
def test_bad_specs(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_explicit(text)


def test_resolve_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSTEER_HOME", str(tmp_path))
    assert resolve("openai:gpt-4o") == EngineSpec("openai", "gpt-4o")
    with pytest.raises(UsageError, match="not in the local store yet; run `csteer models pull codesteer-v1`"):
        resolve("codesteer-v1")
    with pytest.raises(UsageError, match="unknown model 'nope'"):
        resolve("nope")


def test_capabilities_are_declared_by_every_engine() -> None:
    assert (LlamaCppEngine.supports_grammar, LlamaCppEngine.supports_scoring) == (True, True)
    assert (OnnxEngine.supports_grammar, OnnxEngine.supports_scoring) == (False, True)
    for remote in (OpenAIEngine, AnthropicEngine):
        assert (remote.supports_grammar, remote.supports_scoring, remote.n_ctx) == (False, False, None)


def test_as_scoring_follows_the_declared_capability() -> None:
    assert as_scoring(ScriptedEngine()) is None
    scorer = ScriptedEngine(choices=[1])
    assert as_scoring(scorer) is scorer
