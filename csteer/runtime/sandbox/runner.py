"""A simple isolated runner: separate interpreter, temp dir, scrubbed env, timeout, output cap."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time

from csteer.runtime.sandbox.types import Limits, Result

TRUNCATION_MARKER = "\n...[output truncated by csteer sandbox]"
_MIN_ENV = ("PATH", "LANG", "LC_ALL", "TZ")


def _scrubbed_env() -> dict[str, str]:
    env = {k: os.environ[k] for k in _MIN_ENV if k in os.environ}
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _cap(data: bytes, limit: int) -> tuple[str, bool]:
    if len(data) <= limit:
        return data.decode("utf-8", "replace"), False
    return data[:limit].decode("utf-8", "replace") + TRUNCATION_MARKER, True


class Sandbox:
    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()

    def run(self, code: str, stdin: str | None = None) -> Result:
        limits = self.limits
        start = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="csteer-sbx-") as workdir:
            path = os.path.join(workdir, "main.py")
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(code)
            proc = subprocess.Popen(
                [sys.executable, "-I", path],
                cwd=workdir,
                env=_scrubbed_env(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            try:
                out, err = proc.communicate(stdin.encode() if stdin else None, timeout=limits.timeout_s)
                timed_out = False
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                out, err = proc.communicate()
                timed_out = True
        stdout, t1 = _cap(out, limits.output_bytes)
        stderr, t2 = _cap(err, limits.output_bytes)
        if timed_out:
            status = "timeout"
        elif proc.returncode == 0:
            status = "ok"
        elif proc.returncode < 0:
            status = "killed"
        else:
            status = "error"
        return Result(
            status=status,
            stdout=stdout,
            stderr=stderr,
            exit_code=proc.returncode,
            duration_s=time.monotonic() - start,
            truncated=t1 or t2,
        )
