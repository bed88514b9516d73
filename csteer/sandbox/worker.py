"""Entry points of sandbox helper processes: the warm worker, the cold launcher and the probe.

Each runs as a separate interpreter (``python -I``) started with a scrubbed environment by the caller.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import select
import signal
import socket
import sys

# Everything a job needs is imported before the worker pivots into its prepared root.
from csteer.sandbox import child, guards, jail, linux, policy  # noqa: F401

# Imported once by the warm worker so a job does not pay for them (children share them copy-on-write).
PRELOAD = [
    "math",
    "cmath",
    "itertools",
    "functools",
    "operator",
    "collections",
    "heapq",
    "bisect",
    "fractions",
    "decimal",
    "statistics",
    "random",
    "re",
    "string",
    "json",
    "datetime",
    "copy",
    "typing",
    "dataclasses",
    "enum",
    "numpy",
    "sympy",
]


class _Jobs:
    """Running jobs of this worker (pid -> the socket their exit status is reported on) and its spare."""

    def __init__(self) -> None:
        self.sockets: dict[int, socket.socket] = {}
        self.spare: tuple[int, socket.socket] | None = None
        self.announced = False  # the spare said it has rehearsed, and the caller was told
        self.spare_died = False  # reaped before it got a job (its channel is closed by the loop)

    def reap(self, *_: object) -> None:
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if self.spare is not None and pid == self.spare[0]:
                self.spare_died = True
            sock = self.sockets.pop(pid, None)
            if sock is not None:
                try:
                    child.send(sock, {"reaped": child.exit_report(status, usage)})
                except OSError:
                    pass  # the caller gave up on this job (timeout) and closed its end
                sock.close()


def serve(control_fd: int, plan: jail.Plan, use_template: bool) -> None:
    """Warm worker: preload, then run one job per request until the caller goes away.

    The next job's process (the spare) is forked when no job is running, so that its fork and set-up do
    not compete with a job for the CPU; while jobs overlap, right after each hand-out."""
    preloaded = []
    for name in PRELOAD:
        try:
            importlib.import_module(name)
            preloaded.append(name)
        except Exception:  # an optional package (numpy, sympy) may be missing
            pass
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()  # its first call imports more; children only reseed
    child.preload_libc()
    # Park everything imported so far outside the collector: a child's GC pass would otherwise touch
    # (and copy) every page of the preloaded heap, which costs more than the fork itself.
    template = "no"
    if use_template:
        try:
            jail.enter_template()
            template = "yes"
        except OSError as err:  # jobs then build their root themselves (slower, same containment)
            template = f"failed: {err}"
    gc.collect()
    gc.freeze()
    ctl = socket.socket(fileno=control_fd)  # SOCK_SEQPACKET: one message per job, fds attached
    jobs = _Jobs()
    wake_r, wake_w = os.pipe()  # SIGCHLD wakes the loop (a job ended: time for the next spare)
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, jobs.reap)
    ctl.send(
        json.dumps({"ready": True, "pid": os.getpid(), "preloaded": preloaded, "template": template}).encode()
    )
    while True:
        if jobs.spare_died and jobs.spare is not None:  # it died before it got a job
            jobs.spare[1].close()
            jobs.spare, jobs.spare_died = None, False
        if jobs.spare is None and not jobs.sockets:
            jobs.spare = _new_spare(plan, ctl, jobs)
        waiting = [ctl.fileno(), wake_r]
        if jobs.spare is not None and not jobs.announced:
            waiting.append(jobs.spare[1].fileno())
        try:
            readable, _, _ = select.select(waiting, [], [])
        except OSError:
            break
        if wake_r in readable:
            try:
                while os.read(wake_r, 512):
                    pass
            except BlockingIOError:
                pass
        if len(waiting) > 2 and waiting[2] in readable and jobs.spare is not None and not jobs.spare_died:
            _announce(jobs, ctl)
        if ctl.fileno() not in readable:
            continue
        try:
            msg, fds, _, _ = socket.recv_fds(ctl, 16, child.JOB_FDS)
        except OSError:
            break
        if not msg:  # the caller exited or closed the pool: so do we, and our jobs first
            break
        if len(fds) != child.JOB_FDS:
            for fd in fds:
                os.close(fd)
            continue
        job_sock = socket.socket(fileno=fds[0])
        # Register the job before its exit can be reaped.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
        try:
            pid = _start_job(msg, jobs, fds, job_sock, ctl)
            if pid is not None:
                jobs.sockets[pid] = job_sock
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        if pid is None:
            job_sock.close()
        for fd in fds[1:]:
            os.close(fd)
        if jobs.spare is None and len(jobs.sockets) > 1:  # jobs overlap: the next one may come soon
            jobs.spare = _new_spare(plan, ctl, jobs)
    # A job may have cleared nothing (seccomp keeps its parent-death signal in place), but do not rely on
    # it: kill every job and the spare before going.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    for pid in [*([jobs.spare[0]] if jobs.spare else []), *jobs.sockets]:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    os._exit(0)


def _start_job(
    msg: bytes, jobs: _Jobs, fds: list[int], job_sock: socket.socket, ctl: socket.socket
) -> int | None:
    """The job's process (the spare or a fresh fork, as the request says); None: refused."""
    kind = msg[:1]
    if kind == child.CLAIMED:
        # The caller sent the program already, to the process it put into the job's cgroup: only that
        # spare may have it.
        spare, jobs.spare = jobs.spare, None
        if spare is not None and msg[1:] == str(spare[0]).encode():
            pid = _hand_to_spare(spare, fds, job_sock)
            if pid is not None:
                return pid
        elif spare is not None:
            jobs.spare = spare
        try:
            child.send(job_sock, {"refused": "the claimed spare is gone"})
        except OSError:
            pass
        return None
    if kind == child.ANY and jobs.spare is not None:
        spare, jobs.spare = jobs.spare, None
        pid = _hand_to_spare(spare, fds, job_sock)
        if pid is not None:
            return pid
    return child.fork_job(job_sock, fds[1], fds[2], fds[3], close_in_child=_inherited(ctl, jobs))


