"""Where csteer keeps its data, for every part: CSTEER_HOME, else the platform's user data folder.

Linux: $XDG_DATA_HOME/csteer (~/.local/share/csteer); macOS: ~/Library/Application Support/csteer;
Windows: %LOCALAPPDATA%\\csteer (platformdirs decides). Every part takes its folder from here, so one
variable moves all of csteer's state (tests and benchmarks point it at a temp folder).
"""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """The root of csteer's data: $CSTEER_HOME when set (``~`` expanded), else the user data folder."""
    override = os.environ.get("CSTEER_HOME")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("csteer", appauthor=False))


def models_dir() -> Path:
    """The model store: registry.json and one folder per model (see csteer.models.registry)."""
    return home() / "models"


def runlog_path() -> Path:
    """The SQLite run log of `csteer ask` (see csteer.runlog)."""
    return home() / "runs.db"
