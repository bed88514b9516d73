"""Optional seccomp layer: deny system calls a solution never needs and that widen the kernel attack surface.

Uses the system's libseccomp (ctypes), so syscall numbers are resolved for the running architecture. Besides
the jail's own tools and large kernel surfaces it denies memory the rlimits cannot see (memfd, System V
shared memory, message queues and semaphores, POSIX message queues), host watching (inotify, fanotify) and
the prctl calls that would undo the job's parent-death signal or non-dumpable state. The
filter allows everything else (an allow-list would break numpy/sympy on the next glibc) and answers the
denied calls with EPERM. Applied last in the job, after no_new_privs, so it binds the program only.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os

DENIED: tuple[str, ...] = (
    # namespaces, mounts, root changes: the jail's own tools
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsmount",
    "fsconfig",
    "fspick",
    # reaching into other processes
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "pidfd_getfd",
    # large kernel attack surface
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "keyctl",
    "add_key",
    "request_key",
    # administration
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "syslog",
    "open_by_handle_at",
    "name_to_handle_at",
    "lookup_dcookie",
    "iopl",
    "ioperm",
    # memory the address-space limit does not see (and that outlives the job's mappings)
    "memfd_create",
    "memfd_secret",
    "shmget",
    "shmat",
    "shmdt",
    "shmctl",
    "msgget",
    "msgsnd",
    "msgrcv",
    "msgctl",
    "semget",
    "semop",
    "semtimedop",
    "semctl",
    "mq_open",
    "mq_unlink",
    "mq_timedsend",
    "mq_timedreceive",
    "mq_notify",
    "mq_getsetattr",
    # watching the host: the read-only bind mounts share inodes with the host
    "inotify_init",
    "inotify_init1",
    "inotify_add_watch",
    "fanotify_init",
    "fanotify_mark",
)

# prctl options the job may not use (the first argument): clearing its parent-death signal would let it
# outlive a dead caller; making itself dumpable again would undo PR_SET_DUMPABLE 0.
DENIED_PRCTL: tuple[tuple[str, int], ...] = (("PR_SET_PDEATHSIG", 1), ("PR_SET_DUMPABLE", 4))

_SCMP_ACT_ALLOW = 0x7FFF0000
_SCMP_ACT_ERRNO = 0x00050000

_lib: ctypes.CDLL | None = None
_loaded = False


def library() -> ctypes.CDLL | None:
    """libseccomp, loaded once (before any fork or pivot); None when the system has none."""
    global _lib, _loaded
    if not _loaded:
        _loaded = True
        name = ctypes.util.find_library("seccomp")
        try:
            lib = ctypes.CDLL(name or "libseccomp.so.2")
        except OSError:
            return None
        lib.seccomp_init.restype = ctypes.c_void_p
        lib.seccomp_init.argtypes = [ctypes.c_uint32]
        lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
        lib.seccomp_rule_add_array.argtypes = [
            ctypes.c_void_p,
            ctypes.c_uint32,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.POINTER(_ArgCmp),
        ]
        lib.seccomp_load.argtypes = [ctypes.c_void_p]
        lib.seccomp_release.argtypes = [ctypes.c_void_p]
        lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
        _lib = lib
    return _lib


class _ArgCmp(ctypes.Structure):
    """libseccomp's struct scmp_arg_cmp."""

    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


_SCMP_CMP_EQ = 4


class _SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_program: bytes | None = None  # the compiled BPF filter, built once before the worker forks jobs


def compile_filter() -> bytes:
    """The filter as BPF, built with libseccomp once and cached.

    Building it costs libseccomp's feature probes and rule compilation (~1.5 ms); a warm worker builds
    it before forking, so each job only hands the finished program to the kernel."""
    global _program
    if _program is not None:
        return _program
    lib = library()
    if lib is None:
        raise OSError(errno.ENOSYS, "libseccomp not found")
    ctx = lib.seccomp_init(_SCMP_ACT_ALLOW)
    if not ctx:
        raise OSError(errno.ENOMEM, "seccomp_init failed")
    read_fd, write_fd = os.pipe()
    try:
        deny = _SCMP_ACT_ERRNO | errno.EPERM
        for name in DENIED:
            number = lib.seccomp_syscall_resolve_name(name.encode())
            if number < 0:  # not on this architecture
                continue
            ret = lib.seccomp_rule_add(ctx, deny, number, 0)
            if ret < 0:
                raise OSError(-ret, f"seccomp_rule_add {name}")
        prctl_nr = lib.seccomp_syscall_resolve_name(b"prctl")
        for name, option in DENIED_PRCTL:
            cmp = _ArgCmp(0, _SCMP_CMP_EQ, option, 0)
            ret = lib.seccomp_rule_add_array(ctx, deny, prctl_nr, 1, ctypes.byref(cmp))
            if ret < 0:
                raise OSError(-ret, f"seccomp_rule_add prctl({name})")
        ret = lib.seccomp_export_bpf(ctx, write_fd)
        if ret < 0:
            raise OSError(-ret, "seccomp_export_bpf")
        os.close(write_fd)
        write_fd = -1
        chunks = []
        while chunk := os.read(read_fd, 65536):
            chunks.append(chunk)
        _program = b"".join(chunks)
    finally:
        lib.seccomp_release(ctx)
        os.close(read_fd)
        if write_fd >= 0:
            os.close(write_fd)
    return _program


def apply() -> None:
    """Install the filter in this process (raises OSError if that fails). Needs no_new_privs (or root)."""
    from csteer.sandbox import linux

    program = compile_filter()
    count = len(program) // ctypes.sizeof(_SockFilter)
    filters = (_SockFilter * count).from_buffer_copy(program)
    fprog = _SockFprog(count, filters)
    ret = linux.libc().prctl(
        ctypes.c_int(_PR_SET_SECCOMP),
        ctypes.c_ulong(_SECCOMP_MODE_FILTER),
        ctypes.cast(ctypes.pointer(fprog), ctypes.c_void_p),
        ctypes.c_ulong(0),
        ctypes.c_ulong(0),
    )
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_SECCOMP): {os.strerror(err) if err else 'failed'}")
