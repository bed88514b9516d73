"""Choose a decode thread count that does not oversubscribe the CPU.

llama.cpp's decode collapses (85 -> <1 tokens/s measured on a 2-core machine) when it runs more threads
than there are idle physical cores, because its threads spin-wait on each other. So: physical cores
(hyper-threads do not help matmul-bound decode), limited to this process's CPU affinity, minus the cores
other processes keep busy right now (sampled from /proc/stat; load average elsewhere).
"""

from __future__ import annotations

import os
from pathlib import Path


def physical_cores() -> int:
    """Distinct (package, core) pairs among the CPUs this process may run on; falls back to logical CPUs."""
    try:
        allowed = sorted(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        allowed = list(range(os.cpu_count() or 1))
    cores = set()
    for cpu in allowed:
        topo = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            cores.add(
                (
                    topo.joinpath("physical_package_id").read_text().strip(),
                    topo.joinpath("core_id").read_text().strip(),
                )
            )
        except OSError:
            cores.add(("cpu", str(cpu)))
    return max(1, len(cores))


def _cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies over all CPUs from /proc/stat; None where there is no /proc."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already counted in user
    return total - idle, total


def busy_cores(window_s: float = 0.1) -> int:
    """Cores other processes keep busy right now (we are idle while sampling).

    /proc/stat over a short window reflects the present; the 1-minute load average lags by a minute
    and also counts our own earlier work, which made the choice too timid right after a busy spell."""
    import time

    first = _cpu_times()
    if first is not None:
        time.sleep(window_s)
        second = _cpu_times()
        if second is not None and second[1] > first[1]:
            share = (second[0] - first[0]) / (second[1] - first[1])
            return int(share * (os.cpu_count() or 1) + 0.3)  # a core counts as busy above ~70% use
    try:
        return int(os.getloadavg()[0] + 0.5)
    except (AttributeError, OSError):
        return 0


def choose_threads(requested: int | None = None) -> int:
    """`requested` (or CSTEER_THREADS) wins; otherwise idle physical cores, at least 1."""
    if requested:
        return max(1, requested)
    env = os.environ.get("CSTEER_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, physical_cores() - busy_cores())
