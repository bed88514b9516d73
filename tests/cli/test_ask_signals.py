"""Ctrl-C during a real run: exit 130, one line, no traceback; the run log stays readable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_ctrl_c_exits_130_cleanly(csteer_home: Path) -> None:
    env = {**os.environ, "CSTEER_HOME": str(csteer_home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "csteer", "ask", "--max-turns", "5", "Write a long essay about prime numbers."],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    time.sleep(6)  # model loaded, generation under way
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert out == ""
    logs = subprocess.run([sys.executable, "-m", "csteer", "logs", "list", "--json"], capture_output=True, text=True,
                          env=env)
    assert logs.returncode == 0, logs.stderr
