"""Optional seccomp layer: deny system calls a solution never needs and that widen the kernel attack surface.

Uses the system's libseccomp (ctypes), so syscall numbers are resolved for the running architecture. The
filter allows everything else (an allow-list would break numpy/sympy on the next glibc) and answers the
denied calls with EPERM. Applied last in the job, after no_new_privs, so it binds the program only.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno

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
    "fanotify_init",
    "lookup_dcookie",
    "iopl",
    "ioperm",
)

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
        lib.seccomp_load.argtypes = [ctypes.c_void_p]
        lib.seccomp_release.argtypes = [ctypes.c_void_p]
        lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
        _lib = lib
    return _lib


def apply() -> None:
    """Install the filter in this process (raises OSError if that fails)."""
    lib = library()
    if lib is None:
        raise OSError(errno.ENOSYS, "libseccomp not found")
    ctx = lib.seccomp_init(_SCMP_ACT_ALLOW)
    if not ctx:
        raise OSError(errno.ENOMEM, "seccomp_init failed")
    try:
        deny = _SCMP_ACT_ERRNO | errno.EPERM
        for name in DENIED:
            number = lib.seccomp_syscall_resolve_name(name.encode())
            if number < 0:  # not on this architecture
                continue
            ret = lib.seccomp_rule_add(ctx, deny, number, 0)
            if ret < 0:
                raise OSError(-ret, f"seccomp_rule_add {name}")
        ret = lib.seccomp_load(ctx)
        if ret < 0:
            raise OSError(-ret, "seccomp_load")
    finally:
        lib.seccomp_release(ctx)
