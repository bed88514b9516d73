"""Model engines behind one protocol, and the spec strings that select them.

Spec forms:
  embedded, codesteer-v1, <store name>   catalog / model-store names (resolved by csteer.models.resolve)
  gguf:PATH                              llama-cpp-python in-process
  onnx:DIR                               onnxruntime with csteer's own decode loop
  openai:MODEL[@BASE_URL]                any OpenAI-compatible server (OPENAI_BASE_URL / OPENAI_API_KEY honoured)
  ollama:MODEL                           Ollama's local OpenAI-compatible /v1
  anthropic:MODEL                        the Anthropic Messages API (extra `anthropic`)
"""

from csteer.engines.base import (
    Choice,
    Completion,
    Engine,
    EngineOptions,
    Message,
    ScoringEngine,
    Timing,
    Usage,
    as_scoring,
)
from csteer.engines.spec import EngineSpec, create_engine, parse_explicit

__all__ = [
    "Choice",
    "Completion",
    "Engine",
    "EngineOptions",
    "EngineSpec",
    "Message",
    "ScoringEngine",
    "Timing",
    "Usage",
    "as_scoring",
    "create_engine",
    "parse_explicit",
]
