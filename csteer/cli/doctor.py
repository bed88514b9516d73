"""`csteer doctor`: check the installation (engines, GPU, sandbox, model store, run log, network)."""

from __future__ import annotations

import json
import sys

import click

from csteer.cli.common import handle_errors

_MARK = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}


@click.command()
@click.option("--network", is_flag=True, help="Also check that configured remote engines are reachable.")
@click.option("--json", "as_json", is_flag=True, help="Print the checks as a JSON list.")
@handle_errors
def doctor(network: bool, as_json: bool) -> None:
    """Check the installation. Each line is ok, warn or FAIL, with a hint; exit 1 if any check fails."""
    from csteer.doctor import FAIL, run_checks

    checks = run_checks(network=network)
    if as_json:
        click.echo(json.dumps([c.to_dict() for c in checks], indent=2))
    else:
        width = max(len(c.name) for c in checks)
        for c in checks:
            click.echo(f"[{_MARK.get(c.status, c.status)}] {c.name:<{width}}  {c.detail}")
            if c.hint and c.status != "ok":
                click.echo(f"       {'':<{width}}  hint: {c.hint}")
    failed = [c.name for c in checks if c.status == FAIL]
    if failed:
        click.echo(f"csteer: doctor: {len(failed)} check(s) failed: {', '.join(failed)}", err=True)
        sys.exit(1)
