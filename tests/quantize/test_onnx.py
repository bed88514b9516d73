"""HF checkpoint -> ONNX (optimum's traced export + onnxruntime quantization, or the fused builder graph)
and the ONNX engine's decode loop on both graphs."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from csteer.errors import CsteerError

pytest.importorskip("optimum.exporters.onnx")
ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="session", params=["fp32", "fused"])
def engine(request, tiny_llama_onnx):
    """The engine on each graph at fp32: every decode-loop test runs on optimum's and the fused one."""
    from csteer.engines.onnx import OnnxEngine

    return OnnxEngine(tiny_llama_onnx[request.param], kind="instruct")


def _weights_bytes(folder):
    return sum(p.stat().st_size for p in folder.iterdir() if p.name.startswith("model.onnx"))


def test_export_folder_has_model_and_tokenizer(tiny_llama_onnx):
    from tests.quantize.conftest import ONNX_EXPORTS

    for name, folder in tiny_llama_onnx.items():
        names = {p.name for p in folder.iterdir()}
        assert {"model.onnx", "tokenizer.json", "tokenizer_config.json", "config.json"} <= names
        assert not any(n.startswith(".") for n in names)
        meta = json.loads((folder / "csteer_onnx.json").read_text())
        assert (meta["quant"], meta["graph"]) == ONNX_EXPORTS[name]
    assert _weights_bytes(tiny_llama_onnx["int8"]) < _weights_bytes(tiny_llama_onnx["fp32"])
    assert _weights_bytes(tiny_llama_onnx["fused-int4"]) < _weights_bytes(tiny_llama_onnx["fused"])


def _op_counts(folder):
    import collections

    import onnx

    graph = onnx.load(str(folder / "model.onnx"), load_external_data=False).graph
    return collections.Counter(node.op_type for node in graph.node)


def test_fused_graph_is_built_from_fused_ops(tiny_llama_onnx):
    """The point of the fused graph: one attention op per layer and far fewer nodes than the trace."""
    fused, traced = _op_counts(tiny_llama_onnx["fused"]), _op_counts(tiny_llama_onnx["fp32"])
    assert fused["GroupQueryAttention"] == 2  # the tiny model's two layers
    assert traced["GroupQueryAttention"] == 0
    assert sum(fused.values()) * 3 < sum(traced.values())
    int4 = _op_counts(tiny_llama_onnx["fused-int4"])
    assert int4["MatMul"] == 0 and int4["MatMulNBits"] >= 2 * 4 + 1  # every weight matmul is 4-bit


@pytest.mark.parametrize(
    ("name", "min_top1"), [("fp32", 0.99), ("int8", 0.9), ("fused", 0.99), ("fused-int4", 0.7)]
)
def test_onnxruntime_logits_agree_with_transformers(tiny_llama_onnx, hf_logits, random_ids, name, min_top1):
    import numpy as np

    from csteer.engines.onnx import OnnxEngine

    eng = OnnxEngine(tiny_llama_onnx[name])
    agree = [(eng.logits_of(ids).argmax(-1) == hf_logits(ids).argmax(-1)).mean() for ids in random_ids]
    assert float(np.mean(agree)) >= min_top1
    if name in ("fp32", "fused"):
        ids = random_ids[0]
        assert np.abs(eng.logits_of(ids) - hf_logits(ids)).max() < 1e-3


def test_auto_graph_is_fused_where_tested(tiny_llama):
    from csteer.errors import UsageError
    from csteer.quantize.onnx_convert import pick_graph

    assert pick_graph("auto", "int4", "llama") == "fused"
    assert pick_graph("auto", "fp32", "gemma3_text") == "fused"
    assert pick_graph("auto", "int8", "llama") == "optimum"  # the builder writes no dynamic int8
    assert pick_graph("auto", "int4", "qwen2") == "optimum"  # not tested here
    assert pick_graph("Fused", "int4", "qwen2") == "fused"  # asked for: tried
    with pytest.raises(UsageError, match="no int8"):
        pick_graph("fused", "int8", "llama")
    with pytest.raises(UsageError, match="unknown ONNX graph"):
        pick_graph("traced", "int4", "llama")


