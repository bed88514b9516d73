"""Bad input: one line on stderr, the documented exit code, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run_csteer


def _assert_clean_failure(proc, code: int) -> None:  # type: ignore[no-untyped-def]
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["ask", "-m", "gguf:/nonexistent.gguf", "q"], 1, "not found"),
        (["ask", "-m", "openai:x@http://127.0.0.1:9/v1", "--policy", "all-code", "q"], 1, "cannot reach"),
        (["ask"], 2, "no question"),
        (["ask", "--max-turns", "-3", "q"], 2, "max-turns"),
        (["ask", "-m", "warp:drive", "q"], 2, "unknown model"),
        (["ask", "-m", "codesteer-v1", "q"], 2, "models pull"),
        (["ask", "-m", "openai:", "q"], 2, "names no model"),
    ],
)
def test_bad_input(tmp_path: Path, args: list[str], code: int, needle: str) -> None:
    proc = run_csteer(args, tmp_path, env={"OPENAI_API_KEY": "none"})
    _assert_clean_failure(proc, code)
    assert needle in proc.stderr


def test_corrupt_gguf(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"NOTGGUF" + b"\0" * 100)
    proc = run_csteer(["ask", "-m", f"gguf:{bad}", "--policy", "all-code", "q"], tmp_path)
    _assert_clean_failure(proc, 1)
    assert "not a GGUF" in proc.stderr


def test_truncated_gguf(tmp_path: Path, embedded_gguf: Path) -> None:
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(embedded_gguf.read_bytes()[:4096])
    proc = run_csteer(["ask", "-m", f"gguf:{cut}", "--policy", "all-code", "q"], tmp_path)
    _assert_clean_failure(proc, 1)
    assert "could not load" in proc.stderr


def test_help_teaches() -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "csteer", "ask", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for needle in ("--model", "--coach", "--policy", "Exit codes", "echo"):
        assert needle in out.stdout
