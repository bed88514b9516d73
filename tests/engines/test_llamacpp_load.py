"""The load parameters `Llama()` has no argument for: every load gets llama.cpp's extra weight buffers
off (repacked weights are not batch-invariant, and their AMX matmul segfaults on Q4_K in
llama-cpp-python 0.3.36), full-size sliding-window caches, and the scoring sequences of choose() in a
unified KV cache. The library's own defaults are back after the load."""

from __future__ import annotations

import pytest

llama_cpp = pytest.importorskip("llama_cpp")

from csteer.engines.llamacpp import SCORING_SEQS, _load_parameters  # noqa: E402


@pytest.mark.parametrize("system", [b"CPU : AVX2 = 1 | AMX_INT8 = 1 |", b"CPU : AVX2 = 1 | REPACK = 1 |"])
def test_every_build_loads_without_extra_buffers(monkeypatch: pytest.MonkeyPatch, system: bytes) -> None:
    lib = llama_cpp.llama_cpp
    original = lib.llama_model_default_params
    monkeypatch.setattr(llama_cpp, "llama_print_system_info", lambda: system)
    assert original().use_extra_bufts
    with _load_parameters():
        assert lib.llama_model_default_params().use_extra_bufts is False
    assert lib.llama_model_default_params is original and original().use_extra_bufts


def test_every_load_gets_the_scoring_sequences_and_full_window_caches() -> None:
    lib = llama_cpp.llama_cpp
    original = lib.llama_context_default_params
    assert original().n_seq_max == 1
    with _load_parameters():
        params = lib.llama_context_default_params()
        assert params.n_seq_max == 1 + SCORING_SEQS and params.kv_unified and params.swa_full
    assert lib.llama_context_default_params is original
