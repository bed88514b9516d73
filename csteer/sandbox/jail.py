"""The security boundary: what a job's process does to itself before running untrusted code (Linux).

Applied in the forked job process, in this order:
1. (its parent already entered new mount/net/pid/ipc/uts namespaces, plus a user namespace when not root)
2. a new root: a small read-only tmpfs with /sandbox (the program's directory), /tmp, /dev/shm, four device
   nodes, and read-only bind mounts of the system libraries and the Python installation; ``pivot_root``
   into it and detach the old root, so the host file system is gone, not just hidden;
3. drop to an unprivileged uid (root only: RLIMIT_NPROC does not bind root), no_new_privs, not dumpable;
4. rlimits: CPU seconds, address space, file size, open files, no new processes/threads, no core files;
5. a seccomp filter (when libseccomp is present) denying namespace, mount, ptrace, bpf, io_uring... calls.
Each step is skipped only when the probe found it unavailable; then `Plan` says so and the sandbox warns.
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import asdict, dataclass
from typing import Any

from csteer.sandbox import linux, seccomp

try:  # imported now: after the uid change the job may no longer be able to read the Python installation
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

NOBODY = 65534
JOB_UID_BASE = 2_000_000_000  # far above any real account; + the job's pid (< 2**22) stays unique
WORKDIR_NAME = "sandbox"  # the job's directory, /sandbox (a name no Python install lives under)


@dataclass(frozen=True)
class Plan:
    """Which containment layers a job applies (decided once by the probe)."""

    namespaces: bool = False  # mount/net/ipc/uts (+ user when not root)
    userns: bool = False  # needed when not root
    pidns: bool = False  # a pid namespace too (costs a second fork; used when jobs share the caller's uid)
    new_root: bool = False  # pivot_root into a tmpfs root
    drop_uid: int | None = None  # uid/gid to become (root only)
    unique_uid: bool = (
        False  # root only: uid = JOB_UID_BASE + pid, so concurrent jobs cannot signal each other
    )
    rlimits: bool = True
    no_new_privs: bool = False
    seccomp: bool = False  # deny namespace/mount/ptrace/bpf/io_uring/keyctl... calls (seccomp.py)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def namespace_flags(plan: Plan) -> int:
    flags = linux.CLONE_NEWNS | linux.CLONE_NEWNET | linux.CLONE_NEWIPC | linux.CLONE_NEWUTS
    if plan.pidns:
        flags |= linux.CLONE_NEWPID
    if plan.userns:
        flags |= linux.CLONE_NEWUSER
    return flags


def enter_namespaces(plan: Plan) -> None:
    """Called in the supervisor before it forks the job (the pid namespace applies to children)."""
    uid, gid = os.getuid(), os.getgid()
    linux.unshare(namespace_flags(plan))
    if plan.userns:
        # Map our own uid to root inside, so we may mount; outside we stay the unprivileged user.
        with open("/proc/self/setgroups", "w") as fh:
            fh.write("deny")
        with open("/proc/self/uid_map", "w") as fh:
            fh.write(f"0 {uid} 1")
        with open("/proc/self/gid_map", "w") as fh:
            fh.write(f"0 {gid} 1")


def job_uid(plan: Plan) -> int:
    """The uid the job will run as (computed in the job process itself)."""
    if plan.unique_uid:
        return JOB_UID_BASE + os.getpid()
    return plan.drop_uid if plan.drop_uid is not None else os.getuid()


def _ro_sources() -> list[str]:
    result = _ro_candidates()
    clash = [p for p in result if p == "/" + WORKDIR_NAME or p.startswith(f"/{WORKDIR_NAME}/")]
    if clash:
        raise OSError(
            0, f"Python lives under /{WORKDIR_NAME}, which the job directory would hide: {clash[0]}"
        )
    return result


def _ro_candidates() -> list[str]:
    """Host paths the program needs read-only: system libraries and this Python with its packages."""
    candidates = ["/usr", "/lib", "/lib64", "/lib32", "/etc/ld.so.cache"]
    candidates += [sys.base_prefix, sys.prefix, sys.exec_prefix, sys.base_exec_prefix]
    candidates += [p for p in sys.path if p and ("site-packages" in p or "dist-packages" in p)]
    result: list[str] = []
    for path in sorted({os.path.abspath(p) for p in candidates if os.path.exists(p)}, key=len):
        if not any(path == r or path.startswith(r.rstrip("/") + "/") for r in result):
            result.append(path)
    return result


def _mirror(root: str, host_path: str) -> str:
    return os.path.join(root, host_path.lstrip("/"))


SCRATCH = "/.scratch"
_ROOT_SKELETON_MB = 4  # the root tmpfs only holds directories and mount points

# True in a warm worker that already pivoted into a prepared root: its jobs only add their scratch space.
template_ready = False


def build_root(root: str) -> None:
    """Mount a small tmpfs at `root`, bind the read-only system paths into it, pivot into it.

    The old root is detached: host paths do not exist afterwards. Needs a private mount namespace."""
    global _held
    linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
    sources = _ro_sources()
    # Hold every source by a file descriptor before the root tmpfs goes up: when `root` is /tmp and
    # Python lives under /tmp (a venv in a CI checkout there), the tmpfs would hide the source paths.
    handles = {src: os.open(src, os.O_PATH) for src in sources if not os.path.islink(src)}
    kinds = {src: os.path.isdir(src) for src in handles}  # asked now: the paths may be hidden below
    try:
        linux.mount(
            "tmpfs", root, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, f"size={_ROOT_SKELETON_MB}m,mode=755"
        )
        _bind_sources(root, sources, handles, kinds)
    finally:
        for fd in handles.values():
            os.close(fd)
    for name in ("null", "zero", "random", "urandom"):
        target = os.path.join(root, "dev", name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "w").close()
        linux.mount(f"/dev/{name}", target, None, linux.MS_BIND)
    for name in ("tmp", "dev/shm", WORKDIR_NAME, SCRATCH.lstrip("/"), ".oldroot"):
        os.makedirs(os.path.join(root, name), exist_ok=True)
    # sources under /tmp or /dev/shm are hidden later by the job's scratch mounts: keep a second view of
    # them at /.rohold/<i> so mount_scratch can bind them back on top
    _held = [src for src in sources if _under_scratch(src) and src in handles]
    for i, src in enumerate(_held):
        hold = os.path.join(root, HOLD.lstrip("/"), str(i))
        os.makedirs(hold, exist_ok=True)
        _bind_readonly(_mirror(root, src), hold)
    linux.pivot_root(root, os.path.join(root, ".oldroot"))
    os.chdir("/")
    linux.umount2("/.oldroot", linux.MNT_DETACH)
    os.rmdir("/.oldroot")
    # Nothing in the skeleton is writable; the job's writable space is its scratch tmpfs.
    linux.mount(None, "/", None, linux.MS_REMOUNT | linux.MS_RDONLY | linux.MS_NOSUID | linux.MS_NODEV)


HOLD = "/.rohold"
_SCRATCH_TARGETS = ("/tmp", "/dev/shm")
# host paths under /tmp or /dev/shm that build_root bound read-only (re-bound over the job's scratch)
_held: list[str] = []


def _under_scratch(path: str) -> bool:
    return any(path == t or path.startswith(t + "/") for t in _SCRATCH_TARGETS)


def _bind_readonly(src: str, dst: str) -> None:
    linux.mount(src, dst, None, linux.MS_BIND | linux.MS_REC)
    flags = linux.MS_REMOUNT | linux.MS_BIND | linux.MS_RDONLY | linux.MS_NOSUID | linux.MS_NODEV
    linux.mount(None, dst, None, flags)


def _bind_sources(root: str, sources: list[str], handles: dict[str, int], kinds: dict[str, bool]) -> None:
    for src in sources:
        dst = _mirror(root, src)
        if os.path.islink(src):  # merged-/usr systems: /lib -> usr/lib
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            os.symlink(os.readlink(src), dst)
            continue
        if kinds[src]:
            os.makedirs(dst, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            open(dst, "w").close()
        # /proc/self/fd/N reaches the source even where the new tmpfs now hides its path
        _bind_readonly(f"/proc/self/fd/{handles[src]}", dst)


def enter_template() -> None:
    """Warm worker, once: a private mount namespace with the prepared root (mounted over its /tmp)."""
    global template_ready
    linux.unshare(linux.CLONE_NEWNS)
    build_root("/tmp")
    template_ready = True


# Size of the scratch tmpfs a spare job process mounted ahead of time (None: not mounted yet).
scratch_mb: int | None = None


INODES_PER_MB = 128  # files (inodes + dentries, ~1.2 KB of kernel memory each) the scratch tmpfs admits


def scratch_inodes(disk_mb: int) -> int:
    """nr_inodes of a scratch tmpfs: `size` bounds its bytes, not its (kernel-memory) inodes."""
    return max(1024, disk_mb * INODES_PER_MB)


def ensure_scratch(disk_mb: int, uid: int) -> None:
    """Mount the scratch space, or resize the one mounted ahead of time."""
    if scratch_mb is None:
        mount_scratch(disk_mb, uid)
    elif scratch_mb != disk_mb:
        flags = linux.MS_REMOUNT | linux.MS_NOSUID | linux.MS_NODEV
        options = f"size={disk_mb}m,nr_inodes={scratch_inodes(disk_mb)}"
        linux.mount(None, "/" + WORKDIR_NAME, None, flags, options)


def mount_scratch(disk_mb: int, uid: int) -> None:
    """The job's writable space: one size-limited tmpfs, seen as /sandbox, /tmp and /dev/shm."""
    global scratch_mb
    options = f"size={disk_mb}m,nr_inodes={scratch_inodes(disk_mb)},mode=755"
    linux.mount("tmpfs", SCRATCH, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, options)
    for name, target, mode in (
        (WORKDIR_NAME, "/" + WORKDIR_NAME, 0o700),
        ("tmp", "/tmp", 0o1777),
        ("shm", "/dev/shm", 0o1777),
    ):
        path = os.path.join(SCRATCH, name)
        os.mkdir(path)
        os.chmod(path, mode)
        linux.mount(path, target, None, linux.MS_BIND)
    os.chown("/" + WORKDIR_NAME, uid, uid)
    linux.umount2(SCRATCH, linux.MNT_DETACH)
    for i, src in enumerate(_held):  # Python under /tmp: put it back, read-only, over the scratch /tmp
        os.makedirs(src, exist_ok=True)
        _bind_readonly(os.path.join(HOLD, str(i)), src)
    scratch_mb = disk_mb


