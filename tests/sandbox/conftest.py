"""Host-side fixtures for the sandbox tests: canaries, a listener, a secret, a sentinel process.

Containment is judged here, outside the sandbox: never by what the program says about itself.
"""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import pytest

from csteer.sandbox import Limits, Result, Sandbox
from csteer.sandbox.selftest import Listener

REPO = Path(__file__).resolve().parents[2]
# Set by .ci/run: a jail weaker than the full plan fails the tests that need a layer instead of skipping them.
REQUIRE_JAIL = "CSTEER_REQUIRE_JAIL"
SECRET = "sk-test-FAKE-0123456789abcdef"
CANARY_TEXT = "canary-original-content"


def jail_required() -> bool:
    return os.environ.get(REQUIRE_JAIL, "").strip() == "1"


def memory_controller_writable() -> bool:
    """A cgroup hierarchy with the memory controller, mounted read-write and writable by this process."""
    try:
        with open("/proc/self/mounts") as fh:
            mounts = [line.split() for line in fh]
    except OSError:
        return False
    for _, where, kind, options, *_ in mounts:
        if "rw" not in options.split(","):
            continue
        if kind == "cgroup" and "memory" in options.split(","):
            return os.access(where, os.W_OK)
        if kind == "cgroup2":
            try:
                with open(os.path.join(where, "cgroup.controllers")) as fh:
                    if "memory" in fh.read().split() and os.access(where, os.W_OK):
                        return True
            except OSError:
                pass
    return False


def cgroups_possible() -> bool:
    """Whether this caller could have per-job cgroups: root with a writable memory controller. (An
    unprivileged caller has them only with a delegated subtree, which the sandbox would then use.)"""
    return os.geteuid() == 0 and memory_controller_writable()


def degraded(reason: str, possible: bool = True) -> NoReturn:
    """A layer this test needs is inactive: skip, or fail where CSTEER_REQUIRE_JAIL=1 (CI) and the layer
    is possible for this caller (`possible=False`: e.g. cgroups for an unprivileged user, still a skip)."""
    if jail_required() and possible:
        pytest.fail(
            f"{reason}; {REQUIRE_JAIL}=1, so a degraded jail fails instead of skipping", pytrace=False
        )
    pytest.skip(reason)


@dataclass
class Host:
    canary_dir: Path
    canary: Path
    listener: Listener
    sentinel: subprocess.Popen
    token: str
    pwn_paths: list[Path] = field(default_factory=list)

    def render(self, code: str) -> str:
        """Fill the placeholders an attack program uses."""
        for key, value in {
            "{CANARY}": str(self.canary),
            "{CANARY_DIR}": str(self.canary_dir),
            "{PORT}": str(self.listener.port),
            "{TOKEN}": self.token,
            "{REPO}": str(REPO),
            "{SENTINEL}": str(self.sentinel.pid),
            "{HOSTPID}": str(os.getpid()),
        }.items():
            code = code.replace(key, value)
        return code

    def assert_contained(self, result: Result, max_seconds: float) -> None:
        assert self.canary.read_text() == CANARY_TEXT, "canary file was modified"
        assert sorted(p.name for p in self.canary_dir.iterdir()) == ["canary.txt"], (
            "file created next to the canary"
        )
        for path in self.pwn_paths:
            assert not path.exists(), f"the program wrote {path}"
        time.sleep(0.05)  # let the listener thread accept a late connection, if any
        assert self.listener.connections == 0, "the program reached a listener on 127.0.0.1"
        assert self.sentinel.poll() is None, "the program killed a host process"
        # (the test process itself, {HOSTPID}, needs no check: had a program killed it, the run would have died)
        output = result.stdout + result.stderr
        assert SECRET not in output, "the secret leaked"
        assert CANARY_TEXT not in output, "the canary content leaked"
        assert "root:x:0:0" not in output, "/etc/passwd leaked"
        assert result.duration_s < max_seconds, f"took {result.duration_s:.1f}s"


@pytest.fixture(scope="session")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    canary_dir = tmp_path_factory.mktemp("canary")
    canary = canary_dir / "canary.txt"
    canary.write_text(CANARY_TEXT)
    # World-readable and even world-writable: permissions alone must not be what protects it.
    os.chmod(canary_dir, 0o777)
    os.chmod(canary, 0o666)
    for parent in canary_dir.parents:
        if str(parent) in ("/", "/tmp"):
            break
        mode = os.stat(parent).st_mode
        if mode & 0o755 != 0o755:  # (only where needed: a caller cannot chmod a parent it does not own)
            os.chmod(parent, mode | 0o755)
    token = f"csteer-pwned-{uuid.uuid4().hex[:8]}"
    listener = Listener()
    sentinel = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    old = os.environ.get("CSTEER_TEST_API_KEY")
    os.environ["CSTEER_TEST_API_KEY"] = SECRET
    os.environ["OPENAI_API_KEY"] = SECRET
    pwn = [Path("/tmp") / token, Path("/dev/shm") / token, REPO / token, Path("/var/tmp") / token]
    try:
        yield Host(canary_dir, canary, listener, sentinel, token, pwn)
    finally:
        listener.close()
        sentinel.send_signal(signal.SIGKILL)
        sentinel.wait()
        os.environ.pop("OPENAI_API_KEY", None)
        if old is None:
            os.environ.pop("CSTEER_TEST_API_KEY", None)
        for path in pwn:
            if path.exists():
                path.unlink()


