"""Per-architecture knowledge for HF -> GGUF: one small module each (tensor names, hparams, fix-ups).

Every module exposes `GGUF_ARCH`, `tensor_name(hf_name) -> str | None` (None = not part of the
language model, skipped), `transform(gguf_name, array, config) -> array` and
`write_hparams(writer, config)`. `text_config(config)` picks the language-model config.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from csteer.errors import CsteerError

# HF `model_type` -> module implementing it
ARCHITECTURES: dict[str, str] = {
    "llama": "csteer.quantize.arch.llama",
    "gemma3": "csteer.quantize.arch.gemma3",
    "gemma3_text": "csteer.quantize.arch.gemma3",
    "qwen2": "csteer.quantize.arch.qwen2",
}


def for_config(config: dict[str, Any]) -> ModuleType:
    model_type = str(config.get("model_type", ""))
    if model_type not in ARCHITECTURES:
        supported = ", ".join(sorted(ARCHITECTURES))
        raise CsteerError(
            f"architecture {model_type or '(none in config.json)'!r} is not supported for GGUF conversion "
            f"(supported: {supported})"
        )
    return importlib.import_module(ARCHITECTURES[model_type])


def text_config(config: dict[str, Any]) -> dict[str, Any]:
    """Multimodal checkpoints nest the language model's settings under text_config."""
    inner = config.get("text_config")
    return {**config, **inner} if isinstance(inner, dict) else config


BLOCK_TENSORS: dict[str, str] = {
    # shared by the decoder-only families here; architecture modules add their own extras
    "input_layernorm": "attn_norm",
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "post_attention_layernorm": "ffn_norm",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}


def map_name(hf_name: str, prefix: str, top: dict[str, str], block: dict[str, str]) -> str | None:
    """`{prefix}layers.{i}.{part}.{weight|bias}` -> `blk.{i}.{gguf}.{weight|bias}`; top-level via `top`."""
    if hf_name in top:
        return top[hf_name]
    if not hf_name.startswith(prefix + "layers."):
        return None
    rest = hf_name[len(prefix) + len("layers.") :]
    index, _, part = rest.partition(".")
    stem, _, suffix = part.rpartition(".")
    if not index.isdigit() or stem not in block or suffix not in ("weight", "bias"):
        return None
    return f"blk.{index}.{block[stem]}.{suffix}"


def rope_scaling(config: dict[str, Any]) -> dict[str, Any]:
    scaling = config.get("rope_scaling") or {}
    if not isinstance(scaling, dict):
        return {}
    kind = scaling.get("rope_type") or scaling.get("type")
    return {**scaling, "rope_type": kind} if kind and kind != "default" else {}


def head_dim(config: dict[str, Any]) -> int:
    return int(config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"])


def write_common_hparams(writer: Any, config: dict[str, Any]) -> None:
    """Hyper-parameters every decoder-only family here shares."""
    import gguf

    writer.add_context_length(int(config.get("max_position_embeddings", 4096)))
    writer.add_embedding_length(int(config["hidden_size"]))
    writer.add_block_count(int(config["num_hidden_layers"]))
    writer.add_feed_forward_length(int(config["intermediate_size"]))
    writer.add_head_count(int(config["num_attention_heads"]))
    writer.add_head_count_kv(int(config.get("num_key_value_heads") or config["num_attention_heads"]))
    writer.add_layer_norm_rms_eps(float(config.get("rms_norm_eps", 1e-6)))
    writer.add_rope_freq_base(float(config.get("rope_theta", 10000.0)))
    dim = head_dim(config)
    writer.add_key_length(dim)
    writer.add_value_length(dim)
    writer.add_rope_dimension_count(dim)
    if "vocab_size" in config:
        writer.add_vocab_size(int(config["vocab_size"]))
    scaling = rope_scaling(config)
    if scaling.get("rope_type") == "linear":
        writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(float(scaling["factor"]))
    elif scaling.get("rope_type") == "yarn":
        writer.add_rope_scaling_type(gguf.RopeScalingType.YARN)
        writer.add_rope_scaling_factor(float(scaling["factor"]))
        writer.add_rope_scaling_orig_ctx_len(int(scaling["original_max_position_embeddings"]))
    elif scaling and scaling["rope_type"] != "llama3":  # llama3 is carried by the rope_freqs tensor
        raise CsteerError(f"rope scaling type {scaling['rope_type']!r} is not supported for GGUF conversion")
