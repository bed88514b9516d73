"""The original SymBench data (../shared/symbench/dataset_gather beside the checkout, or
CSTEER_SYMBENCH_DATA). Tests that read it take the `symbench_data` fixture: where the data is absent they
skip, except under CI=true, where the absence fails them (a CI run that skips the data tests has not run
them)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("CSTEER_SYMBENCH_DATA") or REPO.parent / "shared" / "symbench" / "dataset_gather")


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require_data(path: Path = DATA) -> Path:
    if path.is_dir():
        return path
    reason = f"SymBench data not found at {path} (set CSTEER_SYMBENCH_DATA)"
    if on_ci():
        pytest.fail(f"{reason}; CI is set, so missing data fails instead of skipping", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def symbench_data() -> Path:
    return require_data()
