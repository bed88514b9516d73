"""Where csteer keeps its data: the model store and the run log (CSTEER_HOME overrides)."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    override = os.environ.get("CSTEER_HOME")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("csteer", appauthor=False))


def models_dir() -> Path:
    return home() / "models"
