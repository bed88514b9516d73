"""Fixtures: a tiny random Llama-3-shaped checkpoint (GQA, llama3 rope scaling, BPE tokenizer trained here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

LLAMA3_REGEX = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n"
    "{{ m['content'] | trim }}<|eot_id|>{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
)
CORPUS = [
    "def add(a, b):\n    return a + b\n",
    "The quick brown fox jumps over the lazy dog. It's 12345 times faster!",
    "What is 48271 * 91433? Let's write Python code to compute it.",
    "for i in range(10):\n    print(i ** 2)\n",
    "Steering models decide between <<<Code>>> and <<<Text>>> for each question.",
    "Sudoku, Game 24, BoxLift and path planning are symbolic tasks.",
] * 20

QK_SCALE = 4.0

TEXTS = [
    "def square(x):\n    return x * x\n",
    "The answer is 4413554343, computed with Python.",
    "   leading spaces and\ttabs\nand newlines\n\n",
    "Unicode: café, naïve, 東京, emoji 🙂",
    "<|eot_id|> is a special token; they'll see it's fine.",
]


def build_tokenizer(dest: Path) -> None:
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(LLAMA3_REGEX), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<|begin_of_text|> $A", special_tokens=[("<|begin_of_text|>", 0)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=SPECIALS[0], eos_token=SPECIALS[4], pad_token=SPECIALS[1]
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(dest)


def build_llama(dest: Path, vocab_size: int) -> None:
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,  # GQA
        max_position_embeddings=512,
        rope_theta=500000.0,
        rope_scaling={
            "rope_type": "llama3",
            "factor": 8.0,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
            "original_max_position_embeddings": 64,  # small, so test sequences cross all three bands
        },
        tie_word_embeddings=False,
        bos_token_id=0,
        eos_token_id=4,
        torch_dtype="bfloat16",
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    with torch.no_grad():  # a peaked output layer: random logits far apart, so top-1 is meaningful
        model.lm_head.weight.mul_(10.0)
        # larger q/k: attention scores 16x the random init's, so attention is peaked and depends on the
        # rotary positions (near-uniform attention hides RoPE and rope-scaling errors)
        for layer in model.model.layers:
            layer.self_attn.q_proj.weight.mul_(QK_SCALE)
            layer.self_attn.k_proj.weight.mul_(QK_SCALE)
    model = model.to(torch.bfloat16)
    model.save_pretrained(dest, safe_serialization=True)
    GenerationConfig(bos_token_id=0, eos_token_id=[1, 4]).save_pretrained(dest)


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    dest = tmp_path_factory.mktemp("tiny-llama")
    build_tokenizer(dest)
    vocab = json.loads((dest / "tokenizer.json").read_text())
    size = len(vocab["model"]["vocab"])
    build_llama(dest, size)
    return dest


# name -> (quantization, graph) of the tiny checkpoint's ONNX exports
ONNX_EXPORTS = {
    "fp32": ("fp32", "optimum"),
    "int8": ("int8", "optimum"),
    "fused": ("fp32", "fused"),
    "fused-int4": ("int4", "fused"),
}


@pytest.fixture(scope="session")
def tiny_llama_onnx(tiny_llama: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The tiny checkpoint's ONNX exports (ONNX_EXPORTS: optimum's traced graph at fp32 and int8, the
    fused builder graph at fp32 and int4), one export each, shared by the tests."""
    pytest.importorskip("optimum.exporters.onnx")
    pytest.importorskip("onnxruntime_genai")
    from csteer.quantize import to_onnx

    root = tmp_path_factory.mktemp("tiny-onnx")
    return {
        name: to_onnx(tiny_llama, root / name, quant, graph=graph, progress=False)
        for name, (quant, graph) in ONNX_EXPORTS.items()
    }


@pytest.fixture(scope="session")
def tiny_hf(tiny_llama: Path):
    """The tiny checkpoint in transformers (fp32): the reference every format is compared with."""
    import torch
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(tiny_llama, dtype=torch.float32).eval()


@pytest.fixture(scope="session")
def random_ids() -> list[list[int]]:
    """Seeded random token sequences, long enough to cross every band of the llama3 rope scaling."""
    import numpy as np

    rng = np.random.default_rng(1234)
    return [rng.integers(5, 400, size=160).tolist() for _ in range(3)]


def reference_logits(model, ids: list[int]):  # -> np.ndarray [len(ids), vocab]
    import torch

    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].numpy()


@pytest.fixture(scope="session")
def hf_logits(tiny_hf):
    return lambda ids: reference_logits(tiny_hf, ids)
