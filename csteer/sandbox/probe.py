"""Find out which containment layers work on this machine (once per process) and say so loudly.

`detect()` runs in a fresh single-threaded helper process (see `worker.probe`): it really tries each plan,
strongest first, in a throw-away job (namespaces, new root, uid drop, rlimits) and checks from inside that
the network is gone, the host file system is invisible and fork fails. `probe()` is the cached caller side.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from typing import Any

from csteer.sandbox import cgroup, jail, linux, seccomp

log = logging.getLogger("csteer.sandbox")

_MEMFD_CREATE_NR = {"x86_64": 319, "aarch64": 279, "arm64": 279, "riscv64": 279}.get(platform.machine())

_lock = threading.Lock()
_cached: dict[str, Any] | None = None
_warned = False


def _candidates() -> list[jail.Plan]:
    if os.geteuid() == 0:
        # Root: each job gets its own uid, so a pid namespace (a second fork) adds nothing.
        strong = {"unique_uid": True, "no_new_privs": True}
        base = [
            jail.Plan(namespaces=True, new_root=True, **strong),
            jail.Plan(namespaces=True, new_root=False, **strong),
            jail.Plan(namespaces=False, **strong),
        ]
    else:
        # Unprivileged: jobs share the caller's uid; the pid namespace keeps them from signalling it.
        base = [
            jail.Plan(namespaces=True, userns=True, pidns=True, new_root=True, no_new_privs=True),
            jail.Plan(namespaces=True, userns=True, pidns=True, new_root=False, no_new_privs=True),
            jail.Plan(no_new_privs=True),
        ]
    plans = []
    for plan in base:
        if seccomp.library() is not None:
            plans.append(dataclasses.replace(plan, seccomp=True))
        plans.append(plan)
    return [*plans, jail.Plan()]


def _inside_checks(canary: str) -> dict[str, Any]:
    stdlib = os.path.dirname(os.__file__)
    if not os.access(stdlib, os.R_OK | os.X_OK):
        # e.g. Python under /root and no private root: the job could not import anything new.
        raise PermissionError(f"the job's uid cannot read the Python installation ({stdlib})")
    result: dict[str, Any] = {
        "uid": os.getuid(),
        "seccomp_mode": linux.libc().prctl(21, 0, 0, 0, 0),
    }  # PR_GET_SECCOMP
    try:
        result["interfaces"] = [name for _, name in socket.if_nameindex()]
    except OSError:
        result["interfaces"] = []
    result["host_fs_visible"] = os.path.exists(canary) or os.path.exists("/etc/passwd")
    libc = linux.libc()
    # Memory outside the address space and host watching: each answer is -1 when seccomp denies it.
    result["memfd_blocked"] = libc.syscall(_MEMFD_CREATE_NR, b"probe", 0) == -1 if _MEMFD_CREATE_NR else None
    shm = libc.shmget(0, 4096, 0o1600)  # IPC_PRIVATE, IPC_CREAT | 0600
    result["shm_blocked"] = shm == -1
    if shm >= 0:
        libc.shmctl(shm, 0, None)  # IPC_RMID: a plan without an IPC namespace would keep it
    result["inotify_blocked"] = libc.inotify_init1(0) == -1
    result["pdeathsig_locked"] = libc.prctl(linux.PR_SET_PDEATHSIG, 0, 0, 0, 0) == -1
    try:
        pid = os.fork()
    except OSError:
        result["fork_blocked"] = True
    else:
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        result["fork_blocked"] = False
    return result


def _trial(plan: jail.Plan) -> dict[str, Any]:
    tmp = tempfile.mkdtemp(prefix="csteer-probe-")
    canary = os.path.join(tmp, "canary")  # hidden under the job's tmpfs root when that works
    open(canary, "w").close()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # supervisor
        try:
            os.close(read_fd)
            if plan.namespaces:
                jail.enter_namespaces(plan)
            inner = os.fork()
            if inner == 0:  # the job
                try:
                    baseline = jail.address_space_in_use()
                    uid = jail.job_uid(plan)
                    if plan.new_root:
                        jail.build_root(tmp)
                        jail.mount_scratch(8, uid)
                    limits = {"cpu_s": 5, "memory_mb": 256, "file_size_mb": 1, "open_files": 32}
                    jail.drop_and_limit(plan, limits, baseline)
                    os.write(write_fd, json.dumps(_inside_checks(canary)).encode())
                    os._exit(0)
                except BaseException as err:
                    os.write(write_fd, json.dumps({"error": f"{type(err).__name__}: {err}"}).encode())
                    os._exit(1)
            os.waitpid(inner, 0)
            os._exit(0)
        except BaseException as err:
            os.write(write_fd, json.dumps({"error": f"{type(err).__name__}: {err}"}).encode())
            os._exit(1)
    os.close(write_fd)
    data = b""
    while chunk := os.read(read_fd, 65536):
        data += chunk
    os.close(read_fd)
    os.waitpid(pid, 0)
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        return json.loads(data or b'{"error": "no report"}')
    except ValueError:
        return {"error": f"bad report: {data[:200]!r}"}


def detect() -> dict[str, Any]:
    """Try plans strongest first; return the first that works with what was observed inside it."""
    report: dict[str, Any] = {
        "platform": sys.platform,
        "euid": os.geteuid() if hasattr(os, "geteuid") else None,
    }
    if not sys.platform.startswith("linux"):
        report.update(plan=jail.Plan(rlimits=os.name == "posix").to_dict(), inside={}, errors=["not Linux"])
        return report
    errors: list[str] = []
    for plan in _candidates():
        inside = _trial(plan)
        if "error" not in inside:
            report.update(plan=plan.to_dict(), inside=inside, errors=errors)
            return report
        errors.append(f"{_describe(plan)}: {inside['error']}")
    report.update(plan=jail.Plan(rlimits=True).to_dict(), inside={}, errors=errors)
    return report


def _describe(plan: jail.Plan) -> str:
    parts = ["namespaces" if plan.namespaces else "no namespaces"]
    parts.append("new root" if plan.new_root else "host fs")
    return ", ".join(parts)


def layers(report: dict[str, Any]) -> list[tuple[str, bool, str]]:
    """(layer, active, detail) rows for `csteer sandbox check` and the warning."""
    plan = jail.Plan.from_dict(report.get("plan", {}))
    inside = report.get("inside", {})
    groups: dict[str, Any] = report.get("cgroup", {})
    try:
        import RestrictedPython  # noqa: F401

        policy_ok = True
    except ImportError:
        policy_ok = False
    net_ok = plan.namespaces and inside.get("interfaces", ["?"]) in ([], ["lo"])
    return [
        (
            "policy (RestrictedPython)",
            policy_ok,
            "import allowlist, no dunder/frame attributes, guarded eval",
        ),
        ("separate interpreter, scrubbed env", True, "python -I, minimal environment, fresh temp dir"),
        (
            "namespaces (mount/net/ipc/uts)",
            plan.namespaces,
            "+ user and pid namespaces"
            if plan.userns
            else "as root: a fresh uid per job instead of a pid namespace",
        ),
        ("network isolation", net_ok, f"interfaces inside: {inside.get('interfaces', '?')}"),
        (
            "host file system hidden",
            plan.new_root and not inside.get("host_fs_visible", True),
            "tmpfs root + pivot_root",
        ),
        (
            "unprivileged uid",
            inside.get("uid", 0) != 0 or (plan.userns and report.get("euid") not in (None, 0)),
            f"uid inside: {inside.get('uid', '?')}"
            + (f" (user namespace, host uid {report.get('euid')})" if plan.userns else ""),
        ),
        ("rlimits (cpu, memory, file size, open files)", plan.rlimits, "setrlimit"),
        ("no new processes/threads", bool(inside.get("fork_blocked")), "RLIMIT_NPROC=0 after the uid change"),
        ("no_new_privs", plan.no_new_privs, "prctl"),
        (
            "seccomp",
            plan.seccomp and inside.get("seccomp_mode") == 2,
            "libseccomp filter: unshare, mount, ptrace, bpf, io_uring, keyctl, ... -> EPERM"
            if plan.seccomp
            else "inactive (libseccomp not found, or the filter could not be loaded)",
        ),
        (
            "seccomp: memfd, SysV IPC, inotify, fanotify",
            plan.seccomp and all(inside.get(k) for k in ("memfd_blocked", "shm_blocked", "inotify_blocked")),
            "memory outside the address space and host watching -> EPERM "
            f"(memfd {_yes(inside.get('memfd_blocked'))}, shm {_yes(inside.get('shm_blocked'))}, "
            f"inotify {_yes(inside.get('inotify_blocked'))})",
        ),
        (
            "no orphans (a run dies with its caller)",
            plan.seccomp and bool(inside.get("pdeathsig_locked")),
            "parent-death signals on launcher and job (the job cannot clear its own: seccomp); "
            "the warm worker kills its jobs when the caller goes"
            if plan.seccomp
            else "partial: without seccomp a job can clear its parent-death signal",
        ),
        (
            "tmpfs inode limit",
            plan.new_root,
            f"nr_inodes = {jail.INODES_PER_MB} per MB of disk_mb (min 1024)"
            if plan.new_root
            else "no private tmpfs here",
        ),
        (
            "cgroup memory (shm, tmpfs, kernel memory)",
            bool(groups.get("memory")),
            f"memory_mb + disk_mb + {cgroup.SLACK_MB} MB per job, no swap ({groups.get('detail', 'none')})"
            if groups.get("memory")
            else _cgroup_missing(groups),
        ),
        (
            "cgroup pids limit",
            bool(groups.get("pids")),
            f"pids.max {cgroup.PIDS_MAX} per job" if groups.get("pids") else _cgroup_missing(groups),
        ),
        (
            "cgroup kill (whole job at once)",
            bool(groups.get("kill")),
            "cgroup.kill at the deadline and after the job"
            if groups.get("kill")
            else "each pid of the job is killed instead " + _cgroup_missing(groups),
        ),
    ]


def _yes(value: object) -> str:
    return "denied" if value else ("allowed" if value is False else "?")


def _cgroup_missing(groups: dict[str, Any]) -> str:
    notes = "; ".join(groups.get("notes", []))
    return f"(no writable cgroup{': ' + notes if notes else ''})"


def cgroup_report() -> dict[str, Any]:
    """The caller's cgroup layout as plain data, for layers() and `csteer sandbox check`."""
    lay = cgroup.layout()
    return {
        "memory": lay.memory,
        "pids": lay.pids,
        "kill": lay.kill,
        "detail": lay.describe(),
        "notes": list(lay.notes),
    }


