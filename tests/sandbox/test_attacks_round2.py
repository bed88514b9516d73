"""Attack corpus, round 2 (issue 15): memory outside the address space, kernel memory, orphans, deep
nesting, forged statuses, host watching, shared secrets, and the probes of other executors' test suites
(smolagents' executor security tests, RestrictedPython's generator/format/inspect escapes, Codex's Linux
sandbox tests: /dev/tcp and getent probes, symlink swaps, no_new_privs).

Every attack runs warm (through the pool) and cold (a fresh launcher), and is judged from the host:
the canary files and listener of `host`, what a watcher thread sees of the running job in /proc (open
memfd/inotify/fanotify descriptors, SysV mappings, NoNewPrivs, seccomp mode, uid), the job cgroup's
peak memory against its limit, and that no process of the job is left afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from csteer.sandbox import Limits, Sandbox
from tests.sandbox.conftest import (
    JobWatcher,
    assert_memory_bounded,
    assert_no_job_left,
    cgroups_possible,
    degraded,
)

# libc calls shared by several attacks (ctypes; the policy is off for these: the OS layers must hold)
LIBC = "import ctypes, os, socket, time\nlibc = ctypes.CDLL(None, use_errno=True)\n"

MEMFD_HOLD = (
    LIBC
    + """
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
held = 0
for i in range(10):
    fd = os.memfd_create(f"hold{i}")
    os.ftruncate(fd, 32 * 2**20)
    os.pwrite(fd, b"x" * (32 * 2**20), 0)
    socket.send_fds(a, [b"m"], [fd])  # in flight: the descriptor outlives its close
    os.close(fd)
    held += 32
print("held", held, "MB")
time.sleep(1)
"""
)

SHM_HOLD = (
    LIBC
    + """
libc.shmat.restype = ctypes.c_void_p
held = 0
for i in range(8):
    sid = libc.shmget(0, 32 * 2**20, 0o1600)
    if sid < 0:
        raise OSError(ctypes.get_errno(), "shmget")
    addr = libc.shmat(sid, None, 0)
    ctypes.memset(addr, 1, 32 * 2**20)
    libc.shmdt(ctypes.c_void_p(addr))
    held += 32
