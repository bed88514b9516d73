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
            checks += _round_two(pool)
        finally:
            os.environ.pop(SECRET_VAR, None)
            listener.close()
    return checks


_HOLD = """
import ctypes, os, socket
libc = ctypes.CDLL(None, use_errno=True)
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
for i in range(8):
    try:
        fd = os.memfd_create("hold")
        os.ftruncate(fd, 32 * 2**20)
        os.pwrite(fd, b"x" * (32 * 2**20), 0)
        socket.send_fds(a, [b"m"], [fd])
        os.close(fd)
    except OSError as e:
        print("memfd", e)
        break
libc.shmat.restype = ctypes.c_void_p
for i in range(8):
    sid = libc.shmget(0, 32 * 2**20, 0o1600)
    if sid < 0:
        print("shm", os.strerror(ctypes.get_errno()))
        break
    ctypes.memset(libc.shmat(sid, None, 0), 1, 32 * 2**20)
"""

_ORPHAN_CALLER = """
import sys
from csteer.sandbox import Limits, Sandbox
box = Sandbox(Limits(timeout_s=60, cpu_s=60), policy=False, pool=False)
box.run("pass")
print("running", flush=True)
box.run("import ctypes, time\\nctypes.CDLL(None).prctl(1, 0, 0, 0, 0)\\ntime.sleep(60)")
"""


def _round_two(pool: bool) -> list[Check]:
    """Issue 15's layers: memory outside the address space, tmpfs inodes, host watching, orphans."""
    from csteer.sandbox.runner import last_job_stats

    checks = []
    box = Sandbox(Limits(timeout_s=20, cpu_s=20, memory_mb=64, file_size_mb=512), policy=False, pool=pool)
    result = box.run(_HOLD)
    stats = last_job_stats()
    bounded = stats.get("peak_bytes", 0) <= stats.get("limit_bytes", 0) if stats.get("cgroup") else None
    held = result.status == "ok" and "memfd" not in result.stdout and "shm" not in result.stdout
    detail = f"{result.status}; " + (
        f"cgroup peak {stats.get('peak_bytes', 0) >> 20} MB of {stats.get('limit_bytes', 0) >> 20} MB"
        if bounded is not None
        else "no cgroup (peak not measured)"
    )
    checks.append(
        Check(
            "memfd/SysV memory bounded",
            bounded if bounded is not None else not held,
            detail + " | " + result.stdout.strip().replace("\n", " | ")[:80],
        )
    )
    result = box.run("i = 0\nwhile True:\n    open(f'f{i}', 'w').close()\n    i += 1")
    stats = last_job_stats()
    ok = result.status == "error" and (
        not stats.get("cgroup") or stats.get("peak_bytes", 0) <= stats.get("limit_bytes", 0)
    )
    checks.append(Check("tmpfs inodes bounded", ok, f"{result.status}, {result.stderr.strip()[-60:]}"))
    result = box.run("import ctypes\nassert ctypes.CDLL(None).inotify_init1(0) < 0, 'inotify allowed'")
    checks.append(Check("no inotify on host files", result.status == "ok", result.status))
    checks.append(_orphan_check())
    return checks


def _orphan_check() -> Check:
    """SIGKILL a caller mid-run: its launcher and job must be gone within 2 seconds (seen in /proc)."""
    import subprocess
    import sys

    import csteer
    from csteer.sandbox import probe

    root = os.path.dirname(os.path.dirname(os.path.abspath(csteer.__file__)))
    paths = [root] + [p for p in sys.path if p and os.path.isdir(p)]
    caller = subprocess.Popen(
        [sys.executable, "-I", "-c", f"import sys\nsys.path[:0] = {paths!r}\n" + _ORPHAN_CALLER],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        env=probe.helper_env(),
    )
    try:
        assert caller.stdout is not None
        if caller.stdout.readline().strip() != b"running":
            return Check("no orphans after the caller dies", False, "the test caller did not start")
        deadline = time.monotonic() + 20
        run: set[int] = set()
        while time.monotonic() < deadline and len(run) < 2:
            time.sleep(0.05)
            run = _descendants(caller.pid)
        time.sleep(0.5)
        run = _descendants(caller.pid)
        caller.kill()
        caller.wait()
        killed = time.monotonic()
        while _alive(run) and time.monotonic() - killed < 2.0:
            time.sleep(0.02)
        left = _alive(run)
        return Check(
            "no orphans after the caller dies",
            len(run) >= 2 and not left,
            f"{len(run)} processes of the run; alive 2 s after: {sorted(left) or 'none'}",
        )
    finally:
        if caller.poll() is None:
            caller.kill()
            caller.wait()
        for pid in _alive(_descendants(caller.pid)):
            try:
                os.kill(pid, 9)
            except OSError:
                pass


def _descendants(pid: int) -> set[int]:
    tree: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as fh:
                    tree.setdefault(int(fh.read().rsplit(")", 1)[1].split()[1]), []).append(int(name))
            except (OSError, IndexError, ValueError):
                continue
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] != "Z":
                    alive.add(pid)
        except (OSError, IndexError):
            pass
    return alive
