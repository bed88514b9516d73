"""Parse explicit model specs and build engines; one shared instance per local model file."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from csteer.engines.base import Engine, EngineOptions
from csteer.errors import UsageError

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


def parse_explicit(spec: str) -> EngineSpec | None:
    """Parse an explicit engine spec (`gguf:PATH`, `openai:MODEL@URL`, a `.gguf` path ...); None for a
    bare name, which `csteer.models.resolve` looks up in the catalog and the model store."""
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
    return None


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
        from csteer.engines.onnx import OnnxEngine

        return OnnxEngine(spec.target, options=options, kind=kind)
    if spec.engine == "openai":
        from csteer.engines.openai_compat import OpenAIEngine

        return OpenAIEngine(spec.target, base_url=spec.base_url, options=options, kind=kind or "instruct")
    if spec.engine == "anthropic":
        from csteer.engines.anthropic_engine import AnthropicEngine

        return AnthropicEngine(spec.target, options=options, kind=kind or "instruct")
    raise UsageError(f"unknown engine {spec.engine!r}")
