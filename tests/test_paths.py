"""csteer.paths: one variable (CSTEER_HOME) moves every part's data; else the platform's data folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from csteer import paths, runlog


def test_csteer_home_overrides_and_expands_the_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CSTEER_HOME", "~/state")
    assert paths.home() == tmp_path / "state"
    assert paths.models_dir() == tmp_path / "state" / "models"
    assert paths.runlog_path() == tmp_path / "state" / "runs.db"


def test_every_part_takes_its_folder_from_paths(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from csteer.models import registry, staging

    monkeypatch.setenv("CSTEER_HOME", str(tmp_path))
    assert runlog.db_path() == paths.runlog_path()
    assert registry.registry_path().parent == paths.models_dir()
    assert staging.partial_dir().parent == paths.models_dir()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG layout is Linux's")
def test_without_csteer_home_the_xdg_data_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CSTEER_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert paths.home() == tmp_path / "xdg" / "csteer"
    monkeypatch.setenv("CSTEER_HOME", "")  # empty counts as unset
    assert paths.home() == tmp_path / "xdg" / "csteer"