def address_space_in_use() -> int:
    """Bytes of address space mapped now (a forked warm child inherits the worker's libraries)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def drop_and_limit(plan: Plan, limits: dict[str, Any], baseline_bytes: int) -> None:
    """Become unprivileged and apply rlimits. Order matters: uid first, then NPROC (see module doc)."""
    if plan.drop_uid is not None or plan.unique_uid:
        uid = job_uid(plan)
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    if plan.no_new_privs:
        linux.prctl(linux.PR_SET_NO_NEW_PRIVS, 1)
        linux.prctl(linux.PR_SET_DUMPABLE, 0)
    if sys.platform.startswith("linux"):
        # Set after the uid change (a credential change clears it): die with the supervisor.
        linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
    if plan.rlimits:
        _apply_rlimits(limits, baseline_bytes)
    if plan.seccomp:
        seccomp.apply()  # last: it forbids some of the calls above


def _apply_rlimits(limits: dict[str, Any], baseline_bytes: int) -> None:
    if resource is None:
        raise OSError(0, "rlimits need the POSIX resource module")
    cpu = int(limits["cpu_s"])
    mem = baseline_bytes + int(limits["memory_mb"]) * 2**20
    fsize = int(limits["file_size_mb"]) * 2**20
    for res, soft, hard in (
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        (resource.RLIMIT_AS, mem, mem),
        (resource.RLIMIT_FSIZE, fsize, fsize),
        (resource.RLIMIT_NOFILE, int(limits["open_files"]), int(limits["open_files"])),
        (resource.RLIMIT_CORE, 0, 0),
        # 0 means "no process or thread may be created", whatever else runs under this uid.
        (resource.RLIMIT_NPROC, 0, 0),
    ):
        resource.setrlimit(res, (soft, hard))
