"""The task model and coach a command uses when none is named: `csteer models default`.

In order: the command's `-m` / `--coach`, then $CSTEER_MODEL / $CSTEER_COACH, then the default stored
with `csteer models default` (in registry.json, so it lives and moves with the store), then `embedded`.
A stored default is checked when it is set (a store name must be installed, a path is made absolute)
and again when it is used, like any spec.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from csteer.engines.spec import parse_explicit
from csteer.errors import UsageError
from csteer.models import registry
from csteer.models.catalog import CATALOG

ROLES = ("model", "coach")
ROLE_NAMES = {"model": "task model", "coach": "coach"}
ENV = {"model": "CSTEER_MODEL", "coach": "CSTEER_COACH"}
BUILT_IN = "embedded"


@dataclass(frozen=True)
class Default:
    role: str  # model | coach
    spec: str
    source: str  # where it came from: "$CSTEER_MODEL", "csteer models default", "built-in"


def current(role: str) -> Default:
    """The spec `role` falls back to when the command names none, and where it came from."""
    from_env = os.environ.get(ENV[role], "").strip()
    if from_env:
        return Default(role, from_env, f"${ENV[role]}")
    stored = registry.read_defaults().get(role)
    if stored:
        return Default(role, stored, "csteer models default")
    return Default(role, BUILT_IN, "built-in")


def installed_name(spec: str) -> bool:
    """True for a bare name the store can resolve now: embedded (assembled on use) or a registered model."""
    return spec == BUILT_IN or spec in registry.read_records()


def checked_spec(spec: str) -> str:
    """`spec` as it is stored: an explicit spec with its path made absolute (a default is used from any
    folder), a store name only once it is installed."""
    spec = spec.strip()
    explicit = parse_explicit(spec)
    if explicit is not None:
        if explicit.engine in ("gguf", "onnx"):
            path = Path(explicit.target).resolve()
            if not path.exists():
                raise UsageError(f"{path} does not exist")
            return f"{explicit.engine}:{path}"
        return spec
    if installed_name(spec):
        return spec
    if spec in CATALOG:
        raise UsageError(f"model {spec!r} is not in the local store yet; run `csteer models pull {spec}`")
    raise UsageError(f"unknown model {spec!r}: use a store name (see `csteer models list`) or an engine spec")


def set_default(role: str, spec: str | None) -> Default:
    """Store `spec` as `role`'s default (None: forget it, back to embedded); returns what is now in
    effect, which an environment variable may still override."""
    value = None if spec is None else checked_spec(spec)
    with registry.locked():
        defaults = registry.read_defaults()
        if value is None or value == BUILT_IN:
            defaults.pop(role, None)
        else:
            defaults[role] = value
        registry.write_records(registry.read_records(), defaults)
    return current(role)


def roles_of(name: str) -> list[str]:
    """The roles whose stored default is the store model `name`."""
    return [role for role, spec in registry.read_defaults().items() if spec == name]