def _inherited(ctl: socket.socket, jobs: _Jobs) -> tuple[socket.socket, ...]:
    """The worker's sockets a forked process must close: control, other jobs', the spare's channel."""
    return (ctl, *jobs.sockets.values(), *([jobs.spare[1]] if jobs.spare else []))


def _new_spare(plan: jail.Plan, ctl: socket.socket, jobs: _Jobs) -> tuple[int, socket.socket]:
    """Fork the next job's process and announce it; once it says it has set up and rehearsed, that too."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    try:
        spare = child.fork_spare(plan, close_in_child=_inherited(ctl, jobs))
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
    jobs.announced, jobs.spare_died = False, False
    try:
        # The caller moves the spare into its job's cgroup while it sets up and rehearses (a cgroup
        # migration waits for an RCU grace period, milliseconds: off the job's critical path).
        ctl.send(json.dumps({"spare": spare[0]}).encode())
    except OSError:
        pass
    return spare


def _announce(jobs: _Jobs, ctl: socket.socket) -> None:
    """The spare has set up and rehearsed (or is gone): tell the caller (WarmPool.settle waits for it)."""
    assert jobs.spare is not None
    try:
        ready = jobs.spare[1].recv(16) == child.SPARE_READY
    except OSError:
        ready = False
    jobs.announced = True
    if not ready:
        return  # it died: reaped, and replaced when no job runs
    try:
        ctl.send(json.dumps({"rehearsed": jobs.spare[0]}).encode())
    except OSError:
        pass


def _hand_to_spare(spare: tuple[int, socket.socket], fds: list[int], job_sock: socket.socket) -> int | None:
    """Give the job's descriptors to the waiting spare; None if it is gone."""
    pid, chan = spare
    try:
        socket.send_fds(chan, [b"J"], fds)
    except OSError:
        return None
    finally:
        chan.close()
    try:
        child.send(job_sock, {"pids": [pid]})
    except OSError:
        pass
    return pid


def cold(job_fd: int, vio_fd: int, caller: int) -> None:
    """Cold launcher: fork the one job, wait for it, report (stdout/stderr are already the job's pipes).

    Dies with its caller (`caller`, its parent) and takes the job along (child.kill_child_when_orphaned)."""
    if sys.platform.startswith("linux"):
        linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != caller:
            os._exit(child.EXIT_SETUP)
    child.preload_libc()
    job_sock = socket.socket(fileno=job_fd)
    pid = child.fork_job(job_sock, 1, 2, vio_fd)
    os.close(1)
    os.close(2)
    os.close(vio_fd)
    child.kill_child_when_orphaned(pid, caller)
    _, status, usage = os.wait4(pid, 0)
    try:
        child.send(job_sock, {"reaped": child.exit_report(status, usage)})
    finally:
        os._exit(0)


def probe() -> None:
    from csteer.sandbox import probe as probe_mod

    child.preload_libc()
    print(json.dumps(probe_mod.detect()))


def main() -> None:
    """`python -I -c BOOT MODE [FD]` (argv[0] is "-c")."""
    mode = sys.argv[1]
    if mode == "serve":
        plan = jail.Plan.from_dict(json.loads(sys.argv[3]))
        serve(int(sys.argv[2]), plan, use_template=sys.argv[4:5] == ["template"])
    elif mode == "cold":
        cold(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    elif mode == "probe":
        probe()
    else:
        raise SystemExit(f"unknown mode {mode!r}")
