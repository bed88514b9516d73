"""The real `llm` CLI with csteer's plugin (entry point group `llm`): a steered answer in-process,
logged in llm's own database with the run record. The server path is in test_serve_process.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("llm")

from tests.serve.support import run_llm  # noqa: E402


def test_the_plugin_registers_a_model_per_policy(tmp_path: Path) -> None:
    from csteer.runtime.policies import POLICY_NAMES
    from csteer.serve.llm_plugin import POLICIES

    assert POLICIES == POLICY_NAMES
    out = run_llm(["models"], tmp_path / "home", tmp_path / "llm")
    assert out.returncode == 0, out.stderr
    ids = {
        line.split(": ", 1)[1].split()[0] for line in out.stdout.splitlines() if line.startswith("csteer: ")
    }
    assert ids >= {"csteer", *(f"csteer-{p}" for p in POLICY_NAMES)}, (
        "csteer's llm entry point is not installed: pip install -e ."
    )


@pytest.mark.slow
def test_llm_answers_through_csteer_and_logs_the_run(csteer_home: Path, tmp_path: Path) -> None:
    llm_home = tmp_path / "llm"
    out = run_llm(["-m", "csteer", "-o", "in_process", "1", "What is 3 * 41?"], csteer_home, llm_home)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "123"
    logs = run_llm(["logs", "-n", "1", "--json"], csteer_home, llm_home)
    assert logs.returncode == 0, logs.stderr
    [entry] = json.loads(logs.stdout)
    assert entry["model"] == "csteer" and entry["prompt"] == "What is 3 * 41?"
    assert entry["response"] == "123"
    record = entry["response_json"]
    assert record["answer"] == "123" and record["policy"] == "codesteer" and record["turns"]


def test_the_plugin_uses_the_default_task_model(tmp_path: Path) -> None:
    """`csteer models default` applies to `llm -m csteer` as to `csteer ask`: the error names the
    default's URL, where nothing listens."""
    home = tmp_path / "home"
    env = {"CSTEER_MODEL": "", "CSTEER_COACH": ""}
    nowhere = "openai:x@http://127.0.0.1:9/v1"
    from tests.models.helpers import csteer

    assert csteer("models", "default", nowhere, env={**env, "CSTEER_HOME": str(home)}).returncode == 0
    args = ["-m", "csteer-only-question", "-o", "in_process", "1", "What is 2 + 2?"]
    out = run_llm(args, home, tmp_path / "llm", env=env)
    assert out.returncode != 0 and "http://127.0.0.1:9/v1" in out.stderr, out.stderr
