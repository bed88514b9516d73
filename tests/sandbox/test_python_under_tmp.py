"""Regression: Python living under /tmp (a CI checkout's venv there) stays visible inside the jail.

The jail mounts private tmpfs over /tmp; without care that hid the interpreter's own packages, and any
module not imported before the jail went up failed to import."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_packages_of_a_venv_under_tmp_are_importable(tmp_path: Path, warm: bool) -> None:
    if not str(tmp_path).startswith("/tmp/"):
        pytest.skip(f"pytest's tmp_path is not under /tmp here ({tmp_path})")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    site.mkdir(parents=True, exist_ok=True)
    # csteer and its dependencies come from this test's environment; the probe module only from /tmp
    here = [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
    (site / "_csteer_test.pth").write_text("\n".join([str(REPO), *here]) + "\n")
    (site / "held_probe.py").write_text("VALUE = 6 * 7\n")
    cmd = [str(venv / "bin" / "python"), "-m", "csteer", "sandbox", "run", "-", "--no-policy", "--json"]
    if warm:
        cmd.append("--warm")
    proc = subprocess.run(
        cmd, input="import held_probe\nprint(held_probe.VALUE)\n", capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["status"] == "ok", result["stderr"]
    assert result["stdout"].strip() == "42"
