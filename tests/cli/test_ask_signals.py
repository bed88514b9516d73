"""Ctrl-C during a real run: exit 130, one line, no traceback; the run log stays readable and unchanged
(an interrupted run writes no row, and the rows before it are intact)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _log_rows(env: dict[str, str]) -> list[dict]:
    logs = subprocess.run(
        [sys.executable, "-m", "csteer", "logs", "list", "-n", "100000", "--json"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert logs.returncode == 0, logs.stderr
    rows = json.loads(logs.stdout)
    assert isinstance(rows, list)
    return rows


def test_ctrl_c_exits_130_cleanly(csteer_home: Path) -> None:
    env = {**os.environ, "CSTEER_HOME": str(csteer_home)}
    # a finished run already in the log (written the way `csteer ask` writes one), so "intact" means something
    marker = "ctrl-c test: the row before the interrupted run"
    write = (
        "import sys; from csteer.runlog import log_run; "
        "log_run({'question': sys.argv[1], 'answer': '42', 'exit_status': 0, 'turns': [{'turn': 0}]})"
    )
    subprocess.run([sys.executable, "-c", write, marker], check=True, env=env)
    before = _log_rows(env)
    assert before[0]["question"] == marker and before[0]["answer"] == "42"
    proc = subprocess.Popen(
        [sys.executable, "-m", "csteer", "ask", "-v", "--max-turns", "5", "What is 48271 * 91433?"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # a shell without job control starts `pytest &` with SIGINT ignored, and the child would inherit
        # that (Python installs no KeyboardInterrupt handler then): Ctrl-C is what a terminal delivers
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stderr is not None
    # wait until the loop is under way (the first turn has started), then interrupt: the task model's
    # generation, the program, the self-check and the coach's review are still ahead
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "turn 0:" in line:
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    err = "".join(seen) + err
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "interrupted" in err
    assert out == ""
    # the log still reads, row for row as before: no half-written row for the interrupted question
    after = _log_rows(env)
    assert after == before
