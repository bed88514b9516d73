"""Attack corpus: each program tries to escape; containment is asserted from the host side.

`raw` attacks run with the policy layer OFF, to prove the OS jail holds on its own; the others go through
the policy first (most are stopped there with status `policy`, some bypass it on purpose and must still be
contained by the jail).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass

import pytest

from csteer.sandbox import Limits, Sandbox
from tests.sandbox.conftest import Host, JobWatcher, cgroups_possible, degraded


@dataclass(frozen=True)
class Attack:
    id: str
    code: str
    raw: bool = False  # policy layer off
    statuses: tuple[str, ...] = ()  # allowed statuses ('' = any)
    timeout_s: float = 10.0
    judge: str = ""  # a host-side judge beyond assert_contained: "host-tree", "no-process"
    statuses_userns: tuple[str, ...] | None = None  # allowed statuses under the user-namespace plan, if other


A = Attack
ATTACKS = [
    # --- reading files outside the job directory
    A("read-canary", "print(open('{CANARY}').read())", raw=True, statuses=("error",)),
    A("read-passwd", "print(open('/etc/passwd').read())", raw=True, statuses=("error",)),
    A("read-passwd-policy", "print(open('/etc/passwd').read())", statuses=("policy",)),
    A(
        "read-canary-numpy",
        "import numpy as np\nprint(np.loadtxt('{CANARY}', dtype=str))",
        statuses=("error",),
    ),
    A(
        "read-canary-pathlib",
        "import pathlib\nprint(pathlib.Path('{CANARY}').read_text())",
        raw=True,
        statuses=("error",),
    ),
    A(
        "list-host-dirs",
        "import json, os\nseen = {}\nfor d in ('/', '/tmp', '/root', '{CANARY_DIR}', '/work', '/home', '/etc', '/sandbox'):\n"
        "    try:\n        seen[d] = sorted(os.listdir(d))\n    except OSError as e:\n        seen[d] = type(e).__name__\n"
        "print(json.dumps(seen))",
        raw=True,
        statuses=("ok",),
        judge="host-tree",
    ),
    A("read-host-environ", "print(open('/proc/{HOSTPID}/environ').read())", raw=True, statuses=("error",)),
    A(
        "read-ppid-environ",
        "import os\nprint(open(f'/proc/{os.getppid()}/environ').read())",
        raw=True,
        statuses=("error",),
    ),
    A("read-self-environ", "print(open('/proc/self/environ').read())", raw=True, statuses=("error", "ok")),
    A("read-pid1-environ", "print(open('/proc/1/environ', 'rb').read())", raw=True, statuses=("error",)),
    # --- writing outside
    A("write-tmp", "open('/tmp/{TOKEN}', 'w').write('x')\nprint('wrote')", raw=True),
    A("write-devshm", "open('/dev/shm/{TOKEN}', 'w').write('x')", raw=True),
    A("write-repo", "open('{REPO}/{TOKEN}', 'w').write('x')", raw=True, statuses=("error",)),
    A("write-vartmp", "open('/var/tmp/{TOKEN}', 'w').write('x')", raw=True, statuses=("error",)),
    A("overwrite-canary", "open('{CANARY}', 'w').write('pwned')", raw=True, statuses=("error",)),
    A("create-next-to-canary", "open('{CANARY_DIR}/{TOKEN}', 'w').write('x')", raw=True, statuses=("error",)),
    A("write-canary-numpy", "import numpy as np\nnp.savetxt('{CANARY}', [1, 2])", statuses=("error",)),
    # --- environment secrets
    A("env-secrets", "import os\nprint(dict(os.environ))", raw=True, statuses=("ok",)),
    A("env-policy", "import os\nprint(os.environ)", statuses=("policy",)),
    # --- network
    A(
        "socket-connect",
        "import socket\ns = socket.create_connection(('127.0.0.1', {PORT}), timeout=2)\nprint('connected')",
        raw=True,
        statuses=("error",),
    ),
    A(
        "socket-localhost-name",
        "import socket\nsocket.create_connection(('localhost', {PORT}), timeout=2)",
        raw=True,
        statuses=("error",),
    ),
    A(
        "urllib",
        "import urllib.request\nprint(urllib.request.urlopen('http://127.0.0.1:{PORT}/', timeout=2).read())",
        raw=True,
        statuses=("error",),
    ),
    A("socket-policy", "import socket", statuses=("policy",)),
    # --- new processes
    A(
        "subprocess",
        "import subprocess\nprint(subprocess.run(['id'], capture_output=True).stdout)",
        raw=True,
        statuses=("error",),
    ),
    # the host judges process creation from the job's pids cgroup (its peak); the job then waits so the
    # watcher reads the peak while the group still exists
    A(
        "os-system",
        "import os, time\nprint(os.system('sleep 1; touch /tmp/{TOKEN}'))\ntime.sleep(0.5)",
        raw=True,
        statuses=("ok",),
        judge="no-process",
    ),
    A("fork", "import os\npid = os.fork()\nprint('forked', pid)", raw=True, statuses=("error",)),
    A("fork-bomb", "import os\nwhile True:\n    os.fork()", raw=True, statuses=("error",)),
    A(
        "thread-bomb",
        "import threading, time\nts = [threading.Thread(target=time.sleep, args=(5,)) for _ in range(500)]\nfor t in ts:\n    t.start()",
        raw=True,
        statuses=("error",),
    ),
    A(
        "multiprocessing",
        "import multiprocessing as mp\nprint(mp.Pool(2).map(abs, [-1, -2]))",
        raw=True,
        statuses=("error",),
    ),
    A(
        "ctypes-system",
        "import ctypes, time\nprint(ctypes.CDLL(None).system(b'sleep 1; touch /tmp/{TOKEN}'))\ntime.sleep(0.5)",
        raw=True,
        statuses=("ok",),
        judge="no-process",
    ),
    A(
        "ctypes-kill-host",
        "import ctypes\nprint(ctypes.CDLL(None).kill({SENTINEL}, 9), ctypes.CDLL(None).kill({HOSTPID}, 9))",
        raw=True,
    ),
    A("ctypes-policy", "import ctypes", statuses=("policy",)),
    # --- killing the parent / other processes
    A(
        "kill-parent",
        "import os, signal\nfor pid in (os.getppid(), {HOSTPID}, {SENTINEL}):\n    try:\n        os.kill(pid, signal.SIGKILL)\n    except OSError as e:\n        print(pid, e)",
        raw=True,
    ),
    A(
        "kill-everything",
        "import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError as e:\n    print(e)",
        raw=True,
        statuses=("ok", "killed"),
    ),
    # --- privilege games
    # unprivileged plan: the job already is uid 0 of its own user namespace (the caller's uid on the host,
    # checked from the host in test_unprivileged), so setuid(0) is a no-op there, not a gain
    A("setuid-root", "import os\nos.setuid(0)", raw=True, statuses=("error",), statuses_userns=("ok",)),
    A(
        "chroot-escape",
        "import os\nos.mkdir('x')\nos.chroot('x')\nos.chdir('../../../..')\nprint(os.listdir('.'))",
        raw=True,
        statuses=("error",),
    ),
    A(
        "ctypes-unshare-mount",
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nprint(libc.unshare(0x10020000), ctypes.get_errno())\nprint(libc.mount(b'none', b'/tmp', b'tmpfs', 0, None))\nprint(open('{CANARY}').read())",
        raw=True,
        statuses=("error",),
    ),
    # --- introspection escapes (stopped by the policy)
    A(
        "subclass-walk",
        "for c in ().__class__.__base__.__subclasses__():\n    if c.__name__ == 'Popen':\n        c(['touch', '/tmp/{TOKEN}'])",
        statuses=("policy",),
    ),
    A(
        "subclass-walk-getattr",
        "b = getattr((), '__cla' + 'ss__')\nprint(getattr(getattr(b, '__ba' + 'se__'), '__subcl' + 'asses__')())",
        statuses=("policy",),
    ),
    A(
        "generator-frame-walk",
        "def g():\n    yield 1\nx = g()\nprint(x.gi_frame.f_back.f_globals['__builtins__'])",
        statuses=("policy",),
    ),
    A(
        "traceback-frame-walk",
        "try:\n    1/0\nexcept Exception as e:\n    print(e.__traceback__.tb_frame.f_globals)",
        statuses=("policy",),
    ),
    A(
        "function-globals",
        "import json\nprint(json.dumps.__globals__['__builtins__']['__import__']('os').system('touch /tmp/{TOKEN}'))",
        statuses=("policy",),
    ),
    A(
        "string-built-import",
        "m = __builtins__['__imp' + 'ort__']('o' + 's')\nm.system('touch /tmp/{TOKEN}')",
        statuses=("policy",),
    ),
    A(
        "globals-builtins-import",
        "b = globals()['__builtins__']\nb['__import__']('os').system('touch /tmp/{TOKEN}')",
        statuses=("policy",),
    ),
    A("importlib", "import importlib\nimportlib.import_module('os').system('id')", statuses=("policy",)),
    A("exec", "exec(\"import os; os.system('touch /tmp/{TOKEN}')\")", statuses=("policy",)),
    A("eval-import", "eval(\"__import__('os').system('touch /tmp/{TOKEN}')\")", statuses=("policy",)),
    A(
        "module-hop-typing-sys",
        "import typing\ns = typing.sys\nprint(s.modules['os'].system('id'))",
        statuses=("error", "policy"),
    ),
    A("module-private-hop", "import random\nprint(random._os.system('id'))", statuses=("policy",)),
    A("format-string-walk", "print('{0.__class__.__base__.__subclasses__}'.format(1))", statuses=("policy",)),
    A("vars-module", "import json\nprint(vars(json)['__builtins__'])", statuses=("policy",)),
    A("mro-walk", "print(type.mro(type(1))[-1])\nprint([].__class__.__mro__)", statuses=("policy",)),
    # --- policy bypasses on purpose: real builtins reached through an allowed module; the jail must hold
    A(
        "bypass-attrgetter",
        "import operator, json\nb = operator.attrgetter('__globals__')(json.dumps)['__builtins__']\nos = b['__import__']('os')\nprint(os.system('touch /tmp/{TOKEN}'))\nprint(b['open']('{CANARY}').read())",
        statuses=("error",),
    ),
    A(
        "bypass-sympify",
        "import sympy\nprint(sympy.sympify(\"__import__('os').system('touch /tmp/{TOKEN}')\"))\nprint(sympy.sympify(\"open('{CANARY}').read()\"))",
        statuses=("error",),
    ),
    A(
        "bypass-sympify-socket",
        "import sympy\nsympy.sympify(\"__import__('socket').create_connection(('127.0.0.1', {PORT}), timeout=2)\")",
        statuses=("error",),
    ),
    # --- resource exhaustion
    A("memory-bomb-list", "x = [0] * (10**10)", raw=True, statuses=("memory",)),
    A(
        "memory-bomb-grow",
        "x = []\nwhile True:\n    x.append(bytearray(10**7))",
        raw=True,
        statuses=("memory", "killed"),
    ),
    A("memory-bomb-numpy", "import numpy as np\nprint(np.ones(10**10).sum())", statuses=("memory",)),
    A("cpu-bomb", "while True:\n    pass", statuses=("timeout",), timeout_s=2),
    A(
        "sigterm-ignored",
        "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass",
        raw=True,
        statuses=("timeout", "killed"),
        timeout_s=2,
    ),
    A("sleep-forever", "import time\ntime.sleep(3600)", statuses=("timeout",), timeout_s=2),
    A("output-flood", "while True:\n    print('x' * 1000)", statuses=("output_limit",)),
    A(
        "stderr-flood",
        "import sys\nwhile True:\n    sys.stderr.write('e' * 4096)",
        raw=True,
        statuses=("output_limit",),
    ),
    A(
        "disk-fill-one-file",
        "with open('big', 'wb') as f:\n    while True:\n        f.write(b'0' * 2**20)",
        raw=True,
        statuses=("error",),
    ),
    A(
        "disk-fill-many-files",
        "i = 0\nwhile True:\n    with open(f'f{i}', 'wb') as f:\n        f.write(b'0' * 2**20)\n    i += 1",
        raw=True,
        statuses=("error",),
    ),
    A("fd-exhaustion", "fs = [open('main.py') for _ in range(10**5)]", raw=True, statuses=("error",)),
    A(
        "deep-recursion",
        "import sys\nsys.setrecursionlimit(10**7)\ndef f(n):\n    return f(n + 1) + 1\nf(0)",
        statuses=("killed", "error", "memory", "timeout"),
        timeout_s=3,
    ),
    A("recursion-default", "def f(n):\n    return f(n + 1)\nf(0)", statuses=("error",)),
]


def test_corpus_size() -> None:
    assert len(ATTACKS) >= 40
    assert sum(a.raw for a in ATTACKS) >= 10
    assert len({a.id for a in ATTACKS}) == len(ATTACKS)


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.id for a in ATTACKS])
def test_attack_is_contained(attack: Attack, host, layers, sandbox: Sandbox, raw_sandbox: Sandbox) -> None:
    if not (
        layers["host file system hidden"]
        and layers["network isolation"]
        and layers["no new processes/threads"]
    ):
        degraded("the OS jail is degraded on this machine (see `csteer sandbox check`)")
    box = raw_sandbox if attack.raw else sandbox
    if attack.timeout_s != 10.0:
        box = Sandbox(Limits(timeout_s=attack.timeout_s, cpu_s=30, memory_mb=512), policy=not attack.raw)
    if attack.judge == "no-process" and not layers["cgroup pids limit"]:
        degraded("no pids cgroup: process creation cannot be judged from the host", cgroups_possible())
    baseline = _pids_peak(box, "import time\ntime.sleep(0.5)") if attack.judge == "no-process" else 0
    with JobWatcher() as watcher:
        result = box.run(host.render(attack.code))
    host.assert_contained(result, max_seconds=attack.timeout_s + 8)
    statuses = attack.statuses
    if attack.statuses_userns is not None:
        from csteer.sandbox import probe

        if probe.probe()["plan"].get("userns"):
            statuses = attack.statuses_userns
    if statuses:
        assert result.status in statuses, (result.status, result.stdout[-300:], result.stderr[-600:])
    if attack.judge == "host-tree":
        _assert_no_host_tree(json.loads(result.stdout), host)
    if attack.judge == "no-process":
        # system() failed (-1, or 127 << 8 when glibc's posix_spawn fails); whether a process was created
        # in between is for the host to judge
        assert int(result.stdout.splitlines()[0]) in (-1, 127 << 8), "system() ran: " + result.stdout[-300:]
        assert watcher.pids_peak, "the watcher never saw the job's pids cgroup"
        # as many processes as a job that creates none (the control run just before), not one more
        assert max(watcher.pids_peak.values()) == baseline, (watcher.pids_peak, baseline)
    if result.status == "output_limit":
        assert result.truncated
        assert len(result.stdout) + len(result.stderr) < 3 * box.limits.output_bytes


def _pids_peak(box: Sandbox, code: str) -> int:
    """The most processes a job's pids cgroup held while `code` ran, seen from the host."""
    with JobWatcher() as watcher:
        control = box.run(code)
    assert control.status == "ok", control.stderr[-300:]
    assert watcher.groups, "the watcher never saw the control job's cgroups"
    if not watcher.pids_peak:
        degraded("this kernel's pids cgroup has no pids.peak: process creation cannot be judged")
    return max(watcher.pids_peak.values())


