"""Resolve a model spec string to an EngineSpec: explicit engine specs pass through, names are looked up.

`embedded` is assembled into the store on first use; other names come from the model store
(`csteer models import/pull`); a catalog name that is not in the store yet gets a pointed error.
"""

from __future__ import annotations

from collections.abc import Callable

from csteer.engines.spec import ENGINES, EngineSpec, parse_explicit
from csteer.errors import UsageError


def resolve(spec: str, notify: Callable[[str], None] | None = None) -> EngineSpec:
    """Turn a spec string into an EngineSpec; catalog and store names are resolved to files."""
    explicit = parse_explicit(spec)
    if explicit is not None:
        return explicit
    return _resolve_name(spec.strip(), notify)


def _resolve_name(name: str, notify: Callable[[str], None] | None) -> EngineSpec:
    from csteer.models.catalog import CATALOG

    if name == "embedded":
        from csteer.models.embedded import ensure_embedded

        return EngineSpec("gguf", str(ensure_embedded(notify)), kind="base", catalog_name="embedded")
    from csteer.models.registry import lookup  # user models registered by `csteer models import/pull`

    entry = lookup(name)
    if entry is not None:
        return EngineSpec(entry.format, str(entry.path), kind=entry.kind, catalog_name=name)
    if name in CATALOG:
        raise UsageError(f"model {name!r} is not in the local store yet; run `csteer models pull {name}`")
    engines = ", ".join(f"{e}:" for e in ENGINES)
    raise UsageError(f"unknown model {name!r}: use a catalog name (embedded), a store name, or {engines}")
