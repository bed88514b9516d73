"""The trained texts as data: prompt.py fetched at a pin, checked, parsed with `ast`, stored, used; and the
choice of profile for a coach (store entry, GGUF name, path) with its notices.

The prompt.py served here is written by the test (csteer never ships the reference's wording); the pin
is pointed at it for the test.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from csteer.engines.spec import EngineSpec
from csteer.errors import CsteerError, UsageError
from csteer.models import pull, trained_prompts
from csteer.runtime import assemble, prompts
from tests.scripted import ScriptedEngine

SERVED = '''"""Test prompt file."""
code_text_choice_prompt = f"""Pick <<<Code>>> or <<<Text>>>.\\n"""
with_COT_code_output_prompt = """Write code."""
text_output_prompt = "Write text."
Code_checker_prompt = f"""Check it."""
'''


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[str]]:
    """A loopback server for raw files; requests are recorded. CSTEER_HOME is a fresh folder."""
    monkeypatch.setenv("CSTEER_HOME", str(tmp_path / "home"))
    body = SERVED.encode()
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv(trained_prompts.BASE_URL_ENV, f"http://127.0.0.1:{httpd.server_address[1]}")
    monkeypatch.setattr(trained_prompts, "SHA256", hashlib.sha256(body).hexdigest())
    try:
        yield seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_parse_accepts_string_and_constant_fstring() -> None:
    constants = trained_prompts.parse_constants(SERVED)
    assert constants["code_text_choice_prompt"] == "Pick <<<Code>>> or <<<Text>>>.\n"
    assert constants["text_output_prompt"] == "Write text."


@pytest.mark.parametrize(
    "source",
    [
        "import os\nx = 'a'\n",
        "x = f'{y}'\n",
        "x = open('f').read()\n",
        "x = 'a' + 'b'\n",
        "def f():\n    pass\n",
        "x = y = 'a'\n",
        "x = 'unclosed\n",
    ],
)
def test_parse_refuses_anything_else(source: str) -> None:
    with pytest.raises(UsageError):
        trained_prompts.parse_constants(source)


def test_fetch_pins_parses_stores_and_the_profile_uses_it(server: list[str]) -> None:
    record = trained_prompts.fetch()
    assert server == [f"/{trained_prompts.REPO}/{trained_prompts.COMMIT}/prompt.py"]
    assert record["constants"]["with_COT_code_output_prompt"] == "Write code."
    assert trained_prompts.load_stored() == record
    coach = ScriptedEngine(name="coach")
    profile = assemble.coach_profile("codesteer-v1", None, coach)
    assert profile.interface is not None and profile.interface.trained
    assert profile.interface.texts["code"] == "Write code." and "prompt.py" in profile.source
    assert profile.first_turn("Q")[0]["content"] == "Pick <<<Code>>> or <<<Text>>>.\nQ"


def test_a_changed_file_is_refused(server: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trained_prompts, "SHA256", "0" * 64)
    with pytest.raises(CsteerError, match="not the pinned one"):
        trained_prompts.fetch()
    assert trained_prompts.load_stored() is None


def test_pull_of_the_catalog_coach_fetches_the_texts(
    server: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pull, "_pull", lambda *args: "entry")
    said: list[str] = []
    assert pull.pull("codesteer-v1", notify=said.append) == "entry"  # type: ignore[comparison-overlap]
    assert len(server) == 1 and trained_prompts.load_stored() is not None
    assert any("trained prompt texts stored" in line for line in said)
    pull.pull("some/other", notify=said.append)
    assert len(server) == 1  # other models fetch nothing


def test_pull_offline_keeps_the_weights(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CSTEER_HOME", str(tmp_path))
    monkeypatch.setenv(trained_prompts.BASE_URL_ENV, "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setattr(pull, "_pull", lambda *args: "entry")
    said: list[str] = []
    assert pull.pull("codesteer-v1", notify=said.append) == "entry"  # type: ignore[comparison-overlap]
    assert any("own wording" in line for line in said)


def test_without_texts_the_wording_notice_is_given_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CSTEER_HOME", str(tmp_path))
    monkeypatch.setattr(assemble, "_said", set())
    said: list[str] = []
    for _ in range(2):
        profile = assemble.coach_profile("codesteer-v1", None, ScriptedEngine(), notify=said.append)
        assert profile.source == "csteer wording"
    assert len(said) == 1 and "own wording" in said[0]


@pytest.mark.parametrize(
    "spec",
    [
        EngineSpec("gguf", "/models/CodeSteer-v1.Q4_K_M.gguf"),
        EngineSpec("onnx", "/models/codesteer_v1_int4"),
        EngineSpec("openai", "yongchao98/CodeSteer-v1", base_url="http://127.0.0.1:1/v1"),
    ],
)
def test_a_coach_named_codesteer_gets_the_trained_profile(
    spec: EngineSpec, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CSTEER_HOME", str(tmp_path))
    profile = assemble.coach_profile(None, spec, ScriptedEngine(name=f"{spec.engine}:x"))
    assert profile.name == "codesteer-v1"


def test_other_coaches_get_their_profile_with_a_notice(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CSTEER_HOME", str(tmp_path))
    monkeypatch.setattr(assemble, "_said", set())
    said: list[str] = []
    spec = EngineSpec("openai", "llama-3-8b-instruct", base_url="http://127.0.0.1:1/v1")
    profile = assemble.coach_profile(None, spec, ScriptedEngine(name="openai:llama"), notify=said.append)
    assert profile is prompts.PROFILES["self"]
    assert len(said) == 1 and "'self'" in said[0] and "openai:llama" in said[0]
    base = assemble.coach_profile(None, None, ScriptedEngine(kind="base"), notify=said.append)
    assert base is prompts.PROFILES["base-fewshot"]


def test_gguf_general_name_names_the_coach(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gguf = pytest.importorskip("gguf")
    monkeypatch.setenv("CSTEER_HOME", str(tmp_path))
    path = tmp_path / "coach.gguf"  # the file name says nothing; the metadata does
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("CodeSteer-v1")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    assert assemble.names_codesteer(EngineSpec("gguf", str(path)), "gguf:coach.gguf")
    profile = assemble.coach_profile(
        None, EngineSpec("gguf", str(path)), ScriptedEngine(name="gguf:coach.gguf")
    )
    assert profile.name == "codesteer-v1"


def test_a_profile_data_file_replaces_the_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSTEER_HOME", str(tmp_path))
    data = prompts.profile_data.packaged("codesteer-v1").read_text(encoding="utf-8")
    edited = tmp_path / "mine.json"
    edited.write_text(data.replace('"name": "codesteer-v1"', '"name": "my-coach"'), encoding="utf-8")
    profile = assemble.coach_profile(None, None, ScriptedEngine(), profile_file=str(edited))
    assert profile.name == "my-coach" and profile.interface is not None
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "x"}', encoding="utf-8")
    with pytest.raises(UsageError, match="profile file"):
        assemble.coach_profile(None, None, ScriptedEngine(), profile_file=str(broken))


def test_models_info_tells_the_profile_and_its_texts(server: list[str], tmp_path: Path) -> None:
    from tests.helpers import run_csteer

    home = tmp_path / "home"  # the server fixture's CSTEER_HOME
    shown = run_csteer(["models", "info", "gguf:/models/CodeSteer-v1.Q4_K_M.gguf"], home, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "profile codesteer-v1" in shown.stdout and "csteer wording" in shown.stdout
    trained_prompts.fetch()
    shown = run_csteer(
        ["models", "info", "--json", "gguf:/models/CodeSteer-v1.Q4_K_M.gguf"], home, timeout=120
    )
    info = json.loads(shown.stdout)
    assert info["coach"] == "profile codesteer-v1" and info["coach texts"].startswith("trained prompt.py")
    other = run_csteer(["models", "info", "openai:gpt-4o"], home, timeout=120)
    assert "profile self" in other.stdout
