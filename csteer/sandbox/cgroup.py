"""Per-job cgroups (Linux, root or a delegated subtree): memory and process limits, and one kill switch.

rlimits bound what a job *maps*; they miss memory it holds elsewhere: memfd files passed away, System V
shared memory, tmpfs pages, kernel memory (inodes, dentries, page tables, socket buffers). A memory cgroup
charges all of it to the job. Each job gets its own group, created by the caller before the job reads its
program, with

- memory: `memory.max` (v2) or `memory.limit_in_bytes` (v1), swap disallowed; an OOM kill in the group is
  reported as status `memory`;
- pids: `pids.max`, on top of RLIMIT_NPROC;
- kill: `cgroup.kill` (v2) SIGKILLs every process of the group at once at the deadline; where only v1 is
  there, each pid listed in the group is killed.

Controllers are looked up where this machine has them: the unified (v2) hierarchy when it offers them,
else the v1 hierarchy of each (hybrid hosts have memory and pids on v1 and only the kill switch on v2).
v2 groups live under `<cgroup2 mount>/csteer/p<caller pid>/` (the hierarchy's root is exempt from the
no-internal-processes rule), v1 groups under the caller's own group, so the machine's accounting of the
caller still covers its jobs. Groups of callers that died are removed on the next start.
"""

from __future__ import annotations

import atexit
import errno
import itertools
import logging
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass, field

log = logging.getLogger("csteer.sandbox")

# What a job may use beyond memory_mb: its scratch tmpfs (files there are memory) and a slack for page
# tables, kernel stacks, socket buffers and the pages of the warm worker it copies on write.
SLACK_MB = 64
PIDS_MAX = 16  # a job cannot fork (RLIMIT_NPROC=0); the supervisor and the job of pidns plans fit easily


@dataclass
class Layout:
    """Where this process creates job groups: {controller: parent directory}; "kill" names the v2 parent."""

    parents: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def memory(self) -> bool:
        return "memory" in self.parents

    @property
    def pids(self) -> bool:
        return "pids" in self.parents

    @property
    def kill(self) -> bool:
        return "kill" in self.parents

    def describe(self) -> str:
        parts = []
        for key in ("memory", "pids", "kill"):
            path = self.parents.get(key)
            if path:
                version = "v2" if os.path.exists(os.path.join(path, "cgroup.controllers")) else "v1"
                parts.append(f"{key} ({version})")
        return ", ".join(parts) or "none"


def _mounts() -> tuple[str | None, dict[str, str]]:
    """(cgroup2 mount point, {v1 controller: mount point})."""
    v2: str | None = None
    v1: dict[str, str] = {}
    try:
        with open("/proc/self/mountinfo") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None, {}
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, rest = left.split(), right.split()
        if len(fields) < 5 or len(rest) < 3:
            continue
        point, fstype, options = fields[4], rest[0], rest[2].split(",")
        if fstype == "cgroup2" and v2 is None:
            v2 = point
        elif fstype == "cgroup":
            for name in options:
                if name in ("memory", "pids"):
                    v1.setdefault(name, point)
    return v2, v1


def _own_groups() -> dict[str, str]:
    """This process's group per hierarchy: {"": v2 path, "memory": v1 path, ...}."""
    groups: dict[str, str] = {}
    try:
        with open("/proc/self/cgroup") as fh:
            for line in fh.read().splitlines():
                _, controllers, path = line.split(":", 2)
                for name in controllers.split(",") if controllers else [""]:
                    groups[name] = path
    except (OSError, ValueError):
        pass
    return groups


def _read(path: str) -> str:
    with open(path) as fh:
        return fh.read()


def _write(path: str, value: str) -> None:
    with open(path, "w") as fh:
        fh.write(value)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _v2_parent(mount: str) -> tuple[str | None, set[str], str]:
    """The v2 directory our job groups go under, the controllers enabled for them, and a note."""
    base = os.path.join(mount, "csteer")
    try:
        os.makedirs(base, exist_ok=True)
    except OSError as err:
        return None, set(), f"cannot create {base}: {err.strerror}"
    try:
        available = set(_read(os.path.join(mount, "cgroup.controllers")).split())
        wanted = available & {"memory", "pids"}
        enabled = set(_read(os.path.join(base, "cgroup.subtree_control")).split())
        for name in sorted(wanted - set(_read(os.path.join(mount, "cgroup.subtree_control")).split())):
            _write(os.path.join(mount, "cgroup.subtree_control"), f"+{name}")
        for name in sorted(wanted - enabled):
            _write(os.path.join(base, "cgroup.subtree_control"), f"+{name}")
        enabled = set(_read(os.path.join(base, "cgroup.subtree_control")).split())
    except OSError as err:
        return base, set(), f"v2 controllers unavailable: {err.strerror}"
    return base, enabled, ""


