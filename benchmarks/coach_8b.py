"""coach_8b: the real coach's size end to end, on a random-weight Llama-3-8B-shaped checkpoint.

CodeSteer-v1 is a Llama-3-8B. Its weights cannot be downloaded here, but its shape can be built, and a
random checkpoint of that shape costs the same to convert, load, prefill and decode. In one run this case:
1. writes the checkpoint (bf16 safetensors in 5 GB shards like the real one, config.json, a Llama-3-style
   byte-level BPE tokenizer with 128256 ids) tensor by tensor, so it never holds the model in RAM;
2. converts it with the real CLI, `csteer quantize DIR --to gguf --quant q4_k_m`, in a subprocess whose
   wall time, peak RSS (and its anonymous / file-backed parts) and disk use are polled from /proc;
3. loads the GGUF with csteer's gguf: engine (mmap) and measures load time, resident memory, prefill
   and decode tokens/s, decode against the bound `memory bandwidth / bytes read per token` (bandwidth
   measured in the same run), the third review turn of a steering conversation with and without KV
   prefix reuse, and the cost of a scored keyword decision against a generated 100-token guidance.

Not in the default or quick suite (about 38 GB of disk, tens of minutes):
    python -m benchmarks coach_8b --scratch DIR
A checkpoint or GGUF already complete in DIR is reused (the output says so); nothing in DIR is removed.
The tests run the same code at a tiny shape (tests/quantize/test_coach_8b_builder.py).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCRATCH_ENV = "CSTEER_BENCH_SCRATCH"  # how `python -m benchmarks --scratch DIR` hands DIR to this case
CKPT_DIR = "llama3-8b-shaped"
GGUF_NAME = "llama3-8b-shaped-q4_k_m.gguf"
DONE = "coach_8b.complete.json"  # written last: a checkpoint without it is rebuilt
QUANT = "q4_k_m"
Q4_K_M_BYTES_PER_PARAM = 0.62  # llama.cpp's Q4_K_M of Llama-3-8B: 4.92 GB for 8.03 B parameters
MARGIN_BYTES = 1 << 30
CHUNK = 1 << 25  # elements generated and written at a time (64 MB of bf16)

# Meta-Llama-3-8B-Instruct's chat template (the one CodeSteer-v1 was fine-tuned under)
LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
LLAMA3_REGEX = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
TRAINED_MERGES = 32_000  # BPE trained on the repository's text; the rest of the vocabulary is filler


# --- the shape ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Shape:
    """A Llama-3 model's dimensions; the defaults are Llama-3-8B's."""

    layers: int = 32
    hidden: int = 4096
    intermediate: int = 14336
    heads: int = 32
    kv_heads: int = 8
    vocab: int = 128256
    specials: int = 256  # Llama 3: ids 128000..128255 are control tokens
    rope_theta: float = 500000.0
    max_positions: int = 8192
    shard_bytes: int = 5_000_000_000  # save_pretrained's 5GB: 4 shards at 8B, like the real checkpoint
    trained_merges: int = TRAINED_MERGES

    @property
    def kv_dim(self) -> int:
        return self.hidden // self.heads * self.kv_heads

    @property
    def bos_id(self) -> int:
        return self.vocab - self.specials

    @property
    def eot_id(self) -> int:
        return self.bos_id + 9


LLAMA3_8B = Shape()


def config_for(shape: Shape) -> dict[str, Any]:
    """config.json as Meta-Llama-3-8B-Instruct ships it (at `shape`'s dimensions)."""
    return {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": shape.bos_id,
        "eos_token_id": shape.eot_id,
        "hidden_act": "silu",
        "hidden_size": shape.hidden,
        "initializer_range": 0.02,
        "intermediate_size": shape.intermediate,
        "max_position_embeddings": shape.max_positions,
        "mlp_bias": False,
        "model_type": "llama",
        "num_attention_heads": shape.heads,
        "num_hidden_layers": shape.layers,
        "num_key_value_heads": shape.kv_heads,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-05,
        "rope_scaling": None,
        "rope_theta": shape.rope_theta,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
        "use_cache": True,
        "vocab_size": shape.vocab,
    }


def tensor_specs(shape: Shape) -> list[tuple[str, tuple[int, ...]]]:
    """Every tensor of the checkpoint, in file order: embedding, the layers, final norm, output layer."""
    h, i, kv = shape.hidden, shape.intermediate, shape.kv_dim
    specs: list[tuple[str, tuple[int, ...]]] = [("model.embed_tokens.weight", (shape.vocab, h))]
    for n in range(shape.layers):
        p = f"model.layers.{n}."
        specs += [
            (p + "input_layernorm.weight", (h,)),
            (p + "self_attn.q_proj.weight", (h, h)),
            (p + "self_attn.k_proj.weight", (kv, h)),
            (p + "self_attn.v_proj.weight", (kv, h)),
            (p + "self_attn.o_proj.weight", (h, h)),
            (p + "post_attention_layernorm.weight", (h,)),
            (p + "mlp.gate_proj.weight", (i, h)),
            (p + "mlp.up_proj.weight", (i, h)),
            (p + "mlp.down_proj.weight", (h, i)),
        ]
    return specs + [("model.norm.weight", (h,)), ("lm_head.weight", (shape.vocab, h))]


def _count(dims: tuple[int, ...]) -> int:
    n = 1
    for d in dims:
        n *= d
    return n


def param_count(shape: Shape) -> int:
    return sum(_count(dims) for _, dims in tensor_specs(shape))


def shard_plan(shape: Shape) -> list[list[tuple[str, tuple[int, ...]]]]:
    """Tensors grouped greedily into shards of at most shape.shard_bytes of bf16 data."""
    shards: list[list[tuple[str, tuple[int, ...]]]] = [[]]
    size = 0
    for name, dims in tensor_specs(shape):
        nbytes = 2 * _count(dims)
        if shards[-1] and size + nbytes > shape.shard_bytes:
            shards.append([])
            size = 0
        shards[-1].append((name, dims))
        size += nbytes
    return shards


def needed_bytes(shape: Shape, have_checkpoint: bool, have_gguf: bool) -> int:
    """Disk the run needs in the scratch dir: checkpoint, then the f16 intermediate plus the Q4_K_M file."""
    params = param_count(shape)
    need = 0 if have_checkpoint else 2 * params
    if not have_gguf:
        need += 2 * params + int(Q4_K_M_BYTES_PER_PARAM * params)
    return need + MARGIN_BYTES if need else 0


class ScratchError(Exception):
    """The scratch dir cannot hold the run (one line for the user)."""


def check_disk(scratch: Path, need: int) -> int:
    """Free bytes in `scratch`; ScratchError when fewer than `need`."""
    free = shutil.disk_usage(scratch).free
    if free < need:
        raise ScratchError(
            f"coach_8b: {scratch} has {free / 1e9:.1f} GB free, the run needs {need / 1e9:.1f} GB "
            "(checkpoint + f16 intermediate + Q4_K_M GGUF); free some space or pick another --scratch"
        )
    return free


# --- the tokenizer ------------------------------------------------------------------------------------------
def special_tokens(shape: Shape) -> list[str]:
    """Llama 3's control tokens in id order (begin/end of text, headers, eot, reserved)."""
    names = ["<|begin_of_text|>", "<|end_of_text|>"]
    names += [f"<|reserved_special_token_{k}|>" for k in range(4)]
    names += ["<|start_header_id|>", "<|end_header_id|>", "<|reserved_special_token_4|>", "<|eot_id|>"]
    names += [f"<|reserved_special_token_{k}|>" for k in range(5, 5 + shape.specials - len(names))]
    return names


def _corpus() -> Iterator[str]:
    """English and Python from this repository: close to what a coach reads (prompts, code, reports)."""
    for pattern in ("README.md", "docs/*.md", "csteer/**/*.py", "benchmarks/*.py"):
        for path in sorted(ROOT.glob(pattern)):
            yield path.read_text(encoding="utf-8", errors="replace")


def write_tokenizer(dest: Path, shape: Shape) -> None:
    """A byte-level BPE with Llama 3's pre-tokenizer, template and specials, `shape.vocab` ids in all.

    The first merges are trained on the repository's text so that prompts tokenize to realistic lengths;
    the rest of the regular vocabulary is filled with merges of existing tokens (valid BPE entries that
    ordinary text rarely reaches), because a corpus this small does not yield 128000 merges."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    regular = shape.vocab - shape.specials
    tok = Tokenizer(models.BPE(ignore_merges=True))
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(LLAMA3_REGEX), behavior="isolated"), byte_level]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=min(regular, shape.trained_merges),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer)
    data = json.loads(tok.to_str())
    vocab: dict[str, int] = data["model"]["vocab"]
    merges: list[Any] = data["model"]["merges"]
    as_pairs = not merges or isinstance(merges[0], list)  # tokenizers >= 0.20 writes [left, right]
    pieces = sorted(vocab, key=vocab.__getitem__)
    alphabet = pieces[:256]
    k = 0
    while len(vocab) < regular:  # filler: token + one byte, breadth first, deterministic
        left, right = pieces[k // 256], alphabet[k % 256]
        k += 1
        if left + right in vocab:
            continue
        vocab[left + right] = len(vocab)
        pieces.append(left + right)
        merges.append([left, right] if as_pairs else f"{left} {right}")
    specials = special_tokens(shape)
    data["added_tokens"] = [
        {
            "id": regular + n,
            "content": s,
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for n, s in enumerate(specials)
    ]
    data["post_processor"] = {  # BOS first, as Llama 3's TemplateProcessing does
        "type": "TemplateProcessing",
        "single": [
            {"SpecialToken": {"id": specials[0], "type_id": 0}},
            {"Sequence": {"id": "A", "type_id": 0}},
        ],
        "pair": [
            {"SpecialToken": {"id": specials[0], "type_id": 0}},
            {"Sequence": {"id": "A", "type_id": 0}},
            {"SpecialToken": {"id": specials[0], "type_id": 1}},
            {"Sequence": {"id": "B", "type_id": 1}},
        ],
        "special_tokens": {specials[0]: {"id": specials[0], "ids": [shape.bos_id], "tokens": [specials[0]]}},
    }
    fast = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(json.dumps(data)),
        bos_token=specials[0],
        eos_token=specials[9],
    )
    fast.chat_template = LLAMA3_TEMPLATE
    fast.save_pretrained(dest)


# --- the checkpoint -------------------------------------------------------------------------------------------
def _fill(out: Any, rng: Any, name: str) -> None:
    """bf16 bits for one chunk: norms 1.0; weights with a random sign and mantissa and |w| in
    [2^-7, 2^-5) (exponent 120 or 121), the scale of a trained model's weights, never inf or NaN."""
    import numpy as np

    if name.endswith("norm.weight"):
        out.fill(0x3F80)
        return
    raw = rng.bit_generator.random_raw((out.size + 3) // 4).view(np.uint16)[: out.size]
    np.bitwise_and(raw, 0x80FF, out=out)
    np.bitwise_or(out, 0x3C00, out=out)


def _write_shard(path: Path, tensors: list[tuple[str, tuple[int, ...]]], rng: Any) -> int:
    """One safetensors file, tensor by tensor and chunk by chunk (at most CHUNK elements in memory)."""
    import numpy as np

    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, dims in tensors:
        nbytes = 2 * _count(dims)
        header[name] = {"dtype": "BF16", "shape": list(dims), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # safetensors pads the header to 8 bytes
    tmp = path.with_name(path.name + ".partial")
    buf = np.empty(CHUNK, dtype=np.uint16)
    with tmp.open("wb") as fh:
        fh.write(len(head).to_bytes(8, "little") + head)
        for name, dims in tensors:
            left = _count(dims)
            while left:
                n = min(left, CHUNK)
                _fill(buf[:n], rng, name)
                fh.write(memoryview(buf[:n]).cast("B"))
                left -= n
    tmp.replace(path)
    return 8 + len(head) + offset


def checkpoint_ready(dest: Path, shape: Shape) -> bool:
    marker = dest / DONE
    if not marker.is_file():
        return False
    try:
        done = json.loads(marker.read_text())
    except ValueError:
        return False
    return done.get("config") == config_for(shape) and all(
        (dest / name).is_file() and (dest / name).stat().st_size == size
        for name, size in done.get("files", {}).items()
    )


def write_checkpoint(dest: Path, shape: Shape, seed: int = 0, log: Callable[[str], None] = print) -> None:
    """A random-weight HF checkpoint of `shape` in `dest` (config, generation config, tokenizer,
    sharded bf16 safetensors and their index), written without holding more than one chunk in RAM."""
    import numpy as np

    dest.mkdir(parents=True, exist_ok=True)
    (dest / DONE).unlink(missing_ok=True)
    write_tokenizer(dest, shape)
    (dest / "config.json").write_text(json.dumps(config_for(shape), indent=2))
    generation = {"bos_token_id": shape.bos_id, "eos_token_id": [shape.bos_id + 1, shape.eot_id]}
    (dest / "generation_config.json").write_text(json.dumps(generation, indent=2))
    rng = np.random.default_rng(seed)
    plan = shard_plan(shape)
    files: dict[str, int] = {}
    weight_map: dict[str, str] = {}
    for n, tensors in enumerate(plan, start=1):
        name = f"model-{n:05d}-of-{len(plan):05d}.safetensors"
        start = time.perf_counter()
        files[name] = _write_shard(dest / name, tensors, rng)
        log(f"  {name}: {files[name] / 1e9:.2f} GB in {time.perf_counter() - start:.0f} s")
        weight_map.update({t: name for t, _ in tensors})
    total = 2 * param_count(shape)
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (dest / "model.safetensors.index.json").write_text(json.dumps(index, indent=2))
    (dest / DONE).write_text(json.dumps({"config": config_for(shape), "files": files}, indent=2))


# --- conversion through the real CLI ------------------------------------------------------------------------------
def _proc_kb(pid: int | str, *keys: str) -> dict[str, int]:
    """Fields of /proc/PID/status in kB (missing when the process is gone)."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in keys:
                out[key] = int(value.split()[0])
    except (OSError, ValueError):
        pass
    return out


def dir_bytes(folder: Path) -> int:
    """Bytes allocated on disk by the files in `folder` (sparse parts not counted)."""
    total = 0
    for entry in os.scandir(folder):
        try:
            if entry.is_file(follow_symlinks=False):
                total += entry.stat(follow_symlinks=False).st_blocks * 512
        except OSError:  # removed while we looked (the intermediate)
            pass
    return total


def _csteer_cli() -> list[str]:
    script = Path(sys.executable).with_name("csteer")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "csteer"]


def convert(ckpt: Path, out: Path, quant: str = QUANT, poll_s: float = 0.25) -> dict[str, Any]:
    """`csteer quantize CKPT --to gguf --quant QUANT --out OUT` in a subprocess, measured from outside:
    wall time, peak RSS (the kernel's, from wait4), peak anonymous and file-backed RSS and the peak
    disk use of OUT's folder (the f16 intermediate and the result), polled every `poll_s`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [*_csteer_cli(), "quantize", str(ckpt), "--to", "gguf", "--quant", quant, "--out", str(out)]
    cmd.append("--no-progress")
    log_path = out.with_name(out.name + ".convert.log")
    peak_anon = peak_file = peak_disk = 0
    start = time.perf_counter()
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        while True:
            # wait4 reaps the child itself and reports its own peak RSS (Popen.wait would not)
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            mem = _proc_kb(proc.pid, "RssAnon", "RssFile")
            peak_anon = max(peak_anon, mem.get("RssAnon", 0))
            peak_file = max(peak_file, mem.get("RssFile", 0))
            peak_disk = max(peak_disk, dir_bytes(out.parent))
            time.sleep(poll_s)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = (log_path.read_text(errors="replace").strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"csteer quantize failed ({proc.returncode}): {tail}")
    log_path.unlink()
    return {
        "command": " ".join(["csteer", *cmd[len(_csteer_cli()) :]]),
        "seconds": seconds,
        "peak_rss_bytes": usage.ru_maxrss * 1024,  # kB on Linux
        "peak_rss_anon_bytes": peak_anon * 1024,
        "peak_rss_file_bytes": peak_file * 1024,
        "peak_disk_bytes": max(peak_disk, dir_bytes(out.parent)),
        "gguf_bytes": out.stat().st_size,
    }


# --- the machine's limit ---------------------------------------------------------------------------------------
def bandwidth(size_bytes: int = 1 << 30, reps: int = 5, threads: int = 2) -> dict[str, float]:
    """Memory bandwidth in bytes/s, best of `reps`, over 1..`threads` threads (numpy drops the GIL):
    a copy (bytes read + bytes written, STREAM's convention) and a read-only integer sum."""
    import numpy as np

    src = np.ones(size_bytes // 8, dtype=np.uint64)
    dst = np.empty_like(src)

    def run(n: int, job: Callable[[slice], Any]) -> float:
        step = -(-src.size // n)
        parts = [slice(k * step, (k + 1) * step) for k in range(n)]
        with ThreadPoolExecutor(n) as pool:
            start = time.perf_counter()
            list(pool.map(job, parts))
            return time.perf_counter() - start

    def copy(s: slice) -> None:
        np.copyto(dst[s], src[s])

    def read(s: slice) -> None:
        src[s].sum()

    out: dict[str, float] = {}
    for n in range(1, threads + 1):
        run(n, copy)  # first touch of dst's pages outside the timing
        out[f"copy_{n}t"] = 2 * src.nbytes / min(run(n, copy) for _ in range(reps))
        out[f"read_{n}t"] = src.nbytes / min(run(n, read) for _ in range(reps))
    out["best"] = max(out.values())
    return out


def gguf_tensor_bytes(path: Path) -> dict[str, int]:
    """Bytes of the GGUF's tensors: all, and the token embedding (a decode step reads one row of it)."""
    import gguf

    reader = gguf.GGUFReader(str(path))
    total = sum(int(t.n_bytes) for t in reader.tensors)
    embd = sum(int(t.n_bytes) for t in reader.tensors if t.name == "token_embd.weight")
    return {"all": total, "token_embd": embd, "per_token": total - embd}


# --- the coach: prompts ------------------------------------------------------------------------------------------
QUESTION = (
    "Using the numbers 3, 3, 8 and 8 exactly once each, with +, -, *, / and parentheses, write an "
    "expression that equals 24. Return the expression in the format <<<expression>>>."
)
_SEARCH = '''```python
from fractions import Fraction
from itertools import permutations

NUMBERS = [3, 3, 8, 8]
TARGET = Fraction(24)
OPS = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b if b != 0 else None,
}


def solve(items):
    """items: list of (value, expression) pairs; combine any two until one is left."""
    if len(items) == 1:
        value, expr = items[0]
        return expr if value == TARGET else None
    for i, j in permutations(range(len(items)), 2):
        (a, ea), (b, eb) = items[i], items[j]
        rest = [items[k] for k in range(len(items)) if k not in (i, j)]
        for name, op in OPS.items():
            value = op(a, b)
            if value is None:
                continue
            found = solve(rest + [(value, f"({ea}{name}{eb})")])
            if found:
                return found
    return None


start = [({cast}(n), str(n)) for n in NUMBERS]
answer = solve(start)
print(f"<<<{{answer}}>>>" if answer else "No solution found")
```'''
# three attempts of the task model, as the coach sees them in its review turns
ATTEMPTS = [
    (
        _SEARCH.replace("{cast}", "int").replace("Fraction(24)", "24").replace("a / b", "a // b"),
        "No solution found",
        "The symbolic checker: the code searches all orders and operators, but it divides with //, so "
        "8 / 3 becomes 2 and every expression that needs a fraction is lost. The answer is missing.",
    ),
    (
        _SEARCH.replace("{cast}", "float").replace("Fraction(24)", "24.0"),
        "No solution found",
        "The symbolic checker: true division now, but floats: 8 / (3 - 8 / 3) evaluates to "
        "23.999999999999993, which is compared with == 24.0 and rejected. The answer is missing.",
    ),
    (
        _SEARCH.replace("{cast}", "Fraction"),
        "<<<(8/(3-(8/3)))>>>",
        "The self-answer checker ran: output: Correct. The symbolic checker: exact rational search over "
        "all orders and operators; the expression uses each number once and evaluates to 24.",
    ),
]
COMPLEXITY = (
    "The code uses recursion over all pairs of the remaining items (itertools.permutations), four "
    "operators per pair and exact arithmetic; 1 function, 2 loops, 3 conditionals; symbolic search: yes."
)
GUIDANCE = [
    "The task needs an exhaustive search over orders, operators and groupings; write code. <<<Write a "
    "Python program that searches every way of combining the four numbers with + - * / and "
    "parentheses, and prints the expression that equals 24.>>>",
    "Integer division loses the fractions this puzzle needs. <<<Use true division; keep searching every "
    "pair and operator, and print the expression that gives 24.>>>",
    "Floating point makes 24 look like 23.999999999999993. <<<Compute with fractions.Fraction so that "
    "the comparison with 24 is exact, and print the expression.>>>",
]


def review_message(turn: int) -> str:
    """The coach's review turn `turn` (0..2): program, execution result, checker, complexity summary."""
    from csteer.runtime.prompts import PROFILES

    code, stdout, check = ATTEMPTS[turn]
    profile = PROFILES["codesteer-v1"]
    response = f"{code}\nThe execution result from the generated code is:\noutput: {stdout}, errors: "
    return profile.review_message(response, check, COMPLEXITY)


def conversation() -> list[list[dict[str, str]]]:
    """The coach's messages at each of its four calls: the first choice, then three review turns."""
    from csteer.runtime.prompts import PROFILES

    messages: list[dict[str, str]] = [dict(m) for m in PROFILES["codesteer-v1"].first_turn(QUESTION)]
    calls = [list(messages)]
    for turn in range(3):
        messages += [
            {"role": "assistant", "content": GUIDANCE[turn]},
            {"role": "user", "content": review_message(turn)},
        ]
        calls.append(list(messages))
    return calls


def review_options() -> list[str]:
    from csteer.runtime.actions import MARKERS
    from csteer.runtime.sessions import REVIEW_KINDS

    return [MARKERS[k] for k in REVIEW_KINDS]


# --- the coach: measurements ------------------------------------------------------------------------------------
def rss() -> dict[str, int]:
    """This process's resident memory in bytes: all, anonymous (heap, KV cache), file-backed (mmap)."""
    kb = _proc_kb("self", "VmRSS", "RssAnon", "RssFile")
    return {
        "rss": kb.get("VmRSS", 0) * 1024,
        "anon": kb.get("RssAnon", 0) * 1024,
        "file": kb.get("RssFile", 0) * 1024,
    }


class EvalCounter:
    """Counts the tokens llama.cpp evaluates through `engine.llm.eval` (prompt and generated alike):
    the proof that a reused prefix was not evaluated again."""

    def __init__(self, engine: Any) -> None:
        self.tokens = 0
        self.steps = 0  # calls of one token: decode steps, as opposed to (re-)evaluated prompt
        real = engine.llm.eval

        def counting(tokens: Any) -> Any:
            self.tokens += len(tokens)
            self.steps += len(tokens) == 1
            return real(tokens)

        engine.llm.eval = counting

    @contextmanager
    def span(self) -> Iterator[dict[str, float]]:
        """Yields a dict that gets `tokens` (evaluated inside), `steps` (of them, one-token decode
        calls) and `seconds` when the block ends."""
        out: dict[str, float] = {}
        before, steps, start = self.tokens, self.steps, time.perf_counter()
        yield out
        out["seconds"] = time.perf_counter() - start
        out["tokens"] = self.tokens - before
        out["steps"] = self.steps - steps


def open_coach(path: Path, n_ctx: int = 8192, threads: int | None = None) -> tuple[Any, dict[str, Any]]:
    """The GGUF through csteer's gguf: engine (mmap, csteer's thread choice, `csteer ask`'s default
    context); load time and memory. Built directly, not through create_engine's per-file cache, so a
    second open in the same process loads again."""
    from csteer.engines.base import EngineOptions
    from csteer.engines.llamacpp import LlamaCppEngine

    before = rss()
    start = time.perf_counter()
    engine = LlamaCppEngine(str(path), EngineOptions(n_ctx=n_ctx, threads=threads))
    seconds = time.perf_counter() - start
    return engine, {"seconds": seconds, "threads": engine.threads, "before": before, "after": rss()}


def _fresh(engine: Any) -> None:
    """An empty context and no saved conversations: the next call evaluates its whole prompt."""
    engine.llm.reset()
    engine._slots.clear()


def prefill(engine: Any, counter: EvalCounter, messages: list[dict[str, str]], reps: int) -> dict[str, Any]:
    """Whole-prompt evaluation from an empty context (chat with max_tokens=1: no decode step)."""
    runs = []
    for _ in range(reps):
        _fresh(engine)
        with counter.span() as r:
            engine.chat(messages, max_tokens=1)
        runs.append(r)
    return _rate(runs)


def decode(engine: Any, counter: EvalCounter, messages: list[dict[str, str]], tokens: int) -> dict[str, Any]:
    """`tokens` greedy tokens after `messages`, whose prompt is already in the context. The rate counts
    decode steps only: the engine evaluates the cached prompt's last MIN_CALL tokens again in one
    batched call (its batch-invariance rule), which costs about one step and is in the time, not in
    the count."""
    engine.chat(messages, max_tokens=1)  # make sure the prompt is cached
    with counter.span() as r:
        reply = engine.chat(messages, max_tokens=tokens, temperature=0.0)
    r["tokens"] = r["steps"]
    out = _rate([r])
    out["generated"] = reply.usage.completion_tokens
    out["finish_reason"] = reply.finish_reason
    return out


def _rate(runs: list[dict[str, float]]) -> dict[str, Any]:
    seconds = statistics.median(r["seconds"] for r in runs)
    tokens = int(statistics.median(r["tokens"] for r in runs))
    return {
        "tokens": tokens,
        "seconds": seconds,
        "tokens_per_s": tokens / seconds if seconds else 0.0,
        "runs": [round(r["seconds"], 3) for r in runs],
    }


def prefix_reuse(engine: Any, counter: EvalCounter, reps: int) -> dict[str, Any]:
    """The coach's fourth call (third review turn), scored, with and without KV prefix reuse.

    Calls 1-3 run first, as in a real run (the coach's context keeps its conversation between calls;
    the task model is another engine). With reuse the live context holds call 3's prompt, a prefix of
    call 4's, so only the last guidance and the new review are evaluated; without, everything is."""
    calls = conversation()
    options = review_options()
    _fresh(engine)
    earlier = []
    for messages in calls[:3]:
        with counter.span() as r:
            engine.choose(messages, options)
        earlier.append(r)
    with_reuse, without = [], []
    for _ in range(reps):
        engine.choose(calls[2], options)  # live context: call 3's prompt (a prefix of the cached one)
        engine._slots.clear()
        with counter.span() as r:
            engine.choose(calls[3], options)
        with_reuse.append(r)
        _fresh(engine)
        with counter.span() as r:
            engine.choose(calls[3], options)
        without.append(r)
    a, b = _rate(without), _rate(with_reuse)
    prompt_tokens = len(engine.tokenize(engine.render(calls[3])[0]))
    return {
        "without": a,
        "with": b,
        "ratio": a["seconds"] / b["seconds"] if b["seconds"] else 0.0,
        "ratio_runs": [x["seconds"] / y["seconds"] for x, y in zip(without, with_reuse) if y["seconds"]],
        "prompt_tokens": prompt_tokens,
        # the most reuse can save: prompt tokens over new tokens
        "token_ratio": a["tokens"] / b["tokens"] if b["tokens"] else 0.0,
        "earlier_calls": [_rate([r]) for r in earlier],
    }


def decisions(engine: Any, counter: EvalCounter, guidance_tokens: int, reps: int) -> dict[str, Any]:
    """One review decision, the review already in the KV cache: a scored keyword choice (`choose`) vs
    a generated guidance of up to `guidance_tokens` tokens (the trained coach's free reply)."""
    calls = conversation()
    options = review_options()
    engine.choose(calls[3], options)  # the review in the cache, for both modes alike
    scored = []
    for _ in range(reps):
        with counter.span() as r:
            engine.choose(calls[3], options)
        scored.append(r)
    with counter.span() as g:
        reply = engine.chat(calls[3], max_tokens=guidance_tokens, temperature=0.0)
    generated = _rate([g])
    generated["generated"] = reply.usage.completion_tokens
    choice = _rate(scored)
    return {
        "scored": choice,
        "generated": generated,
        "ratio": generated["seconds"] / choice["seconds"] if choice["seconds"] else 0.0,
    }


# --- the run ------------------------------------------------------------------------------------------------------
@dataclass
class Plan:
    """How much to measure (the tests use a tiny shape and few tokens)."""

    shape: Shape = LLAMA3_8B
    reps: int = 2
    decode_tokens: int = 64
    guidance_tokens: int = 100
    bandwidth_bytes: int = 1 << 30
    n_ctx: int = 8192  # csteer ask's default


def versions() -> dict[str, str]:
    import platform
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("csteer", "llama-cpp-python", "numpy", "gguf", "tokenizers", "transformers"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def _log(text: str) -> None:
    print(f"coach_8b: {text}", file=sys.stderr, flush=True)


def run(scratch: Path, plan: Plan, log: Callable[[str], None] = _log) -> dict[str, Any]:
    """Build (or reuse) the checkpoint and GGUF in `scratch`, then measure everything; returns the details."""
    if not scratch.is_dir():
        raise ScratchError(f"coach_8b: --scratch {scratch} is not a directory")
    ckpt, gguf_path = scratch / CKPT_DIR, scratch / "gguf" / GGUF_NAME
    have_ckpt = checkpoint_ready(ckpt, plan.shape)
    have_gguf = gguf_path.is_file()  # written atomically: present means complete
    need = needed_bytes(plan.shape, have_ckpt, have_gguf)
    free = check_disk(scratch, need)
    log(f"{scratch}: {free / 1e9:.1f} GB free, this run needs {need / 1e9:.1f} GB")
    out: dict[str, Any] = {
        "shape": asdict(plan.shape),
        "params": param_count(plan.shape),
        "versions": versions(),
        "load_average_start": os.getloadavg()[0],
        "reused": {"checkpoint": have_ckpt, "gguf": have_gguf},
    }
    if have_ckpt:
        log(f"reusing the checkpoint in {ckpt}")
    else:
        log(f"writing a random {out['params'] / 1e9:.2f} B-parameter checkpoint to {ckpt}")
        start = time.perf_counter()
        write_checkpoint(ckpt, plan.shape, log=log)
        out["checkpoint_seconds"] = time.perf_counter() - start
    out["checkpoint_bytes"] = dir_bytes(ckpt)
    if have_gguf:
        log(f"reusing {gguf_path} (conversion not measured in this run)")
    else:
        log(f"converting with csteer quantize --quant {QUANT} (the longest step)")
        out["conversion"] = convert(ckpt, gguf_path)
    out["gguf_bytes"] = gguf_path.stat().st_size
    out["tensor_bytes"] = gguf_tensor_bytes(gguf_path)
    log("memory bandwidth probe")
    out["bandwidth"] = bandwidth(plan.bandwidth_bytes)
    log("loading the GGUF with the gguf: engine")
    engine, out["load"] = open_coach(gguf_path, plan.n_ctx)
    try:
        counter = EvalCounter(engine)
        review = [{"role": "user", "content": review_message(2)}]
        log("prefill")
        out["prefill"] = prefill(engine, counter, review, plan.reps)
        out["rss_after_prefill"] = rss()
        log("decode")
        out["decode"] = decode(engine, counter, review, plan.decode_tokens)
        log("prefix reuse (fourth coach call, third review)")
        out["prefix_reuse"] = prefix_reuse(engine, counter, plan.reps)
        log("decision cost: scored choice vs generated guidance")
        out["decisions"] = decisions(engine, counter, plan.guidance_tokens, max(plan.reps, 3))
        out["rss_end"] = rss()
    finally:
        engine.close()
    bound = out["bandwidth"]["best"] / out["tensor_bytes"]["per_token"]
    out["decode_bound_tokens_per_s"] = bound
    out["decode_fraction_of_bound"] = out["decode"]["tokens_per_s"] / bound
    out["load_average_end"] = os.getloadavg()[0]
    return out


def table(d: dict[str, Any]) -> str:
    """The figures as a Markdown table (what docs/BENCHMARKS.md shows)."""
    gb = 1e9
    rows: list[tuple[str, str]] = []
    conv = d.get("conversion")
    if conv:
        rows += [
            ("conversion `csteer quantize --to gguf --quant q4_k_m`", f"{conv['seconds'] / 60:.1f} min"),
            (
                "conversion peak RSS (anonymous / file-backed)",
                f"{conv['peak_rss_bytes'] / gb:.2f} GB ({conv['peak_rss_anon_bytes'] / gb:.2f} / "
                f"{conv['peak_rss_file_bytes'] / gb:.2f} GB)",
            ),
            (
                "conversion disk peak (f16 intermediate + GGUF; checkpoint besides)",
                f"{conv['peak_disk_bytes'] / gb:.1f} GB (+ {d['checkpoint_bytes'] / gb:.1f} GB)",
            ),
        ]
    else:
        rows.append(("conversion", "not measured (GGUF reused)"))
    load, pre, dec, reuse, dcs = d["load"], d["prefill"], d["decode"], d["prefix_reuse"], d["decisions"]
    bw = d["bandwidth"]
    rows += [
        (
            "GGUF size (tensors; read per decoded token)",
            f"{d['gguf_bytes'] / gb:.2f} GB ({d['tensor_bytes']['all'] / gb:.2f}; {d['tensor_bytes']['per_token'] / gb:.2f} GB)",
        ),
        ("load (gguf: engine, mmap)", f"{load['seconds']:.1f} s, {load['threads']} threads"),
        (
            "RSS after load / after prefill (file-backed part)",
            f"{load['after']['rss'] / gb:.2f} / {d['rss_after_prefill']['rss'] / gb:.2f} GB "
            f"({d['rss_after_prefill']['file'] / gb:.2f} GB)",
        ),
        (
            "prefill (review message, empty context)",
            f"{pre['tokens_per_s']:.1f} tok/s ({pre['tokens']} tokens, {pre['seconds']:.1f} s)",
        ),
        ("decode (greedy)", f"{dec['tokens_per_s']:.2f} tok/s ({dec['generated']} tokens)"),
        ("memory bandwidth (best of copy/read, 1-2 threads)", f"{bw['best'] / gb:.1f} GB/s"),
        ("decode bound = bandwidth / bytes per token", f"{d['decode_bound_tokens_per_s']:.2f} tok/s"),
        ("**decode / bound** (goal >= 0.8)", f"**{d['decode_fraction_of_bound']:.2f}**"),
        (
            "4th coach call (3rd review): no reuse / reuse",
            f"{reuse['without']['seconds']:.1f} / {reuse['with']['seconds']:.1f} s "
            f"({reuse['without']['tokens']} / {reuse['with']['tokens']} tokens evaluated)",
        ),
        (
            "**prefix reuse ratio** (goal >= 10)",
            f"**{reuse['ratio']:.2f}** (token ratio {reuse['token_ratio']:.2f})",
        ),
        (
            "review decision: scored choice / generated guidance",
            f"{dcs['scored']['seconds']:.2f} / {dcs['generated']['seconds']:.1f} s "
            f"({dcs['generated']['generated']} tokens generated): {dcs['ratio']:.0f}x",
        ),
    ]
    lines = ["| measure | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)]
    return "\n".join(lines)


def measure(quick: bool) -> dict[str, Any]:
    """The case's entry for `python -m benchmarks coach_8b --scratch DIR` (DIR arrives in SCRATCH_ENV)."""
    scratch = os.environ.get(SCRATCH_ENV)
    if not scratch:
        raise ScratchError("coach_8b needs a scratch dir: python -m benchmarks coach_8b --scratch DIR")
    plan = Plan(reps=1) if quick else Plan()
    d = run(Path(scratch).expanduser(), plan)
    print(table(d), file=sys.stderr, flush=True)
    print(f"versions: {d['versions']}", file=sys.stderr, flush=True)
    bound = d["decode_bound_tokens_per_s"]
    reuse = d["prefix_reuse"]
    return {
        "name": "coach_8b",
        "ratio": d["decode_fraction_of_bound"],
        "a": d["decode"]["tokens_per_s"],
        "b": bound,
        "unit": "tok/s",
        "a_label": "decode (8B-shaped Q4_K_M, gguf: engine)",
        "b_label": "bandwidth bound",
        "ratio_min": None,
        "ratio_max": None,
        "reps": 1,
        "goal": ">= 0.8",
        "met": d["decode_fraction_of_bound"] >= 0.8,
        "prefix_reuse_ratio": reuse["ratio"],
        "prefix_reuse_met": reuse["ratio"] >= 10,
        "versions": d["versions"],
        "details": d,
        "table": table(d),
        "note": f"scratch {scratch}; reused {d['reused']}",
    }


def _main() -> None:
    """`python -m benchmarks.coach_8b --scratch DIR [--quick]`: the case alone, its JSON on stdout."""
    args = sys.argv[1:]
    if "--scratch" in args and args.index("--scratch") + 1 < len(args):
        os.environ[SCRATCH_ENV] = args[args.index("--scratch") + 1]
    try:
        print(json.dumps(measure("--quick" in args), indent=2))
    except ScratchError as err:
        print(err, file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    _main()
