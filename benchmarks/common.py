"""Shared measurement helpers: interleaved repetitions, medians, one result shape for every case."""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any


def interleave(
    a: Callable[[], float], b: Callable[[], float], reps: int, warmup: int = 1
) -> tuple[list[float], list[float]]:
    """Run a and b alternately `reps` times (after `warmup` rounds) so drift hits both alike.

    Each callable returns its own measurement (seconds, tokens/s, ...)."""
    for _ in range(warmup):
        a()
        b()
    xs, ys = [], []
    for i in range(reps):
        if i % 2 == 0:
            xs.append(a())
            ys.append(b())
        else:
            ys.append(b())
            xs.append(a())
    return xs, ys


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def result(
    name: str,
    a: list[float],
    b: list[float],
    unit: str,
    goal: str | None,
    a_label: str,
    b_label: str,
    note: str = "",
) -> dict[str, Any]:
    """ratio = median(a) / median(b); min/max ratios from the paired repetitions show the noise."""
    ma, mb = statistics.median(a), statistics.median(b)
    pairs = [x / y for x, y in zip(a, b) if y]
    out: dict[str, Any] = {
        "name": name,
        "ratio": ma / mb if mb else float("inf"),
        "a": ma,
        "b": mb,
        "unit": unit,
        "a_label": a_label,
        "b_label": b_label,
        "ratio_min": min(pairs) if pairs else None,
        "ratio_max": max(pairs) if pairs else None,
        "reps": len(a),
        "goal": goal,
        "note": note,
    }
    out["met"] = goal_met(out["ratio"], goal)
    return out


def goal_met(ratio: float, goal: str | None) -> bool | None:
    if not goal:
        return None
    op, value = goal.split()
    return ratio >= float(value) if op == ">=" else ratio <= float(value)


def main(measure: Callable[[bool], dict[str, Any]]) -> None:
    """Standalone entry for one case: `python -m benchmarks.<case> [--quick]` prints its JSON."""
    quick = "--quick" in sys.argv
    print(json.dumps(measure(quick), indent=2))
