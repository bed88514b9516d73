"""Job processes: forked from the warm worker (or the cold launcher), jailed, then running the program.

Process tree of one job::

    caller (Sandbox.run) --- warm worker or cold launcher          (reports the job's exit: "reaped")
                               `-- job: new session; unshare(mount, net, ipc, uts); new root; own uid;
                                   rlimits; runs the program
    with a pid namespace (unprivileged callers, whose jobs share their uid):
                               `-- supervisor: unshare(... pid, user)                 (reports "final")
                                     `-- job: pid 1 of the new pid namespace

The caller reads the job's stdout/stderr pipes itself and talks over a SOCK_SEQPACKET pair (one JSON object
per message): it receives the pids (to kill the group on timeout), "ready" once the jail is in place, and
the exit status. The job closes its end before running untrusted code.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import sys
import traceback
import types
from typing import Any, NoReturn

from csteer.sandbox import guards, jail, linux, policy, seccomp
from csteer.sandbox.types import Limits

EXIT_POLICY = 120
EXIT_MEMORY = 121
EXIT_SETUP = 122

STDIN_FILE = ".stdin"
JOB_FDS = 4  # descriptors a job receives: its socket to the caller, stdout, stderr, the violation channel
VIO_FD = 3  # where the violation channel sits while the program runs
DEFAULT_DISK_MB = Limits.disk_mb  # what a spare mounts ahead of time (resized if a job asks otherwise)
MAX_SPEC = 128 * 1024  # one datagram of the spec (runner._SPEC_PART is smaller)

# What a request to the warm worker asks for (the first byte of its message; see WarmPool.submit):
ANY = b"J"  # the spare if there is one, else a fresh process (no job cgroups on this machine)
FRESH = b"F"  # a fresh process: the caller puts it into the job's cgroup once it knows its pid
CLAIMED = b"C"  # + the spare's pid: that spare (the caller put it into the job's cgroup), else refuse
SPARE_READY = b"R"  # a spare to the worker: set up and rehearsed, waiting for its job


def send(sock: socket.socket, obj: Any) -> None:
    sock.send(json.dumps(obj).encode())


def exit_report(status: int, usage: Any) -> dict[str, Any]:
    report: dict[str, Any] = {"cpu_s": usage.ru_utime + usage.ru_stime}
    if os.WIFSIGNALED(status):
        report["signal"] = os.WTERMSIG(status)
    else:
        report["exit"] = os.WEXITSTATUS(status)
    return report


def fork_job(
    job_sock: socket.socket,
    out_fd: int,
    err_fd: int,
    vio_fd: int,
    close_in_child: tuple[socket.socket, ...] = (),
) -> int:
    """Fork one job (called by the worker or the launcher); the child never returns."""
    pid = os.fork()
    if pid == 0:
        try:
            for sock in close_in_child:
                sock.close()
            _detach()
            _job_entry(job_sock, out_fd, err_fd, vio_fd, prepared=None)
        finally:
            os._exit(EXIT_SETUP)
    try:
        send(job_sock, {"pids": [pid]})
    except OSError:
        pass
    return pid


def fork_spare(plan: jail.Plan, close_in_child: tuple[socket.socket, ...]) -> tuple[int, socket.socket]:
    """Fork a job process ahead of time: it enters its namespaces, then waits for a job on the channel.

    The warm worker keeps one spare, so the fork and the namespace set-up are off a job's critical path.
    """
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        try:
            for sock in (*close_in_child, ours):
                sock.close()
            _detach()
            if plan.namespaces:
                jail.enter_namespaces(plan)
                if plan.new_root and jail.template_ready and not plan.pidns:
                    jail.mount_scratch(DEFAULT_DISK_MB, jail.job_uid(plan))
            rehearse()
            try:
                theirs.send(SPARE_READY)
            except OSError:
                pass  # the worker gave it a job already (and closed its end): no need to say
            msg, fds, _, _ = socket.recv_fds(theirs, 16, JOB_FDS)
            theirs.close()
            if len(fds) == JOB_FDS:
                _job_entry(socket.socket(fileno=fds[0]), fds[1], fds[2], fds[3], prepared=plan)
        finally:
            os._exit(EXIT_SETUP)
    theirs.close()
    return pid, ours


# What a spare rehearses while it waits (see rehearse): a program of the usual shape, and a spec like the
# one its job will receive.
_REHEARSAL = (
    "import math\nfrom collections import Counter\n\n\ndef f(xs):\n"
    "    return [x * x for x in xs if x % 2 == 1]\n\n\n"
    "if __name__ == '__main__':\n    total = sum(f(range(10)))\n"
    "    print(f'{total} {Counter(str(total))} {math.pi:.3f}')\n"
)
_numpy_seeded = False  # this process (a spare) has given numpy its own seed already


def rehearse() -> None:
    """A spare's warm-up, while it waits for its job: walk the job's own first steps once, on nothing.

    A spare is a copy-on-write child of the warm worker, so each page the job's set-up writes (reference
    counts of the JSON decoder's, the compiler's and the policy's objects, numpy's generator state) costs a
    page fault and a page copy. Done here, those copies are made before the job arrives; the job then
    repeats the same steps on its own program and spec (nothing rehearsed is handed to it, except numpy's
    seed: drawn here, in the job's own process, as the job would draw it)."""
    global _numpy_seeded
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
        _numpy_seeded = True
    try:
        spec = json.loads(
            json.dumps({"code": _REHEARSAL, "stdin": None, "limits": vars(Limits()), "plan": {}})
        )
        policy.compile_solution(spec["code"], "main.py", None)
        guards.Runtime(None).namespace()
        with open(os.devnull, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(spec["code"])
    except Exception:  # a rehearsal only: the job's own steps report their errors
        pass


def _detach() -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.set_wakeup_fd(-1)  # the warm worker's, which wakes its loop
    if sys.platform.startswith("linux"):
        linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)  # die with the worker/launcher
    os.setsid()  # own process group: the caller kills the whole group on timeout


def _job_entry(
    job_sock: socket.socket, out_fd: int, err_fd: int, vio_fd: int, prepared: jail.Plan | None
) -> NoReturn:
    """`prepared`: the plan whose namespaces this process already entered (a spare), else None."""
    try:
        spec = json.loads(job_sock.recv(MAX_SPEC))
        if "parts" in spec:  # a large program or stdin arrives in several datagrams
            spec = json.loads(b"".join(job_sock.recv(MAX_SPEC) for _ in range(int(spec["parts"]))))
        plan = jail.Plan.from_dict(spec["plan"])
        if prepared is not None and prepared != plan:
            raise RuntimeError("the job's plan differs from the one its process was prepared for")
        if plan.namespaces and prepared is None:
            jail.enter_namespaces(plan)
    except BaseException as err:
        _fail(job_sock, err)
    if not plan.pidns:
        _job_main(spec, plan, out_fd, err_fd, vio_fd, job_sock)
    # Supervisor: the pid namespace applies to our children, so the job is one.
    parent = os.getppid()
    pid = os.fork()
    if pid == 0:
        _job_main(spec, plan, out_fd, err_fd, vio_fd, job_sock)
    for fd in {out_fd, err_fd, vio_fd}:
        os.close(fd)
    kill_child_when_orphaned(pid, parent)
    try:
        send(job_sock, {"pids": [pid]})
        _, status, usage = os.wait4(pid, 0)
        send(job_sock, {"final": exit_report(status, usage)})
    finally:
        os._exit(0)


def kill_child_when_orphaned(pid: int, parent: int) -> None:
    """A trusted parent of a job (cold launcher, pidns supervisor) takes its job along when it loses its
    own parent: PR_SET_PDEATHSIG delivers SIGTERM, whose handler SIGKILLs the job first. (The job's own
    parent-death signal also fires, and seccomp keeps the job from clearing it.)"""

    def on_term(*_: object) -> None:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
        os._exit(EXIT_SETUP)

    signal.signal(signal.SIGTERM, on_term)
    if sys.platform.startswith("linux"):
        linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the signal was armed
        on_term()


def _fail(job_sock: socket.socket, err: BaseException) -> NoReturn:
    try:
        send(job_sock, {"ready": f"{type(err).__name__}: {err}"})
    finally:
        os._exit(EXIT_SETUP)


def _job_main(
    spec: dict[str, Any], plan: jail.Plan, out_fd: int, err_fd: int, vio_fd: int, job_sock: socket.socket
) -> NoReturn:
    try:
        # The violation channel moves out of the way of 0-2 first, then to VIO_FD at the end.
        vio_fd = _dup_above(vio_fd, 10)
        for fd, target in ((out_fd, 1), (err_fd, 2)):
            if fd != target:
                os.dup2(fd, target)
                os.close(fd)
        baseline = jail.address_space_in_use()
        uid = jail.job_uid(plan)
        if plan.new_root:
            if not jail.template_ready:
                jail.build_root(spec["host_dir"])
            jail.ensure_scratch(int(spec["limits"]["disk_mb"]), uid)
            workdir = "/" + jail.WORKDIR_NAME
        else:
            workdir = spec["host_dir"]
            if uid != os.getuid():
                os.chown(workdir, uid, uid)
        os.chdir(workdir)
        # Text that is not valid Unicode (lone surrogates) still reaches the compiler, which rejects it.
        for name, text, errors in (
            ("main.py", spec["code"], "backslashreplace"),
            (STDIN_FILE, spec.get("stdin") or "", "surrogatepass"),
        ):
            with open(name, "w", encoding="utf-8", errors=errors) as fh:
                fh.write(text)
            if uid != os.getuid():
                os.chown(name, uid, uid)
        stdin_fd = os.open(STDIN_FILE, os.O_RDONLY)
        os.dup2(stdin_fd, 0)
        os.close(stdin_fd)
        os.unlink(STDIN_FILE)
        jail.drop_and_limit(plan, spec["limits"], baseline)
        send(job_sock, {"ready": "OK"})
        job_sock.close()
        if vio_fd != VIO_FD:
            os.dup2(vio_fd, VIO_FD)
            os.close(vio_fd)
        os.closerange(VIO_FD + 1, 65536)
    except BaseException as err:
        _fail(job_sock, err)
    channel = socket.socket(fileno=VIO_FD)
    code = run_program(spec, channel)
    _report_end(channel, code)
    os._exit(code)


def _report_end(channel: socket.socket, code: int) -> None:
    """The program is done: close its output and say how it ended, before this process exits.

    The exit itself takes milliseconds (unmapping the heap the fork copied from the warm worker), and the
    end of stdout/stderr would only show after it. A caller that can kill the job's cgroup returns on
    this record instead (runner._Job.ended_early); the record is on the channel the program can write
    to, so at worst a program ends its own run early, with the output it has written."""
    for fd in (1, 2):
        try:
            os.close(fd)
        except OSError:
            pass
    guards.report(channel, {"exit": code})


def _dup_above(fd: int, low: int) -> int:
    if fd >= low:
        return fd
    new = fcntl.fcntl(fd, fcntl.F_DUPFD, low)
    os.close(fd)
    return new


def _exit_code(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    print(value, file=sys.stderr)
    return 1


def run_program(spec: dict[str, Any], channel: socket.socket | None = None) -> int:
    """Compile (under the policy) and execute the program in this, already jailed, process.

    Returns its exit code. `channel` is the violation channel to the caller: "compile" (rejected before
    running), "running" (compiled; the program starts now) and the first run-time "violation" go there as
    they happen, so nothing the program does afterwards can take them back."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over-size writes raise OSError instead of killing
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if channel is not None:
        channel.settimeout(5.0)  # the caller reads it while the job runs; never block for good
    sys.stdin = open(0, encoding="utf-8", errors="replace", closefd=False)
    sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1)
    sys.argv = ["main.py"]
    if "numpy" in sys.modules and not _numpy_seeded:  # a warm worker imported it: each job its own seed
        sys.modules["numpy"].random.seed()
    module = types.ModuleType("__main__")
    module.__file__ = "main.py"
    sys.modules["__main__"] = module
    source = spec["code"]
    if spec.get("policy", True):
        allowed = spec.get("allowed_imports")
        try:
            code = policy.compile_solution(source, "main.py", allowed)
        except policy.PolicyError as err:
            guards.report(channel, {"compile": str(err)})
            return EXIT_POLICY
        runtime = guards.Runtime(allowed)
        guards.Recorder.channel = channel
        module.__dict__.update(runtime.namespace())
    else:
        try:
            code = compile(source, "main.py", "exec")
        except (SyntaxError, ValueError, RecursionError, MemoryError, UnicodeError):
            traceback.print_exc(limit=0)
            return 1
    guards.report(channel, {"running": True})
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
    """Load libc (and libseccomp) via ctypes before any fork or pivot (no dlopen inside a jailed child)."""
    if sys.platform.startswith("linux"):
        linux.libc()
        if seccomp.library() is not None:
            try:
                seccomp.compile_filter()  # once here, not in every job
            except OSError:
                pass  # the job's apply() reports it; the probe decides whether the layer is on
