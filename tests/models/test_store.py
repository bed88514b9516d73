from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from csteer.errors import CsteerError, UsageError
from csteer.models import store
from tests.models.helpers import csteer, truncate, write_gguf


def _registered() -> set[str]:
    return {e.name for e in store.list_models(include_available=False)} - {"embedded"}


def test_import_registers_a_verified_copy(tmp_path: Path, home: Path) -> None:
    src = write_gguf(tmp_path / "tiny.gguf", chat_template=True)
    entry = store.import_model(src, "tiny")
    assert entry.path == home / "models" / "tiny" / "tiny.gguf"
    assert entry.path.read_bytes() == src.read_bytes()
    assert entry.kind == "instruct"  # guessed from the chat template
    found = store.lookup("tiny")
    assert found is not None and found.format == "gguf" and found.verified
    assert found.size == src.stat().st_size
    # the engine spec resolver sees store names
    from csteer.models.resolve import resolve

    spec = resolve("tiny")
    assert (spec.engine, spec.target, spec.kind) == ("gguf", str(entry.path), "instruct")


def test_registry_paths_are_relative_so_the_store_can_move(tmp_path: Path, home: Path) -> None:
    store.import_model(write_gguf(tmp_path / "a.gguf"), "a", kind="base")
    raw = json.loads((home / "models" / "registry.json").read_text())
    assert raw["models"]["a"]["path"] == "a/a.gguf"
    assert raw["models"]["a"]["kind"] == "base"


def test_truncated_import_registers_nothing(tmp_path: Path, home: Path) -> None:
    bad = truncate(write_gguf(tmp_path / "full.gguf"), tmp_path / "truncated.gguf", 200)
    with pytest.raises(CsteerError, match="truncated"):
        store.import_model(bad, "x")
    assert _registered() == set()
    assert not (home / "models" / "x").exists()
    assert store.stale_partials() == []


def test_bad_names_and_missing_files_are_usage_errors(tmp_path: Path) -> None:
    src = write_gguf(tmp_path / "m.gguf")
    for name in ("embedded", "../up", "a:b", "x.gguf", "", "-dash"):
        with pytest.raises(UsageError):
            store.import_model(src, name)
    with pytest.raises(UsageError, match="no such file"):
        store.import_model(tmp_path / "absent.gguf", "m")


def test_reimport_replaces_and_rm_deletes(tmp_path: Path, home: Path) -> None:
    store.import_model(write_gguf(tmp_path / "m.gguf", elements=10), "m")
    second = store.import_model(write_gguf(tmp_path / "m2.gguf", elements=20), "m")
    assert second.path.name == "m2.gguf" and not (home / "models" / "m" / "m.gguf").exists()
    store.remove("m")
    assert _registered() == set()
    assert not (home / "models" / "m").exists()
    with pytest.raises(UsageError):
        store.remove("m")


def test_verify_catches_a_changed_file(tmp_path: Path) -> None:
    entry = store.import_model(write_gguf(tmp_path / "m.gguf"), "m")
    assert store.verify("m").ok
    data = bytearray(entry.path.read_bytes())
    data[-1] ^= 0xFF
    entry.path.write_bytes(bytes(data))
    assert not store.get("m").verified  # the cheap stat check notices the rewrite
    result = store.verify("m")
    assert not result.ok and "sha256 mismatch" in result.message
    assert any(level == "warn" and "m:" in msg for level, msg in store.health())


def test_missing_file_is_a_clear_error_and_a_health_failure(tmp_path: Path) -> None:
    entry = store.import_model(write_gguf(tmp_path / "m.gguf"), "m")
    entry.path.unlink()
    with pytest.raises(CsteerError, match="is gone"):
        store.lookup("m")
    assert ("fail", f"m: {entry.path} is missing") in store.health()


def test_corrupt_registry_is_reported_not_overwritten(home: Path) -> None:
    reg = home / "models" / "registry.json"
    reg.parent.mkdir(parents=True)
    reg.write_text("{not json")
    with pytest.raises(CsteerError, match="unreadable"):
        store.list_models()
    assert store.health()[0][0] == "fail"
    assert reg.read_text() == "{not json"


