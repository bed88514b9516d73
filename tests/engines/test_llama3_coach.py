"""The trained coach's GGUF path on a real llama.cpp model: a tiny random Llama-3-shaped checkpoint with the
Llama-3 chat template, converted to GGUF by csteer, steering a scripted task model.

What llama.cpp is handed is recorded at `create_completion`: exactly one `<|begin_of_text|>`, no grammar,
and the trained sampling (T 0.95, top_p 0.7, top_k 50); the file's name picks the profile.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.coach_8b import LLAMA3_TEMPLATE  # Meta-Llama-3-8B-Instruct's chat template
from csteer.engines.base import EngineOptions
from csteer.engines.spec import EngineSpec
from csteer.runtime.assemble import coach_profile
from csteer.runtime.loop import SteeringLoop
from csteer.runtime.prompts import PROFILES
from csteer.runtime.settings import RunSettings, sandbox_limits
from csteer.sandbox import Sandbox
from tests.scripted import ScriptedEngine

BOS = 0  # <|begin_of_text|> in the tiny vocabulary (tests/quantize/conftest.py)
PROGRAM = "```python\nprint(6 * 7)\n```"
CHECKER = "```python\nprint('Correct')\n```"


@pytest.fixture(scope="module")
def coach_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    pytest.importorskip("llama_cpp")
    from csteer.quantize import to_gguf
    from tests.quantize.conftest import build_llama, build_tokenizer

    src = tmp_path_factory.mktemp("tiny-llama3")
    build_tokenizer(src)
    config = json.loads((src / "tokenizer_config.json").read_text())
    config["chat_template"] = LLAMA3_TEMPLATE
    (src / "tokenizer_config.json").write_text(json.dumps(config))
    if (src / "chat_template.jinja").exists():
        (src / "chat_template.jinja").write_text(LLAMA3_TEMPLATE)
    build_llama(src, len(json.loads((src / "tokenizer.json").read_text())["model"]["vocab"]))
    out = tmp_path_factory.mktemp("gguf") / "CodeSteer-v1-tiny.gguf"
    return to_gguf(src, out, "f16", progress=False)


@pytest.fixture(scope="module")
def coach(coach_gguf: Path) -> Iterator[Any]:
    from csteer.engines.llamacpp import LlamaCppEngine

    engine = LlamaCppEngine(str(coach_gguf), EngineOptions(n_ctx=2048, threads=1))
    yield engine
    engine.close()


def record(engine: Any, monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[int], dict[str, Any]]]:
    calls: list[tuple[list[int], dict[str, Any]]] = []
    real = engine.llm.create_completion

    def spy(prompt: list[int], **kwargs: Any) -> Any:
        calls.append((list(prompt), kwargs))
        return real(prompt, **kwargs)

    monkeypatch.setattr(engine.llm, "create_completion", spy)
    return calls


def task() -> ScriptedEngine:
    return ScriptedEngine([lambda c: CHECKER if "checking code" in c.text else PROGRAM] * 10, name="task")


def test_template_and_one_bos(coach: Any) -> None:
    assert coach.kind == "instruct" and "loop.index0" in coach.llm.metadata["tokenizer.chat_template"]
    prompt, _ = coach.render([{"role": "user", "content": "hi"}])
    assert prompt.startswith("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>")
    tokens = coach.tokenize(prompt)
    assert tokens[0] == BOS and tokens.count(BOS) == 1
    # what tokenizing with add_bos=True did before: the template's BOS and llama.cpp's own
    assert coach.llm.tokenize(prompt.encode(), add_bos=True, special=True)[:2] == [BOS, BOS]


def test_trained_coach_on_llama_cpp(coach: Any, coach_gguf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSTEER_HOME", str(coach_gguf.parent / "home"))
    profile = coach_profile(None, EngineSpec("gguf", str(coach_gguf)), coach)
    assert profile.name == "codesteer-v1"  # the file names CodeSteer
    calls = record(coach, monkeypatch)
    settings = RunSettings(max_turns=1, coach_max_tokens=24, seed=3, self_check=False)
    loop = SteeringLoop(task(), coach, Sandbox(sandbox_limits(10)), settings, profile=profile)
    run = loop.run("What is 6 * 7?")
    assert len(calls) == 2 and len(run.turns) in (1, 2)
    for tokens, kwargs in calls:
        assert tokens[0] == BOS and tokens[1] != BOS  # one BOS: the template's
        assert "grammar" not in kwargs
        assert (kwargs["temperature"], kwargs["top_p"], kwargs["top_k"]) == (0.95, 0.7, 50)
        assert kwargs["max_tokens"] <= 24 and kwargs["seed"] == 3
    first = coach.llm.detokenize(calls[0][0], special=True).decode()
    assert first.count("<|begin_of_text|>") == 1
    assert "TaskLLM" in first and first.endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")
    # the review turn carries the coach's raw first reply as its assistant turn
    assert run.turns[0].coach_text.strip() in coach.llm.detokenize(calls[1][0], special=True).decode()


def test_untrained_profiles_keep_the_grammar(coach: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = record(coach, monkeypatch)
    settings = RunSettings(max_turns=0, coach_max_tokens=24, self_check=False)
    SteeringLoop(task(), coach, Sandbox(sandbox_limits(10)), settings, profile=PROFILES["self"]).run("6 * 7?")
    assert len(calls) == 1 and "grammar" in calls[0][1]
    assert calls[0][0][0] == BOS and calls[0][0][1] != BOS
