"""Where the machine allows the full jail, the probe must pick it and every layer must be active.

Whether the full plan is possible is decided here from the host, not by asking the probe: Linux, root,
`unshare` of the mount/net/ipc/uts namespaces works, libseccomp loads, and a memory cgroup controller is
mounted writable. A probe that settles for less on such a machine (a layer broken by a change, a plan
tried in the wrong order) fails this test even when CSTEER_REQUIRE_JAIL is not set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from tests.sandbox.conftest import degraded, memory_controller_writable


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    proc = subprocess.run(["unshare", "--mount", "--net", "--ipc", "--uts", "true"], capture_output=True)
    return proc.returncode == 0


def _possible() -> list[str]:
    """What stands in the way of the full plan on this machine (empty: it is possible)."""
    from csteer.sandbox import seccomp

    missing = []
    if not sys.platform.startswith("linux"):
        return ["not Linux"]
    if os.geteuid() != 0:
        missing.append("not root")
    if not _unshare_works():
        missing.append("`unshare --mount --net --ipc --uts` fails")
    if seccomp.library() is None:
        missing.append("no libseccomp")
    if not memory_controller_writable():
        missing.append("no writable memory cgroup controller")
    return missing


def test_full_plan_where_the_machine_allows_it() -> None:
    missing = _possible()
    if missing:  # nothing to require where the machine does not allow it (the other tests fail then)
        pytest.skip("the full jail is not possible here: " + ", ".join(missing))
    from csteer.sandbox import probe

    report = probe.probe()
    strongest = probe._candidates()[0]
    assert report["plan"] == strongest.to_dict(), (report["plan"], report.get("errors"))
    assert strongest.namespaces and strongest.new_root and strongest.seccomp and strongest.unique_uid
    inactive = [name for name, active, detail in probe.layers(report) if not active]
    assert inactive == [], f"inactive layers on a machine that allows all: {inactive}"


def test_check_shows_no_warning_where_the_full_plan_is_possible() -> None:
    if _possible():
        pytest.skip("the full jail is not possible here: " + ", ".join(_possible()))
    from csteer.cli.main import cli

    result = CliRunner().invoke(cli, ["sandbox", "check", "--skip-selftest"])
    assert result.exit_code == 0, result.output
    warned = [line for line in result.stdout.splitlines() if "warn" in line.lower()]
    assert warned == [], warned


@pytest.mark.parametrize("value", ["1", ""])
def test_degraded_fails_only_when_the_jail_is_required(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The switch itself: CSTEER_REQUIRE_JAIL=1 turns a degraded-jail skip into a failure."""
    monkeypatch.setenv("CSTEER_REQUIRE_JAIL", value)
    expected = pytest.fail.Exception if value == "1" else pytest.skip.Exception
    with pytest.raises(expected, match="degraded"):
        degraded("the OS jail is degraded")
