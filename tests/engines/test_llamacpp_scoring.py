"""choose() scores all options in one batched decode (csteer/engines/option_trie.py): the scores must be the
ones a decode per option gives, and the options' sequences must leave nothing behind in the context."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from csteer.engines import option_trie
from csteer.engines.base import EngineOptions
from csteer.engines.llamacpp import MIN_CALL, SCORING_SEQS, LlamaCppEngine

# shared first tokens, different lengths, a short option
OPTIONS = [" <<<Return Answer>>>", " <<<Code>>>", " <<<Text>>>", " Paris"]
PROMPT = [{"role": "user", "content": "Question: What is the capital of France?\nThe next step is"}]
# longer than Gemma 3's 512-token sliding window, as a coach's transcript is
LONG_PROMPT = [{"role": "user", "content": "A note on rivers and towns. " * 110 + PROMPT[0]["content"]}]


def test_shared_prefixes_are_one_node_each() -> None:
    nodes = option_trie.nodes([[7, 1, 2, 9], [7, 3, 9], [7, 4, 9], [5], [7, 3, 9]])
    assert [(n.token, n.depth, n.options) for n in nodes] == [
        (7, 0, (0, 1, 2, 4)),  # after 7 the logits score the second token of every option that has one
        (1, 1, (0,)),
        (2, 2, (0,)),
        (3, 1, (1, 4)),
        (4, 1, (2,)),
    ]
    assert option_trie.nodes([[5], [6]]) == []  # one-token options: the prompt's logits score them


def _one_by_one(engine: LlamaCppEngine) -> None:
    engine._batch_fits = lambda option_ids, nodes: False  # type: ignore[method-assign]


@pytest.mark.slow
@pytest.mark.parametrize("prompt", [PROMPT, LONG_PROMPT], ids=["short", "past-the-window"])
def test_batched_scores_are_the_scores_of_one_decode_per_option(
    embedded_gguf: Path, prompt: list[dict[str, str]]
) -> None:
    """Positions, sequences and output rows of the batch are right: the same scores to float precision.

    llama.cpp's CPU matmul computes a batch's rows in blocks of four with another kernel than the rest
    (REPACK), which moves logits by up to ~1 at a row that changes block, so the exact comparison uses
    options whose batches stay under four rows either way; the full coach options are compared within
    that kernel noise (a wrong row or sequence moves a score by several nats).

    With a long context the attention's kernels move scores with the batch's shape too (" London!"
    -15.90 next to any other one-token-plus-"!" option, -15.77 alone, past Gemma 3's 512-token window),
    so there even the small batches are compared within 0.3; test_an_option_does_not_see_the_others
    shows that no option's tokens reach another's score."""
    engine = LlamaCppEngine(str(embedded_gguf), EngineOptions(n_ctx=2048, threads=2))
    try:
        small = [" <<<Code>>>", " <<<Text>>>", " Paris"]  # 3 rows batched, 2 per option one by one
        assert len(engine.tokenize(engine.render(LONG_PROMPT)[0])) > 600
        batched = [engine.choose(prompt, small), engine.choose(prompt, OPTIONS)]
        _one_by_one(engine)
        reference = [engine.choose(prompt, small), engine.choose(prompt, OPTIONS)]
        exact = 1e-6 if prompt is PROMPT else 0.3
        np.testing.assert_allclose(batched[0].logprobs, reference[0].logprobs, rtol=0, atol=exact)
        np.testing.assert_allclose(batched[1].logprobs, reference[1].logprobs, rtol=0, atol=0.6)
        assert len(set(batched[1].logprobs)) == len(OPTIONS)  # real scores, not one value for all
    finally:
        engine.close()


@pytest.mark.slow
@pytest.mark.parametrize("prompt", [PROMPT, LONG_PROMPT], ids=["short", "past-the-window"])
def test_an_option_does_not_see_the_others(embedded_gguf: Path, prompt: list[dict[str, str]]) -> None:
    """Each option is its own sequence: a neighbour of the same shape but other tokens changes nothing,
    to the last bit (so what moves scores between batch shapes is arithmetic, not information)."""
    engine = LlamaCppEngine(str(embedded_gguf), EngineOptions(n_ctx=2048, threads=2))
    try:
        code = []
        for neighbour in [" <<<Return Answer>>>", " <<<Return Zebra>>>"]:
            ids = engine.llm.tokenize(neighbour.encode(), add_bos=False, special=False)
            assert len(ids) == 4  # same trie shape, so the same kernels for every row
            code.append(engine.choose(prompt, [neighbour, " <<<Code>>>", " <<<Text>>>"]).logprobs[1:])
        assert code[0] == code[1]
    finally:
        engine.close()


@pytest.mark.slow
def test_scoring_leaves_only_the_prompt_in_the_context(embedded_gguf: Path) -> None:
    import llama_cpp

    engine = LlamaCppEngine(str(embedded_gguf), EngineOptions(n_ctx=2048, threads=2))
    fresh = LlamaCppEngine(str(embedded_gguf), EngineOptions(n_ctx=2048, threads=2))
    try:
        engine.choose(PROMPT, OPTIONS)
        memory = engine.llm._ctx.memory
        for seq in range(1, 1 + SCORING_SEQS):
            assert llama_cpp.llama_memory_seq_pos_max(memory, seq) == -1
        n_prompt = len(engine.tokenize(engine.render(PROMPT)[0]))
        assert llama_cpp.llama_memory_seq_pos_max(memory, 0) == n_prompt - 1
        # the next call reuses the prompt and sees no option's tokens
        after = engine.chat(PROMPT, max_tokens=12)
        # (but the last tokens again, in the shortest decode call: the last one's logits are needed)
        assert after.usage.evaluated_prompt_tokens == MIN_CALL
        assert after.text == fresh.chat(PROMPT, max_tokens=12).text
    finally:
        engine.close()
        fresh.close()
