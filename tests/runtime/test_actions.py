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


def test_grammars_are_valid_gbnf_for_llama_cpp() -> None:
    from llama_cpp import LlamaGrammar

    with_prose = action_grammar(("code", "text"), allow_guidance=True, prose_before=1200)
    assert with_prose.startswith("root ::= prose ")
    for grammar in (with_prose, action_grammar(("code", "text", "terminate"), allow_guidance=False)):
        LlamaGrammar.from_string(grammar, verbose=False)  # raises on a malformed grammar