def detect() -> Layout:
    """Find where job groups can be created here (needs write access: root, or a delegated subtree)."""
    layout = Layout()
    if not os.path.isdir("/proc/self") or not hasattr(os, "getpid"):
        layout.notes.append("no /proc")
        return layout
    v2, v1 = _mounts()
    own = _own_groups()
    pid = os.getpid()
    if v2 is not None and own.get("") == "/":
        base, enabled, note = _v2_parent(v2)
        if note:
            layout.notes.append(note)
        if base is not None:
            parent = os.path.join(base, f"p{pid}")
            try:
                os.makedirs(parent, exist_ok=True)
                if enabled:
                    _write(os.path.join(parent, "cgroup.subtree_control"), " ".join(f"+{c}" for c in enabled))
                if os.path.exists(os.path.join(parent, "cgroup.kill")):
                    layout.parents["kill"] = parent
                for name in enabled:
                    layout.parents[name] = parent
                _sweep(base, v2=True)
            except OSError as err:
                layout.notes.append(f"cannot create {parent}: {err.strerror}")
    elif v2 is not None:
        layout.notes.append(f"v2: this process is in {own.get('')}, not the root of the hierarchy")
    for name in ("memory", "pids"):
        if name in layout.parents or name not in v1 or name not in own:
            continue
        home = os.path.join(v1[name], own[name].lstrip("/"))
        parent = os.path.join(home, f"csteer-p{pid}")
        try:
            os.makedirs(parent, exist_ok=True)
            layout.parents[name] = parent
            _sweep(home, v2=False)
        except OSError as err:
            layout.notes.append(f"{name} (v1): cannot create {parent}: {err.strerror}")
    return layout


def _sweep(base: str, v2: bool) -> None:
    """Remove the groups of callers that died (they could not clean up after themselves)."""
    prefix = "p" if v2 else "csteer-p"
    try:
        names = os.listdir(base)
    except OSError:
        return
    for name in names:
        if not name.startswith(prefix) or not name[len(prefix) :].isdigit():
            continue
        if _alive(int(name[len(prefix) :])):
            continue
        parent = os.path.join(base, name)
        for job in _subdirs(parent):
            _kill_and_remove(job, v2)
        try:
            os.rmdir(parent)
        except OSError:
            pass


