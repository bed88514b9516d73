"""Rebuild a Hugging Face `tokenizers` BPE tokenizer from a SentencePiece-style GGUF vocabulary.

transformers' GGUF loader builds a Unigram tokenizer for Gemma 3 that splits differently from
llama.cpp ("    return" -> "▁▁▁▁ re turn"). llama.cpp's SPM tokenizer instead:
- first cuts out USER_DEFINED tokens (runs of spaces and newlines) and CONTROL tokens from the raw text,
- writes spaces as "▁" (no dummy prefix when add_space_prefix is false),
- then repeatedly merges the adjacent pair whose concatenation is the highest-scoring vocabulary entry,
  falling back to <0xXX> byte tokens for characters outside the vocabulary.
The same behaviour in `tokenizers` terms: added tokens (not normalized) for the first step, a Replace
normalizer, and a byte-fallback BPE whose merge ranks follow the scores of the merged pieces.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from csteer.errors import CsteerError

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6


def _attr_to_type(attr: int) -> int:
    # llama_token_attr bit flags -> GGUF token types
    for flag, kind in ((8, CONTROL), (16, USER_DEFINED), (32, BYTE), (1, UNKNOWN), (4, NORMAL)):
        if attr & flag:
            return kind
    return UNUSED


def read_vocab(gguf_path: Path) -> dict[str, Any]:
    """The tokenizer of a GGUF file as plain Python values, read through llama.cpp.

    llama.cpp loads a vocabulary in about a second; the pure-Python GGUFReader needs close to a
    minute for Gemma's 262k tokens on a small machine.
    """
    import llama_cpp

    from csteer.engines.llamacpp import quiet_llama_logs

    quiet_llama_logs(False)  # llama.cpp prints some notices even with verbose=False
    try:
        llm = llama_cpp.Llama(str(gguf_path), vocab_only=True, verbose=False)
    except (ValueError, RuntimeError) as err:
        raise CsteerError(f"llama.cpp could not read the vocabulary of {gguf_path}: {err}") from err
    try:
        meta = llm.metadata
        if meta.get("tokenizer.ggml.model") != "llama":
            model = meta.get("tokenizer.ggml.model")
            raise CsteerError(
                f"{gguf_path}: tokenizer {model!r} is not SentencePiece ('llama'); cannot rebuild it"
            )
        vocab = llama_cpp.llama_model_get_vocab(llm.model)
        n = llama_cpp.llama_vocab_n_tokens(vocab)
        tokens = [
            llama_cpp.llama_vocab_get_text(vocab, i).decode("utf-8", errors="replace") for i in range(n)
        ]
        scores = [float(llama_cpp.llama_vocab_get_score(vocab, i)) for i in range(n)]
        types = [_attr_to_type(llama_cpp.llama_vocab_get_attr(vocab, i)) for i in range(n)]
    finally:
        llm.close()

    def token_id(key: str) -> int | None:
        value = meta.get(f"tokenizer.ggml.{key}")
        return int(value) if value is not None else None

    return {
        "tokens": tokens,
        "scores": scores,
        "types": types,
        "bos": token_id("bos_token_id"),
        "eos": token_id("eos_token_id"),
        "unk": token_id("unknown_token_id"),
        "pad": token_id("padding_token_id"),
        "add_bos": meta.get("tokenizer.ggml.add_bos_token", "true") == "true",
        "add_space_prefix": meta.get("tokenizer.ggml.add_space_prefix", "false") == "true",
        "chat_template": meta.get("tokenizer.chat_template"),
    }


def _merges(
    tokens: list[str], scores: list[float], types: list[int], vocab: dict[str, int]
) -> list[tuple[str, str]]:
    """Every (left, right) split of a normal piece into two pieces, ranked by the merged piece's score."""
    ranked = []
    for index, piece in enumerate(tokens):
        if types[index] != NORMAL or len(piece) < 2:
            continue
        for cut in range(1, len(piece)):
            left, right = piece[:cut], piece[cut:]
            if left in vocab and right in vocab:
                ranked.append((-scores[index], vocab[left], vocab[right], left, right))
    ranked.sort()
    return [(left, right) for *_, left, right in ranked]


def build_tokenizer(vocab_info: dict[str, Any]) -> Any:
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, processors

    tokens, scores, types = vocab_info["tokens"], vocab_info["scores"], vocab_info["types"]
    vocab: dict[str, int] = {}
    for index, piece in enumerate(tokens):
        vocab.setdefault(piece, index)
    unk = tokens[vocab_info["unk"]] if vocab_info.get("unk") is not None else None
    bpe = models.BPE(
        vocab=vocab,
        merges=_merges(tokens, scores, types, vocab),
        unk_token=unk,
        byte_fallback=True,
        fuse_unk=True,
    )
    tok = Tokenizer(bpe)
    steps = [normalizers.Replace(" ", "▁")]
    if vocab_info.get("add_space_prefix"):
        steps.insert(0, normalizers.Prepend("▁"))
    tok.normalizer = normalizers.Sequence(steps)
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
    added = [
        AddedToken(piece, special=types[i] == CONTROL, normalized=False)
        for i, piece in enumerate(tokens)
        if types[i] in (CONTROL, USER_DEFINED) and vocab[piece] == i
    ]
    tok.add_tokens(added)
    bos = vocab_info.get("bos")
    if vocab_info.get("add_bos") and bos is not None:
        tok.post_processor = processors.TemplateProcessing(
            single=f"{tokens[bos]} $A", pair=f"{tokens[bos]} $A $B", special_tokens=[(tokens[bos], bos)]
        )
    return tok


def write_tokenizer_files(gguf_path: Path, dest: Path) -> None:
    """tokenizer.json, tokenizer_config.json and generation_config.json for the GGUF's vocabulary."""
    import json

    info = read_vocab(gguf_path)
    build_tokenizer(info).save(str(dest / "tokenizer.json"))
    tokens = info["tokens"]

    def name(key: str) -> str | None:
        return tokens[info[key]] if info.get(key) is not None else None

    config: dict[str, Any] = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": name("bos"),
        "eos_token": name("eos"),
        "unk_token": name("unk"),
        "pad_token": name("pad"),
        "add_bos_token": info["add_bos"],
        "add_eos_token": False,
    }
    if info.get("chat_template"):
        config["chat_template"] = info["chat_template"]
    (dest / "tokenizer_config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False))
    eos = [info["eos"]] if info.get("eos") is not None else []
    if "<end_of_turn>" in tokens:  # Gemma's turn end also ends generation
        eos.append(tokens.index("<end_of_turn>"))
    generation = {"bos_token_id": info.get("bos"), "eos_token_id": eos, "pad_token_id": info.get("pad")}
    (dest / "generation_config.json").write_text(json.dumps(generation, indent=2))
