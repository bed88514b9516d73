"""Llama family (Llama 2/3, CodeSteer-v1): names, Q/K un-permutation, llama3 rope frequency factors."""

from __future__ import annotations

import math
from typing import Any

from csteer.quantize.arch import BLOCK_TENSORS, head_dim, map_name, rope_scaling, write_common_hparams

GGUF_ARCH = "llama"
TOP = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}


def tensor_name(hf_name: str, config: dict[str, Any]) -> str | None:
    if hf_name.endswith("rotary_emb.inv_freq"):
        return None  # recomputed by llama.cpp
    return map_name(hf_name, "model.", TOP, BLOCK_TENSORS)


def _unpermute(w: Any, n_head: int) -> Any:
    # HF stores Q/K rows in rotate-half order; llama.cpp's llama rope pairs adjacent dims.
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def transform(gguf_name: str, array: Any, config: dict[str, Any]) -> Any:
    n_head = int(config["num_attention_heads"])
    n_kv = int(config.get("num_key_value_heads") or n_head)
    if gguf_name.endswith("attn_q.weight") or gguf_name.endswith("attn_q.bias"):
        return _unpermute(array, n_head)
    if gguf_name.endswith("attn_k.weight") or gguf_name.endswith("attn_k.bias"):
        return _unpermute(array, n_kv)
    return array


def write_hparams(writer: Any, config: dict[str, Any]) -> None:
    write_common_hparams(writer, config)


def extra_tensors(config: dict[str, Any]) -> dict[str, Any]:
    """llama3 rope scaling: llama.cpp divides each rotary frequency by the factor stored in rope_freqs."""
    import numpy as np

    scaling = rope_scaling(config)
    if scaling.get("rope_type") != "llama3":
        return {}
    base = float(config.get("rope_theta", 10000.0))
    dim = head_dim(config)
    factor = float(scaling.get("factor", 8.0))
    low = float(scaling.get("low_freq_factor", 1.0))
    high = float(scaling.get("high_freq_factor", 4.0))
    old_ctx = float(scaling.get("original_max_position_embeddings", 8192))
    low_wavelen, high_wavelen = old_ctx / low, old_ctx / high
    factors = []
    for freq in 1.0 / (base ** (np.arange(0, dim, 2, dtype=np.float64) / dim)):
        wavelen = 2 * math.pi / freq
        if wavelen < high_wavelen:
            factors.append(1.0)
        elif wavelen > low_wavelen:
            factors.append(factor)
        else:
            smooth = (old_ctx / wavelen - low) / (high - low)
            factors.append(1.0 / ((1 - smooth) / factor + smooth))
    return {"rope_freqs.weight": np.asarray(factors, dtype=np.float32)}
