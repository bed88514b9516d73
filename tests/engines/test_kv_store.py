"""The KV slot store on disk: the file format's checks, and with the real embedded model, a second engine
(or process) that starts from what the first one evaluated and answers exactly as a fresh one."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from csteer.engines import kv_store
from csteer.engines.base import EngineOptions
from csteer.engines.llamacpp import MIN_CALL

FIXED = "A coach decides how a solver answers each question. " * 12  # a long header shared by prompts


def test_a_saved_file_reads_back_and_a_damaged_one_is_dropped(tmp_path: Path) -> None:
    file = tmp_path / "kv.bin"
    slots = [([1, 2, 3, 4], b"state-a"), ([1, 2], b"covered"), ([9, 8], b"state-b")]
    kv_store.save(file, slots)
    # a slot whose tokens begin another kept one adds nothing: left out
    assert kv_store.load(file, max_tokens=100) == [([1, 2, 3, 4], b"state-a"), ([9, 8], b"state-b")]
    assert kv_store.load(file, max_tokens=3) == [([9, 8], b"state-b")]  # longer than the context: skipped
    data = bytearray(file.read_bytes())
    data[-1] ^= 0xFF
    file.write_bytes(bytes(data))
    assert kv_store.load(file, max_tokens=100) == [] and not file.exists()  # checksum: removed
    file.write_bytes(b"not a kv file")
    assert kv_store.load(file, max_tokens=100) == [] and not file.exists()
    assert kv_store.load(tmp_path / "missing.bin", max_tokens=100) == []


def test_a_file_of_the_previous_format_is_dropped(tmp_path: Path) -> None:
    # format 2 files can hold a short prompt's slot with its long reply's cells (kv_store.MAGIC)
    file = tmp_path / "kv.bin"
    kv_store.save(file, [([1, 2, 3, 4], b"state-a")])
    data = file.read_bytes()
    assert data.startswith(kv_store.MAGIC)
    file.write_bytes(b"CSTEER-KV 2\n" + data[len(kv_store.MAGIC) :])
    assert kv_store.load(file, max_tokens=100) == [] and not file.exists()


def test_the_file_keeps_the_newest_slots_within_its_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kv_store, "MAX_FILE_BYTES", 100)
    file = tmp_path / "kv.bin"
    kv_store.save(file, [([1], b"n" * 60), ([2], b"o" * 60), ([3], b"p" * 20)])
    assert kv_store.load(file, max_tokens=10) == [([1], b"n" * 60), ([3], b"p" * 20)]


def test_the_key_follows_the_model_file(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF" + b"\0" * 20)
    first = kv_store.cache_file(str(model))
    model.write_bytes(b"GGUF" + b"\0" * 21)  # another file at the same path: another key
    assert kv_store.cache_file(str(model)) != first
    assert first.parent.parts[-2:] == ("cache", "kv")


@pytest.mark.slow
def test_a_second_engine_starts_from_the_first_ones_conversations(
    embedded_gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from csteer.engines.llamacpp import LlamaCppEngine

    monkeypatch.setenv("CSTEER_HOME", str(tmp_path))
    monkeypatch.delenv(kv_store.DISABLE_ENV, raising=False)  # tests/conftest.py turns it off
    options = EngineOptions(n_ctx=2048, threads=2)
    first = LlamaCppEngine(str(embedded_gguf), options, kind="base")
    first.chat([{"role": "user", "content": FIXED + "Question: one?\nDecision:"}], max_tokens=2)
    first.close()  # writes the file
    assert kv_store.cache_file(str(embedded_gguf)).is_file()
    prompt = [{"role": "user", "content": FIXED + "Question: two?\nDecision:"}]
    second = LlamaCppEngine(str(embedded_gguf), options, kind="base")
    try:
        reply = second.chat(prompt, max_tokens=6)
        assert reply.usage.evaluated_prompt_tokens is not None
        assert (
            reply.usage.evaluated_prompt_tokens < reply.usage.prompt_tokens // 4
        )  # the header came from disk
    finally:
        second.close()
    monkeypatch.setenv(kv_store.DISABLE_ENV, "1")
    fresh = LlamaCppEngine(str(embedded_gguf), options, kind="base")
    try:
        cold = fresh.chat(prompt, max_tokens=6)
        assert cold.usage.evaluated_prompt_tokens == cold.usage.prompt_tokens  # off: nothing read
        assert cold.text == reply.text  # and the reused state answers as a fresh evaluation does
    finally:
        fresh.close()


@pytest.mark.slow
def test_a_process_that_exits_without_closing_leaves_its_conversations(
    embedded_gguf: Path, tmp_path: Path
) -> None:
    script = textwrap.dedent(
        f"""
        from csteer.engines.base import EngineOptions
        from csteer.engines.llamacpp import LlamaCppEngine
        engine = LlamaCppEngine({str(embedded_gguf)!r}, EngineOptions(n_ctx=2048, threads=2), kind="base")
        reply = engine.chat([{{"role": "user", "content": {FIXED!r} + "Question: x?"}}], max_tokens=1)
        print(reply.usage.evaluated_prompt_tokens, reply.usage.prompt_tokens)
        """
    )
    env = dict(os.environ, CSTEER_HOME=str(tmp_path), PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    env.pop(kv_store.DISABLE_ENV, None)
    runs = [
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
        for _ in range(2)
    ]
    assert all(r.returncode == 0 for r in runs), runs[-1].stderr[-500:]
    (cold_eval, total), (warm_eval, _) = (map(int, r.stdout.split()) for r in runs)
    # the second process reused the first one's evaluation (all but the shortest decode call it makes)
    assert cold_eval == total and warm_eval <= MIN_CALL
