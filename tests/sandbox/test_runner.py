"""Sandbox.run behaviour: statuses, exit codes, stdin, isolation between jobs, threads, clean-up, the pool."""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from csteer.sandbox import Limits, Result, Sandbox
from csteer.sandbox.runner import TRUNCATION_MARKER
from tests.sandbox.conftest import cgroups_possible, degraded


def test_result_fields(sandbox: Sandbox) -> None:
    result = sandbox.run("print('hi')")
    assert list(result.to_dict()) == ["status", "stdout", "stderr", "exit_code", "duration_s", "truncated"]
    assert isinstance(result, Result) and result.ok


@pytest.mark.parametrize(
    ("code", "status", "exit_code"),
    [
        ("print(1)", "ok", 0),
        ("raise ValueError('boom')", "error", 1),
        ("import sys\nsys.exit(3)", "error", 3),
        ("import sys\nsys.exit('bad input')", "error", 1),
        ("def f(:\n  pass", "policy", None),  # a syntax error is reported before running
        ("import os", "policy", None),
        ("x = bytearray(50 * 2**30)", "memory", 121),
    ],
)
def test_statuses(sandbox: Sandbox, code: str, status: str, exit_code: int | None) -> None:
    result = sandbox.run(code)
    assert (result.status, result.exit_code) == (status, exit_code), result.stderr


def test_killed_by_signal(raw_sandbox: Sandbox) -> None:
    result = raw_sandbox.run("import ctypes\nprint('before', flush=True)\nctypes.string_at(0)")
    assert result.status == "killed" and result.exit_code == -signal.SIGSEGV
    assert result.stdout == "before\n"


def test_error_traceback_points_at_program(sandbox: Sandbox) -> None:
    result = sandbox.run("def f():\n    return 1 / 0\nf()")
    assert 'File "main.py", line 2, in f' in result.stderr
    assert "ZeroDivisionError" in result.stderr
    assert "child.py" not in result.stderr


def test_timeout_and_output_cap() -> None:
    box = Sandbox(Limits(timeout_s=1.5, output_bytes=1000))
    start = time.monotonic()
    result = box.run("print('a' * 5000, flush=True)\nwhile True:\n    pass")
    assert result.status == "output_limit" and result.truncated
    assert result.stdout.endswith(TRUNCATION_MARKER) and len(result.stdout) == 1000 + len(TRUNCATION_MARKER)
    result = box.run("print('started', flush=True)\nwhile True:\n    pass")
    assert result.status == "timeout" and result.stdout == "started\n"
    assert time.monotonic() - start < 10


def test_cpu_limit_is_a_timeout() -> None:
    """CPU seconds run out before the wall clock: still reported as a timeout."""
    result = Sandbox(Limits(timeout_s=20, cpu_s=1)).run("while True:\n    pass")
    assert result.status == "timeout" and result.duration_s < 15


def test_stdin_is_passed(sandbox: Sandbox) -> None:
    result = sandbox.run("import sys\nprint(sys.stdin.read().upper())", stdin="hello\nworld")
    assert result.stdout == "HELLO\nWORLD\n"
    assert sandbox.run("print(input())", stdin=None).status == "error"  # EOF, not a hang


def test_no_state_shared_between_jobs(raw_sandbox: Sandbox, layers) -> None:
    if not layers["host file system hidden"]:
        degraded("without a private root, /tmp is the host's and outlives a job")
    first = raw_sandbox.run(
        "import math, os\nmath.leak = 1\nopen('left.txt', 'w').write('x')\nopen('/tmp/left.txt', 'w').write('x')\n"
        "print(os.getcwd(), sorted(os.listdir('.')))"
    )
    assert first.status == "ok", first.stderr
    second = raw_sandbox.run(
        "import math, os\nprint(hasattr(math, 'leak'), os.path.exists('left.txt'), os.path.exists('/tmp/left.txt'))"
    )
    assert second.stdout == "False False False\n"


def test_random_differs_between_jobs(sandbox: Sandbox) -> None:
    code = "import random, numpy\nprint(random.random(), numpy.random.rand())"
    outputs = {sandbox.run(code).stdout for _ in range(3)}
    assert len(outputs) == 3


def test_temp_dirs_removed(sandbox: Sandbox) -> None:
    pattern = os.path.join(tempfile.gettempdir(), "csteer-sbx-*")
    before = set(glob.glob(pattern))
    sandbox.run("open('x', 'w').write('y' * 1000)")
    Sandbox(Limits(timeout_s=1)).run("while True: pass")
    assert set(glob.glob(pattern)) <= before


