"""constraints.txt pins what the measured figures depend on, and the install that CI and README use honours it."""

from __future__ import annotations

import os
import re
from importlib.metadata import version
from pathlib import Path

import pytest

from benchmarks.__main__ import (
    MEASURED_LIBRARIES,
    canonical,
    library_versions,
    off_constraints,
    pinned_versions,
)

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parent.parent


def test_every_measured_library_is_pinned() -> None:
    pins = pinned_versions()
    assert {canonical(n) for n in MEASURED_LIBRARIES} <= set(pins), "a measured library has no pin"


def test_pins_agree_with_pyproject() -> None:
    """An exact pin in pyproject.toml and a different one in constraints.txt cannot both install."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"]) + [
        d for ds in project["optional-dependencies"].values() for d in ds
    ]
    pins = pinned_versions()
    for spec in wanted:
        exact = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^;\s]+)", spec)
        if exact and canonical(exact[1]) in pins:
            assert pins[canonical(exact[1])] == exact[2], spec


def test_install_lines_use_the_constraints() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install -c constraints.txt -e '.[all]'" in readme
    assert re.search(r"pip install .*-c constraints\.txt -e '\.\[all\]'", ci)


def test_off_constraints_names_each_difference() -> None:
    pins = {"onnxruntime": "1.32.0", "torch": "2.13.0"}
    assert off_constraints({"onnxruntime": "1.32.0", "torch": "2.13.0+cpu"}, pins) == []
    assert off_constraints({"onnxruntime": "1.31.1", "torch": "2.13.0+cpu", "rich": "15"}, pins) == [
        "onnxruntime 1.31.1 (pinned 1.32.0)"
    ]


def test_pinned_versions_reads_comments_and_case(tmp_path: Path) -> None:
    f = tmp_path / "c.txt"
    f.write_text("# pins\nRestrictedPython==9.0  # policy\nonnx_ir == 1.1.0\nrich>=13\n")
    assert pinned_versions(f) == {"restrictedpython": "9.0", "onnx-ir": "1.1.0"}


@pytest.mark.skipif(os.environ.get("CI") != "true", reason="CI installs with -c constraints.txt")
def test_ci_installed_the_pinned_versions() -> None:
    assert off_constraints(library_versions(), pinned_versions()) == []
    assert version("llama-cpp-python") == pinned_versions()["llama-cpp-python"]