print("held", held, "MB")
time.sleep(1)
"""
)


@dataclass(frozen=True)
class Attack:
    id: str
    code: str
    raw: bool = False  # policy layer off: the OS layers alone must hold
    statuses: tuple[str, ...] = ()
    stderr_has: str = ""  # text the JSON status must carry (e.g. the first violation)
    seccomp: bool = True  # False: run with the seccomp layer off, to show the cgroup holds alone
    memory_mb: int = 256
    timeout_s: float = 10.0
    needs: str = ""  # a layer this attack's judgement depends on
    watch: bool = False  # wait a moment first, so the host sees the jailed process in /proc


A = Attack
ATTACKS = [
    # --- 1. memory outside the address space (memfd sent away, SysV shm), finding 1
    A("memfd-hold", MEMFD_HOLD, raw=True, statuses=("error",), memory_mb=40, watch=True),
    A(
        "memfd-hold-no-seccomp",
        MEMFD_HOLD,
        raw=True,
        statuses=("memory",),
        seccomp=False,
        memory_mb=40,
        needs="cgroup memory (shm, tmpfs, kernel memory)",
    ),
    A("sysv-shm-hold", SHM_HOLD, raw=True, statuses=("error",), memory_mb=60, watch=True),
    A(
        "sysv-shm-hold-no-seccomp",
        SHM_HOLD,
        raw=True,
        statuses=("memory",),
        seccomp=False,
        memory_mb=60,
        needs="cgroup memory (shm, tmpfs, kernel memory)",
    ),
    A(
        "sysv-msgqueue",
        LIBC + "q = libc.msgget(0, 0o1600)\nprint(q, ctypes.get_errno())\nassert q >= 0",
        raw=True,
        statuses=("error",),
    ),
    A(
        "posix-mqueue",
        LIBC + "r = libc.syscall(240, b'q', 0o102, 0o600, None)\nprint(r)\nassert r >= 0",  # mq_open
        raw=True,
        statuses=("error",),
    ),
    A(
        "tmpfs-file-in-devshm",
        "with open('/dev/shm/big', 'wb') as f:\n    while True:\n        f.write(b'0' * 2**20)",
        raw=True,
        statuses=("error",),
    ),
    # --- 2. kernel memory: inodes in the tmpfs
    A(
        "tmpfs-inode-flood",
        "import os\ni = 0\nwhile True:\n    open(f'f{i}', 'w').close()\n    i += 1",
        raw=True,
        statuses=("error",),
    ),
    A(
        "tmpfs-inode-flood-dirs-symlinks",
        "import os\ni = 0\nwhile True:\n    os.mkdir(f'/tmp/d{i}')\n    os.symlink('x' * 200, f'/tmp/l{i}')\n    i += 1",
        raw=True,
        statuses=("error",),
    ),
    # --- 3. outliving the caller: undo the parent-death signal, undo non-dumpable
    A(
        "clear-pdeathsig",
        LIBC + "r = libc.prctl(1, 0, 0, 0, 0)\nprint(r, ctypes.get_errno())\nassert r == 0",
        raw=True,
        statuses=("error",),
        needs="no orphans (a run dies with its caller)",
        watch=True,
    ),
    A(
        "set-dumpable",
        LIBC + "r = libc.prctl(4, 1, 0, 0, 0)\nassert r == 0",
        raw=True,
        statuses=("error",),
        needs="seccomp",
    ),
    A(
        "new-session-and-group",
        "import os, time\nfor call in (os.setsid, lambda: os.setpgid(0, 0)):\n    try:\n        call()\n"
        "    except OSError as e:\n        print(e)\ntime.sleep(60)",
        raw=True,
        statuses=("timeout",),
        timeout_s=2,
    ),
    # --- 4. deep nesting: the caller must get a status, never a traceback
    A("deep-unary", "x = " + "-" * 200_000 + "1", statuses=("policy",), stderr_has="rule: complexity"),
    A("deep-sum", "x = " + "+".join(["1"] * 100_000), statuses=("policy",), stderr_has="rule: complexity"),
    A("deep-not", "x = " + "not " * 100_000 + "1", statuses=("policy",), stderr_has="rule: complexity"),
    A(
        "deep-lambda",
        "f = " + "lambda: " * 5_000 + "1",
        statuses=("policy",),
        stderr_has="rule: complexity",
    ),
    A("deep-parens", "x = " + "(" * 1_000 + "1" + ")" * 1_000, statuses=("policy",), stderr_has="rule:"),
    A(
        "deep-eval-string",
        "x = eval('-' * 200000 + '1')\nprint(x)",
        statuses=("policy",),
        stderr_has="rule: complexity",
    ),
    A("null-bytes", "print(1)\0", statuses=("policy",), stderr_has="rule: syntax"),
    A("lone-surrogate", "x = '\ud800'\nprint(x)", statuses=("policy",), stderr_has="rule: syntax"),
    # --- 5. forging the status: hide the violation after catching it
    A(
        "hide-violation-frame-walk",
        """
import operator
ga = operator.attrgetter
try:
    getattr(object, '__subcl' + 'asses__')
except BaseException as e:
    tb = ga('__traceback__')(e)
    while tb is not None:
        g = ga('tb_frame.f_globals')(tb)
        if 'Recorder' in g:
            g['Recorder'].first = None
        tb = ga('tb_next')(tb)
print('hidden')
""",
        statuses=("policy",),
        stderr_has="__subclasses__",
    ),
    A(
        "hide-violation-exit0",
        """
import operator, json
b = operator.attrgetter('__globals__')(json.dumps)['__builtins__']
try:
    getattr(json, '_default_' + 'encoder')
except BaseException:
    pass
b['__import__']('os')._exit(0)
""",
        statuses=("policy",),
        stderr_has="module-private",
    ),
    A(
        "hide-violation-flood-channel",
        """
