"""The sandbox used by an unprivileged caller (CI runs as root; users usually do not).

Re-runs a few containment cases in a child interpreter started as uid 65534 via `setpriv`: the probe must
pick the user-namespace plan, and the jail must still hide files, block the network and new processes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from csteer.sandbox.selftest import Listener
from tests.sandbox.conftest import degraded

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from csteer.sandbox import Sandbox, Limits, probe_layers
    canary, port, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    raw = Sandbox(Limits(timeout_s=10, memory_mb=256), policy=False)
    cases = {
        "benign": Sandbox(Limits(timeout_s=10)).run("import sympy\\nprint(sympy.isprime(2**31 - 1))"),
        "read": raw.run(f"print(open({canary!r}).read())"),
        "write": raw.run(f"open('/tmp/{token}', 'w').write('x')"),
        "net": raw.run(f"import socket\\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)"),
        "fork": raw.run("import os\\nos.fork()\\nprint('forked')"),
        "uid": raw.run("import os, time\\nprint(os.getuid())\\ntime.sleep(1)"),
    }
    # round 2 (issue 15), warm and cold
    for mode, box in (("warm", raw), ("cold", Sandbox(Limits(timeout_s=10, memory_mb=256), policy=False, pool=False))):
        cases[f"memfd-{mode}"] = box.run("import os\\nos.memfd_create('x')")
        cases[f"shm-{mode}"] = box.run("import ctypes\\nassert ctypes.CDLL(None).shmget(0, 2**20, 0o1600) >= 0")
        cases[f"inotify-{mode}"] = box.run("import ctypes\\nassert ctypes.CDLL(None).inotify_init1(0) >= 0")
        cases[f"pdeathsig-{mode}"] = box.run("import ctypes\\nassert ctypes.CDLL(None).prctl(1, 0, 0, 0, 0) == 0")
        cases[f"deep-{mode}"] = Sandbox(Limits(timeout_s=10), pool=mode == "warm").run("x = " + "-" * 100000 + "1")
        cases[f"hide-{mode}"] = Sandbox(Limits(timeout_s=10), pool=mode == "warm").run(
            "import operator\\nga = operator.attrgetter\\ntry:\\n    getattr(object, '__subcl' + 'asses__')\\n"
            "except BaseException as e:\\n    tb = ga('__traceback__')(e)\\n    while tb is not None:\\n"
            "        g = ga('tb_frame.f_globals')(tb)\\n        if 'Recorder' in g:\\n"
            "            g['Recorder'].first = None\\n        tb = ga('tb_next')(tb)\\nprint('hidden')"
        )
        cases[f"eval-{mode}"] = Sandbox(Limits(timeout_s=10), pool=mode == "warm").run(
            "from fractions import Fraction\\ndef v(e):\\n    return eval(e.replace('/', '*Fraction(1,1)/'))\\nprint(v('8/(3-8/3)'))"
        )
    print(json.dumps({"layers": {r["name"]: r["active"] for r in probe_layers()},
                      "cases": {k: v.to_dict() for k, v in cases.items()}}))
    """
)

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def _interpreter() -> tuple[str, dict[str, str]] | None:
    """An interpreter uid 65534 can start and that can start itself again (the sandbox's helpers)."""
    import csteer

    package_root = os.path.dirname(os.path.dirname(os.path.abspath(csteer.__file__)))
    path = os.pathsep.join([package_root] + [p for p in sys.path if p and os.path.isdir(p)])
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": path, "HOME": "/tmp"}
    check = "import subprocess, sys, RestrictedPython, csteer; subprocess.run([sys.executable, '-c', 'pass'], check=True)"
    for candidate in (
        sys.executable,
        shutil.which("python3") or "",
        f"/usr/bin/python{sys.version_info[0]}.{sys.version_info[1]}",
    ):
        if not candidate or not os.path.exists(candidate):
            continue
        probe = subprocess.run([*NOBODY, candidate, "-c", check], env=env, capture_output=True, cwd="/tmp")
        if probe.returncode == 0:
            return candidate, env
    return None


class _UidWatcher:
    """Records, from the host, the Uid line of every jailed (no_new_privs) descendant of `pid`."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.uids: set[tuple[str, ...]] = set()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _loop(self) -> None:
        from tests.sandbox.test_orphans import _descendants

        while not self._done.is_set():
            for pid in _descendants(self.pid):
                try:
                    with open(f"/proc/{pid}/status") as fh:
                        fields = dict(line.split(":", 1) for line in fh if ":" in line)
                except OSError:
                    continue
                if fields.get("NoNewPrivs", "").strip() == "1":
                    self.uids.add(tuple(fields["Uid"].split()))
            time.sleep(0.02)


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv to become uid 65534"
)
def test_containment_as_unprivileged_user(host, tmp_path) -> None:
    found = _interpreter()
    if found is None:
        pytest.skip("no Python interpreter with csteer importable by uid 65534 (home directory not readable)")
    python, env = found
    listener = Listener()
    proc = subprocess.Popen(
        [*NOBODY, python, "-c", SCRIPT, str(host.canary), str(listener.port), host.token],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd="/tmp",
    )
    watcher = _UidWatcher(proc.pid)
    try:
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr[-2000:]
        report = json.loads(stdout.strip().splitlines()[-1])
        assert listener.connections == 0
    finally:
        watcher.stop()
        listener.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    cases = report["cases"]
    assert (cases["benign"]["status"], cases["benign"]["stdout"]) == ("ok", "True\n")
    if not report["layers"]["namespaces (mount/net/ipc/uts)"]:
        degraded("user namespaces are not available to unprivileged users here")
    assert host.canary.read_text().startswith("canary") and "canary" not in cases["read"]["stdout"]
    assert cases["read"]["status"] == "error"
    assert not (tmp_path.parent / host.token).exists() and not os.path.exists(f"/tmp/{host.token}")
    assert cases["net"]["status"] == "error"
    assert cases["fork"]["status"] == "error" and "forked" not in cases["fork"]["stdout"]
    assert report["layers"]["unprivileged uid"]
    # uid 0 only inside the job's user namespace; on the host every jailed job ran as 65534 (seen in /proc)
    assert (cases["uid"]["status"], cases["uid"]["stdout"]) == ("ok", "0\n"), cases["uid"]
    assert watcher.uids, "the host never saw a jailed job of the uid 65534 caller"
    assert watcher.uids == {("65534", "65534", "65534", "65534")}, watcher.uids
    for mode in ("warm", "cold"):
        if report["layers"]["seccomp: memfd, SysV IPC, inotify, fanotify"]:
            for name in ("memfd", "shm", "inotify", "pdeathsig"):
                assert cases[f"{name}-{mode}"]["status"] == "error", (name, mode, cases[f"{name}-{mode}"])
        assert (
            cases[f"deep-{mode}"]["status"] == "policy"
            and "rule: complexity" in cases[f"deep-{mode}"]["stderr"]
        )
        assert cases[f"hide-{mode}"]["status"] == "policy", cases[f"hide-{mode}"]
        assert (cases[f"eval-{mode}"]["status"], cases[f"eval-{mode}"]["stdout"]) == ("ok", "24\n")
