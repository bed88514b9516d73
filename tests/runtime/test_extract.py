import pytest

from csteer.runtime.extract import (
    code_blocks,
    final_answer,
    is_placeholder,
    marked_answer,
    placeholders,
    python_code,
)


@pytest.mark.parametrize(
    "fence",
    ["```python", "```py", "```Python", "```python3", "```", "~~~python", "````python", "  ```python"],
)
def test_fence_spellings(fence: str) -> None:
    closing = fence.strip()[0] * len(fence.strip().rstrip("pythonPY3"))
    text = f"Here you go:\n{fence}\nx = 6 * 7\nprint(x)\n{closing}\nDone."
    assert python_code(text) == "x = 6 * 7\nprint(x)"


def test_last_complete_block_wins() -> None:
    text = "Example:\n```python\nprint('draft')\n```\nFixed:\n```python\nprint('final')\n```\n"
    assert python_code(text) == "print('final')"


def test_unterminated_block_used_when_no_complete_one() -> None:
    assert python_code("```python\nprint(1)\n") == "print(1)"
    # but a complete block beats a trailing unterminated one
    assert python_code("```python\nprint(1)\n```\n```python\nprint(2") == "print(1)"


def test_non_python_blocks_ignored() -> None:
    text = '```bash\nls -la\n```\n```json\n{"a": 1}\n```\n```\n42\n```'
    assert python_code(text) is None
    assert len(code_blocks(text)) == 3


def test_marked_answer_and_final_answer() -> None:
    assert marked_answer("so <<<12>>> and finally <<< 13 >>>") == "13"
    assert marked_answer("no marker") is None
    # program output wins over text
    assert final_answer("text says <<<1>>>", "<<<2>>>\n") == "2"
    # unmarked program output: last non-empty line
    assert final_answer("", "working...\n4413562343\n\n") == "4413562343"
    # a garbled marker from a small model still yields the value
    assert final_answer("", "<<4413562343>>>\n") == "4413562343"
    # no code output: the text's marker; free text without marker is no answer
    assert final_answer("it is <<<yes>>>", None) == "yes"
    assert final_answer("it is yes", None) is None


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        (
            "Gold's symbol comes from the Latin aurum. <<<Au\nGold's symbol comes from the Latin aurum. <<<Au\n",
            "Au",
        ),
        ("The capital is Paris. <<< Paris >>", "Paris"),
        ("It is <<<7", "7"),
    ],
)
def test_a_marker_left_open_in_text_still_names_the_answer(text: str, answer: str) -> None:
    assert final_answer(text, None) == answer


def test_a_closed_marker_beats_an_open_one_and_prose_is_no_answer() -> None:
    assert final_answer("first <<<1\nthen <<<2>>>", None) == "2"
    assert final_answer("no marker at all, only << and >> arrows", None) is None
    assert final_answer("<<<\n", None) is None


@pytest.mark.parametrize(
    ("output", "question", "answer"),
    [
        ("<<<answer>>> 12514278\n", "What is 7*-51*-34*1031?", "12514278"),
        ("<<<answer>>>: 42\n", "", "42"),
        ("42 <<<answer>>>\n", "", "42"),
        ("<<<{answer}>>> = 9\n", "", "9"),
        # the question's own hint is a placeholder too; a marker with digits in it is an example answer
        ("<<<number>>> 35\n", "Return your answer with the format <<<number>>>, like <<<5>>>.", "35"),
        ("<<<5>>> 35\n", "Return your answer with the format <<<number>>>, like <<<5>>>.", "5"),
        # a lead-in of several words is not a value
        ("The result is <<<answer>>>\n", "", "answer"),
        # nothing beside it: the placeholder stays, for the loop to reject
        ("<<<answer>>>\n", "", "answer"),
        ("<<<number>>> 7\n", "no hint in this question", "number"),
    ],
)
def test_a_value_beside_a_copied_placeholder_is_the_answer(output: str, question: str, answer: str) -> None:
    assert final_answer("", output, question) == answer


def test_placeholders_come_from_csteer_and_the_question() -> None:
    assert placeholders("") == {"answer"}
    hinted = "Surround it with <<<content>>>, as <<<Count: 2, Positions: [1, 3]>>>."
    assert placeholders(hinted) == {"answer", "content"}
    assert (
        is_placeholder("{ Answer }") and is_placeholder("content", hinted) and not is_placeholder("content")
    )
    assert final_answer("so it is <<<answer>>> Paris", None) == "Paris"
