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

from csteer.runtime.sandbox import child, linux

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


def _reap(signum: int, frame: object) -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def serve(control_fd: int) -> None:
    """Warm worker: preload, then fork one supervisor per job until the caller goes away."""
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
    gc.collect()
    gc.freeze()
    ctl = socket.socket(fileno=control_fd)  # SOCK_SEQPACKET: one message per job, fds attached
    signal.signal(signal.SIGCHLD, _reap)
    ctl.send(json.dumps({"ready": True, "pid": os.getpid(), "preloaded": preloaded}).encode())
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(ctl, 16, 3)
        except OSError:
            break
        if not msg:  # the caller exited or closed the pool: so do we (supervisors die with us)
            break
        if len(fds) != 3:
            for fd in fds:
                os.close(fd)
            continue
        job_fd, out_fd, err_fd = fds
        pid = os.fork()
        if pid == 0:
            ctl.close()
            linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
            child.supervise(socket.socket(fileno=job_fd), out_fd, err_fd, new_session=True)
        for fd in fds:
            os.close(fd)
    os._exit(0)


def cold(job_fd: int) -> None:
    """Cold launcher: this process is the supervisor (stdout/stderr are already the job's pipes)."""
    child.preload_libc()
    child.supervise(socket.socket(fileno=job_fd), 1, 2, new_session=False)


def probe() -> None:
    from csteer.runtime.sandbox import probe as probe_mod

    child.preload_libc()
    print(json.dumps(probe_mod.detect()))


def main() -> None:
    """`python -I -c BOOT MODE [FD]` (argv[0] is "-c")."""
    mode = sys.argv[1]
    if mode == "serve":
        serve(int(sys.argv[2]))
    elif mode == "cold":
        cold(int(sys.argv[2]))
    elif mode == "probe":
        probe()
    else:
        raise SystemExit(f"unknown mode {mode!r}")
