"""ONNX causal LMs (optimum's text-generation-with-past export) through onnxruntime, with our own decode loop.

Why not optimum's `generate`: on a small CPU its per-step overhead dominates (3x slower here). The loop
below feeds `input_ids`, `attention_mask`, `position_ids` and the `past_key_values.*` tensors directly and
keeps the `present.*` outputs as the next step's cache. The prompt's cache is kept between calls, so a
conversation that grows by one turn only evaluates the new tokens, and `choose` scores every option on
top of the same prompt cache.

Grammars: onnxruntime has no constrained sampler; `grammar` is ignored (with a one-time warning).
Constrained steering decisions use `choose`, which scores a closed set of options exactly.

Providers: CUDA first when onnxruntime offers it, then CPU. onnxruntime silently drops a provider it
cannot initialise (missing CUDA libraries), so `session.get_providers()` is checked and a fallback warned.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from csteer.engines.base import Choice, Completion, EngineOptions, Message, Timing, Usage
from csteer.errors import CsteerError, UsageError

DEFAULT_TOP_P = 0.95  # sampling when the caller names no top_p / top_k (temperature > 0)
DEFAULT_TOP_K = 50
PREFILL_CHUNK = 128  # prompt tokens per forward pass: bounds the (chunk x vocab) logits array
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


def find_model_file(path: Path) -> Path:
    """`path` may be the export folder or its model.onnx; a clear error when neither is there."""
    if path.is_file() and path.suffix == ".onnx":
        return path
    if not path.is_dir():
        raise CsteerError(f"ONNX model not found: {path}")
    for name in ("model.onnx", "decoder_model_merged.onnx", "decoder_with_past_model.onnx"):
        if (path / name).is_file():
            return path / name
    candidates = sorted(path.glob("*.onnx"))
    if len(candidates) == 1:
        return candidates[0]
    raise CsteerError(f"{path}: no model.onnx found (export one with `csteer quantize SRC --to onnx`)")


def make_session(model_file: Path, options: EngineOptions) -> tuple[Any, list[str]]:
    """An InferenceSession on CUDA when available (and wanted), else CPU; warns when CUDA was dropped."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 1 if options.verbose else 3
    if options.threads:
        so.intra_op_num_threads = options.threads
    want_cuda = CUDA in ort.get_available_providers() and options.gpu_layers != 0
    providers = ([CUDA] if want_cuda else []) + [CPU]
    try:
        session = ort.InferenceSession(str(model_file), so, providers=providers)
    except Exception as err:  # onnxruntime raises its own exception types for bad graphs
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CsteerError(f"onnxruntime could not load {model_file}: {first}") from err
    active = session.get_providers()
    if want_cuda and CUDA not in active:
        options.notify(
            f"csteer: warning: onnxruntime could not start CUDA for {model_file.parent.name}; running on CPU"
        )
    return session, active


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise CsteerError(f"{path}: not valid JSON ({err})") from err


def _token_text(value: Any) -> str | None:
    """tokenizer_config.json stores special tokens as strings or as AddedToken dicts."""
    if isinstance(value, dict):
        return value.get("content")
    return value if isinstance(value, str) else None


