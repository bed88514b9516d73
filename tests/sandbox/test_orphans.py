"""No process of a run outlives its caller (issue 15, finding 3): SIGKILL the caller mid-run, cold and warm.

The job tries to make itself an orphan first: it clears its parent-death signal (seccomp denies that),
ignores SIGTERM and SIGHUP and sleeps. Judged from the host: every descendant of the caller (cold
launcher, warm worker, spare, job) is gone within 2 seconds of the caller's death.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

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
    if warm:
        box.run("print(1)")  # the pool is up
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


@pytest.mark.parametrize("mode", ["cold", "warm"])
def test_no_process_survives_a_killed_caller(mode: str, layers) -> None:
    if not layers["no orphans (a run dies with its caller)"]:
        pytest.skip("the no-orphans layer is reported inactive here")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    caller = subprocess.Popen(
        [sys.executable, "-c", CALLER, mode, JOB], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env
    )
    try:
        assert caller.stdout is not None
        assert caller.stdout.readline().strip() == b"running"
        deadline = time.monotonic() + 30
        run: set[int] = set()
        # the job is up when the caller has a grandchild that is not the spare (warm: worker+spare+job)
        while time.monotonic() < deadline:
            run = _descendants(caller.pid)
            if len(run) >= (3 if mode == "warm" else 2):
                break
            time.sleep(0.05)
        time.sleep(0.5)  # let the job clear its signal and start sleeping
        run = _descendants(caller.pid)
        assert len(run) >= 2, run
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