def job_group_dirs() -> list[str]:
    """This process's per-job cgroups (see csteer/sandbox/cgroup.py) that exist right now."""
    from csteer.sandbox import cgroup

    found: list[str] = []
    for parent in set(cgroup.layout().parents.values()):
        found += glob.glob(os.path.join(parent, "j*"))
    return found


def job_pids() -> set[int]:
    """Processes in this process's job cgroups, as the host sees them (not the warm pool's spare, which
    waits in the cgroup made for its future job)."""
    from csteer.sandbox import pool

    pids: set[int] = set()
    for group in job_group_dirs():
        try:
            with open(os.path.join(group, "cgroup.procs")) as fh:
                pids.update(int(x) for x in fh.read().split())
        except (OSError, ValueError):
            pass
    # Read after the groups: a spare is registered in _groups before it is moved into its group, so a
    # spare seen in a group above is known here (read before, one moved in between would look like a job).
    warm = pool._pool
    spares = set(warm._groups) if warm is not None else set()
    return pids - spares


class JobWatcher:
    """Looks at the running job from the host: its open descriptors, mappings and /proc status."""

    def __init__(self) -> None:
        self.fds: set[str] = set()
        self.maps: set[str] = set()
        self.status: dict[int, dict[str, str]] = {}  # pid -> its latest /proc status fields
        self.seen: set[int] = set()
        self.groups: set[str] = set()  # job cgroups seen
        self.pids_peak: dict[str, int] = {}  # job cgroup (pids controller) -> its pids.peak, when readable
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> JobWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            for pid in job_pids():
                self.seen.add(pid)
                self._look(pid)
            for group in job_group_dirs():
                self.groups.add(group)
                try:
                    with open(os.path.join(group, "pids.peak")) as fh:
                        peak = int(fh.read())
                except (OSError, ValueError):
                    continue
                self.pids_peak[group] = max(peak, self.pids_peak.get(group, 0))
            time.sleep(0.01)

    def _look(self, pid: int) -> None:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    self.fds.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
                except OSError:
                    pass
            with open(f"/proc/{pid}/maps") as fh:
                self.maps.update(line.split()[-1] for line in fh if len(line.split()) >= 6)
            with open(f"/proc/{pid}/status") as fh:
                fields = {}
                for line in fh:
                    key, _, value = line.partition(":")
                    if key in ("NoNewPrivs", "Seccomp", "Uid", "CapEff", "CapPrm"):
                        fields[key] = value.strip()
            self.status[pid] = fields
        except OSError:
            pass

    def held_memory_outside(self) -> list[str]:
        """memfd files, SysV segments and watches the job held (host-side evidence of a bypass)."""
        hits = [f for f in self.fds if f.startswith("/memfd:") or "inotify" in f or "fanotify" in f]
        hits += [m for m in self.maps if m.startswith("/memfd:") or m.startswith("/SYSV")]
        return sorted(hits)


def assert_memory_bounded(result: Result) -> None:
    """The job's cgroup never held more than its limit (memory_mb + disk_mb + cgroup.SLACK_MB)."""
    from csteer.sandbox.runner import last_job_stats

    stats = last_job_stats()
    if stats.get("cgroup") and "peak_bytes" in stats:
        assert stats["peak_bytes"] <= stats["limit_bytes"], (stats, result.status)


def assert_no_job_left(timeout_s: float = 2.0) -> None:
    """No process of a finished job is alive (its cgroups are gone or empty)."""
    deadline = time.monotonic() + timeout_s
    while job_pids() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not job_pids(), f"processes of a finished job still alive: {sorted(job_pids())}"


@pytest.fixture(scope="session")
def layers() -> dict[str, bool]:
    from csteer.sandbox import probe_layers

    return {row["name"]: bool(row["active"]) for row in probe_layers()}


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    return Sandbox(Limits(timeout_s=10, cpu_s=10, memory_mb=512))


@pytest.fixture(scope="session")
def raw_sandbox() -> Sandbox:
    """No policy layer: the OS jail alone must hold."""
    return Sandbox(Limits(timeout_s=10, cpu_s=10, memory_mb=512), policy=False)