_SLOW_IMPORT = """
import sys, time
from pathlib import Path
from csteer.models import store

marker = Path(sys.argv[2])
def progress(done, total):
    if done >= total // 2 and not marker.exists():
        marker.write_text("half")
        time.sleep(120)  # the test kills us here, mid-copy
store.import_model(Path(sys.argv[1]), "big", progress=progress)
"""


def test_killed_import_leaves_the_store_consistent(tmp_path: Path, home: Path) -> None:
    src = write_gguf(tmp_path / "big.gguf", elements=2_000_000)  # 8 MB: several copy blocks
    marker = tmp_path / "marker"
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_IMPORT, str(src), str(marker)], env=dict(os.environ))
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, "the importing process ended before reaching mid-copy"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert _registered() == set()
    assert not (home / "models" / "big").exists()
    leftovers = store.stale_partials()
    assert len(leftovers) == 1  # the half copy, in the private staging area only
    assert any("interrupted import" in msg for _, msg in store.health())
    entry = store.import_model(src, "big")  # the next import sweeps the leftover
    assert store.stale_partials() == [] and entry.verified


def test_cli_list_json_always_has_embedded() -> None:
    result = csteer("models", "list", "--json")
    assert result.returncode == 0, result.stderr
    models = {m["name"]: m for m in json.loads(result.stdout)}
    emb = models["embedded"]
    assert {"name", "format", "path", "size", "verified"} <= emb.keys()
    assert emb["format"] == "gguf" and emb["path"].endswith(".gguf")
    assert models["codesteer-v1"]["installed"] is False


def test_cli_import_of_truncated_gguf_fails_on_one_line(tmp_path: Path) -> None:
    bad = truncate(write_gguf(tmp_path / "full.gguf"), tmp_path / "truncated.gguf", 150)
    result = csteer("models", "import", str(bad), "--name", "x")
    assert result.returncode != 0
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "truncated" in result.stderr and "Traceback" not in result.stderr
    listed = json.loads(csteer("models", "list", "--json").stdout)
    assert "x" not in {m["name"] for m in listed}


def test_cli_import_info_path_verify_rm(tmp_path: Path, home: Path) -> None:
    src = write_gguf(tmp_path / "tiny.gguf")
    assert csteer("models", "import", str(src), "--name", "tiny", "--kind", "base").returncode == 0
    path = csteer("models", "path", "tiny").stdout.strip()
    assert Path(path) == home / "models" / "tiny" / "tiny.gguf"
    info = json.loads(csteer("models", "info", "tiny", "--json").stdout)
    assert info["kind"] == "base" and info["verified"] is True
    verify = csteer("models", "verify", "--all")
    assert verify.returncode == 0, verify.stderr
    assert "ok   tiny" in verify.stdout
    assert csteer("models", "rm", "tiny").returncode == 0
    missing = csteer("models", "path", "tiny")
    assert missing.returncode == 2 and "no model named 'tiny'" in missing.stderr
    assert csteer("models", "path", "codesteer-v1").returncode == 2


def test_convert_failures_register_nothing(tmp_path: Path) -> None:
    from tests.models.helpers import write_hf_checkpoint

    store.import_model(write_hf_checkpoint(tmp_path / "ckpt"), "ck")
    store.import_model(write_gguf(tmp_path / "t.gguf"), "tg")
    wrong_source = csteer("models", "convert", "tg", "--to", "onnx")
    assert wrong_source.returncode == 2 and "conversion starts from an HF checkpoint" in wrong_source.stderr
    # a checkpoint the GGUF pipeline cannot convert (no embedding tensor): one error line, nothing added
    bad = csteer("models", "convert", "ck", "--to", "gguf", "--quant", "q8_0")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines()[-1].startswith("csteer: error:")
    assert _registered() == {"ck", "tg"}
    assert store.stale_partials() == []
