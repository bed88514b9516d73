"""sandbox_warm: a short program through the warm pool (policy + full jail) / a fresh `python3 file.py`.

The reference CodeSteer runs every program as a new `python3` subprocess with no sandbox; csteer's warm
pool forks a pre-started worker per job and still applies the policy, namespaces, the tmpfs root, the uid
drop and rlimits. Goal <= 0.3.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from typing import Any

from benchmarks.common import interleave, main, result, timed

PROGRAM = "total = sum(i * i for i in range(1000))\nprint(total)\n"


def measure(quick: bool) -> dict[str, Any]:
    from csteer.sandbox import Limits, Sandbox, probe_layers

    sandbox = Sandbox(Limits(timeout_s=10))
    first = sandbox.run(PROGRAM)  # starts the warm pool (not timed)
    if first.status != "ok":
        raise RuntimeError(f"sandbox failed: {first.status} {first.stderr[-200:]}")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "main.py")
        with open(path, "w") as fh:
            fh.write(PROGRAM)

        def warm() -> float:
            return timed(lambda: sandbox.run(PROGRAM))

        def cold() -> float:
            return timed(
                lambda: subprocess.run([sys.executable, path], check=True, capture_output=True, cwd=tmp)
            )

        a, b = interleave(warm, cold, reps=30 if quick else 60, warmup=2)
    inactive = [row["name"] for row in probe_layers() if not row["active"]]
    note = "layers inactive: " + ", ".join(inactive) if inactive else "all layers active"
    return result("sandbox_warm", a, b, "s", "<= 0.3", "warm pool (policy + jail)", "python3 file.py", note)


if __name__ == "__main__":
    main(measure)