def test_graph_option_is_for_onnx_only(tiny_llama, tmp_path):
    from csteer.cli.main import cli

    result = CliRunner().invoke(
        cli,
        ["quantize", str(tiny_llama), "--to", "gguf", "--graph", "fused", "--out", str(tmp_path / "x.gguf")],
    )
    assert result.exit_code == 2 and "--graph is for --to onnx" in result.output
    assert not (tmp_path / "x.gguf").exists()


def test_greedy_decode_loop_matches_transformers_generate(engine, tiny_hf):
    import torch

    messages = [{"role": "user", "content": "What is 48271 * 91433?"}]
    prompt = engine.encode(messages)
    with torch.no_grad():
        ref = tiny_hf.generate(torch.tensor([prompt]), max_new_tokens=12, do_sample=False, eos_token_id=None)
    expected = ref[0, len(prompt) :].tolist()
    engine.eos_ids, saved = set(), engine.eos_ids  # compare raw token streams, no early stop
    try:
        out = engine.chat(messages, max_tokens=12)
    finally:
        engine.eos_ids = saved
    assert out.text == engine.tokenizer.decode(expected, skip_special_tokens=True)
    assert out.usage.completion_tokens == 12 and out.finish_reason == "length"


def test_chat_template_renders_the_llama3_turns(engine):
    text = engine.render([{"role": "user", "content": "hi"}])
    assert text == "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>" + (
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    assert engine.encode([{"role": "user", "content": "hi"}]).count(0) == 1  # one BOS, not two


def test_base_kind_uses_the_prompt_verbatim(tiny_llama_onnx):
    from csteer.engines.onnx import OnnxEngine

    eng = OnnxEngine(tiny_llama_onnx["fp32"], kind="base")
    assert eng.render([{"role": "user", "content": "Q: 2+2?\nA:"}]) == "Q: 2+2?\nA:"
    assert eng.encode([{"role": "user", "content": "Q"}])[0] == 0  # the tokenizer adds BOS


def test_kv_cache_is_reused_for_a_growing_conversation(engine):
    first = [{"role": "user", "content": "Write code for 12 * 13."}]
    reply = engine.chat(first, max_tokens=5)
    cached = list(engine._cache_tokens)  # the first prompt and every token fed back while decoding
    assert cached[: reply.usage.prompt_tokens] == engine.encode(first)
    second = first + [{"role": "assistant", "content": reply.text}, {"role": "user", "content": "ok"}]
    ids = engine.encode(second)
    shared = next((i for i, (a, b) in enumerate(zip(cached, ids)) if a != b), min(len(cached), len(ids)))
    assert shared >= reply.usage.prompt_tokens  # the whole first prompt is a prefix of the second
    again = engine.chat(second, max_tokens=3)
    # exactly the tokens after the shared prefix are evaluated, no more
    assert again.usage.prompt_tokens == len(ids)
    assert again.usage.evaluated_prompt_tokens == len(ids) - shared


def test_stop_strings_and_seeded_sampling(engine):
    messages = [{"role": "user", "content": "Say something."}]
    free = engine.chat(messages, max_tokens=20)
    assert len(free.text) > 4
    stop = free.text[2:4]
    cut = engine.chat(messages, max_tokens=20, stop=[stop])
    assert cut.finish_reason == "stop" and stop not in cut.text and free.text.startswith(cut.text)
    a = engine.chat(messages, max_tokens=15, temperature=1.0, seed=7)
    b = engine.chat(messages, max_tokens=15, temperature=1.0, seed=7)
    assert a.text == b.text


def test_choose_scores_equal_transformers_logprobs(engine, tiny_hf):
    import numpy as np
    import torch

    messages = [{"role": "user", "content": "Code or text?"}]
    options = ["<<<Code>>>", "<<<Text>>>", "Return Answer"]
    choice = engine.choose(messages, options)
    prompt = engine.encode(messages)
    expected = []
    for option in options:
        ids = engine.tokenizer.encode(option, add_special_tokens=False).ids
        with torch.no_grad():
            logp = torch.log_softmax(tiny_hf(torch.tensor([prompt + ids])).logits[0].double(), -1).numpy()
        expected.append(sum(logp[len(prompt) - 1 + i, tok] for i, tok in enumerate(ids)))
    assert np.allclose(choice.logprobs, expected, atol=1e-3)
    assert choice.index == int(np.argmax(expected))


def test_spec_routes_onnx_dir_to_the_engine(tiny_llama_onnx):
    from csteer.engines.onnx import OnnxEngine
    from csteer.engines.spec import create_engine, parse_explicit

    eng = create_engine(parse_explicit(f"onnx:{tiny_llama_onnx['int8']}"))
    assert (
        isinstance(eng, OnnxEngine) and eng.kind == "instruct" and eng.providers[-1] == "CPUExecutionProvider"
    )


def test_missing_or_broken_model_is_a_clear_error(tmp_path, tiny_llama_onnx):
    import shutil

    from csteer.engines.onnx import OnnxEngine

    with pytest.raises(CsteerError, match="not found"):
        OnnxEngine(tmp_path / "nothing")
    broken = tmp_path / "broken"
    shutil.copytree(tiny_llama_onnx["int8"], broken)
    (broken / "model.onnx").write_bytes(b"not a protobuf")
    with pytest.raises(CsteerError, match="could not load"):
        OnnxEngine(broken)


def test_verify_cli_reports_agreement_as_json(tiny_llama, tiny_llama_onnx):
    from csteer.cli.main import cli

    result = CliRunner().invoke(
        cli, ["quantize", "verify", str(tiny_llama), str(tiny_llama_onnx["int8"]), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["top1_agreement"] >= 0.9
    assert report["tokenizer_match"] is True
    assert report["reference"]["format"] == "hf" and report["candidate"]["format"] == "onnx"
    # measured: int8 top-1 0.96, mean KL 0.002 nats, perplexity within 1% of the reference's
    ref_ppl, cand_ppl = report["reference"]["perplexity"], report["candidate"]["perplexity"]
    assert abs(cand_ppl / ref_ppl - 1) < 0.05, (cand_ppl, ref_ppl)
    assert 0 < report["mean_kl"] < 0.02, report["mean_kl"]


def test_verify_detects_a_different_model(tiny_llama, tmp_path):
    """A model with other weights must not pass: the check can fail."""
    import torch
    from transformers import AutoModelForCausalLM

    from csteer.quantize import verify

    other = tmp_path / "other"
    model = AutoModelForCausalLM.from_pretrained(tiny_llama)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    model.save_pretrained(other)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (other / name).write_bytes((tiny_llama / name).read_bytes())
    report = verify(tiny_llama, other, sequences=2, length=32)
    assert report["top1_agreement"] < 0.5
    assert report["mean_kl"] > 0.5, report["mean_kl"]  # far beyond the int8 export's 0.002
    assert abs(report["candidate"]["perplexity"] / report["reference"]["perplexity"] - 1) > 0.05


@pytest.mark.cuda
def test_cuda_provider_is_used_when_present(tiny_llama_onnx):
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        pytest.skip("onnxruntime has no CUDAExecutionProvider here")
    from csteer.engines.onnx import OnnxEngine

    eng = OnnxEngine(tiny_llama_onnx["fp32"])
    assert eng.providers[0] == "CUDAExecutionProvider" and eng.device == "cuda"
    assert eng.chat([{"role": "user", "content": "hi"}], max_tokens=4).usage.completion_tokens > 0
