"""Every store test gets its own CSTEER_HOME, so the user's model store is never touched."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "csteer-home"
    monkeypatch.setenv("CSTEER_HOME", str(path))
    return path
