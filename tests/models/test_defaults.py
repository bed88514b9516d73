"""`csteer models default`: what a command uses when -m / --coach is not given, and in which order.

The end-to-end cases point the default at an OpenAI-compatible URL where nothing listens: the one-line
error names the URL, which shows which spec the command really used, without loading a model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from csteer.cli.common import SETTING_OF_OPTION, run_settings
from csteer.errors import CsteerError, UsageError
from csteer.models import defaults, store
from tests.models.helpers import csteer, write_gguf

NOWHERE = "openai:x@http://127.0.0.1:9/v1"  # port 9 (discard): refused at once
ELSEWHERE = "openai:x@http://127.0.0.1:7/v1"


def _settings(**named: object) -> tuple[str, str]:
    options = dict.fromkeys(SETTING_OF_OPTION)  # every model option left at None, as click gives it
    options.update(max_turns=5, temperature=0.0, task_max_tokens=2000, code_timeout=10.0, n_ctx=8192)
    options.update(named)
    settings = run_settings(options)
    return settings.model, settings.coach


def test_the_order_is_flag_then_environment_then_stored_then_embedded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CSTEER_MODEL", raising=False)
    monkeypatch.delenv("CSTEER_COACH", raising=False)
    assert _settings() == ("embedded", "embedded")
    assert defaults.current("model").source == "built-in"
    store.import_model(write_gguf(tmp_path / "t.gguf"), "tiny", kind="base")
    defaults.set_default("model", "tiny")
    assert _settings() == ("tiny", "embedded")
    assert defaults.current("model") == defaults.Default("model", "tiny", "csteer models default")
    monkeypatch.setenv("CSTEER_MODEL", NOWHERE)
    assert _settings() == (NOWHERE, "embedded")
    assert _settings(model_spec="embedded", coach_spec="tiny") == ("embedded", "tiny")
    monkeypatch.delenv("CSTEER_MODEL")
    defaults.set_default("coach", NOWHERE)
    assert _settings() == ("tiny", NOWHERE)
    assert defaults.set_default("model", None).spec == "embedded"
    assert _settings() == ("embedded", NOWHERE)


def test_only_what_can_be_used_is_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="run `csteer models pull qwen2.5-coder-1.5b`"):
        defaults.set_default("model", "qwen2.5-coder-1.5b")  # in the catalog, not pulled
    with pytest.raises(UsageError, match="unknown model 'nosuch'"):
        defaults.set_default("model", "nosuch")
    with pytest.raises(UsageError, match="does not exist"):
        defaults.set_default("model", "gguf:absent.gguf")
    write_gguf(tmp_path / "rel.gguf")
    monkeypatch.chdir(tmp_path)
    # a relative path is stored absolute: the default is used from any folder
    assert defaults.set_default("model", "rel.gguf").spec == f"gguf:{tmp_path / 'rel.gguf'}"
    assert defaults.set_default("model", "gguf:rel.gguf").spec == f"gguf:{tmp_path / 'rel.gguf'}"
    assert defaults.set_default("coach", "embedded").source == "built-in"  # embedded: nothing stored


def test_the_store_keeps_defaults_across_writes_and_drops_one_with_its_model(
    tmp_path: Path, home: Path
) -> None:
    store.import_model(write_gguf(tmp_path / "a.gguf"), "a", kind="base")
    defaults.set_default("model", "a")
    defaults.set_default("coach", "a")
    store.import_model(write_gguf(tmp_path / "b.gguf"), "b", kind="base")  # another registry rewrite
    raw = json.loads((home / "models" / "registry.json").read_text())
    assert raw["defaults"] == {"model": "a", "coach": "a"} and set(raw["models"]) == {"a", "b"}
    store.remove("b")
    assert sorted(defaults.roles_of("a")) == ["coach", "model"]
    store.remove("a")
    assert defaults.current("model").spec == "embedded" and defaults.current("coach").spec == "embedded"
    assert "defaults" not in json.loads((home / "models" / "registry.json").read_text())


def test_a_broken_defaults_table_is_one_clear_error(home: Path) -> None:
    (home / "models").mkdir(parents=True)
    (home / "models" / "registry.json").write_text('{"version": 1, "models": {}, "defaults": []}')
    with pytest.raises(CsteerError, match="unknown layout"):
        defaults.current("model")
    result = csteer("models", "default")
    assert result.returncode == 1 and "unknown layout" in result.stderr and "Traceback" not in result.stderr


def test_cli_sets_shows_and_clears_and_ask_uses_the_default(tmp_path: Path) -> None:
    env = {"CSTEER_MODEL": "", "CSTEER_COACH": ""}
    shown = csteer("models", "default", env=env)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        "default task model: embedded (built-in)",
        "default coach: embedded (built-in)",
    ]
    set_ = csteer("models", "default", NOWHERE, env=env)
    assert (
        set_.returncode == 0
        and set_.stdout.strip() == f"default task model: {NOWHERE} (csteer models default)"
    )
    ask = ["ask", "--no-server", "--no-log", "--policy", "only-question", "What is 2 + 2?"]
    used = csteer(*ask, env=env)
    assert used.returncode == 1 and "http://127.0.0.1:9/v1" in used.stderr
    overridden = csteer(*ask, env={**env, "CSTEER_MODEL": ELSEWHERE})
    assert overridden.returncode == 1 and "http://127.0.0.1:7/v1" in overridden.stderr
    flagged = csteer(*ask, "-m", ELSEWHERE, env=env)
    assert "http://127.0.0.1:7/v1" in flagged.stderr
    both = csteer("models", "default", "embedded", "--clear", env=env)
    assert both.returncode == 2 and "not both" in both.stderr
    pull_hint = csteer("models", "default", "qwen2.5-coder-0.5b", env=env)
    assert pull_hint.returncode == 2 and "csteer models pull qwen2.5-coder-0.5b" in pull_hint.stderr
    cleared = csteer("models", "default", "--clear", env=env)
    assert cleared.stdout.strip() == "default task model: embedded (built-in)"


def test_removing_the_default_model_says_so(tmp_path: Path) -> None:
    src = write_gguf(tmp_path / "tiny.gguf")
    assert csteer("models", "import", str(src), "--name", "tiny", "--kind", "base").returncode == 0
    assert csteer("models", "default", "--coach", "tiny").returncode == 0
    removed = csteer("models", "rm", "tiny")
    assert removed.returncode == 0
    assert "tiny was the default coach; the default is embedded again" in removed.stderr
    assert "default coach: embedded (built-in)" in csteer("models", "default", "--coach").stdout
