"""`csteer sandbox run|check` through the real command group."""

from __future__ import annotations

import json

from click.testing import CliRunner

from csteer.cli.main import cli


def test_run_prints_program_stdout(tmp_path) -> None:
    program = tmp_path / "p.py"
    program.write_text("import math\nprint(math.comb(10, 3))\n")
    result = CliRunner().invoke(cli, ["sandbox", "run", str(program)])
    assert result.exit_code == 0, result.output
    assert result.stdout == "120\n"


def test_run_json_has_exactly_the_result_fields() -> None:
    result = CliRunner().invoke(cli, ["sandbox", "run", "-", "--json"], input="print(2**10)\n")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert list(data) == ["status", "stdout", "stderr", "exit_code", "duration_s", "truncated"]
    assert (data["status"], data["stdout"], data["exit_code"], data["truncated"]) == (
        "ok",
        "1024\n",
        0,
        False,
    )


def test_failing_program_still_exits_zero(tmp_path) -> None:
    program = tmp_path / "bad.py"
    program.write_text("import os\n")
    result = CliRunner().invoke(cli, ["sandbox", "run", str(program)])
    assert result.exit_code == 0
    assert "status policy" in result.stderr and "import-allowlist" in result.stderr
    result = CliRunner().invoke(
        cli, ["sandbox", "run", "-", "--json", "--timeout", "1"], input="while True: pass\n"
    )
    assert result.exit_code == 0 and json.loads(result.stdout)["status"] == "timeout"


def test_input_memory_and_no_policy_options(tmp_path) -> None:
    data = tmp_path / "in.txt"
    data.write_text("3 4\n")
    result = CliRunner().invoke(
        cli,
        ["sandbox", "run", "-", "--input", str(data), "--no-policy", "--memory", "256", "--json"],
        input="import os, sys\na, b = map(int, sys.stdin.read().split())\nprint(a * b, os.getuid() >= 0)\n",
    )
    assert json.loads(result.stdout)["stdout"] == "12 True\n"


def test_bad_input_is_one_line_usage_error(tmp_path) -> None:
    for args in (["sandbox", "run", str(tmp_path / "missing.py")], ["sandbox", "run", "-", "--timeout", "0"]):
        result = CliRunner().invoke(cli, args, input="print(1)")
        assert result.exit_code == 2
        assert result.stderr.startswith("csteer: error:") and result.stderr.count("\n") == 1
        assert "Traceback" not in result.output


def test_check_lists_layers_and_passes_selftest() -> None:
    result = CliRunner().invoke(cli, ["sandbox", "check"])
    assert result.exit_code == 0, result.output
    for layer in ("policy (RestrictedPython)", "network isolation", "host file system hidden", "warm pool"):
        assert layer in result.stdout
    assert "self-test passed" in result.stdout
    assert "FAIL" not in result.stdout


BAD_PROGRAMS = [
    "x = " + "-" * 200_000 + "1",  # deep unary chain (the parser)
    "x = " + "+".join(["1"] * 100_000),  # deep binary chain (RecursionError in a transformer)
    "x = [" * 150 + "]" * 150,
    "def f(:\n  pass",
    "print(1)\0",
    "\t  \n   x = 1",
    "",
    "return 5",
    "from __future__ import braces",
    "import os",
    "exec('1 +')",
]


def test_no_traceback_for_any_program_text(tmp_path) -> None:
    """Whatever the text, `csteer sandbox run` prints one JSON status, never a traceback."""
    programs = [text.encode() for text in BAD_PROGRAMS] + [
        b"x = '\xff\xfe'\nprint(x)\n",
        b"\xef\xbb\xbf\xc3(",
    ]
    for i, data in enumerate(programs):
        path = tmp_path / f"p{i}.py"
        path.write_bytes(data)
        result = CliRunner().invoke(cli, ["sandbox", "run", str(path), "--json"])
        assert result.exit_code == 0, (data[:60], result.output[-500:])
        assert "Traceback" not in result.stderr, (data[:60], result.stderr[-500:])
        status = json.loads(result.stdout)
        assert status["status"] in ("ok", "error", "policy"), (data[:60], status)
        if status["status"] == "policy" and status["exit_code"] is None:
            assert status["stderr"].count("\n") == 0 and "rule:" in status["stderr"], status


def test_check_reports_the_round_two_layers() -> None:
    result = CliRunner().invoke(cli, ["sandbox", "check", "--skip-selftest"])
    assert result.exit_code == 0, result.output
    for layer in (
        "seccomp: memfd, SysV IPC, inotify, fanotify",
        "no orphans (a run dies with its caller)",
        "tmpfs inode limit",
        "cgroup memory (shm, tmpfs, kernel memory)",
        "cgroup pids limit",
        "cgroup kill (whole job at once)",
    ):
        assert layer in result.stdout
