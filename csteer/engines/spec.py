"""Parse model spec strings and build engines; one shared instance per local model file."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from csteer.errors import UsageError
from csteer.engines.base import Engine

OLLAMA_URL = "http://127.0.0.1:11434/v1"
ENGINES = ("gguf", "onnx", "openai", "ollama", "anthropic")


@dataclass(frozen=True)
class EngineSpec:
    engine: str  # one of ENGINES
    target: str  # file path, directory or remote model name
    base_url: str | None = None
    kind: str | None = None  # "base" | "instruct" from the catalog/store, None = unknown
    catalog_name: str | None = None

    @property
    def is_local(self) -> bool:
        return self.engine in ("gguf", "onnx")


@dataclass(frozen=True)
class EngineOptions:
    n_ctx: int = 8192
    gpu_layers: int | None = None  # None = all layers when the build can offload
    threads: int | None = None  # None = chosen from physical cores
    timeout_s: float = 120.0
    max_retries: int = 3
    verbose: bool = False


def parse_spec(spec: str, notify: Callable[[str], None] | None = None) -> EngineSpec:
    """Turn a spec string into an EngineSpec; catalog and store names are resolved to files."""
    spec = (spec or "").strip()
    if not spec:
        raise UsageError("empty model spec")
    prefix, sep, rest = spec.partition(":")
    if sep and prefix in ENGINES:
        if not rest:
            raise UsageError(f"model spec {spec!r} names no model after '{prefix}:'")
        if prefix == "openai":
            model, at, url = rest.partition("@")
            if at and not url:
                raise UsageError(f"model spec {spec!r}: empty base URL after '@'")
            return EngineSpec("openai", model, base_url=url or None)
        if prefix == "ollama":
            return EngineSpec("openai", rest, base_url=os.environ.get("OLLAMA_BASE_URL", OLLAMA_URL))
        if prefix in ("gguf", "onnx"):
            return EngineSpec(prefix, str(Path(rest).expanduser()))
        return EngineSpec(prefix, rest)
    if spec.endswith(".gguf"):
        return EngineSpec("gguf", str(Path(spec).expanduser()))
    return _resolve_name(spec, notify)


def _resolve_name(name: str, notify: Callable[[str], None] | None) -> EngineSpec:
    from csteer.models.catalog import CATALOG

    if name == "embedded":
        from csteer.models.embedded import ensure_embedded

        return EngineSpec("gguf", str(ensure_embedded(notify)), kind="base", catalog_name="embedded")
    try:  # user models registered in the store (csteer models import/pull)
        from csteer.models.store import lookup
    except ImportError:
        lookup = None  # type: ignore[assignment]
    if lookup is not None:
        entry = lookup(name)
        if entry is not None:
            return EngineSpec(entry.format, str(entry.path), kind=entry.kind, catalog_name=name)
    if name in CATALOG:
        raise UsageError(f"model {name!r} is not in the local store yet; run `csteer models pull {name}`")
    engines = ", ".join(f"{e}:" for e in ENGINES)
    raise UsageError(f"unknown model {name!r}: use a catalog name (embedded), a store name, or {engines}")


_shared: dict[tuple[str, str], Engine] = {}
_shared_lock = threading.Lock()


def create_engine(spec: EngineSpec, options: EngineOptions | None = None, kind: str | None = None) -> Engine:
    """Build the engine for `spec`. Local models are loaded once per process and shared (coach == task)."""
    options = options or EngineOptions()
    # unknown kind: remote models are taken as instruct; local ones decide from their chat template
    kind = kind or spec.kind or (None if spec.is_local else "instruct")
    if spec.is_local:
        key = (spec.engine, os.path.realpath(spec.target))
        with _shared_lock:
            if key not in _shared:
                _shared[key] = _build(spec, options, kind)
            engine = _shared[key]
        return engine
    return _build(spec, options, kind)


def release_shared() -> None:
    with _shared_lock:
        for engine in _shared.values():
            engine.close()
        _shared.clear()


def _build(spec: EngineSpec, options: EngineOptions, kind: str | None) -> Engine:
    if spec.engine == "gguf":
        from csteer.engines.llamacpp import LlamaCppEngine

        return LlamaCppEngine(spec.target, options=options, kind=kind)
    if spec.engine == "onnx":
        from csteer.models.store import guess_kind
        from csteer.engines.onnx import OnnxEngine

        return OnnxEngine(
            spec.target, options=options, kind=kind or guess_kind("onnx", Path(spec.target), {})
        )
    if spec.engine == "openai":
        from csteer.engines.openai_compat import OpenAIEngine

        return OpenAIEngine(spec.target, base_url=spec.base_url, options=options, kind=kind or "instruct")
    if spec.engine == "anthropic":
        from csteer.engines.anthropic_engine import AnthropicEngine

        return AnthropicEngine(spec.target, options=options, kind=kind or "instruct")
    raise UsageError(f"unknown engine {spec.engine!r}")
