"""The load parameters `Llama()` has no argument for. The AMX safety net: an AMX build of llama.cpp is
loaded with its extra weight buffers off (their AMX matmul segfaults on Q4_K in llama-cpp-python 0.3.36);
any other build keeps them. Every load gets the scoring sequences of choose() in a unified KV cache."""

from __future__ import annotations

import pytest

llama_cpp = pytest.importorskip("llama_cpp")

from csteer.engines.llamacpp import SCORING_SEQS, _load_parameters  # noqa: E402


def test_an_amx_build_loads_without_extra_buffers(monkeypatch: pytest.MonkeyPatch) -> None:
    lib = llama_cpp.llama_cpp
    original = lib.llama_model_default_params
    monkeypatch.setattr(llama_cpp, "llama_print_system_info", lambda: b"CPU : AVX2 = 1 | AMX_INT8 = 1 |")
    assert original().use_extra_bufts
    with _load_parameters():
        assert lib.llama_model_default_params().use_extra_bufts is False
    assert lib.llama_model_default_params is original and original().use_extra_bufts


def test_another_build_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    lib = llama_cpp.llama_cpp
    original = lib.llama_model_default_params
    monkeypatch.setattr(llama_cpp, "llama_print_system_info", lambda: b"CPU : AVX2 = 1 | REPACK = 1 |")
    with _load_parameters():
        assert lib.llama_model_default_params is original


def test_every_load_gets_the_scoring_sequences() -> None:
    lib = llama_cpp.llama_cpp
    original = lib.llama_context_default_params
    assert original().n_seq_max == 1
    with _load_parameters():
        params = lib.llama_context_default_params()
        assert params.n_seq_max == 1 + SCORING_SEQS and params.kv_unified
    assert lib.llama_context_default_params is original
