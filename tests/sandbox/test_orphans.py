"""No process of a run outlives its caller (issue 15, finding 3): SIGKILL the caller mid-run, cold and warm.

The job tries to make itself an orphan first: it clears its parent-death signal (seccomp denies that),
ignores SIGTERM and SIGHUP and sleeps. Judged from the host: every descendant of the caller (cold
launcher, warm worker, spare, job) is gone within 2 seconds of the caller's death.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tests.sandbox.conftest import degraded

JOB = """
import ctypes, signal, time
ctypes.CDLL(None).prctl(1, 0, 0, 0, 0)  # PR_SET_PDEATHSIG 0
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGHUP, signal.SIG_IGN)
time.sleep(120)
"""

CALLER = textwrap.dedent(
    """
    import sys
    from csteer.sandbox import Limits, Sandbox
    warm = sys.argv[1] == "warm"
    box = Sandbox(Limits(timeout_s=120, cpu_s=120), policy=False, pool=warm)
    box.run("print(1)")  # the probe has run (its trial jobs are gone) and, warm, the pool is up
    print("running", flush=True)
    box.run(sys.argv[2])
    """
)


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            tree.setdefault(int(fields[1]), []).append(int(name))
    return tree


def _descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _jailed(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as fh:
            fields = dict(line.split(":", 1) for line in fh if ":" in line)
    except OSError:
        return False
    return fields.get("NoNewPrivs", "").strip() == "1" and fields.get("Seccomp", "").strip() == "2"


def _stderr(proc: subprocess.Popen) -> str:
    if proc.poll() is None or proc.stderr is None:
        return ""
    return proc.stderr.read().decode(errors="replace")[-1000:]


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] != "Z":
                    alive.add(pid)
        except OSError:
            pass
    return alive


@pytest.mark.parametrize("user", ["root", "nobody"])
@pytest.mark.parametrize("mode", ["cold", "warm"])
def test_no_process_survives_a_killed_caller(mode: str, user: str, layers) -> None:
    if not layers["no orphans (a run dies with its caller)"]:
        degraded("the no-orphans layer is reported inactive here")
    cmd = [sys.executable, "-c", CALLER, mode, JOB]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    cwd = None
    if user == "nobody":
        from tests.sandbox.test_unprivileged import NOBODY, _interpreter

        if os.geteuid() != 0 or shutil.which("setpriv") is None:
            pytest.skip("needs root and setpriv to become uid 65534")
        found = _interpreter()
        if found is None:
            pytest.skip("no Python interpreter with csteer importable by uid 65534")
        python, env = found
        cmd, cwd = [*NOBODY, python, "-c", CALLER, mode, JOB], "/tmp"
    caller = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, cwd=cwd
    )
    try:
        assert caller.stdout is not None
        assert caller.stdout.readline().strip() == b"running"
        deadline = time.monotonic() + 30
        run: set[int] = set()
        # the job is up once a descendant of the caller is jailed (no_new_privs and seccomp, seen in /proc)
        while time.monotonic() < deadline and not any(_jailed(p) for p in run):
            time.sleep(0.05)
            run = _descendants(caller.pid)
        time.sleep(0.3)  # let the job clear its signal and start sleeping
        run = _descendants(caller.pid)
        assert any(_jailed(p) for p in run), (run, caller.poll(), _stderr(caller))
        caller.kill()
        caller.wait()
        killed_at = time.monotonic()
        while _alive(run) and time.monotonic() - killed_at < 2.0:
            time.sleep(0.02)
        assert not _alive(run), f"alive 2 s after the caller died: {sorted(_alive(run))}"
    finally:
        if caller.poll() is None:
            caller.kill()
            caller.wait()
        for pid in _alive(_descendants(caller.pid)):
            os.kill(pid, signal.SIGKILL)
