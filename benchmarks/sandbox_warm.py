"""sandbox_warm: a short program through the warm pool (policy + full jail) / a fresh `python3 file.py`.

The reference CodeSteer runs every program as a new `python3` subprocess with no sandbox; csteer's warm
pool forks a pre-started worker per job and still applies the policy, namespaces, the tmpfs root, the uid
drop, rlimits, seccomp and (round 2) a cgroup per job, the violation channel and policy compilation inside
the job. Goal <= 0.15 (issue 17; it was 0.3).

Before each timed run (either side) the warm pool is let come to rest (`settle`): the work it does
between jobs (the next spare's fork, set-up and warm-up, removing the last job's cgroup) is then timed on
neither side; `--layers` also reports jobs run back to back without it.

`python -m benchmarks.sandbox_warm --layers` prints what each round-2 layer costs (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from typing import Any

from benchmarks.common import interleave, main, result, timed

PROGRAM = "total = sum(i * i for i in range(1000))\nprint(total)\n"
EXPECTED = f"{sum(i * i for i in range(1000))}\n"


def checked_run(sandbox: Any, code: str = PROGRAM, expected: str = EXPECTED) -> None:
    """One job, judged like the first: a pool that fails fast must not look faster (every rep counts)."""
    out = sandbox.run(code)
    if out.status != "ok" or out.stdout != expected:
        raise RuntimeError(f"sandbox run failed: {out.status} {out.stdout[-100:]!r} {out.stderr[-200:]}")


def settle() -> None:
    """Before each timed run, either side: let the warm pool finish what it does between jobs (the next
    spare's fork and set-up, removing the last job's cgroup), so that neither side is timed with it."""
    from csteer.sandbox import pool

    warm = pool.get_pool()
    if warm is not None and not warm.settle(timeout_s=10):
        raise RuntimeError("the warm pool did not come to rest within 10 s")


def measure(quick: bool) -> dict[str, Any]:
    from csteer.sandbox import Limits, Sandbox, probe_layers

    sandbox = Sandbox(Limits(timeout_s=10))
    checked_run(sandbox)  # starts the warm pool (not timed)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "main.py")
        with open(path, "w") as fh:
            fh.write(PROGRAM)

        def warm() -> float:
            settle()
            return timed(lambda: checked_run(sandbox))

        def plain() -> None:
            out = subprocess.run([sys.executable, path], check=True, capture_output=True, text=True, cwd=tmp)
            if out.stdout != EXPECTED:
                raise RuntimeError(f"python3 printed {out.stdout[-100:]!r}")

        def cold() -> float:
            settle()
            return timed(plain)

        a, b = interleave(warm, cold, reps=30 if quick else 60, warmup=2)
    inactive = [row["name"] for row in probe_layers() if not row["active"]]
    note = "layers inactive: " + ", ".join(inactive) if inactive else "all layers active"
    return result("sandbox_warm", a, b, "s", "<= 0.15", "warm pool (policy + jail)", "python3 file.py", note)


def layers(reps: int = 40) -> dict[str, Any]:
    """The cost of each layer added in round 2 (issue 15), measured here, one at a time where possible."""
    import json
    import socket
    import statistics
    import time

    from csteer.sandbox import Limits, Sandbox, cgroup, policy, pool, probe, seccomp

    out: dict[str, Any] = {}
    box = Sandbox(Limits(timeout_s=10))
    checked_run(box)
    real = cgroup.layout()
    # 1. per-job cgroups (memory, pids, kill): warm runs with and without, interleaved
    with_cg, without_cg = [], []
    for i in range(reps):
        for on in (True, False) if i % 2 == 0 else (False, True):
            cgroup._layout = real if on else cgroup.Layout()
            settle()
            (with_cg if on else without_cg).append(timed(lambda: checked_run(box)))
    cgroup._layout = real
    out["cgroup_per_job_ms"] = 1000 * (statistics.median(with_cg) - statistics.median(without_cg))
    out["warm_job_ms_with_cgroup"] = 1000 * statistics.median(with_cg)
    out["cgroup"] = real.describe()

    # 2. the violation channel: one more socketpair per job and one "running" record through it
    def channel() -> None:
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        b.send(json.dumps({"running": True}).encode())
        json.loads(a.recv(8192))
        a.close()
        b.close()

    out["violation_channel_us"] = 1e6 * statistics.median(timed(channel) for _ in range(2000))
    # 3. policy compilation, now in the job (bounded walk added): moved off the caller, not added
    out["policy_compile_ms"] = 1000 * statistics.median(
        timed(lambda: policy.compile_solution(PROGRAM)) for _ in range(200)
    )
    # 4. seccomp additions: filter size, and what the whole filter costs per system call inside a job
    lib = seccomp.library()
    if lib is not None:
        out["seccomp_filter_instructions"] = len(seccomp.compile_filter()) // 8
        loop = "import os, time\nt = time.perf_counter()\nfor _ in range(200000):\n    os.getppid()\nprint(time.perf_counter() - t)"
        plan = probe.probe()["plan"]
        on = Sandbox(Limits(timeout_s=30), policy=False, plan=plan)
        off = Sandbox(Limits(timeout_s=30), policy=False, plan=dict(plan, seccomp=False))

        def loop_seconds(sandbox: Sandbox) -> float:
            out = sandbox.run(loop)
            if out.status != "ok":
                raise RuntimeError(f"seccomp loop failed: {out.status} {out.stderr[-200:]}")
            return float(out.stdout)

        t_on = statistics.median(loop_seconds(on) for _ in range(5))
        t_off = statistics.median(loop_seconds(off) for _ in range(5))
        out["seccomp_ns_per_syscall"] = 1e9 * (t_on - t_off) / 200000
    # 5. worker recycling: one worker start-up every RECYCLE_AFTER_JOBS jobs, in the background
    starts = []
    for _ in range(3):
        t0 = time.perf_counter()
        worker = pool.WarmPool()
        starts.append(time.perf_counter() - t0)
        worker.close()
    out["worker_start_s"] = statistics.median(starts)
    out["recycle_after_jobs"] = pool.RECYCLE_AFTER_JOBS
    out["recycle_ms_per_job"] = 1000 * out["worker_start_s"] / pool.RECYCLE_AFTER_JOBS
    # 6. jobs back to back, not settled: the next spare's fork and set-up and the last job's cgroup
    # removal (done between jobs) are then partly on the next job's path
    checked_run(box)
    out["back_to_back_ms"] = 1000 * statistics.median(timed(lambda: checked_run(box)) for _ in range(reps))
    settled = []
    for _ in range(reps):
        settle()
        settled.append(timed(lambda: checked_run(box)))
    out["settled_ms"] = 1000 * statistics.median(settled)
    return out


if __name__ == "__main__":
    if "--layers" in sys.argv:
        import json

        print(json.dumps(layers(), indent=2))
    else:
        main(measure)
