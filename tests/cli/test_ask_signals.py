"""Ctrl-C during a real run: exit 130, one line, no traceback; the run log stays readable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_ctrl_c_exits_130_cleanly(csteer_home: Path) -> None:
    env = {**os.environ, "CSTEER_HOME": str(csteer_home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "csteer", "ask", "-v", "--max-turns", "5", "What is 48271 * 91433?"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
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
    logs = subprocess.run(
        [sys.executable, "-m", "csteer", "logs", "list", "--json"], capture_output=True, text=True, env=env
    )
    assert logs.returncode == 0, logs.stderr
