"""`Sandbox.run`: policy check, dispatch to the warm pool (or a cold launcher), stream capped output, classify.

The caller's side of a job: it owns the output pipes (so a flood is cut while streaming, never buffered
whole), the wall-clock deadline (SIGKILL to the job's process group and pid), and the temp directory
(created here, removed here, whatever happened to the job).
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from csteer.errors import CsteerError
from csteer.sandbox import cgroup, child
from csteer.sandbox import policy as policy_mod
from csteer.sandbox.types import Limits, Result, Status

TRUNCATION_MARKER = "\n...[output truncated by csteer sandbox]"
_SPEC_PART = 64 * 1024  # a datagram has a size limit: larger specs go in parts
_DRAIN_GRACE_S = 2.0
_MAX_RECORDS = 1000  # records read from one job's violation channel


class SandboxError(CsteerError):
    """The sandbox itself failed (not the program): setup error, helper crash."""


class Sandbox:
    """Run untrusted Python under the policy and the OS jail.

    policy: apply the RestrictedPython policy (False = OS layers only; used to test them alone).
    allowed_imports: top-level modules the policy admits (default: policy.DEFAULT_ALLOWED_IMPORTS).
    pool: use the warm pool when it works (False = always a fresh interpreter).
    plan: a jail plan (`jail.Plan.to_dict()`) instead of the probed one; such jobs start cold.
    """

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        policy: bool = True,
        allowed_imports: Iterable[str] | None = None,
        pool: bool = True,
        plan: dict[str, Any] | None = None,
    ) -> None:
        self.limits = limits or Limits()
        # An explicit jail plan (e.g. a deliberately weaker one, or tests of degraded hosts) runs cold:
        # the warm worker is prepared for the probed plan only.
        self.plan = plan
        self.policy = policy
        self.allowed_imports = sorted(allowed_imports) if allowed_imports is not None else None
        self.use_pool = pool

    def prepare(self) -> None:
        """Probe the jail and start the warm pool in the background, so the first program does not wait
        for them (about a second on a small machine): a caller that will run code calls this before its
        slow setup (loading a model). Idempotent; failures surface, as without it, on the first run."""
        global _preparing
        if not sys.platform.startswith("linux") or not self.use_pool or self.plan is not None:
            return
        with _prepare_lock:
            if _preparing is not None:
                return

            def warm_up() -> None:
                from csteer.sandbox import pool, probe

                probe.probe()
                pool.get_pool()

            _preparing = threading.Thread(target=warm_up, name="csteer-sandbox-prepare", daemon=True)
            _preparing.start()

    def run(self, code: str, stdin: str | None = None) -> Result:
        start = time.monotonic()
        if not isinstance(code, str) or len(code) > policy_mod.MAX_SOURCE_CHARS:
            # The only check made here: everything else about the program text is decided inside the
            # job (policy compilation included), where no text can take this process down.
            size = len(code) if isinstance(code, str) else type(code).__name__
            reason = f"the program ({size}) is not text of at most {policy_mod.MAX_SOURCE_CHARS} characters"
            return Result("policy", "", f"{reason} (rule: complexity).", None, 0.0, False)
        if not sys.platform.startswith("linux"):
            # The jail and the pool rely on Linux (namespaces, SOCK_SEQPACKET, prctl): elsewhere a plain,
            # scrubbed, time- and output-limited interpreter, with the warning from the probe.
            if self.policy:
                try:
                    policy_mod.compile_solution(code, "main.py", self.allowed_imports)
                except policy_mod.PolicyError as err:
                    return Result("policy", "", str(err), None, time.monotonic() - start, False)
            return _run_plain(code, stdin, self.limits, start)
        from csteer.sandbox import probe

        plan = self.plan if self.plan is not None else probe.probe()["plan"]
        # With a private tmpfs root the host directory is only a mount point: keep it on tmpfs when possible.
        base = "/dev/shm" if plan.get("new_root") and os.access("/dev/shm", os.W_OK) else None
        host_dir = tempfile.mkdtemp(prefix="csteer-sbx-", dir=base)
        try:
            spec = {
                "code": code,
                "stdin": stdin,
                "plan": plan,
                "limits": asdict(self.limits),
                "policy": self.policy,
                "allowed_imports": self.allowed_imports,
                "host_dir": host_dir,
            }
            return _Job(self.limits, start).run(spec, self.use_pool and self.plan is None)
        finally:
            shutil.rmtree(host_dir, ignore_errors=True)


_stats = threading.local()
_prepare_lock = threading.Lock()
_preparing: threading.Thread | None = None  # the one background warm-up of this process


def last_job_stats() -> dict[str, Any]:
    """What the host saw of this thread's last job: its cgroup's peak memory and OOM kills, if any.

    {"cgroup": bool, "peak_bytes": int, "limit_bytes": int, "oom_kills": int} (keys present when known).
    The group is read and removed in the background after the job's result is returned: this waits for
    that read."""
    value = getattr(_stats, "value", {})
    if isinstance(value, tuple):
        released, limit = value
        value = dict(released.wait(), cgroup=True, limit_bytes=limit)
        _stats.value = value
    return dict(value)


class _Refused(Exception):
    """The job's process was a spare that is gone (the worker refused the claim, or it died before its
    jail was ready, i.e. before it could run anything): try again."""


class _Job:
    def __init__(self, limits: Limits, start: float) -> None:
        self.limits = limits
        self.start = start
        self.deadline = start + limits.timeout_s
        self.pids: list[int] = []
        self.report: dict[str, Any] | None = None  # the job's exit status
        self.ready: str | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.group: cgroup.JobGroup | None = None
        self.records: list[dict[str, Any]] = []  # the violation channel, in order
        self.violation: dict[str, Any] | None = None  # its first "violation" or "compile" record
        self.exited: int | None = None  # the exit code the job's harness sent before its exit
        self.claimed = False  # the job went to a spare that was in its cgroup already
        self.refused = False  # the worker no longer had the claimed spare
        self.retry = False  # this attempt may be repeated if its process was a spare that died early

    def run(self, spec: dict[str, Any], use_pool: bool) -> Result:
        self.final_key = "final" if spec["plan"].get("pidns") else "reaped"
        _stats.value = {}
        for claim in (True, True, False):
            try:
                return self._attempt(spec, use_pool, claim)
            except _Refused:
                self.pids, self.report, self.ready, self.records, self.violation = [], None, None, [], None
                self.exited = None
                self.refused = False
        raise SandboxError("the warm worker refused a job that claimed no spare")  # it never does

    def _attempt(self, spec: dict[str, Any], use_pool: bool, claim: bool) -> Result:
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        vio_r, vio_w = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        warm = None
        try:
            warm = self._launch(theirs, out_w, err_w, vio_w, use_pool, claim)
            if warm is None:  # cold: the launcher's job gets a group made now
                self.group = _new_group(self.limits)
        except BaseException:
            for fd in (out_r, err_r):
                os.close(fd)
            ours.close()
            vio_r.close()
            self._remove_group()
            raise
        finally:
            theirs.close()
            vio_w.close()
            os.close(out_w)
            os.close(err_w)
        try:
            if not self.claimed:
                self._join_group(ours, warm)
            try:
                _send_spec(ours, spec, self.limits.timeout_s)
            except OSError:
                pass  # the job process is gone already: _collect reports what it said, if anything
            return self._collect(ours, out_r, err_r, vio_r)
        finally:
            ours.close()
            vio_r.close()
            for fd in (out_r, err_r):
                try:
                    os.close(fd)
                except OSError:
                    pass
            if self.proc is not None:
                try:
                    self.proc.wait(timeout=_DRAIN_GRACE_S)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            if warm is not None:
                warm.done()
            self._remove_group()

    def _launch(
        self,
        theirs: socket.socket,
        out_w: int,
        err_w: int,
        vio_w: socket.socket,
        use_pool: bool,
        claim: bool,
    ) -> Any:
        """Start the job; returns the warm pool it went to (None: a cold launcher, `self.proc`).

        Where job cgroups work, the job claims the pool's spare, which waits in a cgroup made for it
        ahead of time: this job's memory limit is written there first, then the worker is asked for
        exactly that process (`claimed`), so the program can be sent at once. Without a spare to claim
        the worker forks a fresh process, and _join_group puts it into a group before it gets its program."""
        from csteer.sandbox import pool, probe

        self.claimed = False
        if use_pool:
            warm = pool.get_pool()
            if warm is not None:
                self.retry = claim
                request = child.ANY
                if cgroup_active():
                    request = child.FRESH
                    spare = warm.claim_spare() if claim else None
                    if spare is not None and spare[1] is not None:
                        limit = cgroup.memory_limit_bytes(self.limits.memory_mb, self.limits.disk_mb)
                        try:
                            spare[1].set_memory_limit(limit)
                        except OSError as err:
                            cgroup.release(spare[1])
                            raise SandboxError(f"cannot set the job's memory limit: {err}") from None
                        warm.spare_limit = limit
                        self.group = spare[1]
                        self.claimed = True
                        request = child.CLAIMED + str(spare[0]).encode()
                    elif spare is not None:  # a spare without a group of its own: one is made for it
                        request = child.CLAIMED + str(spare[0]).encode()
                try:
                    warm.submit(theirs.fileno(), out_w, err_w, vio_w.fileno(), request)
                    return warm
                except pool.PoolError:
                    self._remove_group()  # a claimed spare's group (the worker is gone, and the spare)
                    self.claimed = self.retry = False  # fall through to a cold start for this job
        fds = (theirs.fileno(), vio_w.fileno())
        try:
            self.proc = subprocess.Popen(
                [*probe._helper_command("cold"), *map(str, fds), str(os.getpid())],
                pass_fds=fds,
                env=probe.helper_env(),
                stdin=subprocess.DEVNULL,
                stdout=out_w,
                stderr=err_w,
                start_new_session=True,
                cwd="/",
            )
        except OSError as err:
            raise SandboxError(f"cannot start the sandbox interpreter {sys.executable}: {err}") from None
        return None

    def _join_group(self, sock: socket.socket, warm: Any) -> None:
        """Wait for the job's first pid and put it in the job's cgroup before it may read its program
        (a job that claimed its spare is in its group already)."""
        if self.group is None and not (warm is not None and cgroup_active()):
            return
        sock.settimeout(max(1.0, self.deadline - time.monotonic() + _DRAIN_GRACE_S))
        try:
            while not self.pids and self.ready is None and not self.refused:
                data = sock.recv(65536)
                if not data:
                    break
                self._on_message(data)
        except OSError:
            pass
        finally:
            sock.settimeout(None)
        if not self.pids:
            return  # no job process (it failed to start, or the worker refused): _collect reports that
        try:
            if self.group is None:
                self.group = _new_group(self.limits)
            if self.group is not None:
                self.group.add(self.pids[0])
        except OSError as err:
            self._kill()
            raise SandboxError(f"cannot put the job into its cgroup: {err}") from None

    def _remove_group(self) -> None:
        """Hand the job's groups to the background remover (their stats: last_job_stats)."""
        group, self.group = self.group, None
        if group is None:
            return
        limit = cgroup.memory_limit_bytes(self.limits.memory_mb, self.limits.disk_mb)
        _stats.value = (cgroup.release(group), limit)

    def _kill(self) -> None:
        """SIGKILL the job's cgroup, the supervisor's process group (the job is in it) and both pids."""
        if self.group is not None:
            self.group.kill()
        if self.report is not None:
            return  # the job already ended: its pids may be reused
        groups = set(self.pids[:1])
        if self.proc is not None:
            groups.add(self.proc.pid)
        for kill, targets in ((os.killpg, groups), (os.kill, self.pids)):
            for pid in targets:
                try:
                    kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    def _collect(self, sock: socket.socket, out_r: int, err_r: int, vio: socket.socket) -> Result:
        cap = self.limits.output_bytes
        buffers = {out_r: bytearray(), err_r: bytearray()}
        truncated = False
        status: Status | None = None
        sel = selectors.DefaultSelector()
        sel.register(out_r, selectors.EVENT_READ)
        sel.register(err_r, selectors.EVENT_READ)
        sel.register(sock, selectors.EVENT_READ)
        sel.register(vio, selectors.EVENT_READ)
        open_streams = 2
        sock_open = True
        vio_open = True
        killed_at: float | None = None
        while open_streams or (sock_open and self.report is None and not self.ended_early()):
            now = time.monotonic()
            if killed_at is None and now >= self.deadline:
                status = status or "timeout"
                self._kill()
                killed_at = now
            if killed_at is not None and now - killed_at > _DRAIN_GRACE_S:
                break
            limit = (killed_at + _DRAIN_GRACE_S if killed_at is not None else self.deadline) - now
            for key, _ in sel.select(timeout=max(0.0, limit)):
                if key.fileobj is vio:
                    if not self._on_record(vio):
                        sel.unregister(vio)
                        vio_open = False
                    continue
                if key.fileobj is sock:
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        sel.unregister(sock)
                        sock_open = False
                        continue
                    self._on_message(data)
                    continue
                fd = key.fd
                data = os.read(fd, 65536)
                if not data:
                    sel.unregister(fd)
                    open_streams -= 1
                    continue
                buf = buffers[fd]
                room = cap - len(buf)
                if len(data) > room:
                    buf += data[: max(room, 0)]
                    truncated = True
                    if status is None:
                        status = "output_limit"
                    if killed_at is None:
                        self._kill()
                        killed_at = time.monotonic()
                else:
                    buf += data
        sel.close()
        if self.report is None and self.ended_early() and killed_at is None:
            # the program's process may still be exiting: whatever is left of it goes now (the worker
            # reaps it; its report goes to a closed socket)
            assert self.group is not None
            self.group.kill()
            self.report = {"exit": self.exited}
        if self.refused or (self.retry and self.ready is None and status is None and self.violation is None):
            raise _Refused()  # a spare that died before it could run anything (killed, say): once more
        if vio_open:  # records sent just before the job ended
            vio.setblocking(False)
            while self._on_record(vio):
                pass
        duration = time.monotonic() - self.start
        stdout = buffers[out_r].decode("utf-8", "replace")
        stderr = buffers[err_r].decode("utf-8", "replace")
        if truncated:
            if len(buffers[out_r]) >= cap:
                stdout += TRUNCATION_MARKER
            if len(buffers[err_r]) >= cap:
                stderr += TRUNCATION_MARKER
        exit_code, final = self._classify()
        if status is None:
            status = final
        first = self.violation
        if first is not None:
            # The first record on the append-only channel decides, whatever the program did afterwards.
            if "compile" in first:
                return Result("policy", "", str(first["compile"]), None, duration, False)
            message = str(first.get("violation"))
            if message not in stderr:
                stderr += (
                    "" if not stderr or stderr.endswith("\n") else "\n"
                ) + f"PolicyViolation: {message}\n"
            return Result("policy", stdout, stderr, child.EXIT_POLICY, duration, truncated)
        return Result(status, stdout, stderr, exit_code, duration, truncated)

    def _on_record(self, vio: socket.socket) -> bool:
        """Read one record of the violation channel; False when there is nothing more to read from it."""
        try:
            data = vio.recv(8192)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return False
        if not data:
            return False
        if len(self.records) >= _MAX_RECORDS:
            return False  # a flood: the first records are kept, the rest is left unread
        import json

        try:
            record = json.loads(data)
        except ValueError:
            record = {"violation": f"unreadable record on the violation channel: {data[:80]!r}"}
        if not isinstance(record, dict):
            record = {"violation": f"unexpected record on the violation channel: {data[:80]!r}"}
        self.records.append(record)
        if self.exited is None and isinstance(record.get("exit"), int):
            self.exited = record["exit"]
        if self.violation is None and ("violation" in record or "compile" in record):
            self.violation = record
        return True

    def ended_early(self) -> bool:
        """The program ended (its output closed, its exit code on the channel) and the job's cgroup can
        kill what is left: its process's teardown and the exit report need not be waited for."""
        return self.exited is not None and self.ready == "OK" and self.group is not None

    def _on_message(self, data: bytes) -> None:
        import json

        try:
            msg = json.loads(data)
        except ValueError:
            return
        if "pids" in msg:
            self.pids += [int(p) for p in msg["pids"]]
        if "ready" in msg:
            self.ready = str(msg["ready"])
        if "refused" in msg and not self.pids:
            self.refused = True
        if self.final_key in msg:
            self.report = msg[self.final_key]

    def _classify(self) -> tuple[int | None, Status]:
        report = self.report
        if self.ready != "OK":
            raise SandboxError(f"sandbox setup failed: {self.ready or 'the job process gave no report'}")
        if report is None:
            return None, "killed"
        if "signal" in report:
            sig = int(report["signal"])
            # RLIMIT_CPU: SIGXCPU at the soft limit, SIGKILL at the hard one (the job is pid 1 of its pid
            # namespace, which ignores SIGXCPU); either way the program ran out of CPU time.
            out_of_cpu = float(report.get("cpu_s", 0.0)) >= self.limits.cpu_s - 0.05
            if sig == signal.SIGXCPU or out_of_cpu:
                return -sig, "timeout"
            if self.group is not None and self.group.stats().get("oom_kills", 0) > 0:
                return -sig, "memory"  # the cgroup's memory limit (shmem, tmpfs, kernel memory included)
            if not any(r.get("running") for r in self.records) and self.violation is None:
                # Died before the program started, i.e. while compiling it under the policy.
                self.violation = {
                    "compile": f"the program could not be compiled under its limits (signal {sig}) "
                    "(rule: complexity)."
                }
            return -sig, "killed"
        code = int(report.get("exit", 1))
        if code == 0:
            return code, "ok"
        if code == child.EXIT_POLICY:
            return code, "policy"
        if code == child.EXIT_MEMORY:
            return code, "memory"
        return code, "error"


