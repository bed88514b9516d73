"""End to end with the real embedded Gemma 3 270M through llama.cpp, as a user runs it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import free_port, run_csteer, start_llama_server, stop_process

pytestmark = pytest.mark.slow


def test_piped_question_prints_only_the_answer(csteer_home: Path) -> None:
    proc = run_csteer(["ask"], csteer_home, stdin="What is 48271 * 91433?\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "4413562343\n"


def test_json_run_record(csteer_home: Path) -> None:
    proc = run_csteer(["ask", "--json", "What is 3 * 41?"], csteer_home)
    assert proc.returncode == 0, proc.stderr
    run = json.loads(proc.stdout)
    assert run["answer"] == "123"
    assert run["turns"], run
    first = run["turns"][0]
    assert first["code"] and first["execution"]["status"] == "ok"
    # sample and vote: the candidates drawn and the agreement are evidence in the record
    assert len(first["candidates"]) >= 3 and first["agreement"] > 0.5
    assert all(set(c) == {"answer", "status", "reason", "code"} for c in first["candidates"])
    if run["stop_reason"] == "return_answer":
        assert run["turns"][-1]["withheld"] is None  # the gate let the returned answer through
    assert first["coach_action"] in ("Code", "Text")
    assert run["task_model"] == run["coach_model"]  # one shared instance for both roles


def test_verbose_trace_goes_to_stderr(csteer_home: Path) -> None:
    proc = run_csteer(["ask", "-v", "--policy", "all-code", "What is 12 * 11?"], csteer_home)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "132\n"
    assert "turn 0" in proc.stderr and "ran code" in proc.stderr


def test_kv_prefix_reuse_across_turns(embedded_gguf: Path) -> None:
    """A conversation that grows by one turn only evaluates the new tokens, even when another
    conversation (the coach's) used the same context in between."""
    from csteer.engines.llamacpp import LlamaCppEngine

    engine = LlamaCppEngine(str(embedded_gguf), kind="base")
    try:
        task = "Question: What is 2 + 2? Answer with one number.\n" * 8 + "Response:"
        first = engine.chat([{"role": "user", "content": task}], max_tokens=4)
        coach = engine.chat([{"role": "user", "content": "A coach decides.\nDecision:" * 10}], max_tokens=2)
        grown = task + first.text + "\nGuidance: check it.\nResponse:"
        second = engine.chat([{"role": "user", "content": grown}], max_tokens=4)
        assert coach.usage.evaluated_prompt_tokens >= coach.usage.prompt_tokens - 1  # only BOS shared
        assert second.usage.evaluated_prompt_tokens is not None
        assert (
            second.usage.evaluated_prompt_tokens < second.usage.prompt_tokens - first.usage.prompt_tokens + 8
        )
    finally:
        engine.close()


def test_choose_scores_every_option(embedded_gguf: Path) -> None:
    from csteer.engines.llamacpp import LlamaCppEngine

    engine = LlamaCppEngine(str(embedded_gguf), kind="base")
    try:
        prompt = [{"role": "user", "content": "The capital of France is"}]
        choice = engine.choose(prompt, [" Paris", " a banana split with sprinkles"])
        assert choice.index == 0
        assert len(choice.logprobs) == 2 and choice.logprobs[0] > choice.logprobs[1]
        again = engine.choose(prompt, [" a banana split with sprinkles", " Paris"])
        assert again.index == 1  # the decision follows the scores, not the position
    finally:
        engine.close()


@pytest.fixture
def llama_server(embedded_gguf: Path) -> Iterator[str]:
    """llama-cpp-python's own OpenAI-compatible server on loopback, serving the embedded GGUF."""
    port = free_port()
    proc = start_llama_server(embedded_gguf, port, "--n_threads", "1", "--model_alias", "gemma")
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        stop_process(proc)


def test_task_model_behind_openai_compatible_server(csteer_home: Path, llama_server: str) -> None:
    env = {"OPENAI_BASE_URL": llama_server, "OPENAI_API_KEY": "none"}
    proc = run_csteer(
        ["ask", "-m", "openai:gemma", "--task-kind", "base", "What is 48271 * 91433?"], csteer_home, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "4413562343"


def test_base_url_in_spec_overrides_env(csteer_home: Path, llama_server: str) -> None:
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "none"}
    proc = run_csteer(
        [
            "ask",
            "-m",
            f"openai:gemma@{llama_server}",
            "--task-kind",
            "base",
            "--policy",
            "all-code",
            "What is 48271 * 91433?",
        ],
        csteer_home,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "4413562343"
    # negative control: the same run without the URL in the spec goes to OPENAI_BASE_URL (nothing listens
    # on port 9) and fails, so the answer above came through the spec's URL
    control = run_csteer(
        [
            "ask",
            "-m",
            "openai:gemma",
            "--task-kind",
            "base",
            "--policy",
            "all-code",
            "What is 48271 * 91433?",
        ],
        csteer_home,
        env=env,
    )
    assert control.returncode == 1, (control.returncode, control.stdout, control.stderr)
    assert "4413562343" not in control.stdout and "Traceback" not in control.stderr
