"""GGUF models in-process through llama-cpp-python.

Three things matter for speed on small machines:
- one model instance shared by coach and task (spec.create_engine caches it);
- KV prefix reuse: a conversation that grows by one turn only evaluates its new tokens. llama-cpp-python
  reuses the prefix of the *current* context by itself; because the coach and the task model alternate on
  one context, we keep the other conversation's KV cache in a small slot store and swap it back in
  (sequence state only, a few MB; the library's own LlamaRAMCache would also copy a n_batch x vocab logits
  array, 512 MB for Gemma's 262k vocabulary, on every call);
- a thread count that does not oversubscribe the CPU (threads.py).

And one thing for correctness: a prompt's logits must not depend on what the context held before it.
llama.cpp's CPU kernels are not batch-invariant: a token's result depends on how the prompt was cut into
decode calls (with repacked weights, on almost every cut; without them, when a call decodes one token
alone or a few at a time). With prefix reuse the cut falls wherever the previous conversation diverged, so the embedded
model's coach flipped Code/Text and a task draft changed its program with the history of the process
(8 of 74 everyday answers between two runs of the same code). So weights are not repacked, a prompt is
decoded in calls of eight tokens or more, and only cells that a fresh evaluation would reproduce are reused:
those of evaluated prompts, not generated tokens (docs/BENCHMARKS.md, "batch-invariant evaluation").
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import math
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from csteer.engines import kv_store, option_trie
from csteer.engines.base import Choice, Completion, EngineOptions, Message, Timing, Usage
from csteer.engines.threads import choose_threads
from csteer.errors import CsteerError

GGUF_MAGIC = b"GGUF"
MAX_SLOTS = 4  # saved conversations (coach, task, self-check ...)
MAX_PREFIXES = 2  # saved first windows of recent prompts (sliding-window models: _remember_prefix)
SCORING_SEQS = 4  # options choose() scores in one decode (more: one decode each)
MIN_SWAP_GAIN = 16  # tokens a saved slot must save over the live context to be worth a swap
MULTIBYTE_SLACK = 3  # tokens past max_tokens that may finish a UTF-8 character (4 bytes at most)
# batch invariance: a decode call of fewer than 8 tokens takes other kernel paths (measured: the logits
# of the same prompt moved by up to 0.9), so a prompt is never evaluated in a shorter call
MIN_CALL = 8
# sampling when the caller names no top_p / top_k (temperature > 0); greedy otherwise
DEFAULT_TOP_P = 0.95
DEFAULT_TOP_K = 50


@dataclass
class _Slot:
    tokens: list[int]
    state: bytes


def check_gguf_file(path: str) -> None:
    """Fail early with one line for a missing, unreadable or non-GGUF file (llama.cpp would only say 'failed')."""
    p = Path(path)
    if not p.is_file():
        raise CsteerError(f"model file not found: {path}")
    try:
        with p.open("rb") as fh:
            head = fh.read(24)
    except OSError as err:
        raise CsteerError(f"cannot read model file {path}: {err.strerror}") from err
    if head[:4] != GGUF_MAGIC:
        raise CsteerError(f"not a GGUF file (bad magic): {path}")
    if len(head) < 24:
        raise CsteerError(f"truncated GGUF file: {path}")


_log_sink: Any = None  # keeps the ctypes callback alive


def quiet_llama_logs(verbose: bool) -> None:
    """llama.cpp logs some notices at level NONE, which llama-cpp-python prints even with verbose=False;
    stdout/stderr belong to the answer and the trace, so drop native logs unless asked for."""
    global _log_sink
    import llama_cpp

    if verbose or _log_sink is not None:
        return

    @llama_cpp.llama_log_callback
    def _drop(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        return None

    _log_sink = _drop
    llama_cpp.llama_log_set(_log_sink, ctypes.c_void_p(0))


_params_lock = threading.Lock()


@contextlib.contextmanager
def _load_parameters() -> Iterator[None]:
    """The llama.cpp parameters `Llama()` takes no argument for, set for the load.

    - Sequences for choose(): the prompt is sequence 0, each scored option its own sequence over the
      prompt's cells, in one unified KV cache (n_ctx cells for all sequences, so it does not grow).
    - llama.cpp's extra weight buffers (CPU repacking, AMX) off. Repacked Q4_K weights multiply four
      tokens at a time and the rest one by one, so a token's logits depend on where a decode call was cut
      (see the module docstring); without them they do not. Measured on 2 cores: decode as fast, prompt
      evaluation a little slower (docs/BENCHMARKS.md, "batch-invariant evaluation"). It also keeps
      llama-cpp-python 0.3.36 built with AMX (-march=native on Sapphire Rapids and later) off
      ggml_backend_amx_mul_mat, which segfaults on the first decode of a Q4_K model.

    `Llama()` starts from llama.cpp's default parameter functions, so those are swapped for the load."""
    import llama_cpp.llama_cpp as lib

    with _params_lock:
        model_defaults = lib.llama_model_default_params
        context_defaults = lib.llama_context_default_params

        def model_params() -> Any:
            params = model_defaults()
            params.use_extra_bufts = False
            return params

        def context_params() -> Any:
            params = context_defaults()
            params.n_seq_max = 1 + SCORING_SEQS
            params.kv_unified = True
            # sliding-window layers (Gemma 3) keep every cell: by default they drop cells that fell out of
            # the window and a saved state leaves them out, so a restored slot reused for a shorter prefix
            # attended to missing cells (wrong logits, not rounding: 0.37 nats on a Code/Text choice)
            params.swa_full = True
            return params

        lib.llama_model_default_params = model_params
        lib.llama_context_default_params = context_params
        try:
            yield
        finally:
            lib.llama_model_default_params = model_defaults
            lib.llama_context_default_params = context_defaults


