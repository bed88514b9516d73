"""Gemma 3 (text): extra sandwich norms, Q/K norms, tied embeddings, (1 + w) RMS norm weights."""

from __future__ import annotations

from typing import Any

from csteer.quantize.arch import BLOCK_TENSORS, map_name, write_common_hparams

GGUF_ARCH = "gemma3"
BLOCK = {
    **BLOCK_TENSORS,
    "post_attention_layernorm": "post_attention_norm",
    "pre_feedforward_layernorm": "ffn_norm",
    "post_feedforward_layernorm": "post_ffw_norm",
    "self_attn.q_norm": "attn_q_norm",
    "self_attn.k_norm": "attn_k_norm",
}


def _prefix(config: dict[str, Any]) -> str:
    # the multimodal checkpoint nests the text model; vision tensors are skipped
    return "language_model.model." if config.get("model_type") == "gemma3" else "model."


def tensor_name(hf_name: str, config: dict[str, Any]) -> str | None:
    prefix = _prefix(config)
    top = {f"{prefix}embed_tokens.weight": "token_embd.weight", f"{prefix}norm.weight": "output_norm.weight"}
    return map_name(hf_name, prefix, top, BLOCK)  # lm_head is tied to token_embd


def transform(gguf_name: str, array: Any, config: dict[str, Any]) -> Any:
    # Gemma's RMSNorm scales by (1 + w); llama.cpp multiplies by the stored weight.
    return array + 1.0 if gguf_name.endswith("norm.weight") else array


def write_hparams(writer: Any, config: dict[str, Any]) -> None:
    write_common_hparams(writer, config)
    if config.get("sliding_window"):
        writer.add_sliding_window(int(config["sliding_window"]))


def extra_tensors(config: dict[str, Any]) -> dict[str, Any]:
    return {}