def _subdirs(path: str) -> list[str]:
    try:
        return [e.path for e in os.scandir(path) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []


def _procs(group: str) -> list[int]:
    try:
        return [int(x) for x in _read(os.path.join(group, "cgroup.procs")).split()]
    except (OSError, ValueError):
        return []


def _kill_and_remove(group: str, v2: bool, wait_s: float = 1.0) -> bool:
    if v2 and os.path.exists(os.path.join(group, "cgroup.kill")):
        try:
            _write(os.path.join(group, "cgroup.kill"), "1")
        except OSError:
            pass
    deadline = time.monotonic() + wait_s
    while True:
        pids = _procs(group)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            os.rmdir(group)
            return True
        except OSError as err:
            if err.errno == errno.ENOENT:
                return True
            if err.errno != errno.EBUSY or time.monotonic() > deadline:
                return False
        time.sleep(0.005)


_layout: Layout | None = None
_layout_lock = threading.Lock()
_counter = itertools.count()


def layout() -> Layout:
    """The cached layout of this process (detected on first use)."""
    global _layout
    with _layout_lock:
        if _layout is None or _layout_pid != os.getpid():
            _set_layout(detect())
        assert _layout is not None
        return _layout


_layout_pid = -1


def _set_layout(value: Layout) -> None:
    global _layout, _layout_pid
    _layout, _layout_pid = value, os.getpid()
    if value.parents:
        atexit.register(_remove_parents, value, os.getpid())


def _remove_parents(lay: Layout, pid: int) -> None:
    """At exit: this process's (empty by now) parent groups; a crash leaves them to the next sweep."""
    if os.getpid() != pid:
        return
    for parent in set(lay.parents.values()):
        for job in _subdirs(parent):
            _kill_and_remove(job, os.path.exists(os.path.join(job, "cgroup.controllers")), wait_s=0.2)
        try:
            os.rmdir(parent)
        except OSError:
            pass


class JobGroup:
    """The groups of one job: created empty, joined by the job's first process, removed after it."""

    def __init__(self, lay: Layout, memory_bytes: int) -> None:
        self.dirs: dict[str, str] = {}  # parent directory -> this job's group there
        self.memory_dir: str | None = None
        self.kill_dir: str | None = None
        self.memory_bytes = memory_bytes  # the limit written
        name = f"j{next(_counter)}"
        try:
            for key in ("kill", "memory", "pids"):
                parent = lay.parents.get(key)
                if parent is None:
                    continue
                group = self.dirs.get(parent)
                if group is None:
                    group = os.path.join(parent, name)
                    os.mkdir(group)
                    self.dirs[parent] = group
                if key == "memory":
                    self.memory_dir = group
                    self._limit_memory(group, memory_bytes)
                elif key == "pids":
                    _write(os.path.join(group, "pids.max"), str(PIDS_MAX))
                else:
                    self.kill_dir = group
        except OSError:
            self.remove()
            raise

    @staticmethod
    def _limit_memory(group: str, limit: int) -> None:
        if os.path.exists(os.path.join(group, "memory.max")):  # v2
            _write(os.path.join(group, "memory.max"), str(limit))
            for name, value in (("memory.swap.max", "0"), ("memory.oom.group", "1")):
                if os.path.exists(os.path.join(group, name)):
                    _write(os.path.join(group, name), value)
        else:  # v1: the memory counter includes kernel memory; memsw (if there) also swap
            files = ["memory.limit_in_bytes"]
            if os.path.exists(os.path.join(group, "memory.memsw.limit_in_bytes")):
                files.append("memory.memsw.limit_in_bytes")
            try:  # memsw may never be below the memory limit: lower the memory limit first...
                for name in files:
                    _write(os.path.join(group, name), str(limit))
            except OSError:  # ...and raise memsw first
                for name in reversed(files):
                    _write(os.path.join(group, name), str(limit))
            if os.path.exists(os.path.join(group, "memory.swappiness")):
                try:
                    _write(os.path.join(group, "memory.swappiness"), "0")
                except OSError:
                    pass

    def set_memory_limit(self, limit: int) -> None:
        if self.memory_dir is not None and limit != self.memory_bytes:
            self._limit_memory(self.memory_dir, limit)
            self.memory_bytes = limit

    def add(self, pid: int) -> None:
        """Move `pid` (the job's first process; its children follow) into every group of this job."""
        for group in self.dirs.values():
            _write(os.path.join(group, "cgroup.procs"), str(pid))

    def kill(self) -> None:
        """SIGKILL every process of the job (cgroup.kill where there is one, else each listed pid)."""
        if self.kill_dir is not None:
            try:
                _write(os.path.join(self.kill_dir, "cgroup.kill"), "1")
                return
            except OSError:
                pass
        for group in self.dirs.values():
            for pid in _procs(group):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def stats(self) -> dict[str, int]:
        """peak_bytes (memory the group ever held, kernel memory included) and oom_kills."""
        result: dict[str, int] = {}
        group = self.memory_dir
        if group is None:
            return result
        for name in ("memory.peak", "memory.max_usage_in_bytes"):
            try:
                result["peak_bytes"] = int(_read(os.path.join(group, name)))
                break
            except (OSError, ValueError):
                continue
        for name in ("memory.events", "memory.oom_control"):
            try:
                for line in _read(os.path.join(group, name)).splitlines():
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        result["oom_kills"] = int(value)
                break
            except (OSError, ValueError):
                continue
        return result

    def remove(self) -> None:
        for parent, group in list(self.dirs.items()):
            v2 = os.path.exists(os.path.join(group, "cgroup.controllers"))
            if not _kill_and_remove(group, v2):
                log.debug("csteer sandbox: could not remove %s (removed on a later start)", group)
            del self.dirs[parent]


class Released:
    """A finished job's group on its way out (see release): its stats, read before it is removed."""

    def __init__(self, group: JobGroup) -> None:
        self.group = group
        self.stats: dict[str, int] = {}
        self.removed = threading.Event()  # stats read and the group removed (or given up on)

    def wait(self, timeout_s: float = 10.0) -> dict[str, int]:
        self.removed.wait(timeout_s)
        return self.stats


_released: queue.SimpleQueue[Released] = queue.SimpleQueue()
_pending = 0  # released groups not removed yet
_pending_lock = threading.Condition()
_remover_pid = -1  # the process whose remover thread is running


def _forget_after_fork() -> None:
    # A forked caller has no remover thread, and its parent's released groups are not its own.
    global _released, _pending, _pending_lock, _remover_pid
    _released, _pending, _pending_lock, _remover_pid = queue.SimpleQueue(), 0, threading.Condition(), -1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def release(group: JobGroup) -> Released:
    """Read the stats of a finished job's group and remove the group, in the background.

    The job has ended (or been killed) by now; removing its groups (kill, then rmdir, which the kernel
    answers only once the memory controller has let go of the group) is no part of the job's result.
    `Released.wait()` gives the stats once read; `drain()` waits for every group released so far."""
    global _pending, _remover_pid
    item = Released(group)
    with _pending_lock:
        _pending += 1
        if _remover_pid != os.getpid():  # first use in this process (or a forked child of a caller)
            _remover_pid = os.getpid()
            threading.Thread(target=_remover, name="csteer-sandbox-cgroups", daemon=True).start()
            atexit.register(drain)
    _released.put(item)
    return item


def _remover() -> None:
    global _pending
    while True:
        item = _released.get()
        try:
            item.stats = item.group.stats()
            item.group.remove()
        except Exception as err:  # noqa: BLE001 - leftovers are swept on the next start
            log.debug("csteer sandbox: could not remove a job cgroup: %s", err)
        finally:
            item.removed.set()
            with _pending_lock:
                _pending -= 1
                _pending_lock.notify_all()


def drain(timeout_s: float = 10.0) -> bool:
    """Wait until every group released so far is removed; False if some are still there at the timeout."""
    deadline = time.monotonic() + timeout_s
    with _pending_lock:
        while _pending > 0:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            _pending_lock.wait(left)
    return True


def memory_limit_bytes(memory_mb: int, disk_mb: int) -> int:
    """The group's limit: the job's memory, its scratch disk (tmpfs is memory) and SLACK_MB."""
    return (int(memory_mb) + int(disk_mb) + SLACK_MB) * 2**20