def test_concurrent_runs_from_threads(sandbox: Sandbox) -> None:
    def job(i: int) -> tuple[int, Result]:
        return i, sandbox.run(f"import math\nprint({i}, math.factorial({i}))")

    with ThreadPoolExecutor(max_workers=6) as executor:
        results = list(executor.map(job, range(24)))
    for i, result in results:
        assert result.status == "ok", result.stderr
        assert result.stdout == f"{i} {__import__('math').factorial(i)}\n"


def test_pool_dies_with_its_parent(tmp_path) -> None:
    """A caller killed with SIGKILL takes the warm worker and a running job with it."""
    script = tmp_path / "caller.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys, threading
            from csteer.sandbox import Sandbox, Limits, pool
            box = Sandbox(Limits(timeout_s=60, cpu_s=60))
            box.run("print(1)")
            print(pool.get_pool().proc.pid, flush=True)
            threading.Thread(target=box.run, args=("import time\\ntime.sleep(60)",), daemon=True).start()
            sys.stdin.read()
            """
        )
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    caller = subprocess.Popen(
        [sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
    )
    try:
        worker_pid = int(caller.stdout.readline())
        sleeper = _lasting_jailed_descendants(worker_pid, timeout_s=60)
        assert sleeper, "the sleeping job should be running under the worker"
        jobs = sorted(_descendants(worker_pid))
        caller.kill()
        caller.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(p) for p in [worker_pid, *jobs]):
            time.sleep(0.1)
        assert not any(_alive(p) for p in [worker_pid, *jobs])
    finally:
        if caller.poll() is None:
            caller.kill()
            caller.wait()


def _lasting_jailed_descendants(pid: int, timeout_s: float) -> set[int]:
    """Jailed, live descendants of `pid` seen in two polls 0.3 s apart (empty: none by the deadline).

    The sleeping job has started once a descendant of the worker is jailed (a waiting spare is not yet;
    unprivileged plans put a supervisor between the worker and its job). One poll is not enough: the
    first job's process may still be exiting when the caller has its result."""
    deadline = time.monotonic() + timeout_s
    seen: set[int] = set()
    while time.monotonic() < deadline:
        now = {p for p in _descendants(pid) if _jailed(p) and _alive(p)}
        if now & seen:
            return now & seen
        seen = now
        time.sleep(0.3)
    return set()


def _jailed(pid: int) -> bool:
    """A job that has started running its program: no_new_privs is set (the warm spare has not set it)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            return any(line.split() == ["NoNewPrivs:", "1"] for line in fh)
    except OSError:
        return False


def _descendants(pid: int) -> set[int]:
    tree: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as fh:
                    tree.setdefault(int(fh.read().rsplit(")", 1)[1].split()[1]), []).append(int(name))
            except OSError:
                pass
    found, todo = set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_prepare_starts_the_warm_worker_before_any_job(tmp_path) -> None:
    """`prepare()` (called while models load) leaves a running warm worker behind without running a job;
    a fresh process, so no earlier test's pool counts."""
    script = tmp_path / "prepare.py"
    script.write_text(
        textwrap.dedent(
            """
            import time
            from csteer.sandbox import Sandbox, pool
            box = Sandbox()
            assert pool._pool is None
            box.prepare()
            box.prepare()  # once per process
            deadline = time.monotonic() + 60
            while pool._pool is None and time.monotonic() < deadline:
                time.sleep(0.05)
            print(pool._pool.proc.pid, pool._pool.jobs, flush=True)
            print(box.run("print(6 * 7)").stdout, end="")
            """
        )
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-500:]
    pid, jobs, answer = out.stdout.split()
    assert jobs == "0" and answer == "42"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(int(pid)):
        time.sleep(0.1)
    assert not _alive(int(pid))  # and the worker went with its caller


