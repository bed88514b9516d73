"""The benchmark runner's command line: --help teaches, and a typo stops it instead of starting every
case (tens of minutes) or a case that does not exist."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks.__main__ import CASES, MANUAL, bad_argument

ROOT = Path(__file__).resolve().parents[1]


def test_known_cases_and_flags_pass_and_typos_are_named() -> None:
    assert bad_argument([]) is None
    assert bad_argument(["--quick", "--json", *CASES, *MANUAL]) is None
    assert bad_argument(["--hlep"]) == "unknown option '--hlep' (python -m benchmarks --help)"
    assert bad_argument(["everyday", "evryday"]) == (
        "unknown case 'evryday' (python -m benchmarks --help lists them)"
    )


def test_help_lists_every_case_and_a_typo_exits_2_in_one_line() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0 and all(f"  {name}" in shown.stdout for name in [*CASES, *MANUAL])
    typo = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--json", "evryday"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert typo.returncode == 2 and typo.stdout == ""
    assert typo.stderr.strip().splitlines() == [
        "benchmarks: unknown case 'evryday' (python -m benchmarks --help lists them)"
    ]
