"""Entry points of sandbox helper processes: the warm worker, the cold launcher and the probe.

Each runs as a separate interpreter (``python -I``) started with a scrubbed environment by the caller.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
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
    """Running jobs of this worker: pid -> the socket their exit status is reported on."""

    def __init__(self) -> None:
        self.sockets: dict[int, socket.socket] = {}

    def reap(self, *_: object) -> None:
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            sock = self.sockets.pop(pid, None)
            if sock is not None:
                try:
                    child.send(sock, {"reaped": child.exit_report(status, usage)})
                except OSError:
                    pass  # the caller gave up on this job (timeout) and closed its end
                sock.close()


def serve(control_fd: int, plan: jail.Plan, use_template: bool) -> None:
    """Warm worker: preload, then fork one job per request until the caller goes away."""
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
    signal.signal(signal.SIGCHLD, jobs.reap)
    ctl.send(
        json.dumps({"ready": True, "pid": os.getpid(), "preloaded": preloaded, "template": template}).encode()
    )
    spare = _new_spare(plan, ctl, jobs)
    while True:
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
            pid = _hand_to_spare(spare, fds, job_sock)
            if pid is None:
                pid = child.fork_job(
                    job_sock, fds[1], fds[2], fds[3], close_in_child=(ctl, *jobs.sockets.values())
                )
            jobs.sockets[pid] = job_sock
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        for fd in fds[1:]:
            os.close(fd)
        spare = _new_spare(plan, ctl, jobs)
    # A job may have cleared nothing (seccomp keeps its parent-death signal in place), but do not rely on
    # it: kill every job and the spare before going.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    for pid in [spare[0], *jobs.sockets]:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    os._exit(0)


def _new_spare(plan: jail.Plan, ctl: socket.socket, jobs: _Jobs) -> tuple[int, socket.socket]:
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    try:
        spare = child.fork_spare(plan, close_in_child=(ctl, *jobs.sockets.values()))
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
    try:
        # The caller moves the spare into its job's cgroup while it waits (a cgroup migration waits for
        # an RCU grace period, milliseconds: off the job's critical path).
        ctl.send(json.dumps({"spare": spare[0]}).encode())
    except OSError:
        pass
    return spare


def _hand_to_spare(spare: tuple[int, socket.socket], fds: list[int], job_sock: socket.socket) -> int | None:
    """Give the job's descriptors to the waiting spare; None if it is gone (then fork a fresh one)."""
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
