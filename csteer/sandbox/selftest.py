"""A containment self-test checked from the host side (used by `csteer sandbox check`).

Each case runs with the policy layer OFF, so it tests the OS jail alone, and is judged outside the sandbox:
the canary file still holds its bytes, the listener on 127.0.0.1 saw no connection, the secret did not
leak, the deadline held.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from dataclasses import dataclass

from csteer.sandbox.runner import Sandbox
from csteer.sandbox.types import Limits

SECRET_VAR = "CSTEER_SELFTEST_API_KEY"


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


class Listener:
    """A TCP listener on 127.0.0.1 that counts connections (to prove the job has no network)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


def run_selftest(pool: bool = False) -> list[Check]:
    checks: list[Check] = []
    sandbox = Sandbox(Limits(timeout_s=10, cpu_s=10, memory_mb=512), policy=False, pool=pool)
    with tempfile.TemporaryDirectory(prefix="csteer-selftest-") as tmp:
        canary = os.path.join(tmp, "canary.txt")
        with open(canary, "w") as fh:
            fh.write("canary")
        os.chmod(tmp, 0o755)
        os.chmod(canary, 0o666)  # even world-writable, the job must not reach it
        listener = Listener()
        os.environ[SECRET_VAR] = "sk-selftest-not-a-real-key"
        try:
            result = sandbox.run("print(6 * 7)")
            checks.append(
                Check(
                    "benign program runs",
                    result.status == "ok" and result.stdout.strip() == "42",
                    result.status,
                )
            )

            code = f"""
for path in ({canary!r}, "/etc/passwd"):
    try:
        print(open(path).read()[:20])
    except Exception as e:
        print("blocked", type(e).__name__)
try:
    open({canary!r}, "w").write("pwned")
except Exception as e:
    print("blocked", type(e).__name__)
"""
            result = sandbox.run(code)
            with open(canary) as fh:
                intact = fh.read() == "canary"
            leaked = "canary" in result.stdout or "root:" in result.stdout
            checks.append(
                Check("host files hidden and unwritable", intact and not leaked, result.stdout.strip()[:120])
            )

            code = f"""
import socket
try:
    socket.create_connection(("127.0.0.1", {listener.port}), timeout=2)
    print("connected")
except OSError as e:
    print("blocked", e)
"""
            result = sandbox.run(code)
            time.sleep(0.3)
            checks.append(Check("no network", listener.connections == 0, result.stdout.strip()[:120]))

            code = f"import os\nprint(os.environ.get({SECRET_VAR!r}, 'absent'))\nprint(sorted(os.environ))"
            result = sandbox.run(code)
            checks.append(
                Check("environment scrubbed", "sk-selftest" not in result.stdout, result.stdout.strip()[:120])
            )

            code = "import os\ntry:\n    os.fork()\n    print('forked')\nexcept OSError as e:\n    print('blocked', e)"
            result = sandbox.run(code)
            checks.append(
                Check("no new processes", "forked" not in result.stdout, result.stdout.strip()[:120])
            )

            timed = Sandbox(Limits(timeout_s=2, cpu_s=30), policy=False, pool=pool)
            start = time.monotonic()
            result = timed.run(
                "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True: pass"
            )
            took = time.monotonic() - start
            checks.append(
                Check(
                    "wall-clock timeout",
                    result.status == "timeout" and took < 8,
                    f"{result.status} in {took:.1f}s",
                )
            )

            result = sandbox.run("x = bytearray(8 * 2**30)")
            checks.append(Check("memory limit", result.status == "memory", result.status))
        finally:
            os.environ.pop(SECRET_VAR, None)
            listener.close()
    return checks
