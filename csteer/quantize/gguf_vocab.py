"""Tokenizer metadata for GGUF: vocabulary, token types, merges, pre-tokenizer, special tokens, template."""

from __future__ import annotations

from typing import Any

from csteer.errors import CsteerError
from csteer.quantize.checkpoint import Checkpoint

# llama.cpp picks its pre-tokenizer regex by name; we recognise the split regex in tokenizer.json
_LLAMA3_REGEX = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
_QWEN2_REGEX = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
PRE_TOKENIZERS = {_LLAMA3_REGEX: "llama-bpe", _QWEN2_REGEX: "qwen2"}

# gguf.TokenType values (kept numeric so this module imports without gguf)
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6


def _walk(node: Any) -> list[dict[str, Any]]:
    """Flatten a (possibly Sequence) pre_tokenizer into its parts."""
    if not isinstance(node, dict):
        return []
    if node.get("type") == "Sequence":
        return [p for child in node.get("pretokenizers", []) for p in _walk(child)]
    return [node]


def pre_tokenizer_name(tokenizer: dict[str, Any]) -> str:
    parts = _walk(tokenizer.get("pre_tokenizer"))
    for part in parts:
        if part.get("type") == "Split":
            pattern = (part.get("pattern") or {}).get("Regex")
            if pattern in PRE_TOKENIZERS:
                return PRE_TOKENIZERS[pattern]
            raise CsteerError(
                "tokenizer.json uses a pre-tokenizer regex llama.cpp has no name for; "
                "supported: the Llama-3 and Qwen2 regexes, or plain GPT-2 byte-level"
            )
    if any(p.get("type") == "ByteLevel" and p.get("use_regex", True) for p in parts):
        return "gpt-2"
    raise CsteerError("tokenizer.json: unsupported pre-tokenizer for a byte-level BPE vocabulary")


def _is_byte_level(tokenizer: dict[str, Any]) -> bool:
    parts = _walk(tokenizer.get("pre_tokenizer"))
    decoder = tokenizer.get("decoder") or {}
    return any(p.get("type") == "ByteLevel" for p in parts) or decoder.get("type") == "ByteLevel"


def add_vocab(writer: Any, ckpt: Checkpoint, vocab_size: int) -> None:
    import gguf

    tokenizer = ckpt.json_file("tokenizer.json")
    model = (tokenizer or {}).get("model") or {}
    if tokenizer is not None and model.get("type") == "BPE" and _is_byte_level(tokenizer):
        tokens, types = _bpe_tokens(tokenizer, vocab_size)
        writer.add_tokenizer_model("gpt2")
        writer.add_tokenizer_pre(pre_tokenizer_name(tokenizer))
        writer.add_token_list(tokens)
        writer.add_token_types(types)
        special = gguf.SpecialVocab(ckpt.root, load_merges=True, n_vocab=len(tokens))
    elif ckpt.file("tokenizer.model") is not None:
        tokens, scores, types = _sentencepiece_tokens(ckpt, vocab_size)
        writer.add_tokenizer_model("llama")
        writer.add_tokenizer_pre("default")
        writer.add_token_list(tokens)
        writer.add_token_scores(scores)
        writer.add_token_types(types)
        special = gguf.SpecialVocab(ckpt.root, load_merges=False, n_vocab=len(tokens))
    elif tokenizer is None:
        raise CsteerError(f"{ckpt.root}: no tokenizer.json or tokenizer.model")
    else:
        raise CsteerError(
            f"{ckpt.root}: tokenizer.json is not a byte-level BPE and there is no tokenizer.model "
            "(SentencePiece) to read the vocabulary from"
        )
    special.add_to_gguf(writer, quiet=True)
    if special.chat_template is None:
        template = ckpt.file("chat_template.jinja")
        if template is not None:
            writer.add_chat_template(template.read_text(encoding="utf-8"))


def _bpe_tokens(tokenizer: dict[str, Any], vocab_size: int) -> tuple[list[str], list[int]]:
    by_id: dict[int, str] = {int(i): tok for tok, i in tokenizer["model"]["vocab"].items()}
    types: dict[int, int] = {}
    for added in tokenizer.get("added_tokens", []):
        by_id[int(added["id"])] = added["content"]
        types[int(added["id"])] = CONTROL if added.get("special") else USER_DEFINED
    size = max(vocab_size, max(by_id) + 1)
    tokens, kinds = [], []
    for i in range(size):
        if i in by_id:
            tokens.append(by_id[i])
            kinds.append(types.get(i, NORMAL))
        else:  # the embedding matrix is often padded past the tokenizer
            tokens.append(f"[PAD{i}]")
            kinds.append(UNUSED)
    return tokens, kinds


def _sentencepiece_tokens(ckpt: Checkpoint, vocab_size: int) -> tuple[list[str], list[float], list[int]]:
    try:
        from sentencepiece import SentencePieceProcessor
    except ImportError as err:
        raise CsteerError(
            "reading tokenizer.model needs sentencepiece: pip install 'csteer[quantize]'"
        ) from err
    sp = SentencePieceProcessor()
    sp.LoadFromFile(str(ckpt.file("tokenizer.model")))
    tokens, scores, types = [], [], []
    for i in range(sp.vocab_size()):
        tokens.append(sp.IdToPiece(i))
        scores.append(float(sp.GetScore(i)))
        if sp.IsUnknown(i):
            types.append(UNKNOWN)
        elif sp.IsControl(i):
            types.append(CONTROL)
        elif sp.IsUnused(i):
            types.append(UNUSED)
        elif sp.IsByte(i):
            types.append(BYTE)
        else:
            types.append(NORMAL)
    added = ckpt.json_file("added_tokens.json") or {}
    config = ckpt.json_file("tokenizer_config.json") or {}
    for sid, info in (config.get("added_tokens_decoder") or {}).items():
        added.setdefault(info["content"], int(sid))
    for content, tid in added.items():
        if 0 <= tid < len(tokens):
            tokens[tid] = content
            types[tid] = CONTROL if content.startswith("<") and content.endswith(">") else USER_DEFINED
    while len(tokens) < vocab_size:
        tokens.append(f"[PAD{len(tokens)}]")
        scores.append(-1000.0)
        types.append(UNUSED)
    return tokens, scores, types
