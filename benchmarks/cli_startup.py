"""cli_startup: `csteer --help` wall time / `python -c "import click"`. Goal <= 2 (lazy imports)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from benchmarks.common import interleave, main, result, timed


def measure(quick: bool) -> dict[str, Any]:
    ours = [sys.executable, "-m", "csteer", "--help"]
    base = [sys.executable, "-c", "import click"]

    def run(cmd: list[str]) -> float:
        return timed(lambda: subprocess.run(cmd, check=True, capture_output=True))

    a, b = interleave(lambda: run(ours), lambda: run(base), reps=5 if quick else 15)
    return result("cli_startup", a, b, "s", "<= 2", "csteer --help", "import click")


if __name__ == "__main__":
    main(measure)
