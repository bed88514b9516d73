"""The embedded Gemma 3 270M: GGUF -> HF (rebuilt BPE tokenizer) -> ONNX int4 -> the ONNX engine.

Slow (a real export, about 2-4 minutes on two cores) but run by default: it is the path
`csteer models convert embedded --to onnx` takes. The converted model is shared by the tests here.
"""

from __future__ import annotations

import math

import pytest

pytest.importorskip("optimum.exporters.onnx")
pytest.importorskip("transformers")
llama_cpp = pytest.importorskip("llama_cpp")

pytestmark = pytest.mark.slow

STRINGS = [
    "    return x",
    "def f(a, b):\n    return a + b\n\n\n",
    "What is 48271 * 91433?",
    "Hello   world\t tab",
    "café naïve 東京 🙂 <<<Code>>> <<<Text>>>",
    "<start_of_turn>user\nhi<end_of_turn>\n",
    "x" * 40 + "  " * 20,
    "ΑΒΓ αβγ résumé 1234567890 3.14159e-10",
]


@pytest.fixture(scope="session")
def embedded_onnx(embedded_gguf, tmp_path_factory):
    from csteer.quantize import gguf_to_onnx

    return gguf_to_onnx(embedded_gguf, tmp_path_factory.mktemp("embedded-onnx") / "int4", "int4")


@pytest.fixture(scope="session")
def engine(embedded_onnx):
    from csteer.engines.onnx import OnnxEngine

    return OnnxEngine(embedded_onnx, kind="base")


def test_the_default_conversion_is_the_fused_graph(embedded_onnx):
    import json

    meta = json.loads((embedded_onnx / "csteer_onnx.json").read_text())
    assert (meta["graph"], meta["quant"]) == ("fused", "int4")
    assert (embedded_onnx / "genai_config.json").is_file()  # the folder runs in onnxruntime-genai too


def test_rebuilt_tokenizer_matches_llama_cpp(embedded_onnx, embedded_gguf):
    from tokenizers import Tokenizer

    ours = Tokenizer.from_file(str(embedded_onnx / "tokenizer.json"))
    ref = llama_cpp.Llama(str(embedded_gguf), vocab_only=True, verbose=False)
    for text in STRINGS:
        assert ours.encode(text, add_special_tokens=False).ids == ref.tokenize(
            text.encode(), add_bos=False, special=True
        ), text
        assert ours.decode(ours.encode(text, add_special_tokens=False).ids, skip_special_tokens=False) == text
    assert ours.encode("    return").tokens == ["<bos>", "    ", "return"]  # not "▁▁▁▁ re turn"


# measured: the int4 ONNX re-quantization of the Q4_K_M weights moves single log-probs by up to 3.7 nats
# on these prompts (" Paris": -6.1 here, -2.4 in llama.cpp) and leans towards Code by 2-4 nats, so on a
# borderline task ("Write a poem about autumn.") the two decide differently; on these they agree
LOGPROB_MARGIN = 5.0
CODE_TASK = (
    "Decide whether the task is best solved by writing Python code or by reasoning in text.\n\n"
    "Task: What is 48271 * 91433?\nDecision:"
)


@pytest.mark.parametrize(
    ("prompt", "options", "expected"),
    [
        (CODE_TASK, [" <<<Code>>>", " <<<Text>>>"], 0),
        (CODE_TASK, [" <<<Text>>>", " <<<Code>>>"], 1),  # the decision follows the scores, not the order
        ("The capital of France is", [" Paris", " banana"], 0),
    ],
)
def test_onnx_choose_agrees_with_the_gguf_engine(engine, embedded_gguf, prompt, options, expected):
    from csteer.engines.llamacpp import LlamaCppEngine

    messages = [{"role": "user", "content": prompt}]
    ours = engine.choose(messages, options)
    gguf = LlamaCppEngine(str(embedded_gguf), kind="base")
    try:
        ref = gguf.choose(messages, options)
    finally:
        gguf.close()
    assert ref.index == expected
    assert ours.index == ref.index, (ours.logprobs, ref.logprobs)
    assert all(math.isfinite(x) and x < 0 for x in ours.logprobs)
    assert all(abs(a - b) < LOGPROB_MARGIN for a, b in zip(ours.logprobs, ref.logprobs)), (
        ours.logprobs,
        ref.logprobs,
    )


def test_int4_model_still_knows_things(engine):
    """Scores must come from a working model: an obvious fact outranks nonsense, counting continues."""
    choice = engine.choose([{"role": "user", "content": "The capital of France is"}], [" Paris", " banana"])
    assert choice.index == 0
    out = engine.chat([{"role": "user", "content": "1, 2, 3, 4, 5,"}], max_tokens=6)
    assert "6" in out.text
