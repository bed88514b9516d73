"""benchmarks/coach_8b at a tiny shape: the same builder, conversion and measurements, end to end in seconds.

The 8B run takes tens of minutes and ~38 GB of disk, so it is not in the suite; this keeps its code from
rotting: the checkpoint it writes must be what it claims (config, shards, tensor shapes, bf16 values,
tokenizer ids), the real `csteer quantize` must convert it, the gguf: engine must load it, and every
measurement must count real tokens and time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks import coach_8b as bench
from csteer.engines.llamacpp import MIN_CALL

ROOT = Path(__file__).resolve().parents[2]
# 2 layers, GQA 4/2, hidden 256 (a multiple of 256, so Q4_K_M quantizes it with K-quants as at 8B);
# shards of at most 1 MB, so the tiny checkpoint is sharded too
TINY = bench.Shape(
    layers=2,
    hidden=256,
    intermediate=512,
    heads=4,
    kv_heads=2,
    vocab=2048,
    max_positions=4096,
    shard_bytes=1_000_000,
    trained_merges=1500,
)


def test_the_default_shape_is_llama3_8b() -> None:
    config = bench.config_for(bench.LLAMA3_8B)
    assert bench.param_count(bench.LLAMA3_8B) == 8_030_261_248
    assert {k: config[k] for k in ("num_hidden_layers", "hidden_size", "intermediate_size")} == {
        "num_hidden_layers": 32,
        "hidden_size": 4096,
        "intermediate_size": 14336,
    }
    heads = (config["num_attention_heads"], config["num_key_value_heads"], config["vocab_size"])
    assert heads == (32, 8, 128256)
    ids = (config["rope_theta"], config["bos_token_id"], config["eos_token_id"])
    assert ids == (500000.0, 128000, 128009)
    # sharded like meta-llama/Meta-Llama-3-8B: 4.98, 5.00, 4.92 and 1.17 GB
    sizes = [sum(2 * bench._count(d) for _, d in shard) / 1e9 for shard in bench.shard_plan(bench.LLAMA3_8B)]
    assert [round(s, 2) for s in sizes] == [4.98, 5.0, 4.92, 1.17]
    assert 37e9 < bench.needed_bytes(bench.LLAMA3_8B, False, False) < 40e9
    assert bench.needed_bytes(bench.LLAMA3_8B, True, True) == 0


def test_too_little_disk_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(bench.ScratchError, match=r"GB free, the run needs .* GB"):
        bench.check_disk(tmp_path, 10**18)


def test_the_runner_asks_for_a_scratch_dir() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "coach_8b"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "benchmarks: coach_8b needs --scratch DIR (a folder with about 40 GB free for the 8B-shaped "
        "checkpoint and its GGUF)"
    ]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    pytest.importorskip("transformers")
    pytest.importorskip("llama_cpp")
    scratch = tmp_path_factory.mktemp("coach-8b-tiny")
    plan = bench.Plan(
        shape=TINY, reps=2, decode_tokens=8, guidance_tokens=12, bandwidth_bytes=1 << 24, n_ctx=4096
    )
    lines: list[str] = []
    first = bench.run(scratch, plan, log=lines.append)
    again: list[str] = []
    second = bench.run(scratch, plan, log=again.append)  # everything reused, nothing rebuilt
    return {"scratch": scratch, "first": first, "second": second, "log": lines, "log_again": again}


@pytest.mark.slow
def test_tiny_checkpoint_is_what_it_claims(tiny_run: dict[str, Any]) -> None:
    import numpy as np

    from csteer.quantize.checkpoint import open_checkpoint

    ckpt = tiny_run["scratch"] / bench.CKPT_DIR
    assert json.loads((ckpt / "config.json").read_text()) == bench.config_for(TINY)
    index = json.loads((ckpt / "model.safetensors.index.json").read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) == len(bench.shard_plan(TINY)) >= 2
    opened = open_checkpoint(ckpt)
    assert {n: t.shape for n, t in opened.tensors.items()} == dict(bench.tensor_specs(TINY))
    assert sum(_count(t.shape) for t in opened.tensors.values()) == bench.param_count(TINY)
    assert index["metadata"]["total_size"] == opened.total_bytes == 2 * bench.param_count(TINY)
    q = opened.tensors["model.layers.1.self_attn.q_proj.weight"].load()
    assert np.isfinite(q).all() and np.abs(q).min() >= 0.0078 and np.abs(q).max() < 0.032
    assert 0.45 < (q > 0).mean() < 0.55
    assert (opened.tensors["model.layers.0.input_layernorm.weight"].load() == 1.0).all()

    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(ckpt / "tokenizer.json"))
    assert tok.get_vocab_size() == TINY.vocab
    assert tok.token_to_id("<|begin_of_text|>") == TINY.bos_id
    assert tok.token_to_id("<|eot_id|>") == TINY.eot_id
    assert tok.encode("hello").ids[0] == TINY.bos_id
    trained = len(tok.encode("def solve(items):\n    return None", add_special_tokens=False).ids)
    assert trained < 16  # merges trained on the repository's code, not bytes


@pytest.mark.slow
def test_tiny_conversion_is_measured_and_loads(tiny_run: dict[str, Any]) -> None:
    first = tiny_run["first"]
    conv = first["conversion"]
    assert conv["command"].startswith("csteer quantize ") and "--quant q4_k_m" in conv["command"]
    assert conv["seconds"] > 0 and conv["peak_rss_bytes"] > 10e6
    assert conv["peak_disk_bytes"] >= first["gguf_bytes"] > 0
    tensors = first["tensor_bytes"]
    assert 0 < tensors["token_embd"] < tensors["all"] <= first["gguf_bytes"]
    assert first["reused"] == {"checkpoint": False, "gguf": False}
    assert first["load"]["seconds"] > 0 and first["load"]["threads"] >= 1
    assert first["load"]["after"]["rss"] > first["load"]["before"]["rss"]
    assert first["versions"]["llama-cpp-python"] != "not installed"


@pytest.mark.slow
def test_tiny_measurements_count_tokens_and_time(tiny_run: dict[str, Any]) -> None:
    d = tiny_run["first"]
    pre = d["prefill"]
    assert pre["tokens"] > 300 and pre["tokens_per_s"] > 0  # the whole review message, from an empty context
    dec = d["decode"]
    # each generated token but the last is a decode step; the cached prompt's re-evaluated tail is not one
    assert 1 <= dec["generated"] <= 8 and dec["tokens"] == dec["generated"] - 1
    assert dec["tokens_per_s"] > 0
    assert d["bandwidth"]["best"] > 1e8 and d["decode_bound_tokens_per_s"] > 0
    assert d["decode_fraction_of_bound"] == pytest.approx(
        dec["tokens_per_s"] / d["decode_bound_tokens_per_s"]
    )
    reuse = d["prefix_reuse"]
    # without reuse the whole fourth prompt is evaluated; with it only the last guidance and review
    assert reuse["without"]["tokens"] == reuse["prompt_tokens"]
    assert 0 < reuse["with"]["tokens"] < reuse["without"]["tokens"] / 2
    assert reuse["ratio"] > 0 and len(reuse["ratio_runs"]) == 2
    assert [c["tokens"] > 0 for c in reuse["earlier_calls"]] == [True, True, True]
    dcs = d["decisions"]
    # the cached review: only its last MIN_CALL tokens again (one batch-invariant call), then the options
    assert dcs["scored"]["tokens"] == MIN_CALL
    # at most the 12 asked for, plus up to 3 more: llama-cpp-python does not stop on a token that leaves a
    # UTF-8 character unfinished, which a random-weight model's byte tokens often do
    assert 1 <= dcs["generated"]["generated"] <= 12 + 3 and dcs["generated"]["seconds"] > 0
    table = bench.table(d)
    assert "decode / bound" in table and "prefix reuse ratio" in table


@pytest.mark.slow
def test_a_second_run_reuses_checkpoint_and_gguf(tiny_run: dict[str, Any]) -> None:
    second = tiny_run["second"]
    assert second["reused"] == {"checkpoint": True, "gguf": True}
    assert "conversion" not in second and "checkpoint_seconds" not in second
    assert any("reusing the checkpoint" in line for line in tiny_run["log_again"])
    assert any("conversion not measured" in line for line in tiny_run["log_again"])
    assert "not measured (GGUF reused)" in bench.table(second)
    scratch: Path = tiny_run["scratch"]
    assert (scratch / bench.CKPT_DIR / bench.DONE).is_file()  # nothing was cleaned up
    assert not [p for p in (scratch / "gguf").iterdir() if p.name != bench.GGUF_NAME]


def _count(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n