class OnnxEngine:
    supports_grammar = False  # constrained steering uses choose()
    supports_scoring = True

    def __init__(
        self, path: str | Path, options: EngineOptions | None = None, kind: str | None = None
    ) -> None:
        import numpy as np
        from tokenizers import Tokenizer

        options = options or EngineOptions()
        self.model_file = find_model_file(Path(path).expanduser())
        root = self.model_file.parent
        self.name = f"onnx:{root.name}"
        self.n_ctx: int = options.n_ctx
        self.notify = options.notify
        tok_file = root / "tokenizer.json"
        if not tok_file.is_file():
            raise CsteerError(f"{root}: tokenizer.json is missing beside the ONNX model")
        self.tokenizer = Tokenizer.from_file(str(tok_file))
        self.config = _read_json(root / "config.json")
        self.tok_config = _read_json(root / "tokenizer_config.json")
        self.session, self.providers = make_session(self.model_file, options)
        self.device = "cuda" if CUDA in self.providers else "cpu"

        inputs = {i.name: i for i in self.session.get_inputs()}
        self.input_names = set(inputs)
        self.past_names = [n for n in inputs if n.startswith("past_key_values")]
        self.output_names = [o.name for o in self.session.get_outputs()]
        if "input_ids" not in inputs or "logits" not in self.output_names:
            raise CsteerError(f"{self.model_file}: not a causal-LM export (needs input_ids -> logits)")
        self.kv_dtype = (
            np.float16 if self.past_names and "float16" in inputs[self.past_names[0]].type else np.float32
        )
        self.kv_shape = self._kv_shape(inputs)
        self.eos_ids = self._eos_ids()
        self.template = self._chat_template(root)
        # unknown kind: instruct when the export ships a chat template, else base (few-shot prompts)
        self.kind = kind or (
            "instruct" if self.template or (root / "chat_template.json").is_file() else "base"
        )
        self._lock = threading.Lock()
        self._cache_tokens: list[int] = []
        self._cache_kv: list[Any] = []
        self._cache_logits: Any = None
        self._warned_grammar = False

    # --- model plumbing ------------------------------------------------------------------------------
    def _kv_shape(self, inputs: dict[str, Any]) -> tuple[int, int]:
        """(kv heads, head dim) of the cache tensors: from the graph, else from config.json."""
        if not self.past_names:
            return (0, 0)
        shape = inputs[self.past_names[0]].shape  # [batch, heads, past_len, head_dim]
        cfg = self.config.get("text_config") or self.config
        heads = shape[1] if isinstance(shape[1], int) else cfg.get("num_key_value_heads")
        dim = shape[3] if isinstance(shape[3], int) else cfg.get("head_dim")
        if not dim and cfg.get("hidden_size"):
            dim = cfg["hidden_size"] // cfg["num_attention_heads"]
        if not heads or not dim:
            raise CsteerError(f"{self.model_file}: cannot tell the KV cache shape (config.json missing?)")
        return int(heads), int(dim)

    def _eos_ids(self) -> set[int]:
        ids: set[int] = set()
        gen = _read_json(self.model_file.parent / "generation_config.json")
        for source in (gen.get("eos_token_id"), self.config.get("eos_token_id")):
            if isinstance(source, int):
                ids.add(source)
            elif isinstance(source, list):
                ids.update(int(x) for x in source)
        eos_text = _token_text(self.tok_config.get("eos_token"))
        if eos_text is not None and self.tokenizer.token_to_id(eos_text) is not None:
            ids.add(self.tokenizer.token_to_id(eos_text))
        return ids

    def _empty_past(self) -> list[Any]:
        import numpy as np

        heads, dim = self.kv_shape
        return [np.zeros((1, heads, 0, dim), dtype=self.kv_dtype) for _ in self.past_names]

    def forward(self, ids: list[int], past_len: int, past: list[Any]) -> tuple[Any, list[Any]]:
        """Run `ids` after a cache of `past_len` tokens; returns (logits [len(ids), vocab], new cache)."""
        import numpy as np

        n = len(ids)
        feeds: dict[str, Any] = {"input_ids": np.asarray([ids], dtype=np.int64)}
        if "attention_mask" in self.input_names:
            feeds["attention_mask"] = np.ones((1, past_len + n), dtype=np.int64)
        if "position_ids" in self.input_names:
            feeds["position_ids"] = np.arange(past_len, past_len + n, dtype=np.int64)[None, :]
        feeds.update(zip(self.past_names, past))
        outputs = dict(zip(self.output_names, self.session.run(None, feeds)))
        present = [outputs[name.replace("past_key_values", "present")] for name in self.past_names]
        return outputs["logits"][0], present

    def logits_of(self, ids: list[int]) -> Any:
        """Logits at every position of `ids` from an empty cache (verification, perplexity)."""
        import numpy as np

        past, rows = self._empty_past(), []
        for start in range(0, len(ids), PREFILL_CHUNK):
            logits, past = self.forward(ids[start : start + PREFILL_CHUNK], start, past)
            rows.append(logits)
        return np.concatenate(rows)

    def _prefill(self, tokens: list[int]) -> tuple[Any, int]:
        """Logits after `tokens`, reusing the cached prefix; returns (last logits, tokens evaluated)."""
        import numpy as np

        reuse = 0
        for a, b in zip(self._cache_tokens, tokens):
            if a != b:
                break
            reuse += 1
        if reuse == len(tokens) and self._cache_logits is not None and reuse == len(self._cache_tokens):
            return self._cache_logits, 0
        reuse = min(reuse, len(tokens) - 1)  # evaluate at least one token to get its logits
        if reuse > 0 and self._cache_kv and all(kv.shape[2] >= reuse for kv in self._cache_kv):
            past = [np.ascontiguousarray(kv[:, :, :reuse, :]) for kv in self._cache_kv]
        else:
            reuse, past = 0, self._empty_past()
        logits: Any = None
        for start in range(reuse, len(tokens), PREFILL_CHUNK):
            chunk = tokens[start : start + PREFILL_CHUNK]
            logits, past = self.forward(chunk, start, past)
        self._remember(tokens, past, logits[-1])
        return logits[-1], len(tokens) - reuse

    def _remember(self, tokens: list[int], past: list[Any], last_logits: Any) -> None:
        self._cache_tokens, self._cache_kv, self._cache_logits = list(tokens), past, last_logits

    # --- prompt rendering ------------------------------------------------------------------------------
    def _chat_template(self, root: Path) -> str | None:
        template = self.tok_config.get("chat_template")
        if isinstance(template, list):  # named templates: take the default one
            template = next((t.get("template") for t in template if t.get("name") == "default"), None)
        if not template and (root / "chat_template.jinja").is_file():
            template = (root / "chat_template.jinja").read_text(encoding="utf-8")
        return template or None

    def render(self, messages: list[Message]) -> str:
        if self.kind == "base" or not self.template:
            # base models get a completion prompt from the prompt module: its content verbatim
            return "\n\n".join(m["content"] for m in messages)
        from jinja2 import TemplateError
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        def raise_exception(message: str) -> None:
            raise TemplateError(message)

        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        env.globals["raise_exception"] = raise_exception
        env.globals["strftime_now"] = lambda fmt: time.strftime(fmt)
        try:
            return env.from_string(self.template).render(
                messages=messages,
                add_generation_prompt=True,
                bos_token=_token_text(self.tok_config.get("bos_token")) or "",
                eos_token=_token_text(self.tok_config.get("eos_token")) or "",
            )
        except TemplateError as err:
            raise CsteerError(f"{self.name}: chat template failed: {err}") from err

    def encode(self, messages: list[Message]) -> list[int]:
        prompt = self.render(messages)
        # a chat template writes its own BOS as text; a plain prompt gets the tokenizer's specials
        templated = self.kind != "base" and bool(self.template)
        ids = self.tokenizer.encode(prompt, add_special_tokens=not templated).ids
        if not ids:
            raise UsageError("empty prompt")
        if len(ids) >= self.n_ctx:
            raise CsteerError(f"prompt of {len(ids)} tokens does not fit the {self.n_ctx}-token context")
        return ids

    # --- the protocol ----------------------------------------------------------------------------------
    def chat(
        self,
        messages: list[Message],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
        stop: list[str] | None = None,
        grammar: str | None = None,
        seed: int | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
    ) -> Completion:
        import numpy as np

        if grammar and not self._warned_grammar:
            self._warned_grammar = True
            self.notify(f"csteer: note: {self.name} ignores grammars; constrained steering uses choose()")
        tokens = self.encode(messages)
        max_tokens = max(0, min(max_tokens, self.n_ctx - len(tokens)))
        rng = np.random.default_rng(seed)
        k = DEFAULT_TOP_K if top_k is None else top_k
        p = DEFAULT_TOP_P if top_p is None else top_p
        stops = [s for s in (stop or []) if s]
        with self._lock:
            start = time.perf_counter()
            logits, evaluated = self._prefill(tokens)
            prompt_done = time.perf_counter()
            past, fed = self._cache_kv, list(tokens)
            generated: list[int] = []
            text, finish = "", "length"
            for _ in range(max_tokens):
                token = _pick(np, logits, temperature, rng, k, p)
                if token in self.eos_ids:
                    finish = "stop"
                    break
                generated.append(token)
                text = self.tokenizer.decode(generated, skip_special_tokens=True)
                cut = _first_stop(text, stops)
                if cut is not None:
                    text, finish = text[:cut], "stop"
                    break
                step_logits, past = self.forward([token], len(fed), past)
                fed.append(token)
                logits = step_logits[-1]
            # the cache now covers the prompt and every fed-back token: the next turn reuses it
            self._remember(fed, past, logits)
            end = time.perf_counter()
        return Completion(
            text=text,
            usage=Usage(len(tokens), len(generated), evaluated_prompt_tokens=evaluated),
            timing=Timing(
                seconds=end - start, prompt_seconds=prompt_done - start, decode_seconds=end - prompt_done
            ),
            finish_reason=finish,
        )

    def choose(self, messages: list[Message], options: list[str]) -> Choice:
        """Total log-probability of each option as the prompt's continuation; the best one wins."""
        import numpy as np

        if not options:
            raise ValueError("choose() needs at least one option")
        tokens = self.encode(messages)
        with self._lock:
            last, _ = self._prefill(tokens)
            past = self._cache_kv
            scores = []
            for option in options:
                ids = self.tokenizer.encode(option, add_special_tokens=False).ids
                if not ids:
                    raise UsageError(f"option {option!r} encodes to no tokens")
                total = float(_log_softmax(np, last)[ids[0]])
                if len(ids) > 1:  # every option reuses the prompt's cache; it is never extended
                    logits, _ = self.forward(ids[:-1], len(tokens), past)
                    for row, tok in zip(logits, ids[1:]):
                        total += float(_log_softmax(np, row)[tok])
                scores.append(total)
        best = max(range(len(options)), key=lambda i: scores[i])
        return Choice(index=best, logprobs=tuple(scores))

    def close(self) -> None:
        self._cache_kv = []
        self.session = None


