"""The warm pool: one pre-started worker interpreter that forks a fresh supervisor per job.

The worker imported the common modules once, so a job skips interpreter start-up and those imports; each job
still gets its own processes, namespaces, root and rlimits (nothing is shared between jobs but read-only,
copy-on-write memory). The worker exits when its control socket closes, i.e. when this process exits or
the pool is closed; supervisors and jobs die with it (PR_SET_PDEATHSIG).

One job, where job cgroups work: the worker announces each spare as it forks it (when no job runs, so
that the fork and the spare's set-up do not compete with a job for the CPU); the reader thread here puts
it into a fresh job cgroup at once. A job claims that spare (claim_spare), writes its own memory limit
into the group if it differs, and asks the worker for exactly that process (child.CLAIMED + pid), so its
program can follow without waiting for a reply: the process that reads it is in the job's group already.
A spare that died meanwhile is refused by the worker and the job asks again; without a spare to claim
(jobs running at once) it asks for a fresh process (child.FRESH), which the runner puts into a group of
its own before sending the program. The finished job's group is read and removed in the background
(cgroup.release).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import socket
import subprocess
import threading
import time
from typing import Any

from csteer.sandbox import cgroup
from csteer.sandbox.child import ANY
from csteer.sandbox.probe import _helper_command, helper_env
from csteer.sandbox.types import Limits

log = logging.getLogger("csteer.sandbox")


class PoolError(RuntimeError):
    pass


class WarmPool:
    def __init__(self, start_timeout_s: float = 120.0) -> None:
        from csteer.sandbox.probe import probe

        plan = probe()["plan"]
        # Root with a private root available: the worker prepares that root once for all its jobs.
        template = "template" if plan.get("new_root") and not plan.get("userns") else "no-template"
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.proc = subprocess.Popen(
                [*_helper_command("serve"), str(theirs.fileno()), json.dumps(plan), template],
                pass_fds=(theirs.fileno(),),
                env=helper_env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                cwd="/",
            )
        finally:
            theirs.close()
        self._sock = ours
        self._lock = threading.Lock()
        self._closed = False
        self.jobs = 0  # jobs handed to this worker
        self.active = 0  # of which still running
        self.retired = False
        ours.settimeout(start_timeout_s)
        try:
            hello = json.loads(ours.recv(65536) or b"{}")
        except (OSError, ValueError) as err:
            self.close()
            raise PoolError(f"warm worker did not start: {err}") from None
        ours.settimeout(None)
        if not hello.get("ready"):
            self.close()
            raise PoolError("warm worker did not start (no hello)")
        self._groups: dict[int, tuple[threading.Event, list[Any]]] = {}  # spare pid -> its cgroup
        self._spare: int | None = None  # the spare announced last, not claimed yet
        self._rehearsed: int | None = None  # the last spare that said it is set up and warm
        self._announced = threading.Condition(self._lock)  # a spare announced, moved, or warm
        self.spare_limit = cgroup.memory_limit_bytes(Limits.memory_mb, Limits.disk_mb)  # of the last job
        self._reader = threading.Thread(target=self._read, name="csteer-sandbox-spares", daemon=True)
        self._reader.start()
        self.preloaded: list[str] = hello.get("preloaded", [])
        self.template: str = hello.get("template", "no")
        if self.template.startswith("failed"):
            log.warning(
                "csteer sandbox: warm worker could not prepare its root (%s); jobs build their own",
                self.template,
            )

    def _read(self) -> None:
        """The worker announces each new spare; put it into a fresh job cgroup ahead of its job."""
        while True:
            try:
                data = self._sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            try:
                msg = json.loads(data)
                if "rehearsed" in msg:
                    with self._lock:
                        self._rehearsed = int(msg["rehearsed"])
                        self._announced.notify_all()
                    continue
                pid = int(msg["spare"])
            except (ValueError, KeyError, TypeError):
                continue
            layout = cgroup.layout()
            if not (layout.memory or layout.pids or layout.kill):
                with self._lock:
                    self._spare = pid
                    self._announced.notify_all()
                continue
            ready: tuple[threading.Event, list[Any]] = (threading.Event(), [])
            with self._lock:
                stale = [p for p in self._groups if p != pid]
                self._groups[pid] = ready
                self._spare = pid
                self._announced.notify_all()
            try:
                group = cgroup.JobGroup(layout, self.spare_limit)
                try:
                    group.add(pid)
                    ready[1].append(group)
                except OSError:
                    group.remove()
            except OSError as err:
                log.debug("csteer sandbox: no cgroup for spare %d ahead of time: %s", pid, err)
            with self._lock:
                ready[0].set()
                self._announced.notify_all()
            for old in stale:  # spares that died before getting a job
                self._drop_group(old, only_if_dead=True)

    def claim_spare(self, timeout_s: float = 2.0) -> tuple[int, Any] | None:
        """The spare announced last and the cgroup it waits in (None: none made), for one job only.

        The caller then asks the worker for exactly this process (child.CLAIMED). When no job of this
        pool is running the worker is making the next spare: wait for it (up to `timeout_s`, and for its
        move into its cgroup); while jobs run, do not (None: ask for a fresh process)."""
        deadline = time.monotonic() + timeout_s
        with self._announced:
            while True:
                pid = self._spare
                entry = self._groups.get(pid) if pid is not None else None
                if pid is not None and (entry is None or entry[0].is_set()):
                    break  # (no entry: announced while this machine made no job cgroups)
                left = deadline - time.monotonic()
                if self._closed or left <= 0 or (pid is None and self.active > 0):
                    return None
                self._announced.wait(left)
            self._spare = None
            self._groups.pop(pid, None)
        return pid, (entry[1][0] if entry is not None and entry[1] else None)

    def settle(self, timeout_s: float = 5.0) -> bool:
        """Wait until the pool is at rest: a spare set up and warm (and in its cgroup, where cgroups
        work), and the cgroups of finished jobs removed. For measurements, so that no job is timed with
        the work left by the one before it (False: not at rest after `timeout_s`)."""
        deadline = time.monotonic() + timeout_s
        with self._announced:
            while True:
                pid = self._spare
                entry = self._groups.get(pid) if pid is not None else None
                if pid is not None and pid == self._rehearsed and (entry is None or entry[0].is_set()):
                    break
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    return False
                self._announced.wait(left)
        return cgroup.drain(max(0.0, deadline - time.monotonic()))

    def _drop_group(self, pid: int, only_if_dead: bool = False) -> None:
        if only_if_dead:
            try:
                os.kill(pid, 0)
                return
            except ProcessLookupError:
                pass
            except PermissionError:
                return
        with self._lock:
            entry = self._groups.pop(pid, None)
        if entry is not None and entry[0].wait(5.0) and entry[1]:
            entry[1][0].remove()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def submit(self, job_fd: int, out_fd: int, err_fd: int, vio_fd: int, request: bytes = ANY) -> None:
        """Hand one job's descriptors to the worker (they are duplicated into it; close yours after).

        `request`: child.ANY, child.FRESH, or child.CLAIMED + the pid of a spare from claim_spare."""
        with self._lock:
            if self._closed:
                raise PoolError("warm worker is retired")
            try:
                socket.send_fds(self._sock, [request], [job_fd, out_fd, err_fd, vio_fd])
            except OSError as err:
                raise PoolError(f"warm worker is gone: {err}") from None
            self.jobs += 1
            self.active += 1
            if request == ANY:
                self._spare = None  # the worker may have given it this job

    def done(self) -> None:
        """One job handed to this worker has ended (a retired worker goes once its last job has)."""
        with self._lock:
            self.active -= 1
            close = self.retired and self.active == 0
        if close:
            self.close()

    def retire(self) -> None:
        """Take no more jobs; exit when the running ones have ended."""
        with self._lock:
            self.retired = True
            close = self.active == 0
        if close:
            self.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the reader thread
        except OSError:
            pass
        try:
            self._sock.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self._reader is not threading.current_thread():
            self._reader.join(timeout=5)
        for pid in list(self._groups):
            self._drop_group(pid)


# Jobs forked from one worker share its address-space layout and str hash secret (a fork keeps both;
# only an exec makes new ones). A worker is therefore replaced after this many jobs: the next one starts
# in the background when the count is reached and takes over once ready. See SECURITY.md.
RECYCLE_AFTER_JOBS = 200

_pool: WarmPool | None = None
_pool_failed: str | None = None
_pool_lock = threading.Lock()


def _forget_after_fork() -> None:
    # A forked caller must not share its parent's control socket: it starts its own pool when needed.
    global _pool, _pool_failed, _pool_lock, _next
    _pool, _pool_failed, _pool_lock, _next = None, None, threading.Lock(), None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


_next: threading.Thread | None = None  # starting the replacement of a worker that reached its job count


def get_pool() -> WarmPool | None:
    """The process-wide pool, started on first use; None (after one warning) if it cannot start."""
    global _pool, _pool_failed
    with _pool_lock:
        if _pool is not None and not _pool.alive():
            log.warning("csteer sandbox: warm worker died; restarting it")
            _pool = None
        if _pool is None and _pool_failed is None:
            try:
                _pool = _start()
            except (PoolError, OSError) as err:
                _pool_failed = str(err)
                log.warning(
                    "csteer sandbox: warm pool unavailable (%s); every job starts a fresh interpreter", err
                )
        elif _pool is not None and _pool.jobs >= RECYCLE_AFTER_JOBS:
            _start_replacement(_pool)
        return _pool


def _start() -> WarmPool:
    pool = WarmPool()
    atexit.register(pool.close)
    return pool


def _start_replacement(old: WarmPool) -> None:
    """Start the next worker in the background; it replaces `old` when ready (jobs keep going meanwhile)."""
    global _next
    if _next is not None:
        return

    def start() -> None:
        global _pool, _next
        try:
            new: WarmPool | None = _start()
        except (PoolError, OSError) as err:
            log.warning("csteer sandbox: replacement warm worker did not start (%s)", err)
            new = None
        with _pool_lock:
            _next = None
            if new is None:
                old.jobs = 0  # try again after as many jobs
                return
            if _pool is old:
                _pool = new
            else:
                new.close()
                return
        old.retire()

    _next = threading.Thread(target=start, name="csteer-sandbox-recycle", daemon=True)
    _next.start()


def pool_status() -> tuple[bool, str]:
    pool = get_pool()
    if pool is None:
        return False, _pool_failed or "not started"
    return (
        True,
        f"worker pid {pool.proc.pid}, prepared root: {pool.template}, replaced every "
        f"{RECYCLE_AFTER_JOBS} jobs, preloaded: {', '.join(pool.preloaded)}",
    )