def cgroup_active() -> bool:
    layout = cgroup.layout()
    return layout.memory or layout.pids or layout.kill


def _new_group(limits: Limits) -> cgroup.JobGroup | None:
    """The job's cgroup when this machine allows one (see cgroup.py); None otherwise."""
    layout = cgroup.layout()
    if not (layout.memory or layout.pids or layout.kill):
        return None
    try:
        return cgroup.JobGroup(layout, cgroup.memory_limit_bytes(limits.memory_mb, limits.disk_mb))
    except OSError as err:
        raise SandboxError(f"cannot create the job's cgroup: {err}") from None


def _send_spec(sock: socket.socket, spec: dict[str, Any], timeout_s: float) -> None:
    """One datagram, or a header and parts when the program or its stdin is large."""
    import json

    data = json.dumps(spec).encode()
    sock.settimeout(timeout_s)
    try:
        if len(data) <= _SPEC_PART:
            sock.send(data)
            return
        parts = [data[i : i + _SPEC_PART] for i in range(0, len(data), _SPEC_PART)]
        sock.send(json.dumps({"parts": len(parts)}).encode())
        for part in parts:
            sock.send(part)
    finally:
        sock.settimeout(None)


def _run_plain(code: str, stdin: str | None, limits: Limits, start: float) -> Result:
    """Non-Linux fallback (macOS, Windows): separate interpreter, temp dir, scrubbed env, timeout. No jail."""
    from csteer.sandbox import probe

    probe.probe()  # warns once that the OS layers are missing
    with tempfile.TemporaryDirectory(prefix="csteer-sbx-") as workdir:
        path = os.path.join(workdir, "main.py")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(code)
        try:
            proc = subprocess.run(
                [sys.executable, "-I", path],
                cwd=workdir,
                env=probe.helper_env(),
                input=(stdin or "").encode(),
                capture_output=True,
                timeout=limits.timeout_s,
            )
        except subprocess.TimeoutExpired as err:
            partial = err.stdout if isinstance(err.stdout, bytes) else b""
            text = partial[: limits.output_bytes].decode("utf-8", "replace")
            return Result("timeout", text, "", None, time.monotonic() - start, False)
    out, err_b = proc.stdout, proc.stderr
    truncated = len(out) > limits.output_bytes or len(err_b) > limits.output_bytes
    stdout = out[: limits.output_bytes].decode("utf-8", "replace") + (
        TRUNCATION_MARKER if len(out) > limits.output_bytes else ""
    )
    stderr = err_b[: limits.output_bytes].decode("utf-8", "replace")
    status: Status = "output_limit" if truncated else ("ok" if proc.returncode == 0 else "error")
    return Result(status, stdout, stderr, proc.returncode, time.monotonic() - start, truncated)
