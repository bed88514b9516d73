"""Job processes: the supervisor (enters namespaces, forks the job, reports its exit) and the job itself.

Process tree of one job::

    caller (Sandbox.run) --- warm worker or cold launcher
                               `-- supervisor: new session; unshare(mount, net, pid, ipc, uts[, user])
                                     `-- job: pid 1 of the new pid namespace; jail; runs the program

The caller reads the job's stdout/stderr pipes itself and talks to the supervisor over a socket pair:
it receives the two pids (to kill the group on timeout) and then the job's exit status.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import traceback
import types
from typing import Any, NoReturn

from csteer.runtime.sandbox import guards, jail, linux, policy, protocol

EXIT_POLICY = 120
EXIT_MEMORY = 121
EXIT_SETUP = 122

STDIN_FILE = ".stdin"


def supervise(job_sock: socket.socket, out_fd: int, err_fd: int, *, new_session: bool) -> NoReturn:
    """Run one job to completion and report on `job_sock`. Never returns."""
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        if new_session:
            os.setsid()
        spec = protocol.recv(job_sock)
        if spec is None:
            os._exit(0)
        plan = jail.Plan.from_dict(spec["plan"])
        if plan.namespaces:
            jail.enter_namespaces(plan)
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                job_sock.close()
                os.close(ready_r)
                _job_main(spec, plan, out_fd, err_fd, ready_w)
            finally:
                os._exit(EXIT_SETUP)
        os.close(ready_w)
        for fd in {out_fd, err_fd}:
            os.close(fd)
        protocol.send(job_sock, {"pids": [os.getpid(), pid]})
        ready = b""
        while chunk := os.read(ready_r, 4096):
            ready += chunk
        _, status, usage = os.wait4(pid, 0)
        report: dict[str, Any] = {
            "ready": ready.decode("utf-8", "replace"),
            "cpu_s": usage.ru_utime + usage.ru_stime,
        }
        if os.WIFSIGNALED(status):
            report["signal"] = os.WTERMSIG(status)
        else:
            report["exit"] = os.WEXITSTATUS(status)
        protocol.send(job_sock, report)
    except BaseException as err:  # the caller must hear about any failure here
        try:
            protocol.send(job_sock, {"error": f"{type(err).__name__}: {err}"})
        except OSError:
            pass
    os._exit(0)


def _job_main(spec: dict[str, Any], plan: jail.Plan, out_fd: int, err_fd: int, ready_w: int) -> NoReturn:
    try:
        for fd, target in ((out_fd, 1), (err_fd, 2)):
            if fd != target:
                os.dup2(fd, target)
                os.close(fd)
        baseline = jail.address_space_in_use()
        uid = plan.drop_uid if plan.drop_uid is not None else os.getuid()
        if plan.new_root:
            jail.build_root(spec["host_dir"], int(spec["limits"]["disk_mb"]), uid)
            workdir = "/" + jail.WORKDIR_NAME
        else:
            workdir = spec["host_dir"]
            if plan.drop_uid is not None:
                os.chown(workdir, uid, uid)
        os.chdir(workdir)
        for name, text in (("main.py", spec["code"]), (STDIN_FILE, spec.get("stdin") or "")):
            with open(name, "w", encoding="utf-8") as fh:
                fh.write(text)
            if plan.drop_uid is not None:
                os.chown(name, uid, uid)
        stdin_fd = os.open(STDIN_FILE, os.O_RDONLY)
        os.dup2(stdin_fd, 0)
        os.close(stdin_fd)
        os.unlink(STDIN_FILE)
        jail.drop_and_limit(plan, spec["limits"], baseline)
        os.closerange(3, ready_w)
        os.closerange(ready_w + 1, 65536)
        os.write(ready_w, b"OK")
        os.close(ready_w)
    except BaseException as err:
        try:
            os.write(ready_w, f"{type(err).__name__}: {err}".encode())
        finally:
            os._exit(EXIT_SETUP)
    os._exit(run_program(spec))


def _exit_code(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    print(value, file=sys.stderr)
    return 1


def run_program(spec: dict[str, Any]) -> int:
    """Execute the program in this (already jailed) process; return its exit code."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over-size writes raise OSError instead of killing
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.stdin = open(0, encoding="utf-8", errors="replace", closefd=False)
    sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1)
    sys.argv = ["main.py"]
    if "numpy" in sys.modules:  # a warm worker imported it: give each job its own seed
        sys.modules["numpy"].random.seed()
    module = types.ModuleType("__main__")
    module.__file__ = "main.py"
    sys.modules["__main__"] = module
    source = spec["code"]
    try:
        if spec.get("policy", True):
            allowed = spec.get("allowed_imports")
            runtime = guards.Runtime(allowed)
            code = policy.compile_solution(source, "main.py", allowed)
            module.__dict__.update(runtime.namespace())
        else:
            code = compile(source, "main.py", "exec")
    except policy.PolicyError as err:
        print(f"PolicyError: {err}", file=sys.stderr)
        return EXIT_POLICY
    except SyntaxError:
        traceback.print_exc(limit=0)
        return 1
    exit_code = 0
    try:
        exec(code, module.__dict__)
    except SystemExit as err:
        exit_code = _exit_code(err.code)
    except guards.PolicyViolation as err:
        print(f"PolicyViolation: {err}", file=sys.stderr)
        exit_code = EXIT_POLICY
    except MemoryError:
        print("MemoryError: the program exceeded its memory limit", file=sys.stderr)
        exit_code = EXIT_MEMORY
    except BaseException as err:
        # Skip this runner's own frame so the traceback starts in main.py.
        traceback.print_exception(type(err), err, err.__traceback__.tb_next if err.__traceback__ else None)
        exit_code = 1
    if guards.Recorder.first is not None and exit_code != EXIT_POLICY:
        print(f"PolicyViolation (caught by the program): {guards.Recorder.first}", file=sys.stderr)
        exit_code = EXIT_POLICY
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    return exit_code


def preload_libc() -> None:
    """Load libc via ctypes before any fork (no dlopen inside a jailed child)."""
    if sys.platform.startswith("linux"):
        linux.libc()