def _helper_command(mode: str) -> list[str]:
    """Command line of a helper interpreter: `python -I` (no environment influence) with the caller's
    import path, so it finds csteer and the same packages however they were installed."""
    import csteer

    package_root = os.path.dirname(os.path.dirname(os.path.abspath(csteer.__file__)))
    paths = [package_root] + [p for p in sys.path if p and os.path.isdir(p)]
    boot = f"import sys; sys.path[:0] = {paths!r}; from csteer.sandbox import worker; worker.main()"
    return [sys.executable, "-I", "-c", boot, mode]


def helper_env() -> dict[str, str]:
    """The whole environment a sandbox process gets: nothing from the caller beyond locale basics."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8"}
    env.update(
        PYTHONDONTWRITEBYTECODE="1", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1"
    )
    env["HOME"] = "/" + jail.WORKDIR_NAME
    return env


def probe() -> dict[str, Any]:
    """The cached probe report for this process; warns once when a layer is missing."""
    global _cached, _warned
    with _lock:
        if _cached is None:
            try:
                out = subprocess.run(
                    _helper_command("probe"),
                    env=helper_env(),
                    capture_output=True,
                    text=True,
                    timeout=60,
                    check=False,
                )
                if out.returncode != 0 or not out.stdout.strip():
                    raise ValueError(f"exit {out.returncode}: {out.stderr.strip()[-300:]}")
                _cached = json.loads(out.stdout)
            except (OSError, ValueError, subprocess.SubprocessError) as err:
                _cached = {"plan": jail.Plan().to_dict(), "inside": {}, "errors": [f"probe failed: {err}"]}
            # cgroups are the caller's: it creates each job's group (see cgroup.py)
            _cached["cgroup"] = cgroup_report() if sys.platform.startswith("linux") else {}
        if not _warned:
            _warned = True
            missing = [name for name, ok, _ in layers(_cached) if not ok]
            if missing:
                log.warning(
                    "csteer sandbox is degraded; inactive layers: %s (see `csteer sandbox check`)",
                    ", ".join(missing),
                )
        return _cached
