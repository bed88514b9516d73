"""`csteer sandbox run|check`: run a file in the sandbox; show the active layers and self-test them."""

from __future__ import annotations

import json
import math
import os
import sys

import click

from csteer.cli.common import handle_errors
from csteer.errors import CsteerError, UsageError

# Self-test check -> the layer whose absence makes its failure expected (a warning, not a failure).
_CHECK_LAYER = {
    "host files hidden and unwritable": "host file system hidden",
    "no network": "network isolation",
    "no new processes": "no new processes/threads",
    "memfd/SysV memory bounded": "cgroup memory (shm, tmpfs, kernel memory)",
    "tmpfs inodes bounded": "tmpfs inode limit",
    "no inotify on host files": "seccomp: memfd, SysV IPC, inotify, fanotify",
    "no orphans after the caller dies": "no orphans (a run dies with its caller)",
}


@click.group("sandbox")
def sandbox() -> None:
    """Run untrusted code in the restricted sandbox.

    \b
    Examples:
      csteer sandbox run solution.py
      echo 'print(2**100)' | csteer sandbox run - --json
      csteer sandbox check
    """


@sandbox.command("run")
@click.argument("file", metavar="FILE|-")
@click.option(
    "--timeout", "timeout_s", type=float, default=10.0, show_default=True, help="Wall-clock limit in seconds."
)
@click.option("--memory", "memory_mb", type=int, default=1024, show_default=True, help="Memory budget in MB.")
@click.option(
    "--input", "input_path", type=click.Path(dir_okay=False), help="File fed to the program's stdin."
)
@click.option("--no-policy", is_flag=True, help="Skip the RestrictedPython policy (OS jail only).")
@click.option("--warm", is_flag=True, help="Use the warm pool (pays its start-up once; useful in scripts).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@handle_errors
def run(
    file: str,
    timeout_s: float,
    memory_mb: int,
    input_path: str | None,
    no_policy: bool,
    warm: bool,
    as_json: bool,
) -> None:
    """Run FILE (or stdin with -) in the sandbox and print its stdout.

    Exits 0 whenever the sandbox did its job, whatever the program did; the program's status is on stderr
    (or in the JSON object: status, stdout, stderr, exit_code, duration_s, truncated).
    """
    from csteer.sandbox import Limits, Sandbox

    if not (0 < timeout_s <= 3600):
        raise UsageError("--timeout must be between 0 and 3600 seconds")
    if not (16 <= memory_mb <= 1 << 20):
        raise UsageError("--memory must be between 16 and 1048576 MB")
    code = _read_text(file, "program")
    stdin = _read_text(input_path, "input") if input_path else None
    limits = Limits(timeout_s=timeout_s, cpu_s=max(1, math.ceil(timeout_s)), memory_mb=memory_mb)
    result = Sandbox(limits, policy=not no_policy, pool=warm).run(code, stdin=stdin)
    if as_json:
        click.echo(json.dumps(result.to_dict()))
        return
    sys.stdout.write(result.stdout)
    sys.stdout.flush()
    if result.stderr:
        sys.stderr.write(result.stderr if result.stderr.endswith("\n") else result.stderr + "\n")
    if result.status != "ok":
        click.echo(f"csteer: sandbox: status {result.status}, exit code {result.exit_code}", err=True)


def _read_text(path: str, what: str) -> str:
    """The file's text. Bytes that are not UTF-8 are kept (surrogateescape): the sandbox, not this
    command, decides what becomes of such a program (a `policy` status naming the rule)."""
    if path == "-":
        data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
        return data.decode("utf-8", "surrogateescape")
    if not os.path.isfile(path):
        raise UsageError(f"{what} file not found: {path}")
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as fh:
            return fh.read()
    except OSError as err:
        raise UsageError(f"cannot read {what} file {path}: {err}") from None


@sandbox.command("check")
@click.option("--skip-selftest", is_flag=True, help="Only list the layers.")
@handle_errors
def check(skip_selftest: bool) -> None:
    """List the sandbox layers active here and run a containment self-test (exit 1 if containment fails)."""
    from csteer.sandbox import pool, probe, selftest

    report = probe.probe()
    rows = probe.layers(report)
    active = {name for name, ok, _ in rows if ok}
    click.echo("layers:")
    for name, ok, detail in rows:
        click.echo(f"  {'ok  ' if ok else 'warn'}  {name:<46} {detail}")
    pool_ok, pool_detail = pool.pool_status()
    click.echo(f"  {'ok  ' if pool_ok else 'warn'}  {'warm pool':<46} {pool_detail}")
    for err in report.get("errors", []):
        click.echo(f"  note  stronger plan unavailable: {err}")
    if skip_selftest:
        return
    click.echo("self-test (policy off, judged from the host):")
    failed = []
    for item in selftest.run_selftest(pool=pool_ok):
        layer = _CHECK_LAYER.get(item.name)
        if item.passed:
            mark = "pass"
        elif layer is not None and layer not in active:
            mark = "warn"  # expected: that layer is reported inactive above
        else:
            mark = "FAIL"
            failed.append(item.name)
        detail = " | ".join(line.strip() for line in item.detail.splitlines() if line.strip())
        click.echo(f"  {mark}  {item.name:<46} {detail}")
    if failed:
        raise CsteerError(f"sandbox containment self-test failed: {', '.join(failed)}")
    click.echo("self-test passed")