def test_jobs_cannot_signal_each_other(raw_sandbox: Sandbox) -> None:
    """Concurrent jobs run as different uids (or in pid namespaces): a job sending SIGKILL to the other
    job's pid, to every pid near its own and to -1 hits nothing."""
    before = {p for p in _descendants(os.getpid()) if _jailed(p)}
    with ThreadPoolExecutor(max_workers=1) as executor:
        victim = executor.submit(raw_sandbox.run, "import time\ntime.sleep(8)\nprint('alive')")
        # the victim is running its program once a new jailed process appears under this one (host side)
        deadline = time.monotonic() + 60
        running: set[int] = set()
        while time.monotonic() < deadline and not running and not victim.done():
            time.sleep(0.01)
            running = {p for p in _descendants(os.getpid()) if _jailed(p)} - before
        assert running, ("the victim job never started", victim.result() if victim.done() else None)
        targets = sorted(running)
        # kill(-1) is sent last and not counted: Linux reports success for it even when every target
        # refused (EPERM); the victim's survival judges it
        attacker = raw_sandbox.run(
            "import os, signal\nme = os.getpid()\nhits = 0\n"
            f"for pid in {targets!r} + list(range(max(2, me - 3000), me + 3000)):\n"
            "    if pid != me:\n"
            "        try:\n"
            "            os.kill(pid, signal.SIGKILL)\n"
            "            hits += 1\n"
            "        except OSError:\n"
            "            pass\n"
            "print(hits, flush=True)\n"
            "try:\n"
            "    os.kill(-1, signal.SIGKILL)\n"
            "except OSError:\n"
            "    pass"
        )
        assert (attacker.status, attacker.stdout) == ("ok", "0\n"), (attacker.status, attacker.stderr[-300:])
        # the attack happened while the victim ran (it sleeps 8 s; the attack takes milliseconds)
        assert not victim.done(), victim.result()
        result = victim.result()
    assert (result.status, result.stdout) == ("ok", "alive\n"), (result.status, result.stderr[-300:])


def test_plain_fallback_for_other_platforms(monkeypatch: pytest.MonkeyPatch) -> None:
    """The non-Linux path: separate interpreter, scrubbed env, timeout, output cap."""
    from csteer.sandbox.runner import _run_plain

    monkeypatch.setenv("CSTEER_TEST_API_KEY", "sk-should-not-leak")
    limits = Limits(timeout_s=2, output_bytes=100)
    ok = _run_plain(
        "import os\nprint(sorted(os.environ).count('CSTEER_TEST_API_KEY'))", None, limits, time.monotonic()
    )
    assert (ok.status, ok.stdout) == ("ok", "0\n")
    assert _run_plain("while True: pass", None, limits, time.monotonic()).status == "timeout"
    flood = _run_plain("print('x' * 1000)", None, limits, time.monotonic())
    assert flood.status == "output_limit" and flood.truncated


def test_large_program_and_stdin(sandbox: Sandbox) -> None:
    """Specs larger than one datagram arrive in parts."""
    data = "7 " * 300_000
    code = (
        "import sys\nTABLE = "
        + repr(list(range(40_000)))
        + "\nprint(len(TABLE), sum(map(int, sys.stdin.read().split())))"
    )
    result = sandbox.run(code, stdin=data)
    assert (result.status, result.stdout) == ("ok", "40000 2100000\n"), result.stderr[-300:]


def test_seccomp_denies_namespace_and_kernel_surface_calls(raw_sandbox: Sandbox, layers) -> None:
    if not layers["seccomp"]:
        degraded("seccomp layer inactive here (no libseccomp)")
    code = (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "print(libc.unshare(0x10000000), ctypes.get_errno())\n"  # CLONE_NEWUSER: allowed to nobody otherwise
        "print(libc.syscall(425, 8, ctypes.create_string_buffer(120)), ctypes.get_errno())\n"  # io_uring_setup
    )
    result = raw_sandbox.run(code)
    assert result.status == "ok", result.stderr
    assert result.stdout.splitlines() == ["-1 1", "-1 1"]


@pytest.mark.parametrize("disk_mb", [8, 200])
def test_disk_budget_is_per_job(disk_mb: int, layers) -> None:
    """The scratch tmpfs takes the job's own size (a spare mounted the default ahead of time)."""
    if not layers["host file system hidden"]:
        degraded("no private root here")
    box = Sandbox(Limits(timeout_s=20, disk_mb=disk_mb, file_size_mb=1024), policy=False)
    code = "import os\nst = os.statvfs('/sandbox')\nprint(round(st.f_blocks * st.f_frsize / 2**20))"
    result = box.run(code)
    assert (result.status, result.stdout) == ("ok", f"{disk_mb}\n"), result.stderr


def test_every_fallback_plan_runs_programs() -> None:
    """The weaker plans the probe falls back to on other hosts still run programs correctly."""
    from csteer.sandbox import probe

    usable = [plan for plan in probe._candidates() if "error" not in probe._trial(plan)]
    assert usable
    for plan in usable:
        result = Sandbox(Limits(timeout_s=20), plan=plan.to_dict()).run(
            "import math\nprint(math.isqrt(10**6))"
        )
        assert (result.status, result.stdout) == ("ok", "1000\n"), (plan, result.stderr[-300:])