def _log_softmax(np: Any, logits: Any) -> Any:
    x = logits.astype(np.float64)
    x = x - x.max()
    return x - np.log(np.exp(x).sum())


def _pick(
    np: Any,
    logits: Any,
    temperature: float,
    rng: Any,
    top_k: int = DEFAULT_TOP_K,
    top_p: float = DEFAULT_TOP_P,
) -> int:
    """Greedy at temperature 0; otherwise top-k / top-p sampling (the llama.cpp engine's defaults)."""
    if temperature <= 0:
        return int(np.argmax(logits))
    x = logits.astype(np.float64) / temperature
    top_k = x.size if top_k <= 0 else min(top_k, x.size)  # 0: no top-k cut (llama.cpp's meaning)
    top = np.argpartition(-x, min(top_k, x.size - 1))[:top_k]
    top = top[np.argsort(-x[top])]
    probs = np.exp(x[top] - x[top].max())
    probs /= probs.sum()
    keep = min(int(np.searchsorted(np.cumsum(probs), top_p) + 1), top.size)
    probs = probs[:keep] / probs[:keep].sum()
    return int(top[rng.choice(keep, p=probs)])


def _first_stop(text: str, stops: list[str]) -> int | None:
    hits = [i for i in (text.find(s) for s in stops) if i >= 0]
    return min(hits) if hits else None
