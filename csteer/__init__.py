"""csteer: an edge runtime for CodeSteer-style code/text steering of language models.

The verbs, importable without loading any model library until one is called:

    answer_question(question, RunSettings(...))   one steered answer (what `csteer ask` does) -> Run
    build_loop(RunSettings(...))                  the SteeringLoop for a setting, to run many questions
    run_bench(BenchConfig(...))                   SymBench into a resumable results file -> Summary
    pull(name), convert(name, to=...)             the model store (`csteer models`)
    to_gguf(src, out, quant), to_onnx(src, out)   quantization (`csteer quantize`)
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_VERBS = {
    "answer_question": "csteer.runtime.ask",
    "build_loop": "csteer.runtime.assemble",
    "Assembly": "csteer.runtime.assemble",
    "RunSettings": "csteer.runtime.settings",
    "run_bench": "csteer.bench.runner",
    "BenchConfig": "csteer.bench.runner",
    "pull": "csteer.models.pull",
    "convert": "csteer.models.pull",
    "to_gguf": "csteer.quantize",
    "to_onnx": "csteer.quantize",
}
__all__ = ["__version__", *_VERBS]


def __getattr__(name: str) -> Any:
    module = _VERBS.get(name)
    if module is None:
        raise AttributeError(f"module 'csteer' has no attribute {name!r}")
    return getattr(import_module(module), name)
