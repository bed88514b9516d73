"""Where a run's seconds go: time summed per phase (model load, coach, drafting, sandbox, self-check).

The loop wraps each piece of work in `clock.phase(name)`; the totals land in `Run.phases` (and so in
`csteer ask --json`, the run log and the bench records). Sandbox runs overlap the next draft in the
vote's worker threads, so the phases can add up to more than the run's wall time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

PHASES = ("load", "coach", "draft", "sandbox", "check")  # the order reports list them in


class PhaseClock:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()  # sandbox runs report from the vote's worker threads

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def add(self, name: str, seconds: float) -> None:
        with self._lock:
            self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def totals(self) -> dict[str, float]:
        """Seconds per phase, in PHASES order (other names after), rounded to the millisecond."""
        with self._lock:
            names = [p for p in PHASES if p in self.seconds] + sorted(set(self.seconds) - set(PHASES))
            return {name: round(self.seconds[name], 3) for name in names}
