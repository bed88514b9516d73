from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from csteer.runtime.actions import Action, ActionParseError, action_grammar, parse_action


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        ("<<<Code>>>", "code"),
        ("I think code suits this. <<<Text>>>", "text"),
        ("checked. <<<Return Answer>>>", "return_answer"),
        ("<<< terminate. >>>", "terminate"),
        ("Terminate", "terminate"),
        ("Return Answer", "return_answer"),
    ],
)
def test_keyword_actions(reply: str, kind: str) -> None:
    assert parse_action(reply).kind == kind


@pytest.mark.parametrize(
    "reply",
    [
        "...otherwise Terminate the search when done...",  # the reference stopped on this substring
        "Write code. Do not Return Answer yet.",
        "<<<Use code; do not Terminate early>>>",  # marker content is guidance, not a keyword
        "<<<Code>>> first, then <<<check the bounds with a loop>>>",  # the LAST marker counts
    ],
)
def test_stop_words_inside_guidance_do_not_stop(reply: str) -> None:
    action = parse_action(reply)
    assert action.kind == "guide"
    assert not action.stops
    assert action.guidance


def test_last_marker_wins() -> None:
    assert parse_action("<<<Text>>> no wait <<<Code>>>").kind == "code"


@pytest.mark.parametrize("reply", ["", "   \n", "<<<>>>", "garbage <<< unclosed", "x >>> y"])
def test_unusable_replies_raise(reply: str) -> None:
    with pytest.raises(ActionParseError):
        parse_action(reply)


def test_guidance_is_bounded() -> None:
    action = parse_action("<<<" + "x" * 10_000 + ">>>")
    assert action.kind == "guide" and len(action.guidance) == 2000


def test_grammar_lists_only_requested_actions() -> None:
    grammar = action_grammar(("code", "text"), allow_guidance=False)
    assert '"Code"' in grammar and '"Text"' in grammar
    assert "Terminate" not in grammar and "guide" not in grammar
    assert "guide ::=" in action_grammar(("code",), allow_guidance=True)


def test_action_str() -> None:
    assert str(Action("code")) == "<<<Code>>>"
    assert "Guide" in str(Action("guide", "use a loop"))


# every grammar the coach sessions can ask for: first turn and review turns, with and without guidance,
# with and without the prose before the marker
FIRST_KINDS = ("code", "text")
REVIEW_KINDS = ("return_answer", "code", "text", "terminate")
GRAMMARS = {
    f"{name}-{'guide' if guide else 'keywords'}-prose{prose}": action_grammar(
        kinds, guide, prose_before=prose
    )
    for name, kinds in (("first", FIRST_KINDS), ("review", REVIEW_KINDS), ("one", ("code",)))
    for guide in (True, False)
    for prose in (0, 1200)
}


@pytest.fixture(scope="module")
def embedded_vocab(embedded_gguf: Path) -> Iterator[Any]:
    """The embedded model's vocabulary, as llama.cpp's grammar sampler sees it."""
    import llama_cpp

    from csteer.engines.llamacpp import quiet_llama_logs

    quiet_llama_logs(False)
    llm = llama_cpp.Llama(str(embedded_gguf), vocab_only=True, verbose=False)
    try:
        yield llm._model.vocab
    finally:
        llm.close()


def _compiles(vocab: Any, grammar: str) -> bool:
    """What create_completion does with a grammar: build llama.cpp's grammar sampler (NULL on an error)."""
    import llama_cpp

    sampler = llama_cpp.llama_sampler_init_grammar(vocab, grammar.encode("utf-8"), b"root")
    if not sampler:
        return False
    llama_cpp.llama_sampler_free(sampler)
    return True


def test_the_sessions_ask_only_for_listed_grammars() -> None:
    from csteer.runtime import sessions

    assert (sessions.FIRST_KINDS, sessions.REVIEW_KINDS) == (FIRST_KINDS, REVIEW_KINDS)


@pytest.mark.parametrize("name", list(GRAMMARS))
def test_every_action_grammar_compiles_in_llama_cpp(embedded_vocab: Any, name: str) -> None:
    assert _compiles(embedded_vocab, GRAMMARS[name]), GRAMMARS[name]


@pytest.mark.parametrize(
    "broken",
    [
        'root ::= "<<<" code ">>>"',  # undefined rule
        "root ::= [^<]{0,",  # unclosed repetition
        'root ::= ("<<<Code>>>" | "<<<Text>>>"',  # unclosed group
        GRAMMARS["first-guide-prose1200"].replace("prose ::=", "prose :="),
    ],
)
def test_a_broken_grammar_does_not_compile(embedded_vocab: Any, broken: str) -> None:
    assert not _compiles(embedded_vocab, broken)


@pytest.mark.slow
def test_constrained_chat_writes_exactly_one_allowed_marker(embedded_gguf: Path) -> None:
    from csteer.engines.llamacpp import LlamaCppEngine
    from csteer.errors import CsteerError

    engine = LlamaCppEngine(str(embedded_gguf), kind="instruct")
    try:
        messages = [
            {
                "role": "user",
                "content": "Should 48271 * 91433 be computed with code or in text? Explain briefly.",
            }
        ]
        free = engine.chat(messages, max_tokens=40)
        assert "<<<" not in free.text  # unconstrained, the model writes no marker: the grammar does it
        grammar = action_grammar(REVIEW_KINDS, allow_guidance=False, prose_before=60)
        out = engine.chat(messages, max_tokens=100, grammar=grammar)  # 60 chars + marker fit
        assert out.finish_reason == "stop", out.text  # the grammar ended the reply, not the token limit
        assert out.text.count("<<<") == 1 and out.text.endswith(">>>"), out.text
        assert "<" not in out.text[: out.text.index("<<<")]
        assert parse_action(out.text).kind in REVIEW_KINDS
        with pytest.raises(CsteerError, match="invalid GBNF grammar"):
            engine.chat(messages, max_tokens=4, grammar='root ::= "<<<" code ">>>"')
        assert engine.chat(messages, max_tokens=100, grammar=grammar).text == out.text  # engine still usable
    finally:
        engine.close()