class LlamaCppEngine:
    supports_grammar = True
    supports_scoring = True

    def __init__(self, path: str, options: EngineOptions | None = None, kind: str | None = None) -> None:
        options = options or EngineOptions()
        check_gguf_file(path)
        import llama_cpp

        quiet_llama_logs(options.verbose)
        self.path = path
        self.name = f"gguf:{Path(path).name}"
        self.threads = choose_threads(options.threads)
        offload = llama_cpp.llama_supports_gpu_offload()
        self.gpu_layers = (-1 if options.gpu_layers is None else options.gpu_layers) if offload else 0
        self._lock = threading.Lock()  # one context: calls are serialized
        self._slots: list[_Slot] = []
        self._canonical = 0  # leading live cells a fresh evaluation would reproduce (evaluated prompt)
        self._floor = 0  # live cells reusable only from here on (a restored sliding-window state: _restore)
        self._prefixes: list[_Slot] = []  # states of the first window of recent prompts (_remember_prefix)
        try:
            with _load_parameters():
                self.llm = llama_cpp.Llama(
                    model_path=path,
                    n_ctx=options.n_ctx,
                    n_threads=self.threads,
                    n_threads_batch=self.threads,
                    n_gpu_layers=self.gpu_layers,
                    n_batch=512,
                    seed=0,
                    verbose=options.verbose,
                )
        except (ValueError, RuntimeError) as err:
            raise CsteerError(f"llama.cpp could not load {path}: {err}") from err
        self.n_ctx: int = self.llm.n_ctx()
        self._n_swa: int = llama_cpp.llama_model_n_swa(self.llm._model.model)  # 0: no sliding window
        # no kind given: a model with a chat template is an instruct model
        self.kind = kind or ("instruct" if self.llm.metadata.get("tokenizer.chat_template") else "base")
        self._bos_text = ""
        self._formatter = self._chat_formatter()
        # the slot store on disk (kv_store): read on first use, written when the engine closes or the
        # process exits, so a cold `csteer ask` reuses what the previous one evaluated
        self._disk = kv_store.cache_file(path) if kv_store.enabled() else None
        self._disk_read = False
        if self._disk is not None:
            atexit.register(_persist_at_exit, weakref.ref(self))  # weak: a dropped engine is freed

    # --- prompt rendering ---------------------------------------------------------------------------
    def _chat_formatter(self) -> Any:
        template = self.llm.metadata.get("tokenizer.chat_template")
        if not template or self.kind == "base":
            return None
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        vocab = self.llm._model
        eos = self.llm.detokenize([vocab.token_eos()], special=True).decode("utf-8", "replace")
        bos = self.llm.detokenize([vocab.token_bos()], special=True).decode("utf-8", "replace")
        self._bos_text = bos
        return Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)

    def render(self, messages: list[Message]) -> tuple[str, list[str]]:
        """The prompt text for `messages` and the template's own stop strings."""
        if self._formatter is None:
            # base model: the prompt module hands us a completion transcript; join any turns plainly
            return "\n\n".join(m["content"] for m in messages), []
        result = self._formatter(messages=messages)
        stops = result.stop if isinstance(result.stop, list) else ([result.stop] if result.stop else [])
        return result.prompt, stops

    def tokenize(self, text: str) -> list[int]:
        # special=True: chat templates contain control tokens written as text (<start_of_turn>, <|eot_id|>).
        # A template that writes its own BOS (Llama 3: {{ bos_token }}) must not get a second one.
        templated = self._formatter is not None
        own_bos = templated and bool(self._bos_text) and text.startswith(self._bos_text)
        return self.llm.tokenize(text.encode("utf-8"), add_bos=not own_bos, special=templated)

    # --- KV slots -------------------------------------------------------------------------------------
    @staticmethod
    def _common_prefix(a: list[int], b: list[int]) -> int:
        n = 0
        for x, y in zip(a, b):
            if x != y:
                break
            n += 1
        return n

    def _snapshot_live(self) -> _Slot | None:
        import llama_cpp

        n = min(self.llm.n_tokens, self._canonical)  # generated cells are not reused (module docstring)
        if n == 0:
            return None
        # the state holds exactly the n cells it is saved for: generated cells past them would make a
        # restored state longer than a sliding window (_restored_floor), and they are never reused
        self.llm._ctx.kv_cache_seq_rm(0, n, -1)
        self.llm.n_tokens = n
        ctx = self.llm._ctx.ctx
        size = llama_cpp.llama_state_seq_get_size(ctx, 0)
        buf = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(ctx, buf, size, 0)
        # string_at copies the bytes in C; slicing a ctypes array would build a Python list of ints
        return _Slot(self.llm.input_ids[:n].tolist(), ctypes.string_at(buf, written))

    def _save_live(self) -> None:
        slot = self._snapshot_live()
        if slot is not None:
            self._slots.append(slot)
            del self._slots[:-MAX_SLOTS]

    def _read_disk(self) -> None:
        """The saved conversations of earlier processes become this one's first slots (once)."""
        self._disk_read = True
        if self._disk is not None:
            saved = [_Slot(tokens, state) for tokens, state in kv_store.load(self._disk, self.n_ctx)]
            self._slots = [*saved[:MAX_SLOTS][::-1], *self._slots][-MAX_SLOTS:]  # newest last

    def persist(self) -> None:
        """Write the live context and the slot store to disk (best effort: a cache that cannot be
        written costs the next process its head start, nothing else)."""
        if self._disk is None or getattr(self, "llm", None) is None:
            return
        with self._lock:
            if not self._disk_read:
                self._read_disk()  # keep what earlier processes saved when this one evaluated nothing
            live = self._snapshot_live()
            # the first windows right after the live context: any next prompt with the same header uses one
            newest_first = ([live] if live is not None else []) + self._prefixes[::-1] + self._slots[::-1]
            try:
                kv_store.save(self._disk, [(slot.tokens, slot.state) for slot in newest_first])
            except OSError:
                pass

    def _restore(self, slot: _Slot) -> None:
        import llama_cpp

        ctx = self.llm._ctx.ctx
        self.llm._ctx.kv_cache_seq_rm(-1, 0, -1)
        data = (ctypes.c_uint8 * len(slot.state)).from_buffer_copy(slot.state)
        if llama_cpp.llama_state_seq_set_data(ctx, data, len(slot.state), 0) == 0:
            self.llm.n_tokens = self._canonical = self._floor = 0  # failed: a full re-evaluation follows
            return
        self.llm.input_ids[: len(slot.tokens)] = slot.tokens
        self.llm.n_tokens = self._canonical = len(slot.tokens)
        self._floor = self._restored_floor(len(slot.tokens))
        self.llm._requires_eval = True

    def _restored_floor(self, n: int) -> int:
        """The shortest prefix of a restored state of `n` tokens that can be reused.

        A state restored into a sliding-window model's cache (Gemma 3: a 512-token window) keeps only
        the window's cells in those layers, so after the restore a token before the last window sees
        holes: a shorter prefix gave logits off by up to 0.9 (measured; llama.cpp 0.3.36 bindings, also
        with swa_full). Only going on from the end is exact then."""
        return n - 1 if self._n_swa and n > self._n_swa else 0

    def _prepare_context(self, tokens: list[int]) -> int:
        """Swap in the saved conversation that shares the longest prefix with `tokens`; return reused count."""
        if not self._disk_read:
            self._read_disk()
        n_live = min(self.llm.n_tokens, self._canonical)
        live = self._common_prefix(self.llm.input_ids[:n_live].tolist(), tokens)
        if live < self._floor:
            live = 0
        best, best_len = None, live
        for slot in [*self._slots, *self._prefixes]:
            n = self._common_prefix(slot.tokens, tokens)
            if n < self._restored_floor(len(slot.tokens)):
                continue
            if n > best_len:
                best, best_len = slot, n
        swap = best is not None and best_len >= live + MIN_SWAP_GAIN
        if swap and best is not None and best in self._slots:
            # taken out before the live context is saved: saving trims the store and could evict it
            self._slots.remove(best)
        # the live context holds another conversation that this call would overwrite: keep it. Not when
        # this call goes on with most of it (another draft of the same prompt, the next turn): what it
        # overwrites is a discarded reply, and a slot of it would only evict a real conversation
        continues_live = not swap and 2 * live >= n_live
        if n_live - live >= MIN_SWAP_GAIN and not continues_live:
            self._save_live()
        if swap and best is not None:
            self._restore(best)
            return best_len
        return live

    def _evaluate(self, tokens: list[int], reused: int) -> int:
        """Decode `tokens` after the first `reused` cells (or from the start), in calls that keep the
        result batch-invariant (module docstring); the logits of the last token are then current.
        Returns the number of cells reused."""
        keep = min(reused, len(tokens) - MIN_CALL)
        if keep <= 0 or keep < self._floor:
            keep = self._floor = 0
        self.llm.n_tokens = reused_cells = keep
        self.llm._ctx.kv_cache_seq_rm(-1, keep, -1)
        window = self._n_swa
        if window and keep + MIN_CALL <= window <= len(tokens) - MIN_CALL:
            for start, end in _calls(keep, window, self.llm.n_batch):
                self.llm.eval(tokens[start:end])
            self._canonical = window
            self._remember_prefix()
            keep = window
        for start, end in _calls(keep, len(tokens), self.llm.n_batch):
            self.llm.eval(tokens[start:end])
        # a prompt shorter than MIN_CALL was one short call: a longer prompt's cells would differ
        self._canonical = len(tokens) if len(tokens) >= MIN_CALL else 0
        return reused_cells

    def _remember_prefix(self) -> None:
        """Save the live context's first window of a sliding-window model (exactly n_swa cells).

        A saved state longer than the window can only be continued from its end (_restored_floor), so
        the next question, which shares the fixed few-shot header and little else, could not reuse it; a
        state of one window can be reused for any prefix."""
        tokens = self.llm.input_ids[: self._canonical].tolist()
        if any(slot.tokens == tokens for slot in self._prefixes):
            return
        slot = self._snapshot_live()
        if slot is not None:
            self._prefixes.append(slot)
            del self._prefixes[:-MAX_PREFIXES]

    # --- the protocol -----------------------------------------------------------------------------------
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
        prompt, template_stops = self.render(messages)
        tokens = self.tokenize(prompt)
        max_tokens = self._fit(tokens, max_tokens)
        with self._lock:
            start = time.perf_counter()
            reused = self._evaluate(tokens, self._prepare_context(tokens))
            kwargs: dict[str, Any] = {}
            if grammar:
                from llama_cpp import LlamaGrammar

                # LlamaGrammar only stores the text; llama.cpp parses it when the sampler is built and
                # returns NULL on an error, which create_completion would add to its chain (a segfault)
                self._check_grammar(grammar)
                kwargs["grammar"] = LlamaGrammar.from_string(grammar, verbose=False)
            # the prompt is evaluated: create_completion finds it cached and samples from its logits
            out = self.llm.create_completion(
                tokens,
                max_tokens=max_tokens,
                temperature=temperature,
                top_p=top_p if top_p is not None else (DEFAULT_TOP_P if temperature > 0 else 1.0),
                top_k=top_k if top_k is not None else (DEFAULT_TOP_K if temperature > 0 else 1),
                min_p=0.0,
                repeat_penalty=1.0,
                stop=(stop or []) + template_stops,
                seed=seed if seed is not None else 0,
                stopping_criteria=_token_cap(max_tokens + MULTIBYTE_SLACK),
                **kwargs,
            )
            elapsed = time.perf_counter() - start
        response = cast("dict[str, Any]", out)  # stream=False: one response, not an iterator
        choice = response["choices"][0]
        usage = response.get("usage", {})
        made = usage.get("completion_tokens", 0)
        finish = "length" if made > max_tokens else choice.get("finish_reason")  # the cap's stop too
        return Completion(
            text=choice["text"],
            usage=Usage(
                prompt_tokens=usage.get("prompt_tokens", len(tokens)),
                completion_tokens=made,
                evaluated_prompt_tokens=len(tokens) - reused,
            ),
            timing=Timing(seconds=elapsed),
            finish_reason=finish,
        )

    def _check_grammar(self, grammar: str) -> None:
        """Compile `grammar` against this model's vocabulary once; raise CsteerError if llama.cpp rejects it."""
        import llama_cpp

        vocab = self.llm._model.vocab
        sampler = llama_cpp.llama_sampler_init_grammar(vocab, grammar.encode("utf-8"), b"root")
        if not sampler:
            raise CsteerError("invalid GBNF grammar: llama.cpp could not parse it")
        llama_cpp.llama_sampler_free(sampler)

    def _fit(self, tokens: list[int], max_tokens: int) -> int:
        room = self.n_ctx - len(tokens)
        if room < 8:
            raise CsteerError(
                f"prompt of {len(tokens)} tokens does not fit the {self.n_ctx}-token context of {self.name}"
            )
        return min(max_tokens, room)

    def choose(self, messages: list[Message], options: list[str]) -> Choice:
        """Score each option's total log-probability as the continuation of the prompt; pick the best.

        This is the model's own preference under a closed grammar (one of the options), computed exactly
        instead of greedily token by token. All options are scored in one batched decode: each is its own
        sequence over the prompt's cells (option_trie: shared leading tokens are decoded once), so the
        output layer, which is most of a small model's step, runs once per decision, not once per option.
        """
        import numpy as np

        if not options:
            raise ValueError("choose() needs at least one option")
        prompt, _ = self.render(messages)
        tokens = self.tokenize(prompt)
        self._fit(tokens, 1)
        option_ids = [self.llm.tokenize(o.encode("utf-8"), add_bos=False, special=False) for o in options]
        with self._lock:
            self._evaluate(tokens, self._prepare_context(tokens))
            first = _log_softmax(np, self._last_logits(np))
            scores = [float(first[ids[0]]) for ids in option_ids]
            nodes = option_trie.nodes(option_ids)
            if self._batch_fits(option_ids, nodes):
                later = self._score_batched(np, len(tokens), option_ids, nodes)
            else:
                later = self._score_one_by_one(np, len(tokens), option_ids)
            for i, extra in enumerate(later):
                scores[i] += extra
            # leave the context holding just the prompt, so the next call reuses it
            self.llm.n_tokens = len(tokens)
            self.llm._ctx.kv_cache_seq_rm(0, len(tokens), -1)
            self.llm._requires_eval = True
        best = max(range(len(options)), key=lambda i: scores[i])
        option_tokens = sum(len(ids) for ids in option_ids)
        return Choice(index=best, logprobs=tuple(scores), tokens=len(tokens) + option_tokens)

    def _batch_fits(self, option_ids: list[list[int]], nodes: list[option_trie.Node]) -> bool:
        return len(option_ids) <= SCORING_SEQS and len(nodes) <= self.llm.n_batch

    def _score_batched(
        self, np: Any, n_prompt: int, option_ids: list[list[int]], nodes: list[option_trie.Node]
    ) -> list[float]:
        """Log-probability of each option's tokens after its first, from one decode of the option trie.

        Option i is sequence i + 1: it sees the prompt (sequence 0's cells, shared in the unified KV cache)
        and its own earlier tokens, never another option's."""
        import llama_cpp

        extra = [0.0] * len(option_ids)
        if not nodes:
            return extra  # every option is one token: the prompt's logits scored them all
        memory = self.llm._ctx.memory
        for i in range(len(option_ids)):
            llama_cpp.llama_memory_seq_cp(memory, 0, i + 1, 0, n_prompt)
        batch = self.llm._batch.batch
        batch.n_tokens = len(nodes)
        for row, node in enumerate(nodes):
            batch.token[row] = node.token
            batch.pos[row] = n_prompt + node.depth
            batch.n_seq_id[row] = len(node.options)
            for j, option in enumerate(node.options):
                batch.seq_id[row][j] = option + 1
            batch.logits[row] = True
        try:
            self.llm._ctx.decode(self.llm._batch)
            for row, node in enumerate(nodes):
                logprobs = _log_softmax(np, self._logits_at(np, row))
                for option in node.options:
                    extra[option] += float(logprobs[option_ids[option][node.depth + 1]])
        finally:
            for i in range(len(option_ids)):
                llama_cpp.llama_memory_seq_rm(memory, i + 1, -1, -1)
        return extra

    def _score_one_by_one(self, np: Any, n_prompt: int, option_ids: list[list[int]]) -> list[float]:
        """The same scores with one decode per option (options too many or too long for one batch)."""
        extra = []
        for ids in option_ids:
            total = 0.0
            if len(ids) > 1:
                self.llm._ctx.kv_cache_seq_rm(0, n_prompt, -1)
                self.llm._batch.set_batch(batch=ids[:-1], n_past=n_prompt, logits_all=True)
                self.llm._ctx.decode(self.llm._batch)
                for row, tok in enumerate(ids[1:]):
                    total += float(_log_softmax(np, self._logits_at(np, row))[tok])
            extra.append(total)
        return extra

    def _last_logits(self, np: Any) -> Any:
        return self._logits_at(np, -1)

    def _logits_at(self, np: Any, row: int) -> Any:
        """Logits of output row `row` of the last decode (-1: the last one)."""
        ptr = self.llm._ctx.get_logits_ith(row)
        return np.ctypeslib.as_array(ptr, shape=(self.llm.n_vocab(),)).astype(np.float64)

    def close(self) -> None:
        self.persist()
        llm = getattr(self, "llm", None)
        if llm is not None:
            llm.close()
            self.llm = None  # type: ignore[assignment]