def test_degraded_layers_are_reported() -> None:
    from csteer.sandbox import jail, probe

    report = {
        "plan": jail.Plan(rlimits=True).to_dict(),
        "inside": {"uid": 0, "fork_blocked": False},
        "euid": 0,
    }
    inactive = {name for name, active, _ in probe.layers(report) if not active}
    assert {"namespaces (mount/net/ipc/uts)", "network isolation", "host file system hidden"} <= inactive
    assert {"unprivileged uid", "no new processes/threads", "seccomp"} <= inactive


def test_scratch_tmpfs_has_an_inode_limit(layers) -> None:
    """disk_mb bounds bytes; nr_inodes bounds the files (kernel memory) of the scratch tmpfs."""
    if not layers["tmpfs inode limit"]:
        degraded("no private tmpfs here")
    from csteer.sandbox import jail

    for disk_mb in (8, 64):
        box = Sandbox(Limits(timeout_s=20, disk_mb=disk_mb), policy=False)
        result = box.run("import os\nprint(os.statvfs('/sandbox').f_files, os.statvfs('/tmp').f_files)")
        inodes = jail.scratch_inodes(disk_mb)
        assert (result.status, result.stdout) == ("ok", f"{inodes} {inodes}\n"), result.stderr


def test_worker_is_recycled_with_fresh_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Jobs of one worker share its hash secret and layout; a replaced worker brings new ones."""
    from csteer.sandbox import pool

    box = Sandbox(Limits(timeout_s=20), policy=False)
    code = "import ctypes\nprint(hash('csteer'), hex(ctypes.cast(ctypes.pythonapi.Py_Initialize, ctypes.c_void_p).value))"
    first = box.run(code)
    assert first.status == "ok", first.stderr
    old = pool.get_pool()
    assert old is not None
    monkeypatch.setattr(pool, "RECYCLE_AFTER_JOBS", old.jobs + 2)
    seen = {first.stdout}
    deadline = time.monotonic() + 60
    while len(seen) < 2 and time.monotonic() < deadline:
        result = box.run(code)
        assert result.status == "ok", result.stderr
        seen.add(result.stdout)
        time.sleep(0.05)
    assert len(seen) >= 2, "the replacement worker has the same hash secret"
    assert pool.get_pool() is not old
    deadline = time.monotonic() + 10
    while old.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert old.proc.poll() is not None, "the retired worker did not exit"


def test_jobs_of_one_worker_share_its_hash_secret(raw_sandbox: Sandbox) -> None:
    """The documented limit of the warm pool (SECURITY.md): within one worker the secret is shared."""
    from csteer.sandbox import pool

    raw_sandbox.run("pass")
    warm = pool.get_pool()
    if warm is None or warm.jobs + 3 >= pool.RECYCLE_AFTER_JOBS:
        pytest.skip("no warm pool, or it is about to be replaced")
    outs = {raw_sandbox.run("print(hash('csteer'))").stdout for _ in range(2)}
    assert len(outs) == 1


@pytest.mark.parametrize("memory_mb", [100, 3000])
def test_job_cgroup_has_the_jobs_own_memory_limit(memory_mb: int, layers) -> None:
    """Warm spares wait in a cgroup made ahead of time; the job's own limit is set before it runs."""
    if not layers["cgroup memory (shm, tmpfs, kernel memory)"]:
        degraded("no cgroup memory layer here", cgroups_possible())
    import threading

    from csteer.sandbox import cgroup
    from tests.sandbox.conftest import job_group_dirs

    memory_parent = cgroup.layout().parents["memory"]
    seen: set[int] = set()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            for group in job_group_dirs():
                if not group.startswith(memory_parent):
                    continue
                for name in ("memory.max", "memory.limit_in_bytes"):
                    try:
                        with open(os.path.join(group, name)) as fh:
                            seen.add(int(fh.read()))
                    except (OSError, ValueError):
                        pass
            time.sleep(0.01)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        box = Sandbox(Limits(timeout_s=20, memory_mb=memory_mb), policy=False)
        result = box.run("import time\ntime.sleep(0.5)")
    finally:
        stop.set()
        thread.join()
    assert result.status == "ok", result.stderr
    assert cgroup.memory_limit_bytes(memory_mb, Limits.disk_mb) in seen, seen