def _assert_no_host_tree(seen: dict[str, object], host: Host) -> None:
    """What the job listed is the jail's small tree, not the host's (judged against the host's listing)."""
    # what SECURITY.md says the jail binds read-only: system libraries and this Python with its packages
    # (written out here, not read from jail.py, so a jail that binds more fails this check)
    sources = ["/usr", "/lib", "/lib64", "/lib32", "/etc/ld.so.cache"]
    sources += [sys.base_prefix, sys.prefix, sys.exec_prefix, sys.base_exec_prefix]
    sources += [p for p in sys.path if p and ("site-packages" in p or "dist-packages" in p)]
    sources = [os.path.abspath(p) for p in sources]

    def under_a_source(path: str) -> bool:
        return any(s == path or s.startswith(path.rstrip("/") + "/") for s in sources)

    host_only = {e for e in os.listdir("/") if not under_a_source("/" + e)} - {"dev", "tmp", "sandbox"}
    assert host_only, "the host's / has nothing outside the jail's sources: this check would be vacuous"
    assert isinstance(seen["/"], list), seen["/"]
    assert host_only.isdisjoint(seen["/"]), (
        f"the jail shows the host's / ({sorted(host_only & set(seen['/']))})"
    )
    for path in ("/root", "/home", str(host.canary_dir)):
        if not under_a_source(path):
            assert seen[path] == "FileNotFoundError", (path, seen[path])
    assert seen["/etc"] == "FileNotFoundError" or set(seen["/etc"]) <= {"ld.so.cache"}, seen["/etc"]
    host_tmp = {e for e in os.listdir("/tmp") if not under_a_source("/tmp/" + e)}
    assert isinstance(seen["/tmp"], list) and host_tmp.isdisjoint(seen["/tmp"]), seen["/tmp"]
    assert isinstance(seen["/sandbox"], list), seen["/sandbox"]  # the job's own directory is there


def test_raw_attacks_really_skip_the_policy(raw_sandbox: Sandbox) -> None:
    # Guards the corpus itself: without the policy, `import os` must run (so raw attacks test the jail).
    result = raw_sandbox.run("import os\nprint(os.getuid() >= 0)")
    assert result.status == "ok" and result.stdout.strip() == "True"
