"""Qwen2 / Qwen2.5: Llama-like names plus Q/K/V biases; NEOX rope, so no permutation."""

from __future__ import annotations

from typing import Any

from csteer.quantize.arch import BLOCK_TENSORS, map_name, write_common_hparams

GGUF_ARCH = "qwen2"
TOP = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}


def tensor_name(hf_name: str, config: dict[str, Any]) -> str | None:
    if hf_name.endswith("rotary_emb.inv_freq"):
        return None
    return map_name(hf_name, "model.", TOP, BLOCK_TENSORS)


def transform(gguf_name: str, array: Any, config: dict[str, Any]) -> Any:
    return array


def write_hparams(writer: Any, config: dict[str, Any]) -> None:
    write_common_hparams(writer, config)


def extra_tensors(config: dict[str, Any]) -> dict[str, Any]:
    return {}