import operator, json
b = operator.attrgetter('__globals__')(json.dumps)['__builtins__']
os, socket = b['__import__']('os'), b['__import__']('socket')
s = socket.socket(fileno=os.dup(3))
for _ in range(200):
    try:
        s.send(b'{"running": true}', socket.MSG_DONTWAIT)
    except OSError:
        break
try:
    getattr(1, '__glo' + 'bals__')
except BaseException:
    pass
os.close(3)
os._exit(0)
""",
        statuses=("policy",),
        stderr_has="__globals__",
    ),
    A(
        "forge-exit-report",
        """
import operator, json
b = operator.attrgetter('__globals__')(json.dumps)['__builtins__']
os = b['__import__']('os')
for fd in range(3, 64):
    try:
        os.write(fd, b'{"reaped": {"exit": 0}, "final": {"exit": 0}, "ready": "OK"}')
    except OSError:
        pass
raise SystemExit(7)
""",
        statuses=("error",),
    ),
    # --- 6. watching the host through the shared inodes of the read-only mounts
    A(
        "inotify-watch-stdlib",
        LIBC
        + "import json\nfd = libc.inotify_init1(0)\nassert fd >= 0, ctypes.get_errno()\n"
        + "print(libc.inotify_add_watch(fd, os.path.dirname(json.__file__).encode(), 0xFFF))\ntime.sleep(1)",
        raw=True,
        statuses=("error",),
        watch=True,
    ),
    A(
        "fanotify-mark",
        LIBC + "fd = libc.fanotify_init(0, 0)\nassert fd >= 0, ctypes.get_errno()\ntime.sleep(1)",
        raw=True,
        statuses=("error",),
        watch=True,
    ),
    # --- 7. probes from other executors' suites
    A(
        "dev-tcp",
        "print(open('/dev/tcp/127.0.0.1/{PORT}', 'w').write('x'))",
        raw=True,
        statuses=("error",),
    ),
    A(
        "getent-and-resolver",
        "import socket, subprocess\ntry:\n    print(subprocess.run(['getent', 'hosts', 'localhost'], capture_output=True))\n"
        "except OSError as e:\n    print('no getent', e)\nprint(socket.getaddrinfo('localhost', {PORT}))",
        raw=True,
        statuses=("error",),
    ),
    A(
        "symlink-swap-to-host",
        "import os\nos.symlink('{CANARY}', 'link')\nos.symlink('/proc/1/root{CANARY}', 'link2')\n"
        "for p in ('link', 'link2'):\n    try:\n        print(open(p).read())\n    except OSError as e:\n        print(p, e)\n"
        "os.replace('link', 'main.py')\nprint(open('main.py').read())",
        raw=True,
        statuses=("error",),
    ),
    A(
        "symlink-swap-policy-open",
        "open('x', 'w').write('1')\nprint(open('/sandbox/../{CANARY}').read())",
        statuses=("policy",),
    ),
    A(
        "no-new-privs-setuid-exec",
        "import os\nfor b in ('/usr/bin/su', '/bin/su', '/usr/bin/mount', '/usr/bin/sudo'):\n"
        "    if os.path.exists(b):\n        os.execv(b, [b, '-c', 'touch /tmp/{TOKEN}'])\nraise SystemExit(3)",
        raw=True,
        statuses=("error",),
    ),
    A(
        "generator-frame-getattr",
        "def g():\n    yield 1\nx = g()\nprint(getattr(x, 'gi_fr' + 'ame'))",
        statuses=("policy",),
    ),
    A(
        "format-unbound-walk",
        "print(str.format('{0.__class__.__base__.__subclasses__}', 1))",
        statuses=("policy",),
    ),
    A("format-map-walk", "print('{x.__class__}'.format_map({'x': 1}))", statuses=("policy",)),
    A("inspect-import", "import inspect\nprint(inspect.currentframe().f_back)", statuses=("policy",)),
    A("sys-getframe", "import sys\nprint(getattr(sys, '_get' + 'frame')(0))", statuses=("policy",)),
    A(
        "numpy-module-hop",
        "import dataclasses\nprint(getattr(dataclasses, 'insp' + 'ect').currentframe())",
        statuses=("policy",),
    ),
    A(
        "exec-with-own-hooks",
        "exec('print(().__class__)', {'_getattr_': lambda o, n: 1})",
        statuses=("policy",),
        stderr_has="reserved-name",
    ),
    A(
        "exec-code-object",
        "def f():\n    pass\nexec(getattr(f, '__co' + 'de__'))",
        statuses=("policy",),
    ),
    A(
        "exec-forbidden-import",
        "exec('import subprocess')",
        statuses=("policy",),
        stderr_has="import-allowlist",
    ),
]


def test_corpus_size() -> None:
    assert len(ATTACKS) >= 20
    assert len({a.id for a in ATTACKS}) == len(ATTACKS)


def _box(attack: Attack, warm: bool) -> Sandbox:
    # file_size_mb high: the memfd attacks must meet the memory layers, not RLIMIT_FSIZE
    limits = Limits(timeout_s=attack.timeout_s, cpu_s=30, memory_mb=attack.memory_mb, file_size_mb=1024)
    if attack.seccomp:
        return Sandbox(limits, policy=not attack.raw, pool=warm)
    from csteer.sandbox import probe

    plan = dict(probe.probe()["plan"], seccomp=False)
    return Sandbox(limits, policy=not attack.raw, plan=plan)  # an explicit plan always runs cold


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
@pytest.mark.parametrize("attack", ATTACKS, ids=[a.id for a in ATTACKS])
def test_attack_is_contained(attack: Attack, warm: bool, host, layers) -> None:
    if not (layers["host file system hidden"] and layers["no new processes/threads"]):
        degraded("the OS jail is degraded on this machine (see `csteer sandbox check`)")
    if attack.needs and not layers.get(attack.needs):
        degraded(f"layer inactive here: {attack.needs}", cgroups_possible() or "cgroup" not in attack.needs)
    if not attack.seccomp and warm:
        pytest.skip("the no-seccomp variant runs cold only (explicit plan)")
    if attack.raw and attack.seccomp and not layers["seccomp: memfd, SysV IPC, inotify, fanotify"]:
        degraded("seccomp additions inactive here")
    box = _box(attack, warm)
    code = host.render(attack.code)
    if attack.watch:
        code = "import time as _t\n_t.sleep(0.4)\n" + code
    with JobWatcher() as watcher:
        result = box.run(code)
    host.assert_contained(result, max_seconds=45)
    assert_memory_bounded(result)
    assert_no_job_left()
    if attack.statuses:
        assert result.status in attack.statuses, (result.status, result.stdout[-300:], result.stderr[-600:])
    if attack.stderr_has:
        assert attack.stderr_has in result.stderr, result.stderr[-600:]
        if result.status == "policy" and result.exit_code is None:
            assert "\n" not in result.stderr.strip(), "a compile-time rejection is one line"
    if attack.seccomp:
        assert watcher.held_memory_outside() == [], watcher.held_memory_outside()
    if attack.watch and layers["cgroup kill (whole job at once)"]:
        # seen from the host in its cgroup while it ran: jailed as expected
        assert watcher.status, "the watcher never saw the job's process"
        for fields in watcher.status.values():
            assert fields.get("NoNewPrivs") == "1", fields
            assert fields.get("Seccomp") == "2", fields
            assert fields.get("CapEff") == "0000000000000000", fields
            assert fields.get("Uid", "0").split()[0] != "0", fields


def test_no_seccomp_variants_fill_their_limit(layers) -> None:
    """Without seccomp, memfd memory is charged to the job's cgroup: killed at the limit (host side)."""
    if not layers["cgroup memory (shm, tmpfs, kernel memory)"]:
        degraded("no cgroup memory layer here", cgroups_possible())
    from csteer.sandbox.runner import last_job_stats

    attack = next(a for a in ATTACKS if a.id == "memfd-hold-no-seccomp")
    result = _box(attack, warm=False).run(attack.code)
    stats = last_job_stats()
    assert result.status == "memory", (result.status, result.stderr[-300:])
    assert stats["oom_kills"] >= 1
    assert stats["peak_bytes"] <= stats["limit_bytes"]
