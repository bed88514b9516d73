from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from csteer import runlog
from csteer.errors import UsageError


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "csteer-home"
    monkeypatch.setenv("CSTEER_HOME", str(path))
    return path


def _record(i: int = 0, **extra: object) -> dict:
    return {
        "question": f"What is {i} + {i}?",
        "task_model": "embedded",
        "coach_model": "embedded",
        "policy": "codesteer",
        "turns": [{"action": "Code", "guidance": "write code"}, {"action": "Return Answer"}],
        "answer": str(2 * i),
        "task_tokens": 10 + i,
        "coach_tokens": 5,
        "seconds": 1.5,
        "exit_status": 0,
        **extra,
    }


def test_log_and_read_back(home: Path) -> None:
    first = runlog.log_run(_record(1))
    second = runlog.log_run(_record(2, engine_note="kept in extra"))
    assert second == first + 1
    run = runlog.get_run(second)
    assert run is not None
    assert run["turns"] == _record(2)["turns"]
    assert run["answer"] == "4" and run["task_tokens"] == 12 and run["exit_status"] == 0
    assert run["engine_note"] == "kept in extra"
    assert run["created_at"].endswith("Z")
    assert [r["id"] for r in runlog.list_runs(5)] == [second, first]
    assert [r["id"] for r in runlog.list_runs(1)] == [second]
    assert runlog.get_run(999) is None
    with sqlite3.connect(home / "runs.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_record_without_question_is_rejected() -> None:
    with pytest.raises(UsageError):
        runlog.log_run({"answer": "4"})
    assert runlog.list_runs() == []


_WRITER = """
import sys
from csteer.runlog import log_run
worker = int(sys.argv[1])
for i in range(int(sys.argv[2])):
    log_run({"question": f"w{worker}-{i}", "turns": [{"i": i}], "exit_status": 0})
"""


def test_concurrent_writers_lose_nothing() -> None:
    workers, each = 4, 25
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(w), str(each)], env=dict(os.environ))
        for w in range(workers)
    ]
    assert all(p.wait(timeout=300) == 0 for p in procs)
    runs = runlog.list_runs(1000)
    assert len(runs) == workers * each
    assert {r["question"] for r in runs} == {f"w{w}-{i}" for w in range(workers) for i in range(each)}
    assert len({r["id"] for r in runs}) == workers * each


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "csteer", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_list_grows_by_one_and_show() -> None:
    before = json.loads(_cli("logs", "list", "--json").stdout)
    run_id = runlog.log_run(_record(3))
    after = json.loads(_cli("logs", "list", "--json").stdout)
    assert len(after) == len(before) + 1 and after[0]["id"] == run_id
    shown = _cli("logs", "show", str(run_id))
    assert shown.returncode == 0
    assert "What is 3 + 3?" in shown.stdout and "turn 1:" in shown.stdout
    assert json.loads(_cli("logs", "show", str(run_id), "--json").stdout)["answer"] == "6"
    text = _cli("logs", "list", "-n", "1")
    assert text.returncode == 0 and "What is 3 + 3?" in text.stdout


def test_cli_show_unknown_id_is_one_line() -> None:
    result = _cli("logs", "show", "42")
    assert result.returncode == 2
    assert result.stderr.strip() == "csteer: error: no run with id 42; see `csteer logs list`"


def test_corrupt_log_is_a_clear_error(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "runs.db").write_bytes(b"this is not sqlite" * 100)
    result = _cli("logs", "list")
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "run log" in result.stderr