def _token_cap(limit: int) -> Any:
    """A stopping criterion that ends generation after `limit` tokens.

    Why: llama-cpp-python 0.3.36 skips its max_tokens check while the text ends in an unfinished UTF-8
    character, so a model that keeps emitting byte tokens runs on to the end of the context (a
    random-weight model made 132 tokens for max_tokens=12). Called once per sampled token, and once
    more after the loop (where it must stay False unless it already stopped the loop)."""
    from llama_cpp import StoppingCriteriaList

    calls = 0

    def cap(_ids: Any, _logits: Any) -> bool:
        nonlocal calls
        calls += 1
        return calls > limit

    return StoppingCriteriaList([cap])


def _persist_at_exit(ref: weakref.ref[LlamaCppEngine]) -> None:
    engine = ref()
    if engine is not None:
        engine.persist()


def _log_softmax(np: Any, x: Any) -> Any:
    shifted = x - np.max(x)
    return shifted - math.log(float(np.sum(np.exp(shifted))))


def gpu_offload_available() -> bool:
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


def _calls(start: int, end: int, n_batch: int) -> Iterator[tuple[int, int]]:
    """Cut tokens[start:end] into decode calls of at most n_batch tokens and none shorter than MIN_CALL
    (a short call takes other kernel paths: the result would depend on where the cut fell)."""
    while start < end:
        stop = min(start + n_batch, end)
        if 0 < end - stop < MIN_CALL:
            stop = end - MIN_CALL
        yield start, stop
        start = stop