def test_finished_jobs_cgroups_are_removed_and_their_peak_reported(layers) -> None:
    """A job's cgroup is read and removed after its result is returned (in the background): its peak
    memory is still what last_job_stats gives, and no group of a finished job is left behind."""
    if not layers["cgroup memory (shm, tmpfs, kernel memory)"]:
        degraded("no cgroup memory layer here", cgroups_possible())
    from csteer.sandbox import cgroup, pool
    from csteer.sandbox.runner import last_job_stats
    from tests.sandbox.conftest import job_group_dirs

    box = Sandbox(Limits(timeout_s=20, memory_mb=512), policy=False)
    result = box.run(
        "x = bytearray(64 * 2**20)\nfor i in range(0, len(x), 4096):\n    x[i] = 1\nprint(len(x))"
    )
    assert (result.status, result.stdout) == ("ok", f"{64 * 2**20}\n"), result.stderr
    stats = last_job_stats()
    assert stats["cgroup"] and stats["limit_bytes"] == cgroup.memory_limit_bytes(512, Limits.disk_mb)
    assert 64 * 2**20 <= stats["peak_bytes"] <= stats["limit_bytes"], stats
    assert cgroup.drain(10)
    warm = pool.get_pool()
    spares = set(warm._groups) if warm is not None else set()
    waiting = {group for group in job_group_dirs() if any(str(p) in _procs(group) for p in spares)}
    assert set(job_group_dirs()) - waiting == set(), "a finished job's cgroup is still there"


def _procs(group: str) -> set[str]:
    try:
        with open(os.path.join(group, "cgroup.procs")) as fh:
            return set(fh.read().split())
    except OSError:
        return set()


def test_a_job_still_runs_when_its_spare_died(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """The warm worker refuses a job that claimed a spare that is gone; the job then gets a fresh one."""
    from csteer.sandbox import pool

    monkeypatch.setattr(pool, "RECYCLE_AFTER_JOBS", 10**9)  # the same worker throughout
    replacing = pool._next
    if replacing is not None:
        replacing.join(60)
    assert sandbox.run("print(1)").stdout == "1\n"
    warm = pool.get_pool()
    if warm is None:
        pytest.skip("no warm pool here")
    for _ in range(3):
        assert warm.settle(10)
        spare = warm._spare
        assert spare is not None
        os.kill(spare, signal.SIGKILL)
        result = sandbox.run("print(6 * 7)")
        assert (result.status, result.stdout) == ("ok", "42\n"), result.stderr
    assert warm.settle(10), "no new spare after the old one died"
    assert warm._spare not in (None, spare)


def test_spares_rehearse_nothing_into_their_jobs(sandbox: Sandbox) -> None:
    """A spare's warm-up (a policy compile, numpy's seed) leaves no state a job could see: no recorded
    violation, a fresh __main__, and numpy seeds that differ between jobs."""
    code = "import numpy\nprint(sorted(k for k in globals() if not k.startswith('_')), numpy.random.randint(2**62))"
    outs = [sandbox.run(code) for _ in range(3)]
    for out in outs:
        assert out.status == "ok", out.stderr
        assert out.stdout.startswith("['numpy'] "), out.stdout
    assert len({out.stdout for out in outs}) == 3


def test_a_job_that_says_it_ended_returns_at_once_and_is_killed(
    layers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job's harness closes the program's output and sends its exit code before the process exits
    (child._report_end), and a caller with the job's cgroup returns on that. The program can forge the
    record; then it still does not outlive run(): its group is killed by run() itself, seen from the host
    with the background clean-up of finished groups held back."""
    if not layers["cgroup memory (shm, tmpfs, kernel memory)"]:
        degraded("no cgroup memory layer here", cgroups_possible())
    from csteer.sandbox import cgroup, runner
    from tests.sandbox.conftest import assert_no_job_left

    box = Sandbox(Limits(timeout_s=20, cpu_s=20), policy=False)
    assert box.run("print(1)").stdout == "1\n"  # the pool is up
    held: list[cgroup.JobGroup] = []

    def hold(group: cgroup.JobGroup) -> cgroup.Released:
        held.append(group)  # not killed, not removed: only run() can have stopped the job
        released = cgroup.Released(group)
        released.removed.set()
        return released

    monkeypatch.setattr(runner.cgroup, "release", hold)
    forged = textwrap.dedent(
        """
        import os, time
        print("partial", flush=True)
        os.close(1)
        os.close(2)
        os.write(3, b'{"exit": 0}')
        while True:
            time.sleep(0.01)
        """
    )
    try:
        start = time.monotonic()
        result = box.run(forged)
        assert time.monotonic() - start < 10, "run() waited for the timeout"
        assert (result.status, result.stdout, result.exit_code) == ("ok", "partial\n", 0), result
        assert held, "the job had no cgroup"
        assert_no_job_left()
        # a real end: the exit code comes from the harness's record
        result = box.run("import sys\nprint('out')\nsys.exit(4)")
        assert (result.status, result.stdout, result.exit_code) == ("error", "out\n", 4), result
    finally:
        monkeypatch.undo()
        for group in held:
            cgroup.release(group)
        cgroup.drain(10)
